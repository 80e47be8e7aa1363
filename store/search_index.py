"""The full-text index of statuses (FTS5, migration 0015): the queue of statuses waiting to be
(re)indexed, what the indexer reads about them, and writing their index rows.

The `meta` column's tokens are named here, because the query side (store.api_search) and
the indexer (watercooler.search_indexer) must agree on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from store.db import Connection

ALL = "all"
"""In every row's meta: what a query with no positive word matches (`from:x -word`)."""
MEDIA_TYPES = {"image": "hasimage", "gifv": "hasvideo", "video": "hasvideo", "audio": "hasaudio"}
_TOKEN_SAFE = re.compile(r"[^0-9a-z_]")


def author_token(account_id: int) -> str:
    return f"from{account_id}"


def language_token(language: str) -> str:
    return "lang" + _TOKEN_SAFE.sub("", language.lower())


def tag_token(name: str) -> str:
    return "tag" + name.lower()


@dataclass(frozen=True, slots=True)
class Queued:
    seq: int
    status_id: int


@dataclass(frozen=True, slots=True)
class IndexSource:
    """What the index is built from for one status (None from `sources`: gone or deleted)."""

    id: int
    account_id: int
    local: bool
    text: str
    content: str
    spoiler_text: str
    name: str | None
    sensitive: bool
    language: str | None
    reply: bool
    object_type: str
    media: tuple[tuple[str, str], ...]  # (type, description) of each attachment
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IndexRow:
    status_id: int
    body: str
    meta: str


async def queued(conn: Connection, limit: int) -> list[Queued]:
    """The oldest queue entries."""
    async with conn.execute(
        "SELECT seq, status_id FROM search_pending ORDER BY seq LIMIT ?", (limit,)
    ) as cursor:
        return [Queued(row[0], row[1]) for row in await cursor.fetchall()]


async def pending_count(conn: Connection) -> int:
    async with conn.execute("SELECT count(*) FROM search_pending") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def sources(conn: Connection, status_ids: Sequence[int]) -> dict[int, IndexSource]:
    """The indexable statuses among `status_ids` (not deleted, not boosts), in one read."""
    if not status_ids:
        return {}
    marks = ", ".join("?" for _ in status_ids)
    async with conn.execute(
        "SELECT id, account_id, local, text, content, spoiler_text, name, sensitive, language,"
        " in_reply_to_uri IS NOT NULL OR in_reply_to_id IS NOT NULL, object_type"
        f" FROM statuses WHERE id IN ({marks}) AND deleted_at IS NULL AND reblog_of_id IS NULL",
        list(status_ids),
    ) as cursor:
        rows = await cursor.fetchall()
    media: dict[int, list[tuple[str, str]]] = {}
    async with conn.execute(
        f"SELECT status_id, type, description FROM media_attachments WHERE status_id IN ({marks})"
        " AND position IS NOT NULL ORDER BY status_id, position",
        list(status_ids),
    ) as cursor:
        for status_id, kind, description in await cursor.fetchall():
            media.setdefault(status_id, []).append((kind, description))
    tags: dict[int, list[str]] = {}
    async with conn.execute(
        f"SELECT status_id, name FROM status_tags WHERE status_id IN ({marks})", list(status_ids)
    ) as cursor:
        for status_id, name in await cursor.fetchall():
            tags.setdefault(status_id, []).append(name)
    return {
        row[0]: IndexSource(
            id=row[0],
            account_id=row[1],
            local=bool(row[2]),
            text=row[3],
            content=row[4],
            spoiler_text=row[5],
            name=row[6],
            sensitive=bool(row[7]),
            language=row[8],
            reply=bool(row[9]),
            object_type=row[10],
            media=tuple(media.get(row[0], ())),
            tags=tuple(tags.get(row[0], ())),
        )
        for row in rows
    }


async def write(conn: Connection, done: Sequence[Queued], rows: Sequence[IndexRow]) -> None:
    """Replace the index rows of every status in `done` by `rows` (a status without a row
    leaves the index: deleted or gone, unless a legal hold keeps its copy, which eDiscovery
    still searches), and take exactly those queue entries off the queue."""
    await conn.executemany(
        "DELETE FROM status_search WHERE rowid = ?"
        " AND NOT EXISTS (SELECT 1 FROM held_statuses WHERE status_id = ?)",
        [(entry.status_id, entry.status_id) for entry in done],
    )
    await conn.executemany(
        "INSERT INTO status_search (rowid, body, meta) VALUES (?, ?, ?)",
        [(row.status_id, row.body, row.meta) for row in rows],
    )
    await conn.executemany(
        "DELETE FROM search_pending WHERE seq = ?", [(entry.seq,) for entry in done]
    )


async def optimize(conn: Connection) -> None:
    """Merge the index's segments into one (after a bulk load: fewer, longer doclists)."""
    await conn.execute("INSERT INTO status_search (status_search) VALUES ('optimize')")
