"""Queries on media attachments: uploads waiting to be attached, a status's attachments in
order, and the attachment set of a remote post, replaced when the post is edited.

An upload belongs to its uploader; it can be attached to one status only. Taking it off in
an edit keeps it tied to that status (position NULL), as Mastodon keeps it for the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import aiosqlite

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.records import MediaRecord

_COLUMNS = ", ".join(f.name for f in fields(MediaRecord))


@dataclass(frozen=True, slots=True, kw_only=True)
class NewMedia:
    """What is known of an attachment when it is stored: the processed upload, or what a
    remote post says of its attachment."""

    account_id: int
    type: str = "image"
    content_type: str | None = None
    file_name: str | None = None
    preview_name: str | None = None
    remote_url: str | None = None
    description: str = ""
    blurhash: str | None = None
    width: int | None = None
    height: int | None = None
    file_size: int | None = None
    preview_width: int | None = None
    preview_height: int | None = None
    focus_x: float | None = None
    focus_y: float | None = None


def _record(row: aiosqlite.Row) -> MediaRecord:
    values: dict[str, Any] = dict(row)
    values["created_at"] = parse_db_time(values["created_at"])
    return MediaRecord(**values)


async def insert(
    conn: Connection,
    id_: int,
    new: NewMedia,
    now: datetime,
    *,
    status_id: int | None = None,
    position: int | None = None,
) -> MediaRecord:
    params = {f.name: getattr(new, f.name) for f in fields(NewMedia)}
    params.update(id=id_, status_id=status_id, position=position, created_at=db_time(now))
    names = ", ".join(params)
    values = ", ".join(f":{name}" for name in params)
    await conn.execute(f"INSERT INTO media_attachments ({names}) VALUES ({values})", params)
    found = await get(conn, id_)
    assert found is not None
    return found


async def get(conn: Connection, media_id: int) -> MediaRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM media_attachments WHERE id = :id", {"id": media_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def update_details(
    conn: Connection,
    media_id: int,
    *,
    description: str,
    focus: tuple[float, float] | None,
) -> None:
    """The alt text and focal point, which the uploader may change."""
    await conn.execute(
        "UPDATE media_attachments SET description = :description, focus_x = :x, focus_y = :y"
        " WHERE id = :id",
        {
            "id": media_id,
            "description": description,
            "x": focus[0] if focus else None,
            "y": focus[1] if focus else None,
        },
    )


async def attachable(
    conn: Connection, account_id: int, media_ids: Sequence[int], *, status_id: int | None
) -> list[MediaRecord]:
    """Of `media_ids`, in their order, the uploads of `account_id` that are free to attach
    to `status_id`: not attached to any status, or attached to that status already (an
    edit). Ids that do not qualify are left out; the caller compares lengths."""
    if not media_ids:
        return []
    params: dict[str, Any] = {f"m{i}": media_id for i, media_id in enumerate(media_ids)}
    params.update(account=account_id, status=status_id)
    marks = ", ".join(f":m{i}" for i in range(len(media_ids)))
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM media_attachments WHERE id IN ({marks})"
        " AND account_id = :account AND remote_url IS NULL AND file_name IS NOT NULL"
        " AND (status_id IS NULL OR status_id = :status)",
        params,
    ) as cursor:
        found = {row["id"]: _record(row) for row in await cursor.fetchall()}
    return [found[media_id] for media_id in media_ids if media_id in found]


async def attach(conn: Connection, status_id: int, media_ids: Sequence[int]) -> None:
    """Make `media_ids`, in this order, the attachments of `status_id`; others it had are
    taken off (kept tied to it, with no position)."""
    await conn.execute(
        "UPDATE media_attachments SET position = NULL WHERE status_id = :status",
        {"status": status_id},
    )
    await conn.executemany(
        "UPDATE media_attachments SET status_id = ?, position = ? WHERE id = ?",
        [(status_id, position, media_id) for position, media_id in enumerate(media_ids)],
    )


async def release(conn: Connection, status_id: int) -> None:
    """Free a deleted status's uploads, so that a redraft can attach them again (as
    Mastodon's delete-and-redraft does)."""
    await conn.execute(
        "UPDATE media_attachments SET status_id = NULL, position = NULL"
        " WHERE status_id = :status AND remote_url IS NULL",
        {"status": status_id},
    )


async def for_status(conn: Connection, status_id: int) -> list[MediaRecord]:
    """The attachments a status shows, in order."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM media_attachments WHERE status_id = :status"
        " AND position IS NOT NULL ORDER BY position",
        {"status": status_id},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def for_statuses(conn: Connection, status_ids: Iterable[int]) -> dict[int, list[MediaRecord]]:
    """The attachments each of `status_ids` shows, in order; statuses without any are left
    out."""
    found: dict[int, list[MediaRecord]] = {}
    rows = await rows_in(
        conn,
        f"SELECT {_COLUMNS} FROM media_attachments WHERE status_id IN ({{ids}})"
        " AND position IS NOT NULL ORDER BY status_id, position",
        status_ids,
    )
    for row in rows:
        found.setdefault(row["status_id"], []).append(_record(row))
    return found


async def replace_remote(
    conn: Connection,
    new_id: Callable[[], int],
    status_id: int,
    items: Sequence[NewMedia],
    now: datetime,
) -> None:
    """The attachments of a remote status, replacing any it had (an Update of the post).
    `new_id` makes one id per row."""
    await conn.execute(
        "DELETE FROM media_attachments WHERE status_id = :status AND remote_url IS NOT NULL",
        {"status": status_id},
    )
    for position, item in enumerate(items):
        await insert(conn, new_id(), item, now, status_id=status_id, position=position)
