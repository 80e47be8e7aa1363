"""Questions and their accepted answers (issue 9, point 2; docs/federation.md).

A question is a status with a row in `questions`; its accepted answer, when there is one, is
a status that replies to it directly (callers check that before `set_accepted`: the store
only keeps what it is told). An accepted answer deleted since counts as none.

`page_ids` reads the open questions for the client API and the web pages, paged by status
id as the timelines are. It keeps out in SQL what the reader could not see anyway (so that a
page is not mostly empty), but callers still check each status with
`watercooler.visibility.can_see`, the one rule of visibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import aiosqlite

from store.api_timelines import Page
from store.db import Connection, db_time, parse_db_time

NO_MAX = 2**63 - 1
State = Literal["unanswered", "answered", "all"]
STATES: tuple[State, ...] = ("unanswered", "answered", "all")
"""`unanswered`: no accepted answer yet (replies or not); `answered`: one is accepted."""


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """A question; `accepted_answer_*` are None while no (undeleted) answer is accepted."""

    status_id: int
    accepted_answer_id: int | None
    accepted_answer_uri: str | None
    accepted_at: datetime | None


_SELECT = (
    "SELECT q.status_id, a.id, a.uri, q.accepted_at FROM questions q"
    " LEFT JOIN statuses a ON a.id = q.accepted_answer_id AND a.deleted_at IS NULL"
)


def _record(row: aiosqlite.Row) -> QuestionRecord:
    accepted = row[1] is not None
    return QuestionRecord(
        status_id=row[0],
        accepted_answer_id=row[1] if accepted else None,
        accepted_answer_uri=row[2] if accepted else None,
        accepted_at=parse_db_time(row[3]) if accepted else None,
    )


async def mark(conn: Connection, status_id: int, *, now: datetime) -> bool:
    """Make the status a question; True if it was not one yet."""
    cursor = await conn.execute(
        "INSERT INTO questions (status_id, created_at) VALUES (:status, :now)"
        " ON CONFLICT DO NOTHING",
        {"status": status_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def get(conn: Connection, status_id: int) -> QuestionRecord | None:
    async with conn.execute(f"{_SELECT} WHERE q.status_id = :status", {"status": status_id}) as c:
        row = await c.fetchone()
    return _record(row) if row else None


async def for_statuses(conn: Connection, status_ids: Sequence[int]) -> dict[int, QuestionRecord]:
    """The questions among `status_ids`, by status id (one statement per 500 ids)."""
    found: dict[int, QuestionRecord] = {}
    ids = list(dict.fromkeys(status_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        params = {f"s{i}": status_id for i, status_id in enumerate(chunk)}
        marks = ", ".join(f":s{i}" for i in range(len(chunk)))
        async with conn.execute(f"{_SELECT} WHERE q.status_id IN ({marks})", params) as cursor:
            for row in await cursor.fetchall():
                record = _record(row)
                found[record.status_id] = record
    return found


async def set_accepted(
    conn: Connection, status_id: int, answer_id: int | None, *, now: datetime
) -> bool:
    """Accept `answer_id` for the question (None: no accepted answer); True if it changed."""
    current = await get(conn, status_id)
    if current is None or current.accepted_answer_id == answer_id:
        return False
    await conn.execute(
        "UPDATE questions SET accepted_answer_id = :answer, accepted_at = :now"
        " WHERE status_id = :status",
        {"answer": answer_id, "now": db_time(now) if answer_id else None, "status": status_id},
    )
    return True


async def page_ids(
    conn: Connection,
    page: Page,
    *,
    viewer_id: int,
    state: State = "unanswered",
    since: datetime | None = None,
    tag: str | None = None,
) -> list[int]:
    """Ids of questions newest first: those in `state`, asked at or after `since`, tagged
    `tag` (case-insensitive), among what `viewer_id` might see (public, unlisted and org
    posts, their own, those they are mentioned in, followers-only posts of those they
    follow). Boosts and deleted posts are never questions here."""
    params: dict[str, Any] = {"max": page.max_id or NO_MAX, "limit": page.limit}
    lower = page.min_id if page.min_id is not None else page.since_id
    params["min"] = lower if lower is not None else 0
    params["viewer"] = viewer_id
    where = [
        "s.id < :max",
        "s.id > :min",
        "s.deleted_at IS NULL",
        "s.reblog_of_id IS NULL",
        "(s.visibility IN ('public', 'unlisted', 'org') OR s.account_id = :viewer"
        " OR EXISTS (SELECT 1 FROM status_mentions m"
        "   WHERE m.status_id = s.id AND m.account_id = :viewer)"
        " OR (s.visibility = 'private' AND EXISTS (SELECT 1 FROM follows f"
        "   WHERE f.account_id = :viewer AND f.target_account_id = s.account_id"
        "   AND f.state = 'accepted')))",
    ]
    accepted = (
        "EXISTS (SELECT 1 FROM statuses a WHERE a.id = q.accepted_answer_id"
        " AND a.deleted_at IS NULL)"
    )
    if state == "unanswered":
        where.append(f"NOT {accepted}")
    elif state == "answered":
        where.append(accepted)
    if since is not None:
        where.append("s.created_at >= :since")
        params["since"] = db_time(since)
    if tag is not None:
        where.append(
            "EXISTS (SELECT 1 FROM status_tags t WHERE t.status_id = s.id AND t.name = :tag)"
        )
        params["tag"] = tag.lower()
    order = "ASC" if page.min_id is not None else "DESC"
    async with conn.execute(
        "SELECT s.id FROM questions q JOIN statuses s ON s.id = q.status_id"
        f" WHERE {' AND '.join(where)} ORDER BY s.id {order} LIMIT :limit",
        params,
    ) as cursor:
        ids = [int(row[0]) for row in await cursor.fetchall()]
    return sorted(ids, reverse=True)
