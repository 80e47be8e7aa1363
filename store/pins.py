"""Pinned statuses (Mastodon's status pins, ActivityPub's featured collection).

A pin is a row (account, status). Local users pin their own posts through the client API;
remote actors' pins are mirrored from the Add / Remove activities on their featured
collection. A pin of a deleted status stays in the table but counts and shows nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from store.api_timelines import Page
from store.db import Connection, db_time

NO_MAX = 2**63 - 1


async def pin(
    conn: Connection, id_: int, *, account_id: int, status_id: int, now: datetime
) -> bool:
    """Pin `status_id` for `account_id`; True if it was not pinned yet."""
    cursor = await conn.execute(
        "INSERT INTO status_pins (id, account_id, status_id, created_at)"
        " VALUES (:id, :account, :status, :now) ON CONFLICT DO NOTHING",
        {"id": id_, "account": account_id, "status": status_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def unpin(conn: Connection, *, account_id: int, status_id: int) -> bool:
    """Take the pin back; True if there was one."""
    cursor = await conn.execute(
        "DELETE FROM status_pins WHERE account_id = :account AND status_id = :status",
        {"account": account_id, "status": status_id},
    )
    return cursor.rowcount == 1


async def is_pinned(conn: Connection, account_id: int, status_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM status_pins WHERE account_id = :account AND status_id = :status",
        {"account": account_id, "status": status_id},
    ) as cursor:
        return await cursor.fetchone() is not None


async def count(conn: Connection, account_id: int) -> int:
    """How many of the account's statuses are pinned (deleted ones do not count)."""
    async with conn.execute(
        "SELECT count(*) FROM status_pins p JOIN statuses s ON s.id = p.status_id"
        " WHERE p.account_id = :account AND s.deleted_at IS NULL",
        {"account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def pinned_ids(
    conn: Connection,
    account_id: int,
    *,
    visibilities: Sequence[str],
    page: Page | None = None,
) -> list[int]:
    """Ids of the account's pinned statuses among `visibilities`, latest pin first (as
    Mastodon lists them). `page` bounds the status ids, for the API's paging parameters."""
    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(visibilities)}
    marks = ", ".join(f":v{i}" for i in range(len(visibilities))) or "NULL"
    lower = None
    if page is not None:
        lower = page.min_id if page.min_id is not None else page.since_id
    params.update(
        account=account_id,
        max=page.max_id if page is not None and page.max_id is not None else NO_MAX,
        min=lower if lower is not None else -1,
    )
    limit = ""
    if page is not None:
        limit = " LIMIT :limit"
        params["limit"] = page.limit
    async with conn.execute(
        "SELECT s.id FROM status_pins p JOIN statuses s ON s.id = p.status_id"
        " WHERE p.account_id = :account AND s.account_id = :account"
        f" AND s.deleted_at IS NULL AND s.visibility IN ({marks})"
        f" AND s.id < :max AND s.id > :min ORDER BY p.id DESC{limit}",
        params,
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]


async def replace(
    conn: Connection,
    new_id: Callable[[], int],
    *,
    account_id: int,
    status_ids: Sequence[int],
    now: datetime,
) -> None:
    """Make `status_ids` (latest pin first, as a featured collection lists them) the
    account's pins: others are taken back, those already pinned keep their place."""
    params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(status_ids)}
    kept = ", ".join(f":s{i}" for i in range(len(status_ids))) or "NULL"
    await conn.execute(
        f"DELETE FROM status_pins WHERE account_id = :account AND status_id NOT IN ({kept})",
        {"account": account_id, **params},
    )
    for status_id in reversed(status_ids):  # the first listed gets the newest pin id
        await pin(conn, new_id(), account_id=account_id, status_id=status_id, now=now)
