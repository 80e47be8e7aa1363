"""Queries on follows and follow requests (state 'pending' until accepted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time
from store.records import FollowRecord

PENDING = "pending"
ACCEPTED = "accepted"
_SELECT = "SELECT id, account_id, target_account_id, uri, state, created_at FROM follows"


def _record(row: aiosqlite.Row) -> FollowRecord:
    values: dict[str, Any] = dict(row)
    values["created_at"] = parse_db_time(values["created_at"])
    return FollowRecord(**values)


async def upsert(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    target_account_id: int,
    uri: str,
    state: str,
    now: datetime,
) -> FollowRecord:
    """Create the follow, or refresh its activity id and state if it exists (a re-follow)."""
    await conn.execute(
        "INSERT INTO follows (id, account_id, target_account_id, uri, state, created_at,"
        " updated_at) VALUES (:id, :account, :target, :uri, :state, :now, :now)"
        " ON CONFLICT (account_id, target_account_id) DO UPDATE SET uri = excluded.uri,"
        " state = CASE WHEN follows.state = 'accepted' THEN 'accepted' ELSE excluded.state END,"
        " updated_at = excluded.updated_at",
        {
            "id": id_,
            "account": account_id,
            "target": target_account_id,
            "uri": uri,
            "state": state,
            "now": db_time(now),
        },
    )
    follow = await get(conn, account_id, target_account_id)
    assert follow is not None
    return follow


async def get(conn: Connection, account_id: int, target_account_id: int) -> FollowRecord | None:
    async with conn.execute(
        f"{_SELECT} WHERE account_id = :account AND target_account_id = :target",
        {"account": account_id, "target": target_account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def get_by_uri(conn: Connection, uri: str) -> FollowRecord | None:
    async with conn.execute(f"{_SELECT} WHERE uri = :uri", {"uri": uri}) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def set_state(conn: Connection, follow_id: int, state: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE follows SET state = :state, updated_at = :now WHERE id = :id",
        {"id": follow_id, "state": state, "now": db_time(now)},
    )


async def delete(conn: Connection, follow_id: int) -> None:
    """The follow (or request) goes, and the followed account leaves the follower's lists
    with it, as in Mastodon (unfollow, block, a rejected request)."""
    await conn.execute(
        "DELETE FROM list_accounts WHERE (list_id, account_id) IN"
        " (SELECT l.id, f.target_account_id FROM follows f JOIN lists l"
        " ON l.account_id = f.account_id WHERE f.id = :id)",
        {"id": follow_id},
    )
    await conn.execute("DELETE FROM follows WHERE id = :id", {"id": follow_id})


async def set_options(
    conn: Connection, follow_id: int, *, notify: bool | None, show_reblogs: bool | None
) -> None:
    """The follower's choices on a follow or request; None keeps what was chosen before (a
    follow sent again without them changes nothing, as on Mastodon)."""
    await conn.execute(
        "UPDATE follows SET notify = coalesce(:notify, notify),"
        " show_reblogs = coalesce(:show_reblogs, show_reblogs) WHERE id = :id",
        {
            "id": follow_id,
            "notify": None if notify is None else int(notify),
            "show_reblogs": None if show_reblogs is None else int(show_reblogs),
        },
    )


async def options(conn: Connection, account_id: int, target_account_id: int) -> tuple[bool, bool]:
    """(notify, show_reblogs) of a follow or request; (False, True) when there is none."""
    async with conn.execute(
        "SELECT notify, show_reblogs FROM follows"
        " WHERE account_id = :account AND target_account_id = :target",
        {"account": account_id, "target": target_account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return (bool(row[0]), bool(row[1])) if row else (False, True)


async def is_following(conn: Connection, account_id: int, target_account_id: int) -> bool:
    follow = await get(conn, account_id, target_account_id)
    return follow is not None and follow.state == ACCEPTED


async def local_follower_ids(conn: Connection, target_account_id: int) -> list[int]:
    """Local accounts that follow `target_account_id` (whose home timelines get its posts)."""
    async with conn.execute(
        "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id"
        " WHERE f.target_account_id = :target AND f.state = 'accepted' AND a.domain IS NULL",
        {"target": target_account_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def remote_follower_inboxes(conn: Connection, target_account_id: int) -> list[str]:
    """Distinct inboxes of remote followers, shared inbox preferred: one delivery per server."""
    async with conn.execute(
        "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM follows f"
        " JOIN accounts a ON a.id = f.account_id WHERE f.target_account_id = :target"
        " AND f.state = 'accepted' AND a.domain IS NOT NULL"
        " AND coalesce(a.shared_inbox_url, a.inbox_url) IS NOT NULL",
        {"target": target_account_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def page_of_uris(
    conn: Connection, account_id: int, *, followers: bool, offset: int, limit: int
) -> list[str]:
    """Actor URIs of accepted followers (or followed accounts), newest first."""
    mine, theirs = (
        ("target_account_id", "account_id") if followers else ("account_id", "target_account_id")
    )
    async with conn.execute(
        f"SELECT a.uri FROM follows f JOIN accounts a ON a.id = f.{theirs}"
        f" WHERE f.{mine} = :account AND f.state = 'accepted' ORDER BY f.id DESC"
        " LIMIT :limit OFFSET :offset",
        {"account": account_id, "limit": limit, "offset": offset},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def count(conn: Connection, account_id: int, *, followers: bool) -> int:
    column = "target_account_id" if followers else "account_id"
    async with conn.execute(
        f"SELECT count(*) FROM follows WHERE {column} = :account AND state = 'accepted'",
        {"account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
