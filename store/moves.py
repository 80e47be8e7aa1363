"""Moving accounts (Mastodon's account migration): the aliases a local account claims, where
an account moved, and the queue of local followers to carry over to the new account.

An alias change bumps the account's `updated_at`, and a move sets `moved_to_account_id` on
the account's row, so the actor document (rendered again whenever that row differs,
store.documents) shows both at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from store.db import Connection, db_time, parse_db_time

MAX_ALIASES = 10
"""Aliases one account may list (Mastodon's form takes one at a time; GoToSocial keeps 10)."""


@dataclass(frozen=True, slots=True)
class ActorLinks:
    """What a local actor document says of other accounts: `alsoKnownAs` and `movedTo`."""

    also_known_as: tuple[str, ...] = ()
    moved_to: str | None = None


NO_LINKS = ActorLinks()


@dataclass(frozen=True, slots=True)
class MoveFollow:
    """One local follower of a moved account, to follow the new account instead."""

    id: int
    follower_account_id: int
    old_account_id: int
    new_account_id: int


async def aliases(conn: Connection, account_id: int) -> list[str]:
    """The actor URIs `account_id` is also known as, oldest first."""
    async with conn.execute(
        "SELECT uri FROM account_aliases WHERE account_id = :id ORDER BY created_at, uri",
        {"id": account_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def add_alias(conn: Connection, account_id: int, uri: str, now: datetime) -> bool:
    """List `uri` as one of the account's aliases; False if it was listed already."""
    cursor = await conn.execute(
        "INSERT INTO account_aliases (account_id, uri, created_at) VALUES (:id, :uri, :now)"
        " ON CONFLICT DO NOTHING",
        {"id": account_id, "uri": uri, "now": db_time(now)},
    )
    if cursor.rowcount != 1:
        return False
    await _touch(conn, account_id, now)
    return True


async def remove_alias(conn: Connection, account_id: int, uri: str, now: datetime) -> bool:
    cursor = await conn.execute(
        "DELETE FROM account_aliases WHERE account_id = :id AND uri = :uri",
        {"id": account_id, "uri": uri},
    )
    if cursor.rowcount != 1:
        return False
    await _touch(conn, account_id, now)
    return True


async def _touch(conn: Connection, account_id: int, now: datetime) -> None:
    """The account's row changes, so its actor document is rendered again."""
    await conn.execute(
        "UPDATE accounts SET updated_at = :now WHERE id = :id",
        {"id": account_id, "now": db_time(now)},
    )


async def set_moved(conn: Connection, account_id: int, target_id: int, now: datetime) -> bool:
    """Record that `account_id` moved to `target_id`; False if it was recorded already."""
    cursor = await conn.execute(
        "UPDATE accounts SET moved_to_account_id = :target, moved_at = :now, updated_at = :now"
        " WHERE id = :id AND coalesce(moved_to_account_id, 0) <> :target",
        {"id": account_id, "target": target_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def moved_at(conn: Connection, account_id: int) -> datetime | None:
    async with conn.execute(
        "SELECT moved_at FROM accounts WHERE id = :id", {"id": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    return parse_db_time(row[0]) if row else None


async def actor_links(conn: Connection, account_id: int) -> ActorLinks:
    """`alsoKnownAs` and `movedTo` of a local account's actor document."""
    async with conn.execute(
        "SELECT t.uri FROM accounts a JOIN accounts t ON t.id = a.moved_to_account_id"
        " WHERE a.id = :id",
        {"id": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return ActorLinks(
        also_known_as=tuple(await aliases(conn, account_id)),
        moved_to=row[0] if row else None,
    )


async def queue_followers(
    conn: Connection,
    new_id: Callable[[], int],
    *,
    old_account_id: int,
    new_account_id: int,
    now: datetime,
) -> int:
    """Queue every local follower of the old account (accepted follows of local users) to
    be carried over to the new one; a follower queued already is not queued twice."""
    async with conn.execute(
        "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id"
        " WHERE f.target_account_id = :old AND f.state = 'accepted'"
        " AND f.account_id <> :new ORDER BY f.id",
        {"old": old_account_id, "new": new_account_id},
    ) as cursor:
        followers = [row[0] for row in await cursor.fetchall()]
    queued = 0
    for follower_id in followers:
        cursor = await conn.execute(
            "INSERT INTO move_follows (id, follower_account_id, old_account_id, new_account_id,"
            " created_at) VALUES (:id, :follower, :old, :new, :now) ON CONFLICT DO NOTHING",
            {
                "id": new_id(),
                "follower": follower_id,
                "old": old_account_id,
                "new": new_account_id,
                "now": db_time(now),
            },
        )
        queued += cursor.rowcount
    return queued


async def due_follows(conn: Connection, limit: int) -> list[MoveFollow]:
    """The oldest followers not carried over yet."""
    async with conn.execute(
        "SELECT id, follower_account_id, old_account_id, new_account_id FROM move_follows"
        " WHERE done_at IS NULL ORDER BY id LIMIT :limit",
        {"limit": limit},
    ) as cursor:
        return [MoveFollow(*row) for row in await cursor.fetchall()]


async def mark_done(conn: Connection, move_follow_id: int, now: datetime) -> bool:
    """False if another worker did it meanwhile."""
    cursor = await conn.execute(
        "UPDATE move_follows SET done_at = :now WHERE id = :id AND done_at IS NULL",
        {"id": move_follow_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def pending_count(conn: Connection, old_account_id: int) -> int:
    """Followers of a moved account still waiting to be carried over."""
    async with conn.execute(
        "SELECT count(*) FROM move_follows WHERE old_account_id = :old AND done_at IS NULL",
        {"old": old_account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
