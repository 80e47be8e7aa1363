"""Announcements (migration 0024): this division's own and its peers', the readers'
dismissals and reactions.

Which announcement may be published, changed or accepted is decided in `outbox` and
`inbox`; here are only the rows. An announcement is *active* at `now` when it is not
withdrawn, has started (`starts_at` empty or past) and has not ended (`ends_at` empty or
future).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time

MAX_LISTED = 200
"""Announcements listed at most (active ones for readers; all for the management page)."""

_COLUMNS = (
    "id, uri, account_id, local, text, content, mention_ids, tags, starts_at, ends_at,"
    " all_day, published_at, updated_at, withdrawn_at"
)


@dataclass(frozen=True, slots=True)
class AnnouncementRecord:
    id: int
    uri: str
    account_id: int
    local: bool
    text: str
    content: str
    mention_ids: tuple[int, ...]
    tags: tuple[str, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    all_day: bool
    published_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None

    def active(self, now: datetime) -> bool:
        return (
            self.withdrawn_at is None
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or self.ends_at > now)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnouncementContent:
    """What an announcement says and when it shows: set on publishing and on each edit."""

    text: str
    content: str
    mention_ids: Sequence[int] = ()
    tags: Sequence[str] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False


def _record(row: aiosqlite.Row) -> AnnouncementRecord:
    values: dict[str, Any] = dict(row)
    values["local"] = bool(values["local"])
    values["all_day"] = bool(values["all_day"])
    values["mention_ids"] = tuple(json.loads(values["mention_ids"]))
    values["tags"] = tuple(json.loads(values["tags"]))
    for key in ("starts_at", "ends_at", "published_at", "updated_at", "withdrawn_at"):
        values[key] = parse_db_time(values[key])
    return AnnouncementRecord(**values)


def _content_params(content: AnnouncementContent) -> dict[str, Any]:
    return {
        "text": content.text,
        "content": content.content,
        "mention_ids": json.dumps(list(content.mention_ids)),
        "tags": json.dumps(list(content.tags)),
        "starts_at": db_time(content.starts_at) if content.starts_at else None,
        "ends_at": db_time(content.ends_at) if content.ends_at else None,
        "all_day": int(content.all_day),
    }


async def insert(
    conn: Connection,
    id_: int,
    *,
    uri: str,
    account_id: int,
    local: bool,
    content: AnnouncementContent,
    published_at: datetime,
    updated_at: datetime,
) -> AnnouncementRecord | None:
    """A new announcement; None if one with `uri` exists (the same Create twice)."""
    cursor = await conn.execute(
        "INSERT INTO announcements (id, uri, account_id, local, text, content, mention_ids,"
        " tags, starts_at, ends_at, all_day, published_at, updated_at)"
        " VALUES (:id, :uri, :account, :local, :text, :content, :mention_ids, :tags,"
        " :starts_at, :ends_at, :all_day, :published, :updated) ON CONFLICT (uri) DO NOTHING",
        {
            "id": id_,
            "uri": uri,
            "account": account_id,
            "local": int(local),
            "published": db_time(published_at),
            "updated": db_time(updated_at),
            **_content_params(content),
        },
    )
    return await get_by_id(conn, id_) if cursor.rowcount == 1 else None


async def update(
    conn: Connection, id_: int, content: AnnouncementContent, *, updated_at: datetime
) -> None:
    await conn.execute(
        "UPDATE announcements SET text = :text, content = :content, mention_ids = :mention_ids,"
        " tags = :tags, starts_at = :starts_at, ends_at = :ends_at, all_day = :all_day,"
        " updated_at = :updated WHERE id = :id",
        {"id": id_, "updated": db_time(updated_at), **_content_params(content)},
    )


async def withdraw(conn: Connection, id_: int, now: datetime) -> bool:
    """True if it was not withdrawn yet."""
    cursor = await conn.execute(
        "UPDATE announcements SET withdrawn_at = :now WHERE id = :id AND withdrawn_at IS NULL",
        {"id": id_, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def get_by_id(conn: Connection, id_: int) -> AnnouncementRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM announcements WHERE id = :id", {"id": id_}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def get_by_uri(conn: Connection, uri: str) -> AnnouncementRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM announcements WHERE uri = :uri", {"uri": uri}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def managed(conn: Connection, *, limit: int = MAX_LISTED) -> list[AnnouncementRecord]:
    """This division's own announcements not withdrawn, scheduled and ended ones too, newest
    first (the management page and API; peers' are managed on their division)."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM announcements WHERE withdrawn_at IS NULL AND local = 1"
        " ORDER BY published_at DESC, id DESC LIMIT :limit",
        {"limit": limit},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def active(
    conn: Connection,
    now: datetime,
    *,
    account_id: int | None = None,
    with_dismissed: bool = True,
    limit: int = MAX_LISTED,
) -> list[AnnouncementRecord]:
    """The announcements showing at `now`, oldest start first (as Mastodon lists them);
    without `with_dismissed`, those `account_id` dismissed are left out."""
    dismissed = (
        ""
        if with_dismissed or account_id is None
        else " AND NOT EXISTS (SELECT 1 FROM announcement_dismissals d"
        " WHERE d.announcement_id = a.id AND d.account_id = :account)"
    )
    at = db_time(now)
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM announcements a WHERE withdrawn_at IS NULL"
        " AND (starts_at IS NULL OR starts_at <= :now) AND (ends_at IS NULL OR ends_at > :now)"
        f"{dismissed} ORDER BY COALESCE(starts_at, published_at), id LIMIT :limit",
        {"now": at, "account": account_id, "limit": limit},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def dismiss(conn: Connection, id_: int, account_id: int, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO announcement_dismissals (announcement_id, account_id, dismissed_at)"
        " VALUES (:id, :account, :now) ON CONFLICT DO NOTHING",
        {"id": id_, "account": account_id, "now": db_time(now)},
    )


async def dismissed_ids(conn: Connection, account_id: int, ids: Sequence[int]) -> set[int]:
    """Which of `ids` the account dismissed."""
    if not ids:
        return set()
    marks = ", ".join("?" for _ in ids)
    async with conn.execute(
        "SELECT announcement_id FROM announcement_dismissals"
        f" WHERE account_id = ? AND announcement_id IN ({marks})",
        (account_id, *ids),
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def add_reaction(
    conn: Connection, id_: int, account_id: int, name: str, now: datetime
) -> bool:
    """True if the account had not reacted with `name` yet."""
    cursor = await conn.execute(
        "INSERT INTO announcement_reactions (announcement_id, account_id, name, created_at)"
        " VALUES (:id, :account, :name, :now) ON CONFLICT DO NOTHING",
        {"id": id_, "account": account_id, "name": name, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def remove_reaction(conn: Connection, id_: int, account_id: int, name: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM announcement_reactions"
        " WHERE announcement_id = :id AND account_id = :account AND name = :name",
        {"id": id_, "account": account_id, "name": name},
    )
    return cursor.rowcount == 1


@dataclass(frozen=True, slots=True)
class ReactionCount:
    name: str
    count: int
    me: bool


async def reactions(
    conn: Connection, ids: Sequence[int], account_id: int | None
) -> dict[int, list[ReactionCount]]:
    """Each announcement's reactions (name, how many, whether `account_id` is among them),
    in the order they were first given."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    async with conn.execute(
        "SELECT announcement_id, name, count(*) AS n, MAX(account_id = ?) AS me,"
        " MIN(created_at) AS first FROM announcement_reactions"
        f" WHERE announcement_id IN ({marks}) GROUP BY announcement_id, name ORDER BY first",
        (account_id if account_id is not None else -1, *ids),
    ) as cursor:
        rows = await cursor.fetchall()
    found: dict[int, list[ReactionCount]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(ReactionCount(row[1], int(row[2]), bool(row[3])))
    return found
