"""eDiscovery: every status the division holds that matches a search query and a date range,
local and remote, of every visibility (direct messages included), whoever may see it, as
JSON lines or CSV, for Legal. Admins only; every export is written to the audit log
('ediscovery.export') before its first byte leaves, so none can happen unrecorded.

The query is the search box's syntax (watercooler.search_syntax) run over the full-text
index (store.search_index) without any visibility rule; an empty query is every status.
The index is brought up to date first, so a post written a moment ago is not missed.
Deleted posts are not here (their text is gone from the row), except the copies a legal
hold keeps (store.legal_holds): they follow the live rows, with `deleted_at` and the holds
keeping them in `held_by`.

Rows are read a page at a time (store.ediscovery), so an export of a large division holds
one page in memory and streams the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson

from federation.uris import Uris
from outbox.addressing import address
from outbox.to_as import acct
from store import accounts, ediscovery, legal_holds, search_index
from store import media as stored_media
from store.api_search import match_expression
from store.db import Database
from store.ediscovery import Scope
from store.records import AccountRecord, MediaRecord, StatusRecord
from watercooler.admin import Actor, record
from watercooler.csv_cells import csv_line
from watercooler.filters import html_text
from watercooler.search_indexer import SearchIndexer
from watercooler.search_syntax import parse

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv")
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
PAGE = 200
MAX_QUERY = 1000
INDEX_ROUNDS = 200
"""Batches of the search indexer run before a query export (200 x 256 statuses)."""
CSV_COLUMNS = (
    "id",
    "uri",
    "url",
    "created_at",
    "edited_at",
    "author_acct",
    "author_uri",
    "local",
    "visibility",
    "local_only",
    "to",
    "cc",
    "recipients_source",
    "mentions",
    "direct_recipients",
    "in_reply_to_uri",
    "spoiler_text",
    "text",
    "content",
    "media_urls",
    "media_descriptions",
    "tags",
    "application",
    "language",
    "sensitive",
    "deleted_at",
    "held_by",
)


def iso(moment: datetime) -> str:
    """`2026-01-01T10:00:00.000Z`, as the client API writes times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class EdiscoveryError(ValueError):
    """A request that cannot be exported (a bad date or format); the message is for the
    admin."""


@dataclass(frozen=True, slots=True)
class Export:
    """An export under way: how many statuses it holds and its bytes, as they are read."""

    count: int
    media_type: str
    file_name: str
    chunks: AsyncIterator[bytes]


