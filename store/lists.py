"""Lists of local accounts (Mastodon's): their members and their timelines.

A list timeline is materialised on write, like the home timeline: `fan_out` (called by
`store.timelines.add`, for every status that reaches a home timeline) adds the status to the
readers' lists that hold its author, and adding a member brings in the member's recent posts
from the owner's home timeline, as Mastodon merges them. Reading a page is then one range of
the (list, status) key. The reply policy and mutes are applied when a page is read, so a
changed policy shows at once. Members must be accounts the owner follows (or has asked to
follow); `store.follows.delete` takes an account out of the follower's lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.api_timelines import Page
from store.db import Connection, db_time, parse_db_time

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 50
"""Lists per account, Mastodon's PER_ACCOUNT_LIMIT."""
BACKFILL = 400
"""Recent posts of a new member brought into the list (Mastodon's feed size)."""
NO_MAX = 2**63 - 1
_COLUMNS = "id, account_id, title, replies_policy, exclusive, created_at"

# Which replies a list shows, besides posts that are no reply, replies to oneself (threads)
# and replies to the list's owner: Mastodon's FeedManager#filter_from_list?.
_REPLIES = {
    "none": "",
    "list": " OR s.in_reply_to_account_id IN"
    " (SELECT account_id FROM list_accounts WHERE list_id = :list)",
    "followed": " OR s.in_reply_to_account_id IN (SELECT target_account_id FROM follows"
    " WHERE account_id = :owner AND state = 'accepted')",
}


@dataclass(frozen=True, slots=True)
class ListRecord:
    id: int
    account_id: int
    title: str
    replies_policy: str
    exclusive: bool
    created_at: datetime


def _record(row: aiosqlite.Row) -> ListRecord:
    values: dict[str, Any] = dict(row)
    values["exclusive"] = bool(values["exclusive"])
    values["created_at"] = parse_db_time(values["created_at"])
    return ListRecord(**values)


async def create(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    title: str,
    replies_policy: str,
    exclusive: bool,
    now: datetime,
) -> ListRecord:
    await conn.execute(
        "INSERT INTO lists (id, account_id, title, replies_policy, exclusive, created_at)"
        " VALUES (:id, :account, :title, :policy, :exclusive, :now)",
        {
            "id": id_,
            "account": account_id,
            "title": title,
            "policy": replies_policy,
            "exclusive": int(exclusive),
            "now": db_time(now),
        },
    )
    made = await get(conn, account_id, id_)
    assert made is not None
    return made


