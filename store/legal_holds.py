"""Legal holds (migration 0031): which statuses a hold covers, and the copies of held statuses
preserved when they are deleted.

A hold covers the statuses of one account, or those matching a search query (kept compiled
as an FTS5 MATCH expression over `status_search`, store.search_index, with date bounds).
Nothing is copied while a held status lives; the copy is made when it is deleted, by
`preserve_if_held`, which `store.statuses.mark_deleted` calls in the deleting transaction.
Every delete path goes through that one function (the author's, a moderator's, a remote
Delete, the retention job's), so none can erase a held status's content: it is hidden like
any deleted status and its snapshot stays here until no hold covers it.

A status still waiting for the search indexer (or edited since) has no index row, or a
stale one, to match a query against; `use_index_rows` (wired by the app) lets this module
index it on the spot so the match is exact. Without it such a status counts as covered by
every query hold: when in doubt, keep.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from store import audit
from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.media import _record as _media_record
from store.records import MediaRecord, StatusRecord
from store.search_index import IndexRow, IndexSource, sources

IndexRowMaker = Callable[[IndexSource], IndexRow]
_index_row: IndexRowMaker | None = None
AUDIT_ACTOR = "legal-hold"
"""The name the audit log gives the server when it preserves a held status."""

_HOLD_COLUMNS = (
    "id, name, reason, account_id, query, match_expression, created_before, created_after,"
    " created_at, created_by, released_at, released_by"
)


def use_index_rows(maker: IndexRowMaker) -> None:
    """How a status's index row is made (watercooler.search_indexer.index_row), so a query
    hold can be matched against a status the indexer has not reached yet."""
    global _index_row
    _index_row = maker


@dataclass(frozen=True, slots=True)
class HoldRecord:
    id: int
    name: str
    reason: str
    account_id: int | None
    query: str | None
    match_expression: str | None
    created_before: datetime | None
    created_after: datetime | None
    created_at: datetime
    created_by: str
    released_at: datetime | None
    released_by: str | None

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def kind(self) -> str:
        return "account" if self.account_id is not None else "query"


@dataclass(frozen=True, slots=True)
class PreservedStatus:
    """A held status's copy: what it was when deleted (`snapshot`), and the holds keeping it."""

    status_id: int
    uri: str
    account_id: int
    local: bool
    visibility: str
    created_at: datetime
    preserved_at: datetime
    hold_ids: tuple[int, ...]
    snapshot: dict[str, Any]


def _hold(row: Any) -> HoldRecord:
    values = dict(row)
    for name in ("created_before", "created_after", "created_at", "released_at"):
        values[name] = parse_db_time(values[name])
    return HoldRecord(**values)


# ----- holds -------------------------------------------------------------------------------


async def create(
    conn: Connection,
    id_: int,
    *,
    name: str,
    reason: str,
    account_id: int | None = None,
    query: str | None = None,
    match_expression: str | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
    by: str,
    now: datetime,
) -> HoldRecord:
    """A hold on `account_id`, or on `query` compiled to `match_expression` (and bounds)."""
    await conn.execute(
        f"INSERT INTO legal_holds ({_HOLD_COLUMNS}) VALUES (:id, :name, :reason, :account,"
        " :query, :match, :before, :after, :now, :by, NULL, NULL)",
        {
            "id": id_,
            "name": name,
            "reason": reason,
            "account": account_id,
            "query": query,
            "match": match_expression,
            "before": db_time(created_before) if created_before else None,
            "after": db_time(created_after) if created_after else None,
            "now": db_time(now),
            "by": by,
        },
    )
    found = await get(conn, id_)
    assert found is not None
    return found


