"""Queries on communities (FEP-1b12 groups): moderators, members, what a group announced
and what it pinned.

A community is an account with actor_type 'Group'; local ones have a `communities` row and
moderators. Members are its accepted followers (store.follows); what it announced are its
boosts (statuses whose `reblog_of_id` is set, `account_id` the group); its pins are
`status_pins` rows of the group, of posts by anyone. So a remote Lemmy community we follow
is read with the same queries as one of ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from store.api_timelines import Page
from store.db import Connection, db_time

NO_MAX = 2**63 - 1
GROUP = "Group"


async def insert(
    conn: Connection,
    account_id: int,
    *,
    creator_account_id: int | None,
    moderator_ids: Iterable[int],
    now: datetime,
) -> None:
    """The community row of a new local Group account and its first moderators."""
    await conn.execute(
        "INSERT INTO communities (account_id, creator_account_id, created_at)"
        " VALUES (:id, :creator, :now)",
        {"id": account_id, "creator": creator_account_id, "now": db_time(now)},
    )
    await set_moderators(conn, account_id, moderator_ids, now=now)


async def is_local_community(conn: Connection, account_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM communities WHERE account_id = :id", {"id": account_id}
    ) as cursor:
        return await cursor.fetchone() is not None


async def set_moderators(
    conn: Connection, community_id: int, account_ids: Iterable[int], *, now: datetime
) -> None:
    """Make `account_ids` the moderators, in place of whoever moderated before."""
    wanted = list(dict.fromkeys(account_ids))
    await conn.execute(
        "DELETE FROM community_moderators WHERE community_account_id = :community",
        {"community": community_id},
    )
    await conn.executemany(
        "INSERT INTO community_moderators (community_account_id, account_id, created_at)"
        " VALUES (:community, :account, :now)",
        [{"community": community_id, "account": a, "now": db_time(now)} for a in wanted],
    )


async def moderator_ids(conn: Connection, community_id: int) -> list[int]:
    """The moderators' account ids, in the order they were made moderators."""
    async with conn.execute(
        "SELECT account_id FROM community_moderators WHERE community_account_id = :community"
        " ORDER BY created_at, rowid",
        {"community": community_id},
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def moderator_uris(conn: Connection, community_id: int) -> list[str]:
    """The moderators' actor ids, for the `attributedTo` collection Lemmy reads."""
    async with conn.execute(
        "SELECT a.uri FROM community_moderators m JOIN accounts a ON a.id = m.account_id"
        " WHERE m.community_account_id = :community ORDER BY m.created_at, m.rowid",
        {"community": community_id},
    ) as cursor:
        return [str(row[0]) for row in await cursor.fetchall()]


async def is_moderator(conn: Connection, community_id: int, account_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM community_moderators WHERE community_account_id = :community"
        " AND account_id = :account",
        {"community": community_id, "account": account_id},
    ) as cursor:
        return await cursor.fetchone() is not None


async def group_ids(conn: Connection, *, member_id: int | None = None) -> list[int]:
    """Every local community, then the remote groups `member_id` follows or asked to; newest
    first within each."""
    params: dict[str, Any] = {"member": member_id if member_id is not None else -1}
    async with conn.execute(
        "SELECT a.id, a.domain IS NULL FROM accounts a WHERE a.actor_type = 'Group'"
        " AND a.suspended_at IS NULL AND (a.id IN (SELECT account_id FROM communities)"
        " OR a.id IN (SELECT target_account_id FROM follows WHERE account_id = :member))"
        " ORDER BY 2 DESC, a.id DESC",
        params,
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def member_count(conn: Connection, community_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM follows WHERE target_account_id = :id AND state = 'accepted'",
        {"id": community_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def member_ids(conn: Connection, community_id: int, *, limit: int = 200) -> list[int]:
    """Accepted members, latest first (for the moderators' page)."""
    async with conn.execute(
        "SELECT account_id FROM follows WHERE target_account_id = :id AND state = 'accepted'"
        " ORDER BY id DESC LIMIT :limit",
        {"id": community_id, "limit": limit},
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def timeline_page(conn: Connection, community_id: int, page: Page) -> list[tuple[int, int]]:
    """(announce id, post id) of what the group announced and has not taken back, newest
    first, paged by the announce (the group's boost) as Mastodon pages a timeline."""
    lower = page.min_id if page.min_id is not None else page.since_id
    params: dict[str, Any] = {
        "group": community_id,
        "max": page.max_id if page.max_id is not None else NO_MAX,
        "min": lower if lower is not None else -1,
        "limit": page.limit,
    }
    order = "ASC" if page.min_id is not None else "DESC"
    async with conn.execute(
        "SELECT b.id, b.reblog_of_id FROM statuses b JOIN statuses s ON s.id = b.reblog_of_id"
        " WHERE b.account_id = :group AND b.reblog_of_id IS NOT NULL AND b.deleted_at IS NULL"
        " AND s.deleted_at IS NULL AND b.id < :max AND b.id > :min"
        f" ORDER BY b.id {order} LIMIT :limit",
        params,
    ) as cursor:
        rows = [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
    return sorted(rows, reverse=True)


async def pinned_ids(conn: Connection, community_id: int) -> list[int]:
    """The posts the group pinned (any member's), latest pin first; deleted ones left out."""
    async with conn.execute(
        "SELECT s.id FROM status_pins p JOIN statuses s ON s.id = p.status_id"
        " WHERE p.account_id = :group AND s.deleted_at IS NULL ORDER BY p.id DESC",
        {"group": community_id},
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def pending_ids(conn: Connection, community_id: int, *, limit: int = 200) -> list[int]:
    """Accounts asking to join, oldest request first (the order they are answered in)."""
    async with conn.execute(
        "SELECT account_id FROM follows WHERE target_account_id = :id AND state = 'pending'"
        " ORDER BY id LIMIT :limit",
        {"id": community_id, "limit": limit},
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def local_shares(conn: Connection, status_id: int) -> list[tuple[int, int]]:
    """(share id, community id) of our communities' live shares of `status_id`."""
    async with conn.execute(
        "SELECT b.id, b.account_id FROM statuses b JOIN communities c ON c.account_id ="
        " b.account_id WHERE b.reblog_of_id = :id AND b.deleted_at IS NULL",
        {"id": status_id},
    ) as cursor:
        return [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
