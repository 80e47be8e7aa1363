"""Reports (Mastodon's): who reported whom for which statuses, and the queue's state.

A report is open until resolved (`action_taken_at`); moderators assign it, add notes, resolve
and reopen it. The callers write the audit row in the same transaction (watercooler/reports.py);
this module only keeps the rows. A report received as `Flag` has no local reporter
(`account_id` NULL) and names the division it came from (`origin_domain`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from store import notifications
from store.db import Connection, db_time, parse_db_time
from store.roles import MODERATOR

CATEGORIES = ("spam", "legal", "violation", "other")
"""Mastodon's report categories (4.0+)."""
ADMIN_REPORT = "admin.report"
"""The notification type of a new report (Mastodon 4)."""
PAGE_LIMIT = 200
NO_MAX = 2**63 - 1

_COLUMNS = (
    "id, account_id, target_account_id, comment, category, rule_ids, forwarded, origin_domain,"
    " uri, assigned_account_id, action_taken_at, action_taken_by_account_id, action_taken,"
    " created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class ReportRecord:
    id: int
    account_id: int | None
    target_account_id: int
    comment: str
    category: str
    rule_ids: tuple[str, ...]
    forwarded: bool
    origin_domain: str | None
    uri: str | None
    assigned_account_id: int | None
    action_taken_at: datetime | None
    action_taken_by_account_id: int | None
    action_taken: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def resolved(self) -> bool:
        return self.action_taken_at is not None


@dataclass(frozen=True, slots=True)
class ReportNote:
    id: int
    report_id: int
    account_id: int | None
    author_name: str
    content: str
    created_at: datetime


def _record(row: aiosqlite.Row) -> ReportRecord:
    created_at = parse_db_time(row["created_at"])
    updated_at = parse_db_time(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return ReportRecord(
        id=row["id"],
        account_id=row["account_id"],
        target_account_id=row["target_account_id"],
        comment=row["comment"],
        category=row["category"],
        rule_ids=tuple(str(rule) for rule in json.loads(row["rule_ids"])),
        forwarded=bool(row["forwarded"]),
        origin_domain=row["origin_domain"],
        uri=row["uri"],
        assigned_account_id=row["assigned_account_id"],
        action_taken_at=parse_db_time(row["action_taken_at"]),
        action_taken_by_account_id=row["action_taken_by_account_id"],
        action_taken=row["action_taken"],
        created_at=created_at,
        updated_at=updated_at,
    )


async def create(
    conn: Connection,
    id_: int,
    *,
    account_id: int | None,
    target_account_id: int,
    status_ids: Sequence[int],
    comment: str,
    category: str,
    rule_ids: Sequence[str] = (),
    forwarded: bool = False,
    origin_domain: str | None = None,
    uri: str | None = None,
    now: datetime,
) -> ReportRecord | None:
    """Store a report and the statuses it names. None if a report with this `uri` exists
    (a Flag received twice)."""
    if category not in CATEGORIES:
        raise ValueError(f"report category must be one of {CATEGORIES}, not {category!r}")
    cursor = await conn.execute(
        "INSERT INTO reports (id, account_id, target_account_id, comment, category, rule_ids,"
        " forwarded, origin_domain, uri, created_at, updated_at) VALUES (:id, :account_id,"
        " :target, :comment, :category, :rule_ids, :forwarded, :origin_domain, :uri, :now, :now)"
        " ON CONFLICT (uri) DO NOTHING",
        {
            "id": id_,
            "account_id": account_id,
            "target": target_account_id,
            "comment": comment,
            "category": category,
            "rule_ids": json.dumps([str(rule) for rule in rule_ids]),
            "forwarded": int(forwarded),
            "origin_domain": origin_domain,
            "uri": uri,
            "now": db_time(now),
        },
    )
    if cursor.rowcount != 1:
        return None
    await conn.executemany(
        "INSERT INTO report_statuses (report_id, status_id) VALUES (:report, :status)"
        " ON CONFLICT DO NOTHING",
        [{"report": id_, "status": status_id} for status_id in dict.fromkeys(status_ids)],
    )
    found = await get(conn, id_)
    assert found is not None
    return found


async def get(conn: Connection, report_id: int) -> ReportRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM reports WHERE id = :id", {"id": report_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def by_uri(conn: Connection, uri: str) -> ReportRecord | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM reports WHERE uri = :uri", {"uri": uri}) as c:
        row = await c.fetchone()
    return _record(row) if row else None


async def status_ids(conn: Connection, report_id: int) -> list[int]:
    """The statuses the report names, in id order (deleted ones included: evidence)."""
    async with conn.execute(
        "SELECT status_id FROM report_statuses WHERE report_id = :id ORDER BY status_id",
        {"id": report_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def page(
    conn: Connection,
    *,
    resolved: bool | None = False,
    account_id: int | None = None,
    target_account_id: int | None = None,
    origin_domain: str | None = None,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = 100,
) -> list[ReportRecord]:
    """Newest first, as Mastodon pages: `max_id` / `since_id` bound the ids; `min_id` pages
    forward (the oldest after it, still returned newest first). `resolved` None: both."""
    where = ["id < :max_id", "id > :since_id"]
    params: dict[str, object] = {
        "max_id": NO_MAX if max_id is None else max_id,
        "since_id": max(since_id or 0, min_id or 0),
        "limit": max(1, min(limit, PAGE_LIMIT)),
    }
    if resolved is not None:
        where.append("action_taken_at IS NOT NULL" if resolved else "action_taken_at IS NULL")
    if account_id is not None:
        where.append("account_id = :account_id")
        params["account_id"] = account_id
    if target_account_id is not None:
        where.append("target_account_id = :target_account_id")
        params["target_account_id"] = target_account_id
    if origin_domain is not None:
        where.append("origin_domain = :origin_domain")
        params["origin_domain"] = origin_domain
    order = "ASC" if min_id is not None else "DESC"
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM reports WHERE {' AND '.join(where)}"
        f" ORDER BY id {order} LIMIT :limit",
        params,
    ) as cursor:
        found = [_record(row) for row in await cursor.fetchall()]
    return sorted(found, key=lambda report: report.id, reverse=True)


async def count_open(conn: Connection) -> int:
    async with conn.execute("SELECT count(*) FROM reports WHERE action_taken_at IS NULL") as c:
        row = await c.fetchone()
    return int(row[0]) if row else 0


async def resolve(
    conn: Connection,
    report_id: int,
    *,
    by_account_id: int | None,
    now: datetime,
    action_taken: str | None = None,
) -> bool:
    """Mark the report resolved. True if it was open (the caller then writes its audit row);
    False if it was resolved already or does not exist. `by_account_id` None: the CLI or the
    server. Helper for moderation actions taken "with a report" (admin accounts action)."""
    cursor = await conn.execute(
        "UPDATE reports SET action_taken_at = :now, action_taken_by_account_id = :by,"
        " action_taken = :action, updated_at = :now WHERE id = :id AND action_taken_at IS NULL",
        {"id": report_id, "by": by_account_id, "action": action_taken, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def reopen(conn: Connection, report_id: int, *, now: datetime) -> bool:
    """True if the report was resolved and is open again."""
    cursor = await conn.execute(
        "UPDATE reports SET action_taken_at = NULL, action_taken_by_account_id = NULL,"
        " action_taken = NULL, updated_at = :now WHERE id = :id AND action_taken_at IS NOT NULL",
        {"id": report_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def assign(
    conn: Connection, report_id: int, account_id: int | None, *, now: datetime
) -> bool:
    """Assign the report to `account_id` (None: unassign). True if that changed anything."""
    cursor = await conn.execute(
        "UPDATE reports SET assigned_account_id = :account, updated_at = :now"
        " WHERE id = :id AND assigned_account_id IS NOT :account",
        {"id": report_id, "account": account_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def update(
    conn: Connection,
    report_id: int,
    *,
    category: str,
    rule_ids: Sequence[str],
    now: datetime,
) -> bool:
    """Change the category and rules (Mastodon's PUT /admin/reports/:id). True if changed."""
    if category not in CATEGORIES:
        raise ValueError(f"report category must be one of {CATEGORIES}, not {category!r}")
    cursor = await conn.execute(
        "UPDATE reports SET category = :category, rule_ids = :rule_ids, updated_at = :now"
        " WHERE id = :id AND (category IS NOT :category OR rule_ids IS NOT :rule_ids)",
        {
            "id": report_id,
            "category": category,
            "rule_ids": json.dumps([str(rule) for rule in rule_ids]),
            "now": db_time(now),
        },
    )
    return cursor.rowcount == 1


async def set_uri(conn: Connection, report_id: int, uri: str) -> None:
    """Record the id of the Flag that forwarded the report."""
    await conn.execute(
        "UPDATE reports SET uri = :uri WHERE id = :id", {"id": report_id, "uri": uri}
    )


async def add_note(
    conn: Connection,
    id_: int,
    report_id: int,
    *,
    account_id: int | None,
    author_name: str,
    content: str,
    now: datetime,
) -> ReportNote:
    await conn.execute(
        "INSERT INTO report_notes (id, report_id, account_id, author_name, content, created_at)"
        " VALUES (:id, :report, :account, :author, :content, :now)",
        {
            "id": id_,
            "report": report_id,
            "account": account_id,
            "author": author_name,
            "content": content,
            "now": db_time(now),
        },
    )
    await conn.execute(
        "UPDATE reports SET updated_at = :now WHERE id = :id",
        {"id": report_id, "now": db_time(now)},
    )
    return ReportNote(id_, report_id, account_id, author_name, content, now)


async def notes(conn: Connection, report_id: int) -> list[ReportNote]:
    async with conn.execute(
        "SELECT id, report_id, account_id, author_name, content, created_at FROM report_notes"
        " WHERE report_id = :id ORDER BY id",
        {"id": report_id},
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        ReportNote(
            id=row[0],
            report_id=row[1],
            account_id=row[2],
            author_name=row[3],
            content=row[4],
            created_at=parse_db_time(row[5]) or datetime.min,
        )
        for row in rows
    ]


async def moderator_account_ids(conn: Connection) -> list[int]:
    """The accounts of the users who work the queue: admins and holders of the moderator
    role (store.roles.MODERATOR), not disabled."""
    async with conn.execute(
        "SELECT u.account_id FROM users u WHERE u.disabled_at IS NULL AND (u.admin = 1"
        " OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = :role))"
        " ORDER BY u.account_id",
        {"role": MODERATOR},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def notify_moderators(
    conn: Connection,
    new_id: Callable[[], int],
    report: ReportRecord,
    *,
    sender_id: int,
    now: datetime,
) -> int:
    """Mastodon's `admin.report` notification of a new report to every admin and moderator
    (not to the reporter); `ref` is the report's id, which the API renders as `report`."""
    made = 0
    for recipient_id in await moderator_account_ids(conn):
        made += await notifications.notify(
            conn,
            new_id(),
            ADMIN_REPORT,
            recipient_id=recipient_id,
            sender_id=sender_id,
            ref=str(report.id),
            now=now,
        )
    return made