async def get(conn: Connection, hold_id: int) -> HoldRecord | None:
    async with conn.execute(
        f"SELECT {_HOLD_COLUMNS} FROM legal_holds WHERE id = :id", {"id": hold_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _hold(row) if row else None


async def list_holds(conn: Connection, *, active_only: bool = False) -> list[HoldRecord]:
    """Active holds first, then released ones; newest first within each."""
    where = " WHERE released_at IS NULL" if active_only else ""
    async with conn.execute(
        f"SELECT {_HOLD_COLUMNS} FROM legal_holds{where} ORDER BY released_at IS NOT NULL, id DESC"
    ) as cursor:
        return [_hold(row) for row in await cursor.fetchall()]


async def release(conn: Connection, hold_id: int, *, by: str, now: datetime) -> bool:
    """End a hold; False if it is unknown or released already."""
    cursor = await conn.execute(
        "UPDATE legal_holds SET released_at = :now, released_by = :by"
        " WHERE id = :id AND released_at IS NULL",
        {"id": hold_id, "now": db_time(now), "by": by},
    )
    return cursor.rowcount == 1


# ----- which statuses a hold covers ----------------------------------------------------------


async def _index_now(conn: Connection, status_ids: Sequence[int]) -> set[int]:
    """Index the statuses of `status_ids` the indexer has not reached (left queued: it does
    them again). Returns the ids whose index row could not be made (no `use_index_rows`)."""
    waiting = {
        row[0]
        for row in await rows_in(
            conn, "SELECT status_id FROM search_pending WHERE status_id IN ({ids})", status_ids
        )
    }
    if not waiting or _index_row is None:
        return waiting
    made = await sources(conn, sorted(waiting))
    await conn.executemany("DELETE FROM status_search WHERE rowid = ?", [(i,) for i in waiting])
    rows = [_index_row(source) for source in made.values()]
    await conn.executemany(
        "INSERT INTO status_search (rowid, body, meta) VALUES (?, ?, ?)",
        [(row.status_id, row.body, row.meta) for row in rows],
    )
    return set()


async def covering(conn: Connection, status_ids: Iterable[int]) -> dict[int, list[int]]:
    """The active holds covering each of `status_ids` (statuses not covered are left out).
    Call inside a write transaction: statuses not yet indexed are indexed here."""
    ids = list(dict.fromkeys(status_ids))
    if not ids:
        return {}
    holds = await list_holds(conn, active_only=True)
    if not holds:
        return {}
    rows = await rows_in(
        conn,
        "SELECT id, account_id, created_at FROM statuses WHERE id IN ({ids})"
        " AND reblog_of_id IS NULL",
        ids,
    )
    found: dict[int, list[int]] = {}
    by_account: dict[int, list[int]] = {}
    for hold in holds:
        if hold.account_id is not None:
            by_account.setdefault(hold.account_id, []).append(hold.id)
    for row in rows:
        for hold_id in by_account.get(row[1], ()):
            found.setdefault(row[0], []).append(hold_id)
    queries = [hold for hold in holds if hold.match_expression is not None]
    if not queries:
        return found
    created = {row[0]: parse_db_time(row[2]) for row in rows}
    unknown = await _index_now(conn, list(created))
    for hold in queries:
        matched = {
            row[0]
            for row in await rows_in(
                conn,
                "SELECT rowid FROM status_search WHERE status_search MATCH :match"
                " AND rowid IN ({ids})",
                list(created),
                {"match": hold.match_expression},
            )
        }
        for status_id, at in created.items():
            if status_id not in matched and status_id not in unknown:
                continue
            assert at is not None
            if hold.created_before is not None and at >= hold.created_before:
                continue
            if hold.created_after is not None and at < hold.created_after:
                continue
            found.setdefault(status_id, []).append(hold.id)
    return found


# ----- preserving and erasing copies ------------------------------------------------------


async def _all(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.execute(sql, params) as cursor:
        return [dict(row) for row in await cursor.fetchall()]


async def snapshot(conn: Connection, status_id: int) -> dict[str, Any] | None:
    """Everything the division holds of a status, as JSON-ready data: the row, its author,
    edit history, mentions (its recipients besides followers), hashtags, media and poll."""
    params = {"id": status_id}
    found = await _all(conn, "SELECT * FROM statuses WHERE id = :id", params)
    if not found:
        return None
    status = found[0]
    author = await _all(
        conn,
        "SELECT id, username, domain, uri, display_name FROM accounts WHERE id = :id",
        {"id": status["account_id"]},
    )
    return {
        "status": status,
        "author": author[0] if author else None,
        "edits": await _all(
            conn,
            "SELECT content, spoiler_text, sensitive, created_at FROM status_edits"
            " WHERE status_id = :id ORDER BY id",
            params,
        ),
        "mentions": await _all(
            conn,
            "SELECT a.id, a.username, a.domain, a.uri FROM status_mentions m"
            " JOIN accounts a ON a.id = m.account_id WHERE m.status_id = :id ORDER BY a.id",
            params,
        ),
        "tags": [
            row["name"]
            for row in await _all(
                conn, "SELECT name FROM status_tags WHERE status_id = :id ORDER BY name", params
            )
        ],
        "media": await _all(
            conn,
            "SELECT * FROM media_attachments WHERE status_id = :id ORDER BY position IS NULL,"
            " position, id",
            params,
        ),
        "poll": (await _all(conn, "SELECT * FROM polls WHERE status_id = :id", params) or [None])[
            0
        ],
    }


def snapshot_records(copy: PreservedStatus) -> tuple[StatusRecord, list[MediaRecord]]:
    """The status and media rows of a copy, as the store's records (for the eDiscovery
    export, which renders them as it renders live statuses)."""
    status = copy.snapshot["status"]
    values = {f.name: status.get(f.name) for f in fields(StatusRecord)}
    for name in ("created_at", "edited_at", "deleted_at"):
        values[name] = parse_db_time(values[name])
    for name in ("local", "sensitive", "local_only"):
        values[name] = bool(values[name])
    media = [
        _media_record({f.name: item.get(f.name) for f in fields(MediaRecord)})  # type: ignore[arg-type]
        for item in copy.snapshot.get("media") or []
    ]
    return StatusRecord(**values), media


async def preserve_if_held(conn: Connection, status_id: int, now: datetime) -> list[int]:
    """If active holds cover the status about to be deleted, keep its snapshot (and its media
    files) and write the audit row; returns the covering holds' ids (empty: not held)."""
    async with conn.execute(
        "SELECT 1 FROM legal_holds WHERE released_at IS NULL LIMIT 1"
    ) as cursor:
        if await cursor.fetchone() is None:
            return []
    hold_ids = (await covering(conn, [status_id])).get(status_id, [])
    if not hold_ids:
        return []
    copy = await snapshot(conn, status_id)
    assert copy is not None
    await _index_now(conn, [status_id])  # its index row stays with the copy, for eDiscovery
    status = copy["status"]
    await conn.execute(
        "INSERT INTO held_statuses (status_id, account_id, uri, local, visibility, created_at,"
        " preserved_at, snapshot) VALUES (:id, :account, :uri, :local, :visibility, :created,"
        " :now, :snapshot) ON CONFLICT (status_id) DO NOTHING",
        {
            "id": status_id,
            "account": status["account_id"],
            "uri": status["uri"],
            "local": status["local"],
            "visibility": status["visibility"],
            "created": status["created_at"],
            "now": db_time(now),
            "snapshot": json.dumps(copy, ensure_ascii=False),
        },
    )
    await conn.executemany(
        "INSERT OR IGNORE INTO held_status_holds (status_id, hold_id) VALUES (?, ?)",
        [(status_id, hold_id) for hold_id in hold_ids],
    )
    files = {
        name
        for item in copy["media"]
        for name in (item.get("file_name"), item.get("preview_name"))
        if name
    }
    await conn.executemany(
        "INSERT OR IGNORE INTO held_media (file_name, status_id) VALUES (?, ?)",
        [(name, status_id) for name in sorted(files)],
    )
    await audit.append(
        conn,
        now=now,
        actor_account_id=None,
        actor_name=AUDIT_ACTOR,
        action="hold.preserve",
        target=status["uri"],
        details={"status_id": status_id, "holds": sorted(hold_ids)},
        origin="system",
    )
    return sorted(hold_ids)


async def erase_unheld(conn: Connection, hold_id: int) -> list[int]:
    """After `hold_id` is released: drop it from the copies it kept, and erase the copies no
    other active hold keeps. Returns the ids of the statuses whose copies were erased."""
    async with conn.execute(
        "SELECT status_id FROM held_status_holds WHERE hold_id = :hold", {"hold": hold_id}
    ) as cursor:
        kept = [row[0] for row in await cursor.fetchall()]
    await conn.execute("DELETE FROM held_status_holds WHERE hold_id = :hold", {"hold": hold_id})
    still = {
        row[0]
        for row in await rows_in(
            conn,
            "SELECT k.status_id FROM held_status_holds k JOIN legal_holds h ON h.id = k.hold_id"
            " WHERE k.status_id IN ({ids}) AND h.released_at IS NULL",
            kept,
        )
    }
    erased = [status_id for status_id in kept if status_id not in still]
    await conn.executemany("DELETE FROM held_statuses WHERE status_id = ?", [(i,) for i in erased])
    await conn.executemany("DELETE FROM status_search WHERE rowid = ?", [(i,) for i in erased])
    return erased


async def preserved(
    conn: Connection,
    *,
    hold_id: int | None = None,
    account_id: int | None = None,
    ids: Sequence[int] | None = None,
    after_id: int = 0,
    limit: int = 500,
) -> list[PreservedStatus]:
    """Preserved copies (of one hold's, or one account's, statuses), by status id from
    `after_id`, at most `limit`: for the eDiscovery export and the admin pages."""
    where = ["p.status_id > :after"]
    params: dict[str, Any] = {"after": after_id, "limit": limit}
    if hold_id is not None:
        where.append(
            "p.status_id IN (SELECT status_id FROM held_status_holds WHERE hold_id = :hold)"
        )
        params["hold"] = hold_id
    if account_id is not None:
        where.append("p.account_id = :account")
        params["account"] = account_id
    if ids is not None:
        where.append(f"p.status_id IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})")
    async with conn.execute(
        "SELECT p.status_id, p.uri, p.account_id, p.local, p.visibility, p.created_at,"
        f" p.preserved_at, p.snapshot FROM held_statuses p WHERE {' AND '.join(where)}"
        " ORDER BY p.status_id LIMIT :limit",
        params,
    ) as cursor:
        rows = await cursor.fetchall()
    holds: dict[int, list[int]] = {}
    for status_id, hold in await rows_in(
        conn,
        "SELECT status_id, hold_id FROM held_status_holds WHERE status_id IN ({ids})"
        " ORDER BY hold_id",
        [row[0] for row in rows],
    ):
        holds.setdefault(status_id, []).append(hold)
    return [
        PreservedStatus(
            status_id=row[0],
            uri=row[1],
            account_id=row[2],
            local=bool(row[3]),
            visibility=row[4],
            created_at=parse_db_time(row[5]),  # type: ignore[arg-type]
            preserved_at=parse_db_time(row[6]),  # type: ignore[arg-type]
            hold_ids=tuple(holds.get(row[0], ())),
            snapshot=json.loads(row[7]),
        )
        for row in rows
    ]


async def is_preserved(conn: Connection, status_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM held_statuses WHERE status_id = :id", {"id": status_id}
    ) as cursor:
        return await cursor.fetchone() is not None


async def preserved_counts(conn: Connection) -> dict[int, int]:
    """How many copies each hold keeps, by hold id."""
    async with conn.execute(
        "SELECT hold_id, count(*) FROM held_status_holds GROUP BY hold_id"
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def held_files(conn: Connection, names: Iterable[str]) -> set[str]:
    """Which of the media file `names` a preserved copy names (they must stay on disk)."""
    wanted = list(dict.fromkeys(names))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        async with conn.execute(
            f"SELECT file_name FROM held_media WHERE file_name IN ({marks})", chunk
        ) as cursor:
            found |= {row[0] for row in await cursor.fetchall()}
    return found
