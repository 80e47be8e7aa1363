"""Queries on signing keys: local key pairs and the public keys of remote actors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import aiosqlite

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.records import KeyRecord

_SELECT = (
    "SELECT k.id, k.account_id, k.key_uri, a.uri AS owner_uri, k.public_key_pem,"
    " k.private_key_pem, k.created_at FROM keys k JOIN accounts a ON a.id = k.account_id"
)


def _record(row: aiosqlite.Row) -> KeyRecord:
    values: dict[str, Any] = dict(row)
    values["created_at"] = parse_db_time(values["created_at"])
    return KeyRecord(**values)


async def insert_key(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    key_uri: str,
    public_key_pem: str,
    private_key_pem: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO keys (id, account_id, key_uri, public_key_pem, private_key_pem, created_at)"
        " VALUES (:id, :account_id, :key_uri, :public_key_pem, :private_key_pem, :created_at)",
        {
            "id": id_,
            "account_id": account_id,
            "key_uri": key_uri,
            "public_key_pem": public_key_pem,
            "private_key_pem": private_key_pem,
            "created_at": db_time(now),
        },
    )


async def replace_remote_key(
    conn: Connection, id_: int, *, account_id: int, key_uri: str, public_key_pem: str, now: datetime
) -> None:
    """Store a remote actor's current public key, replacing what we had under that key id."""
    await conn.execute(
        "DELETE FROM keys WHERE key_uri = :key_uri AND private_key_pem IS NULL",
        {"key_uri": key_uri},
    )
    await insert_key(
        conn,
        id_,
        account_id=account_id,
        key_uri=key_uri,
        public_key_pem=public_key_pem,
        private_key_pem=None,
        now=now,
    )


async def get_by_uri(conn: Connection, key_uri: str) -> KeyRecord | None:
    # One trip to the connection's thread (execute and fetch), not three: every signed
    # request from a signer not yet held in memory asks this.
    rows = await conn.execute_fetchall(f"{_SELECT} WHERE k.key_uri = :uri", {"uri": key_uri})
    return _record(rows[0]) if rows else None


async def standing(conn: Connection, ids: Iterable[int]) -> set[int]:
    """Which of these stored keys (by row id) are still there: a key replaced or removed
    since it was read is not (a replacement is a new row)."""
    rows = await rows_in(conn, "SELECT id FROM keys WHERE id IN ({ids})", ids)
    return {row[0] for row in rows}


async def get_for_account(conn: Connection, account_id: int) -> KeyRecord | None:
    """The account's newest key (the one it signs with, and the one its actor publishes)."""
    async with conn.execute(
        f"{_SELECT} WHERE k.account_id = :id ORDER BY k.id DESC LIMIT 1", {"id": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None