async def count_owned(conn: Connection, account_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM lists WHERE account_id = :account", {"account": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def owned(conn: Connection, account_id: int) -> list[ListRecord]:
    """The account's lists, oldest first."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM lists WHERE account_id = :account ORDER BY id",
        {"account": account_id},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def get(conn: Connection, account_id: int, list_id: int) -> ListRecord | None:
    """The account's own list; None for an unknown list or someone else's."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM lists WHERE id = :id AND account_id = :account",
        {"id": list_id, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def update(
    conn: Connection, list_id: int, *, title: str, replies_policy: str, exclusive: bool
) -> None:
    await conn.execute(
        "UPDATE lists SET title = :title, replies_policy = :policy, exclusive = :exclusive"
        " WHERE id = :id",
        {"id": list_id, "title": title, "policy": replies_policy, "exclusive": int(exclusive)},
    )


async def delete(conn: Connection, list_id: int) -> None:
    """The list, its members and its timeline (the foreign keys cascade)."""
    await conn.execute("DELETE FROM lists WHERE id = :id", {"id": list_id})


async def containing(conn: Connection, owner_id: int, account_id: int) -> list[ListRecord]:
    """The owner's lists that hold `account_id`."""
    async with conn.execute(
        "SELECT l.id, l.account_id, l.title, l.replies_policy, l.exclusive, l.created_at"
        " FROM list_accounts la JOIN lists l ON l.id = la.list_id"
        " WHERE la.account_id = :member AND l.account_id = :owner ORDER BY l.id",
        {"member": account_id, "owner": owner_id},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def member_ids(conn: Connection, list_id: int, page: Page | None) -> list[int]:
    """Member account ids, highest first, paged by account id as Mastodon pages them;
    every member when `page` is None (Mastodon's `limit=0`)."""
    if page is None:
        async with conn.execute(
            "SELECT account_id FROM list_accounts WHERE list_id = :list ORDER BY account_id DESC",
            {"list": list_id},
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]
    where, params, order = _window(page, "account_id")
    params["list"] = list_id
    async with conn.execute(
        f"SELECT account_id FROM list_accounts WHERE list_id = :list AND {where}"
        f" ORDER BY account_id {order} LIMIT :limit",
        params,
    ) as cursor:
        found = [row[0] for row in await cursor.fetchall()]
    return sorted(found, reverse=True)


async def is_member(conn: Connection, list_id: int, account_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM list_accounts WHERE list_id = :list AND account_id = :account",
        {"list": list_id, "account": account_id},
    ) as cursor:
        return await cursor.fetchone() is not None


async def add_members(conn: Connection, owned_list: ListRecord, account_ids: Iterable[int]) -> None:
    """Add members (the caller has checked they may be) and bring their recent posts from
    the owner's home timeline into the list."""
    for account_id in account_ids:
        params = {
            "list": owned_list.id,
            "owner": owned_list.account_id,
            "member": account_id,
            "limit": BACKFILL,
        }
        await conn.execute(
            "INSERT OR IGNORE INTO list_accounts (list_id, account_id) VALUES (:list, :member)",
            params,
        )
        await conn.execute(
            "INSERT OR IGNORE INTO list_timeline (list_id, status_id)"
            " SELECT :list, s.id FROM statuses s"
            " JOIN home_timeline h ON h.account_id = :owner AND h.status_id = s.id"
            " WHERE s.account_id = :member AND s.visibility != 'direct'"
            " AND s.deleted_at IS NULL ORDER BY s.id DESC LIMIT :limit",
            params,
        )


async def remove_members(conn: Connection, list_id: int, account_ids: Iterable[int]) -> None:
    """Take members out, and their posts out of the list's timeline."""
    for account_id in account_ids:
        params = {"list": list_id, "member": account_id}
        await conn.execute(
            "DELETE FROM list_accounts WHERE list_id = :list AND account_id = :member", params
        )
        await conn.execute(
            "DELETE FROM list_timeline WHERE list_id = :list AND status_id IN"
            " (SELECT id FROM statuses WHERE account_id = :member)",
            params,
        )


async def fan_out(conn: Connection, readers: Iterable[int], status_id: int) -> None:
    """A status that reaches the home timelines of `readers` also goes into those readers'
    lists that hold its author (or booster). Direct messages stay out of lists (Mastodon
    puts them in conversations)."""
    owners = set(readers)
    if not owners:
        return
    async with conn.execute(
        "SELECT la.list_id, l.account_id FROM statuses s"
        " JOIN list_accounts la ON la.account_id = s.account_id"
        " JOIN lists l ON l.id = la.list_id WHERE s.id = :status AND s.visibility != 'direct'",
        {"status": status_id},
    ) as cursor:
        rows = await cursor.fetchall()
    targets = [(row[0], status_id) for row in rows if row[1] in owners]
    if targets:
        await conn.executemany(
            "INSERT OR IGNORE INTO list_timeline (list_id, status_id) VALUES (?, ?)", targets
        )


def _window(page: Page, column: str) -> tuple[str, dict[str, Any], str]:
    """(where clause, params, order) of a page over `column`, as store.api_timelines."""
    lower = page.min_id if page.min_id is not None else page.since_id
    params: dict[str, Any] = {
        "max": page.max_id or NO_MAX,
        "min": lower if lower is not None else 0,
        "limit": page.limit,
    }
    order = "ASC" if page.min_id is not None else "DESC"
    return f"{column} < :max AND {column} > :min", params, order


async def timeline(
    conn: Connection, owned_list: ListRecord, page: Page, *, now: datetime
) -> list[int]:
    """Status ids of a page of the list's timeline, newest first: current members' posts
    and boosts, not deleted, not by accounts the owner mutes, replies as the list's policy
    says."""
    where, params, order = _window(page, "t.status_id")
    params.update(list=owned_list.id, owner=owned_list.account_id, now=db_time(now))
    replies = _REPLIES.get(owned_list.replies_policy, "")
    async with conn.execute(
        "SELECT t.status_id FROM list_timeline t JOIN statuses s ON s.id = t.status_id"
        " JOIN list_accounts la ON la.list_id = t.list_id AND la.account_id = s.account_id"
        f" WHERE t.list_id = :list AND s.deleted_at IS NULL AND {where}"
        " AND (s.in_reply_to_uri IS NULL OR s.in_reply_to_account_id = s.account_id"
        f" OR s.in_reply_to_account_id = :owner{replies})"
        " AND s.account_id NOT IN (SELECT target_account_id FROM mutes"
        " WHERE account_id = :owner AND (expires_at IS NULL OR expires_at > :now))"
        f" ORDER BY t.status_id {order} LIMIT :limit",
        params,
    ) as cursor:
        found = [row[0] for row in await cursor.fetchall()]
    return sorted(found, reverse=True)