def parse_moment(value: str | None, *, end: bool = False) -> datetime | None:
    """A date (`2026-01-31`) or an ISO 8601 time; naive times are UTC. As the end of a
    range a date means the whole day (until the next midnight)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day + timedelta(days=1 if end else 0), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EdiscoveryError(f"Not a date or time: {text[:40]!r} (use 2026-01-31)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def checked_format(value: str | None) -> str:
    fmt = (value or "jsonl").strip().lower()
    if fmt not in FORMATS:
        raise EdiscoveryError(f"The format is one of {', '.join(FORMATS)}.")
    return fmt


async def scope_of(
    db: Database,
    query: str,
    *,
    since: datetime | None,
    until: datetime | None,
    local_domain: str,
    viewer: int = 0,
) -> Scope | None:
    """The statuses `query` asks for in [since, until); None when it can match nothing
    (an unknown `from:` author). `in:library` has no meaning here and is ignored."""
    if len(query) > MAX_QUERY:
        raise EdiscoveryError(f"The query is longer than {MAX_QUERY} characters.")
    if since is not None and until is not None and since >= until:
        raise EdiscoveryError("The start of the range is not before its end.")
    if not query.strip():
        return Scope(since=since, until=until)
    async with db.read() as conn:
        search = await parse(conn, query, viewer=viewer, local_domain=local_domain)
    if search.authors == ():
        return None
    if search.after is not None:
        since = max(since, search.after) if since else search.after
    if search.before is not None:
        until = min(until, search.before) if until else search.before
    return Scope(
        match=match_expression(search), since=since, until=until, public_only=search.public_only
    )


async def catch_up_index(db: Database) -> int:
    """Index what is queued now (bounded), so the export sees the newest statuses."""
    indexer, total = SearchIndexer(db), 0
    for _ in range(INDEX_ROUNDS):
        done = await indexer.run_once()
        total += done
        if done == 0:
            break
    async with db.read() as conn:
        left = await search_index.pending_count(conn)
    if left:
        log.warning("ediscovery: search index still behind pending=%d", left)
    return total


async def _id_pages(db: Database, scope: Scope) -> AsyncIterator[list[int]]:
    after: int | None = -1
    while after is not None:
        async with db.read() as conn:
            ids, after = await ediscovery.matching_ids(conn, scope, after=after)
        if ids:
            yield ids


async def count(db: Database, scope: Scope | None) -> int:
    if scope is None:
        return 0
    return sum([len(ids) async for ids in _id_pages(db, scope)])


def _iris(value: Any) -> list[str]:
    """The IRIs of a `to`/`cc` as sent: a string, an object or a list of either."""
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            found.append(item["id"])
    return found


def _addressing(body: str | None, note_id: str) -> tuple[list[str], list[str]] | None:
    """(to, cc) of the Note `note_id` in a stored Create/Update (or of the activity itself,
    when it carries the Note by id only)."""
    if body is None:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    note = document.get("object")
    if isinstance(note, dict):
        if note.get("id") != note_id:
            return None
        source = note if "to" in note or "cc" in note else document
    elif note == note_id:
        source = document
    else:
        return None
    if "to" not in source and "cc" not in source:
        return None
    return _iris(source.get("to")), _iris(source.get("cc"))


def received_activity_uris(status: StatusRecord) -> list[str]:
    """Where the Create of a remote status is found in the inbound queue: its own activity
    URI if it was recorded, else the id Mastodon (and Watercooler) give a Create, the Note's
    id + `/activity`. A status fetched rather than delivered has none."""
    return [uri for uri in (status.activity_uri, f"{status.uri}/activity") if uri]


def _media(item: MediaRecord, uris: Uris) -> dict[str, Any]:
    url = uris.media(item.file_name) if item.file_name else item.remote_url
    return {"url": url, "description": item.description, "type": item.type}


def _row(
    status: StatusRecord,
    *,
    author: AccountRecord,
    mentioned: Sequence[AccountRecord],
    tags: Sequence[str],
    media: Sequence[MediaRecord],
    application: str | None,
    stored: tuple[list[str], list[str]] | None,
    local_domain: str,
    uris: Uris,
) -> dict[str, Any]:
    if stored is None:
        to, cc = address(
            status.visibility,
            followers_url=author.followers_url or f"{author.uri}/followers",
            mentioned=[account.uri for account in mentioned],
        )
        source = "derived"
    else:
        (to, cc), source = stored, "stored"
    mentions = [acct(account, local_domain) for account in mentioned]
    return {
        "id": str(status.id),
        "uri": status.uri,
        "url": status.url,
        "created_at": iso(status.created_at),
        "edited_at": iso(status.edited_at) if status.edited_at else None,
        "author_acct": acct(author, local_domain),
        "author_uri": author.uri,
        "local": status.local,
        "visibility": status.visibility,
        "local_only": status.local_only,
        "to": to,
        "cc": cc,
        "recipients_source": source,
        "mentions": mentions,
        "mention_uris": [account.uri for account in mentioned],
        "direct_recipients": mentions if status.visibility == "direct" else [],
        "in_reply_to_uri": status.in_reply_to_uri,
        "spoiler_text": status.spoiler_text,
        "text": status.text if status.local and status.text else html_text(status.content),
        "content": status.content,
        "media": [_media(item, uris) for item in media],
        "tags": list(tags),
        "application": application,
        "language": status.language,
        "sensitive": status.sensitive,
        "deleted_at": iso(status.deleted_at) if status.deleted_at else None,
        "held_by": [],
    }


async def rows(
    db: Database, scope: Scope | None, *, uris: Uris, local_domain: str
) -> AsyncIterator[dict[str, Any]]:
    """Every status in `scope`, oldest first, as the export's rows (JSON-ready dicts)."""
    if scope is None:
        return
    async for ids in _id_pages(db, scope):
        async with db.read() as conn:
            found = await ediscovery.statuses(conn, ids)
            mentions = await ediscovery.mentions(conn, ids)
            tags = await ediscovery.tags(conn, ids)
            media = await stored_media.for_statuses(conn, ids)
            apps = await ediscovery.application_names(
                conn, [s.application_id for s in found if s.application_id is not None]
            )
            sent = await ediscovery.sent_documents(conn, [s.id for s in found if s.local])
            received = await ediscovery.received_documents(
                conn, [uri for s in found if not s.local for uri in received_activity_uris(s)]
            )
            people = {s.account_id for s in found} | {a for m in mentions.values() for a in m}
            known = await accounts.get_many(conn, people)
        for status in found:
            author = known.get(status.account_id)
            if author is None:
                continue
            if status.local:
                stored = _addressing(sent.get(status.id), status.uri)
            else:
                bodies = [received.get(uri) for uri in received_activity_uris(status)]
                found_in = [_addressing(b, status.uri) for b in bodies if b is not None]
                stored = next((a for a in found_in if a is not None), None)
            yield _row(
                status,
                author=author,
                mentioned=[known[a] for a in mentions.get(status.id, []) if a in known],
                tags=tags.get(status.id, []),
                media=media.get(status.id, []),
                application=apps.get(status.application_id or -1),
                stored=stored,
                local_domain=local_domain,
                uris=uris,
            )


