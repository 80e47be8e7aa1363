"""Queries on threads and per-viewer status state: replies, bookmarks, idempotency keys."""

from __future__ import annotations

from datetime import datetime

from store.db import Connection, db_time

MAX_THREAD = 4096


async def reply_ids(conn: Connection, status_ids: list[int]) -> list[tuple[int, int]]:
    """(reply id, parent id) of the direct, undeleted replies to any of `status_ids`."""
    if not status_ids:
        return []
    marks = ", ".join("?" for _ in status_ids)
    async with conn.execute(
        f"SELECT id, in_reply_to_id FROM statuses WHERE in_reply_to_id IN ({marks})"
        " AND deleted_at IS NULL ORDER BY id",
        status_ids,
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def add_bookmark(
    conn: Connection, id_: int, account_id: int, status_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO bookmarks (account_id, status_id, id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account_id, status_id) DO NOTHING",
        (account_id, status_id, id_, db_time(now)),
    )


async def remove_bookmark(conn: Connection, account_id: int, status_id: int) -> None:
    await conn.execute(
        "DELETE FROM bookmarks WHERE account_id = ? AND status_id = ?", (account_id, status_id)
    )


async def is_bookmarked(conn: Connection, account_id: int, status_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM bookmarks WHERE account_id = ? AND status_id = ?", (account_id, status_id)
    ) as cursor:
        return await cursor.fetchone() is not None


async def bookmarked_page(
    conn: Connection, account_id: int, *, max_id: int | None, limit: int
) -> list[tuple[int, int]]:
    """(bookmark id, status id), newest bookmark first."""
    async with conn.execute(
        "SELECT id, status_id FROM bookmarks WHERE account_id = ? AND id < ?"
        " ORDER BY id DESC LIMIT ?",
        (account_id, max_id if max_id is not None else 2**63 - 1, limit),
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def idempotent_status(conn: Connection, account_id: int, key: str) -> int | None:
    async with conn.execute(
        "SELECT status_id FROM idempotency_keys WHERE account_id = ? AND key = ?", (account_id, key)
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else None


async def remember_idempotency(
    conn: Connection, account_id: int, key: str, status_id: int, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account_id, key) DO NOTHING",
        (account_id, key, status_id, db_time(now)),
    )


async def favourited_by(conn: Connection, status_id: int, *, limit: int) -> list[int]:
    async with conn.execute(
        "SELECT account_id FROM favourites WHERE status_id = ? ORDER BY id DESC LIMIT ?",
        (status_id, limit),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def reblogged_by(conn: Connection, status_id: int, *, limit: int) -> list[int]:
    async with conn.execute(
        "SELECT account_id FROM statuses WHERE reblog_of_id = ? AND deleted_at IS NULL"
        " ORDER BY id DESC LIMIT ?",
        (status_id, limit),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def favourited_page(
    conn: Connection, account_id: int, *, max_id: int | None, limit: int
) -> list[tuple[int, int]]:
    """(favourite id, status id), newest favourite first."""
    async with conn.execute(
        "SELECT id, status_id FROM favourites WHERE account_id = ? AND id < ?"
        " ORDER BY id DESC LIMIT ?",
        (account_id, max_id if max_id is not None else 2**63 - 1, limit),
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]
