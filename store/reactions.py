"""Queries on favourites (likes) and blocks."""

from __future__ import annotations

from datetime import datetime

from store.db import Connection, db_time


async def add_favourite(
    conn: Connection, id_: int, *, account_id: int, status_id: int, uri: str, now: datetime
) -> bool:
    """True if new; liking twice has one effect."""
    cursor = await conn.execute(
        "INSERT INTO favourites (id, account_id, status_id, uri, created_at)"
        " VALUES (:id, :account, :status, :uri, :now)"
        " ON CONFLICT (account_id, status_id) DO NOTHING",
        {"id": id_, "account": account_id, "status": status_id, "uri": uri, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def favourite_uri(conn: Connection, account_id: int, status_id: int) -> str | None:
    async with conn.execute(
        "SELECT uri FROM favourites WHERE account_id = :account AND status_id = :status",
        {"account": account_id, "status": status_id},
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def favourite_by_uri(conn: Connection, uri: str) -> tuple[int, int] | None:
    """(account id, status id) of the favourite published as `uri`."""
    async with conn.execute(
        "SELECT account_id, status_id FROM favourites WHERE uri = :uri", {"uri": uri}
    ) as cursor:
        row = await cursor.fetchone()
    return (row[0], row[1]) if row else None


async def block_by_uri(conn: Connection, uri: str) -> tuple[int, int] | None:
    """(account id, target account id) of the block published as `uri`."""
    async with conn.execute(
        "SELECT account_id, target_account_id FROM blocks WHERE uri = :uri", {"uri": uri}
    ) as cursor:
        row = await cursor.fetchone()
    return (row[0], row[1]) if row else None


async def remove_favourite(conn: Connection, account_id: int, status_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM favourites WHERE account_id = :account AND status_id = :status",
        {"account": account_id, "status": status_id},
    )
    return cursor.rowcount == 1


async def add_block(
    conn: Connection, id_: int, *, account_id: int, target_account_id: int, uri: str, now: datetime
) -> bool:
    cursor = await conn.execute(
        "INSERT INTO blocks (id, account_id, target_account_id, uri, created_at)"
        " VALUES (:id, :account, :target, :uri, :now)"
        " ON CONFLICT (account_id, target_account_id) DO NOTHING",
        {
            "id": id_,
            "account": account_id,
            "target": target_account_id,
            "uri": uri,
            "now": db_time(now),
        },
    )
    return cursor.rowcount == 1


async def block_uri(conn: Connection, account_id: int, target_account_id: int) -> str | None:
    async with conn.execute(
        "SELECT uri FROM blocks WHERE account_id = :account AND target_account_id = :target",
        {"account": account_id, "target": target_account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def remove_block(conn: Connection, account_id: int, target_account_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM blocks WHERE account_id = :account AND target_account_id = :target",
        {"account": account_id, "target": target_account_id},
    )
    return cursor.rowcount == 1


async def is_blocked_either_way(conn: Connection, a: int, b: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM blocks WHERE (account_id = :a AND target_account_id = :b)"
        " OR (account_id = :b AND target_account_id = :a) LIMIT 1",
        {"a": a, "b": b},
    ) as cursor:
        return await cursor.fetchone() is not None
