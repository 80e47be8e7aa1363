"""Instance settings changed at run time (the admin settings page): key -> text value.

Which keys exist and what they may hold is decided in watercooler/instance_settings.py; the
table's CHECK holds the same list.
"""

from __future__ import annotations

from datetime import datetime

from store.db import Connection, db_time


async def all_settings(conn: Connection) -> dict[str, str]:
    async with conn.execute("SELECT key, value FROM instance_settings") as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def put(conn: Connection, key: str, value: str, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value, updated_at) VALUES (:key, :value, :now)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        {"key": key, "value": value, "now": db_time(now)},
    )
