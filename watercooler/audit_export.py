"""Exporting the audit log as JSON lines, for the CLI (`watercooler audit export`) and the
admin pages' download (`/web/admin/audit.jsonl`).

Each line is one row as stored, in the canonical JSON the hash covers (keys sorted, no
spaces, non-ASCII as is): `id`, `at`, `actor_account_id`, `actor_name`, `action`, `target`,
`details` (an object), `origin`, `prev_hash`, `hash`. Dropping `prev_hash` and `hash` from a
line leaves exactly the object whose canonical JSON, after `prev_hash` and a newline, hashes
to `hash`; so anyone holding the file can re-check every row, and, for an export without
filters, the links between rows (docs/admin.md shows it in a few lines of Python).

Every export is itself a row ('audit.export'), written before the rows are read; the export
stops at that row, so a full export ends with its own record and its hash is the head of the
log at that moment.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.responses import StreamingResponse

from store import audit
from store.audit import AuditEntry
from store.db import Database
from store.records import UserRecord

PAGE = 500
MAX_FILTER = 100


@dataclass(frozen=True, slots=True)
class Filters:
    """What to export or show: `action` a name or a prefix ending in a dot, `actor` a name,
    `text` a piece of the target, actor, action or details, `since` inclusive, `until`
    exclusive (a bare date given as `until` means to the end of that day)."""

    action: str | None = None
    actor: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def as_details(self) -> dict[str, Any]:
        """The filters in force, for the export's own audit row."""
        named = {
            "action": self.action,
            "actor": self.actor,
            "text": self.text,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {key: value for key, value in named.items() if value is not None}

    @property
    def complete(self) -> bool:
        """No filter: the export is the whole chain and re-verifies link by link."""
        return not self.as_details()


def parse_bound(value: str, *, end: bool = False) -> datetime:
    """'YYYY-MM-DD' (a day in UTC; as the `end` of a range, the day after, so the day is in)
    or an ISO 8601 date and time (UTC unless it says otherwise). ValueError otherwise."""
    text = value.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def filters_from(
    *,
    action: str | None = None,
    actor: str | None = None,
    text: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> Filters:
    """Filters from strings as typed (blank means none). ValueError names a bad date."""

    def clean(value: str | None) -> str | None:
        return value.strip()[:MAX_FILTER] or None if value else None

    try:
        start = parse_bound(since) if since and since.strip() else None
    except ValueError:
        raise ValueError(f"Not a date: {since!r} (YYYY-MM-DD, or a date and time)") from None
    try:
        end = parse_bound(until, end=True) if until and until.strip() else None
    except ValueError:
        raise ValueError(f"Not a date: {until!r} (YYYY-MM-DD, or a date and time)") from None
    return Filters(clean(action), clean(actor), clean(text), start, end)


def line(row: dict[str, Any]) -> str:
    """One stored row as its export line (no newline): canonical JSON, `details` an object."""
    return audit.canonical_json({**row, "details": json.loads(row["details"])})


async def record_export(
    db: Database,
    now: datetime,
    *,
    actor_account_id: int | None,
    actor_name: str,
    origin: str,
    filters: Filters,
    to: str,
) -> AuditEntry:
    """The export's own row ('audit.export'): who took which rows where."""
    async with db.transaction() as conn:
        return await audit.append(
            conn,
            now=now,
            actor_account_id=actor_account_id,
            actor_name=actor_name,
            action="audit.export",
            target="audit_log",
            details={"filters": filters.as_details(), "to": to, "format": "jsonl"},
            origin=origin,
        )


async def export_lines(
    db: Database, filters: Filters, *, up_to_id: int, page: int = PAGE
) -> AsyncIterator[str]:
    """The matching rows up to `up_to_id`, oldest first, each a line with its newline; read a
    page at a time (one short read each), so memory stays one page however long the log."""
    after = 0
    while True:
        async with db.read() as conn:
            rows = await audit.stored_rows(
                conn,
                after_id=after,
                up_to_id=up_to_id,
                limit=page,
                action=filters.action,
                actor=filters.actor,
                text=filters.text,
                since=filters.since,
                until=filters.until,
            )
        for row in rows:
            yield line(row) + "\n"
        if len(rows) < page:
            return
        after = rows[-1]["id"]


async def download(
    db: Database, now: datetime, domain: str, *, user: UserRecord, origin: str, filters: Filters
) -> StreamingResponse:
    """The selection as a JSON-lines download (the web page's and the admin API's): recorded
    as 'audit.export' first, then streamed up to and including that row."""
    entry = await record_export(
        db,
        now,
        actor_account_id=user.account_id,
        actor_name=user.username,
        origin=origin,
        filters=filters,
        to="download",
    )
    name = f"audit-{domain.replace(':', '_')}-{now.strftime('%Y%m%dT%H%M%SZ')}.jsonl"
    return StreamingResponse(
        export_lines(db, filters, up_to_id=entry.id),
        media_type="application/jsonl",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
