"""Home timelines, materialised on write: a status is added to each reader's list once."""

from __future__ import annotations

from collections.abc import Iterable

from store import lists
from store.db import Connection


async def add(conn: Connection, account_ids: Iterable[int], status_id: int) -> None:
    """Into the readers' home timelines, and into their lists that hold the author."""
    readers = set(account_ids)
    await conn.executemany(
        "INSERT OR IGNORE INTO home_timeline (account_id, status_id) VALUES (?, ?)",
        [(account_id, status_id) for account_id in readers],
    )
    await lists.fan_out(conn, readers, status_id)


async def remove_status(conn: Connection, status_id: int) -> None:
    await conn.execute("DELETE FROM home_timeline WHERE status_id = :id", {"id": status_id})


async def remove_author_from(conn: Connection, account_id: int, author_id: int) -> None:
    """After an unfollow or a block: the author's posts leave the reader's home timeline."""
    await conn.execute(
        "DELETE FROM home_timeline WHERE account_id = :reader AND status_id IN"
        " (SELECT id FROM statuses WHERE account_id = :author)",
        {"reader": account_id, "author": author_id},
    )


async def home_ids(
    conn: Connection, account_id: int, *, max_id: int | None = None, limit: int = 20
) -> list[int]:
    """Status ids of a home timeline, newest first."""
    async with conn.execute(
        "SELECT status_id FROM home_timeline WHERE account_id = :account AND status_id < :max"
        " ORDER BY status_id DESC LIMIT :limit",
        {"account": account_id, "max": max_id if max_id is not None else 2**63 - 1, "limit": limit},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]
