"""Queries on statuses: posts, replies and boosts, their mentions and hashtags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import aiosqlite

from store import legal_holds
from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.records import StatusRecord

_COLUMNS = ", ".join(f.name for f in fields(StatusRecord))
_COUNTERS = ("replies_count", "reblogs_count", "favourites_count")


@dataclass(frozen=True, slots=True)
class NewStatus:
    uri: str
    url: str | None
    account_id: int
    local: bool
    visibility: str
    content: str
    text: str = ""
    activity_uri: str | None = None
    in_reply_to_id: int | None = None
    in_reply_to_uri: str | None = None
    in_reply_to_account_id: int | None = None
    reblog_of_id: int | None = None
    conversation_uri: str | None = None
    object_type: str = "Note"
    name: str | None = None
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    application_id: int | None = None
    local_only: bool = False


def _record(row: aiosqlite.Row) -> StatusRecord:
    values: dict[str, Any] = dict(row)
    for name in ("created_at", "edited_at", "deleted_at"):
        values[name] = parse_db_time(values[name])
    values["local"] = bool(values["local"])
    values["sensitive"] = bool(values["sensitive"])
    values["local_only"] = bool(values["local_only"])
    return StatusRecord(**values)


async def insert(conn: Connection, id_: int, new: NewStatus, created_at: datetime) -> StatusRecord:
    params = {f.name: getattr(new, f.name) for f in fields(NewStatus)}
    params["local"] = int(new.local)
    params["sensitive"] = int(new.sensitive)
    params["local_only"] = int(new.local_only)
    params.update(id=id_, created_at=db_time(created_at))
    names = ", ".join(params)
    values = ", ".join(f":{name}" for name in params)
    await conn.execute(f"INSERT INTO statuses ({names}) VALUES ({values})", params)
    status = await get_by_id(conn, id_)
    assert status is not None
    return status


async def get_by_id(conn: Connection, status_id: int) -> StatusRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM statuses WHERE id = :id", {"id": status_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def get_many(conn: Connection, status_ids: Iterable[int]) -> dict[int, StatusRecord]:
    """The statuses of `status_ids` that exist (deleted ones too), by id."""
    rows = await rows_in(conn, f"SELECT {_COLUMNS} FROM statuses WHERE id IN ({{ids}})", status_ids)
    return {row["id"]: _record(row) for row in rows}


async def get_by_uri(conn: Connection, uri: str) -> StatusRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM statuses WHERE uri = :uri", {"uri": uri}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def get_boost(conn: Connection, account_id: int, reblog_of_id: int) -> StatusRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM statuses WHERE account_id = :account AND reblog_of_id = :of"
        " AND deleted_at IS NULL",
        {"account": account_id, "of": reblog_of_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def update_content(
    conn: Connection,
    status_id: int,
    *,
    content: str,
    text: str,
    spoiler_text: str,
    sensitive: bool,
    name: str | None,
    edited_at: datetime,
) -> None:
    await conn.execute(
        "UPDATE statuses SET content = :content, text = :text, spoiler_text = :spoiler,"
        " sensitive = :sensitive, name = :name, edited_at = :edited WHERE id = :id",
        {
            "id": status_id,
            "content": content,
            "text": text,
            "spoiler": spoiler_text,
            "sensitive": int(sensitive),
            "name": name,
            "edited": db_time(edited_at),
        },
    )


async def mark_deleted(conn: Connection, status_id: int, now: datetime) -> None:
    """Keep the row as a tombstone (its URI answers 410), drop the content and timelines.
    Every delete path comes here, so a status under legal hold is copied first (same
    transaction): hidden like any deleted one, its content kept for Legal."""
    await legal_holds.preserve_if_held(conn, status_id, now)
    await conn.execute(
        "UPDATE statuses SET deleted_at = :now, content = '', text = '', spoiler_text = ''"
        " WHERE id = :id",
        {"id": status_id, "now": db_time(now)},
    )
    await conn.execute("DELETE FROM home_timeline WHERE status_id = :id", {"id": status_id})


async def adjust_count(conn: Connection, status_id: int, counter: str, delta: int) -> None:
    if counter not in _COUNTERS:
        raise ValueError(counter)
    await conn.execute(
        f"UPDATE statuses SET {counter} = max(0, {counter} + :delta) WHERE id = :id",
        {"id": status_id, "delta": delta},
    )


async def set_mentions(conn: Connection, status_id: int, account_ids: Iterable[int]) -> None:
    await conn.execute("DELETE FROM status_mentions WHERE status_id = :id", {"id": status_id})
    await conn.executemany(
        "INSERT OR IGNORE INTO status_mentions (status_id, account_id) VALUES (?, ?)",
        [(status_id, account_id) for account_id in account_ids],
    )


async def mentioned_account_ids(conn: Connection, status_id: int) -> list[int]:
    async with conn.execute(
        "SELECT account_id FROM status_mentions WHERE status_id = :id", {"id": status_id}
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def set_tags(conn: Connection, status_id: int, names: Iterable[str]) -> None:
    await conn.execute("DELETE FROM status_tags WHERE status_id = :id", {"id": status_id})
    await conn.executemany(
        "INSERT OR IGNORE INTO status_tags (status_id, name) VALUES (?, ?)",
        [(status_id, name.lower()) for name in names],
    )


async def tag_names(conn: Connection, status_id: int) -> list[str]:
    async with conn.execute(
        "SELECT name FROM status_tags WHERE status_id = :id ORDER BY name", {"id": status_id}
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def list_by_account(
    conn: Connection,
    account_id: int,
    *,
    visibilities: Sequence[str],
    max_id: int | None = None,
    limit: int = 20,
    federated_only: bool = False,
) -> list[StatusRecord]:
    """Newest first, not deleted, of the given visibilities (boosts included);
    `federated_only` leaves out local-only ones (what peers may be shown)."""
    marks = ", ".join(f":v{i}" for i in range(len(visibilities)))
    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(visibilities)}
    params.update(account=account_id, max_id=max_id if max_id is not None else 2**63 - 1)
    params["limit"] = limit
    scope = " AND local_only = 0" if federated_only else ""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM statuses WHERE account_id = :account AND deleted_at IS NULL"
        f" AND visibility IN ({marks}){scope} AND id < :max_id ORDER BY id DESC LIMIT :limit",
        params,
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def count_by_account(
    conn: Connection,
    account_id: int,
    visibilities: Sequence[str],
    *,
    federated_only: bool = False,
) -> int:
    marks = ", ".join(f":v{i}" for i in range(len(visibilities)))
    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(visibilities)}
    params["account"] = account_id
    scope = " AND local_only = 0" if federated_only else ""
    async with conn.execute(
        f"SELECT count(*) FROM statuses WHERE account_id = :account AND deleted_at IS NULL"
        f" AND visibility IN ({marks}){scope}",
        params,
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_local(conn: Connection) -> int:
    """Local posts as the instance announces them to anyone (NodeInfo, the instance API):
    organisation-only and local-only posts are not counted, their existence stays inside."""
    async with conn.execute(
        "SELECT count(*) FROM statuses WHERE local = 1 AND deleted_at IS NULL"
        " AND reblog_of_id IS NULL AND visibility != 'org' AND local_only = 0"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def record_version(conn: Connection, id_: int, status: StatusRecord) -> None:
    """Keep `status` as one version of its history (at its edited_at, or created_at)."""
    await conn.execute(
        "INSERT INTO status_edits (id, status_id, content, spoiler_text, sensitive, created_at)"
        " VALUES (:id, :status, :content, :spoiler, :sensitive, :at)",
        {
            "id": id_,
            "status": status.id,
            "content": status.content,
            "spoiler": status.spoiler_text,
            "sensitive": int(status.sensitive),
            "at": db_time(status.edited_at or status.created_at),
        },
    )


async def has_versions(conn: Connection, status_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM status_edits WHERE status_id = :id LIMIT 1", {"id": status_id}
    ) as cursor:
        return await cursor.fetchone() is not None


async def versions(conn: Connection, status_id: int) -> list[tuple[str, str, bool, datetime]]:
    """(content, spoiler_text, sensitive, created_at) of each version, oldest first."""
    async with conn.execute(
        "SELECT content, spoiler_text, sensitive, created_at FROM status_edits"
        " WHERE status_id = :id ORDER BY id",
        {"id": status_id},
    ) as cursor:
        rows = await cursor.fetchall()
    return [(r[0], r[1], bool(r[2]), parse_db_time(r[3])) for r in rows]  # type: ignore[misc]


async def insert_boost(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    original: StatusRecord,
    uri: str,
    local: bool,
    created_at: datetime,
) -> StatusRecord:
    """A boost of `original` (its Announce id is `uri`) and the original's boost count.

    A boost stays as inside as what it boosts: a boost of an organisation-only post is
    `org` (else `public`, as Mastodon's), and a local user's boost of a local-only post is
    local-only."""
    boost = await insert(
        conn,
        id_,
        NewStatus(
            uri=uri,
            url=None,
            account_id=account_id,
            local=local,
            visibility="org" if original.visibility == "org" else "public",
            content="",
            activity_uri=uri,
            reblog_of_id=original.id,
            local_only=local and original.local_only,
        ),
        created_at,
    )
    await adjust_count(conn, original.id, "reblogs_count", 1)
    return boost