async def _preserved_pages(db: Database, scope: Scope) -> AsyncIterator[list[int]]:
    after: int | None = -1
    while after is not None:
        async with db.read() as conn:
            ids, after = await ediscovery.preserved_ids(conn, scope, after=after)
        if ids:
            yield ids


async def preserved_rows(
    db: Database, scope: Scope | None, *, uris: Uris, local_domain: str
) -> AsyncIterator[dict[str, Any]]:
    """The copies legal holds keep of deleted statuses in `scope`, as rows like the live
    ones, with when each was deleted and the holds keeping it (`held_by`)."""
    if scope is None:
        return
    async for ids in _preserved_pages(db, scope):
        async with db.read() as conn:
            copies = await legal_holds.preserved(conn, ids=ids, limit=len(ids))
            mentioned = {
                copy.status_id: [m["id"] for m in copy.snapshot.get("mentions") or []]
                for copy in copies
            }
            people = {c.account_id for c in copies} | {a for m in mentioned.values() for a in m}
            known = await accounts.get_many(conn, people)
            apps = await ediscovery.application_names(
                conn,
                [a for c in copies if (a := c.snapshot["status"].get("application_id"))],
            )
            sent = await ediscovery.sent_documents(conn, [c.status_id for c in copies if c.local])
        for copy in copies:
            author = known.get(copy.account_id)
            if author is None:
                continue
            status, media = legal_holds.snapshot_records(copy)
            stored = _addressing(sent.get(status.id), status.uri) if status.local else None
            row = _row(
                status,
                author=author,
                mentioned=[known[a] for a in mentioned[copy.status_id] if a in known],
                tags=copy.snapshot.get("tags") or [],
                media=media,
                application=apps.get(status.application_id or -1),
                stored=stored,
                local_domain=local_domain,
                uris=uris,
            )
            row["deleted_at"] = iso(copy.preserved_at)  # preserved as it was deleted
            row["held_by"] = list(copy.hold_ids)
            yield row


async def _chained(*sources: AsyncIterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for source in sources:
        async for row in source:
            yield row


async def jsonl_chunks(source: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """One JSON object per line (JSON lines), a page of lines per chunk."""
    lines: list[bytes] = []
    async for row in source:
        lines.append(orjson.dumps(row) + b"\n")
        if len(lines) >= PAGE:
            yield b"".join(lines)
            lines = []
    if lines:
        yield b"".join(lines)


def csv_cells(row: dict[str, Any]) -> list[object]:
    """A row's cells in CSV_COLUMNS order; lists are one value a line in their cell."""
    flat = dict(row)
    for name in ("to", "cc", "mentions", "direct_recipients", "tags"):
        flat[name] = "\n".join(row.get(name) or [])
    flat["media_urls"] = "\n".join(str(m.get("url") or "") for m in row.get("media") or [])
    flat["media_descriptions"] = "\n".join(
        str(m.get("description") or "") for m in row.get("media") or []
    )
    return [flat.get(name) for name in CSV_COLUMNS]


async def csv_chunks(source: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """A header and one record per row; every cell defused (watercooler.csv_cells)."""
    lines = [csv_line(CSV_COLUMNS)]
    async for row in source:
        lines.append(csv_line(csv_cells(row)))
        if len(lines) >= PAGE:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


async def start_export(
    db: Database,
    *,
    clock: Callable[[], datetime],
    actor: Actor,
    uris: Uris,
    local_domain: str,
    query: str,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
) -> Export:
    """Check the request, count what it covers, write the audit row, then hand back the
    stream. The count is of the statuses at the moment of the export."""
    fmt = checked_format(fmt)
    scope = await scope_of(
        db, query, since=since, until=until, local_domain=local_domain, viewer=actor.account_id or 0
    )
    if scope is not None and scope.match is not None:
        await catch_up_index(db)
    total = await count(db, scope)
    if scope is not None:
        total += sum([len(ids) async for ids in _preserved_pages(db, scope)])
    details = {
        "query": query,
        "since": iso(since) if since else None,
        "until": iso(until) if until else None,
        "format": fmt,
        "count": total,
    }
    await record(db, clock, actor, "ediscovery.export", query or "*", details)
    source = _chained(
        rows(db, scope, uris=uris, local_domain=local_domain),
        preserved_rows(db, scope, uris=uris, local_domain=local_domain),
    )
    chunks = jsonl_chunks(source) if fmt == "jsonl" else csv_chunks(source)
    stamp = clock().strftime("%Y%m%d-%H%M%S")
    return Export(total, MEDIA_TYPES[fmt], f"ediscovery-{stamp}.{fmt}", chunks)
