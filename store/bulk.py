"""Bulk loading of large databases (benchmark datasets, imports): rows go in with
`executemany` in large transactions on one loader connection that skips the journal and
fsync, because a load that fails is thrown away and started again, never resumed.

The schema is the migrations' own, indexes included: a loaded file is the same database the
product would have built row by row, only made in minutes instead of days. Nothing here is
used on a request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from store.db import Connection

# The columns each loadable table takes, in the order of the row tuples given to `insert`.
# Columns not named keep the migrations' defaults.
COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "id", "username", "domain", "uri", "url", "actor_type", "display_name",
        "inbox_url", "outbox_url", "shared_inbox_url", "followers_url", "following_url",
        "featured_url", "created_at", "updated_at", "fetched_at",
    ),
    "users": ("id", "account_id", "password_hash", "admin", "created_at"),
    "keys": ("id", "account_id", "key_uri", "public_key_pem", "private_key_pem", "created_at"),
    "oauth_tokens": ("id", "user_id", "token_hash", "scopes", "created_at"),
    "statuses": (
        "id", "uri", "url", "account_id", "local", "activity_uri", "in_reply_to_id",
        "in_reply_to_uri", "in_reply_to_account_id", "reblog_of_id", "conversation_uri",
        "visibility", "text", "content", "language", "created_at",
    ),
    "status_tags": ("status_id", "name"),
    "status_mentions": ("status_id", "account_id"),
    "follows": (
        "id", "account_id", "target_account_id", "uri", "state", "created_at", "updated_at",
    ),
    "home_timeline": ("account_id", "status_id"),
}  # fmt: skip

_LOAD_PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA cache_size=-1048576",  # 1 GiB: index pages of a large load stay in memory
    "PRAGMA temp_store=MEMORY",
)


async def open_loader(path: str) -> Connection:
    """A connection for loading a file that nothing else has open (the journal is off)."""
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in _LOAD_PRAGMAS:
        await conn.execute(pragma)
    return conn


async def close_loader(conn: Connection) -> None:
    """Back to the product's journal (WAL, which the file keeps), then close."""
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.close()


async def begin(conn: Connection) -> None:
    await conn.execute("BEGIN IMMEDIATE")


async def commit(conn: Connection) -> None:
    await conn.execute("COMMIT")


async def insert(conn: Connection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert `rows` (tuples in `COLUMNS[table]` order) in the open transaction."""
    columns = COLUMNS[table]
    marks = ", ".join("?" for _ in columns)
    await conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        rows,
    )


async def recount_replies(conn: Connection) -> None:
    """`replies_count` of every status that has replies, from the replies loaded."""
    await conn.execute(
        "UPDATE statuses SET replies_count = r.n FROM (SELECT in_reply_to_id AS id,"
        " count(*) AS n FROM statuses WHERE in_reply_to_id IS NOT NULL"
        " GROUP BY in_reply_to_id) AS r WHERE statuses.id = r.id"
    )


async def recount_reblogs(conn: Connection) -> None:
    """`reblogs_count` of every status that was boosted, from the boosts loaded."""
    await conn.execute(
        "UPDATE statuses SET reblogs_count = r.n FROM (SELECT reblog_of_id AS id,"
        " count(*) AS n FROM statuses WHERE reblog_of_id IS NOT NULL"
        " GROUP BY reblog_of_id) AS r WHERE statuses.id = r.id"
    )


async def row_count(conn: Connection, table: str) -> int:
    if table not in COLUMNS:
        raise ValueError(f"not a loadable table: {table}")
    async with conn.execute(f"SELECT count(*) FROM {table}") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
