"""The config file's policy as of the last start (migration 0030), to tell what changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from store.db import Connection, db_time


async def noted(conn: Connection) -> dict[str, str]:
    """{key: canonical JSON value} as the last start saw them (empty before the first)."""
    async with conn.execute("SELECT key, value FROM config_policy") as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def note(conn: Connection, values: Mapping[str, str], now: datetime) -> None:
    """Keep `values` as the policy in force; keys no longer given are dropped."""
    for key, value in values.items():
        await conn.execute(
            "INSERT INTO config_policy (key, value, seen_at) VALUES (:key, :value, :now)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, seen_at = excluded.seen_at",
            {"key": key, "value": value, "now": db_time(now)},
        )
    held = await noted(conn)
    for key in held.keys() - values.keys():
        await conn.execute("DELETE FROM config_policy WHERE key = :key", {"key": key})
