"""Numbered schema migrations (`store/migrations/NNNN_name.sql`), applied at start-up.

Each file runs in its own transaction together with the row that records it, so a crash
leaves the schema either before or after a migration, never half-way.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from importlib import resources

from store.db import Connection, db_time

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("store.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def applied_versions(conn: Connection) -> set[int]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def migrate(conn: Connection) -> list[str]:
    """Apply every pending migration on the writer connection; returns the names applied."""
    done = await applied_versions(conn)
    applied = []
    for version, name, sql in available_migrations():
        if version in done:
            continue
        stamp = db_time(datetime.now(UTC))
        script = (
            f"BEGIN IMMEDIATE;\n{sql}\n"
            f"INSERT INTO schema_migrations (version, name, applied_at)"
            f" VALUES ({version}, '{name}', '{stamp}');\nCOMMIT;"
        )
        try:
            await conn.executescript(script)
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        log.info("migration applied name=%s", name)
        applied.append(name)
    return applied
