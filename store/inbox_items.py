"""The inbound queue: verified activities stored as received, leased by the inbox worker.

An item is acknowledged (202) only once its row is committed; the worker leases it, runs
the handler and marks it done. A crash mid-way leaves the lease to expire and the item is
processed again; handlers are idempotent. The unique activity URI makes a second delivery
of the same activity a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from store.db import Connection, db_time
from store.records import InboxItemRecord

PENDING = "pending"
DONE = "done"
FAILED = "failed"


async def enqueue(
    conn: Connection,
    id_: int,
    *,
    activity_uri: str,
    actor_uri: str,
    recipient_account_id: int | None,
    body: str,
    now: datetime,
) -> bool:
    """Store an activity; False if the same activity was stored before (nothing changes)."""
    cursor = await conn.execute(
        "INSERT INTO inbox_items (id, activity_uri, actor_uri, recipient_account_id, body,"
        " next_attempt_at, received_at) VALUES (:id, :uri, :actor, :recipient, :body, :now, :now)"
        " ON CONFLICT (activity_uri) DO NOTHING",
        {
            "id": id_,
            "uri": activity_uri,
            "actor": actor_uri,
            "recipient": recipient_account_id,
            "body": body,
            "now": db_time(now),
        },
    )
    return cursor.rowcount == 1


@dataclass(frozen=True, slots=True)
class NewInboxItem:
    """A verified activity as received, to be stored."""

    id: int
    activity_uri: str
    actor_uri: str
    recipient_account_id: int | None
    body: str


_ROWS_PER_INSERT = 400
"""Rows per multi-row INSERT: 7 variables each, far below SQLite's and PostgreSQL's limits."""


async def enqueue_many(conn: Connection, items: Sequence[NewInboxItem], now: datetime) -> set[int]:
    """Store activities in as few statements as possible (a group commit of many requests);
    returns the ids of the items stored. An item whose activity was stored before, or earlier
    in `items`, is not (nothing changes for it)."""
    stored: set[int] = set()
    received = db_time(now)
    for start in range(0, len(items), _ROWS_PER_INSERT):
        chunk = items[start : start + _ROWS_PER_INSERT]
        values = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        params = [
            value
            for item in chunk
            for value in (item.id, item.activity_uri, item.actor_uri,
                          item.recipient_account_id, item.body, received, received)
        ]  # fmt: skip
        rows = await conn.execute_fetchall(
            "INSERT INTO inbox_items (id, activity_uri, actor_uri, recipient_account_id, body,"
            f" next_attempt_at, received_at) VALUES {values}"
            " ON CONFLICT (activity_uri) DO NOTHING RETURNING id",
            params,
        )
        stored.update(row[0] for row in rows)
    return stored


async def lease_due(
    conn: Connection, *, now: datetime, lease_until: datetime, limit: int
) -> list[InboxItemRecord]:
    async with conn.execute(
        "UPDATE inbox_items SET locked_until = :lease, attempts = attempts + 1 WHERE id IN"
        " (SELECT id FROM inbox_items WHERE state = 'pending' AND next_attempt_at <= :now"
        " AND (locked_until IS NULL OR locked_until < :now) ORDER BY id LIMIT :limit)"
        " RETURNING id, activity_uri, actor_uri, recipient_account_id, body, attempts",
        {"now": db_time(now), "lease": db_time(lease_until), "limit": limit},
    ) as cursor:
        rows = await cursor.fetchall()
    items = [InboxItemRecord(**dict(row)) for row in rows]
    return sorted(items, key=lambda item: item.id)


async def mark_done(conn: Connection, item_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'done', processed_at = :now, locked_until = NULL,"
        " last_error = NULL WHERE id = :id",
        {"id": item_id, "now": db_time(now)},
    )


async def reschedule(
    conn: Connection, item_id: int, *, next_attempt_at: datetime, error: str
) -> None:
    await conn.execute(
        "UPDATE inbox_items SET next_attempt_at = :next, locked_until = NULL,"
        " last_error = :error WHERE id = :id",
        {"id": item_id, "next": db_time(next_attempt_at), "error": error[:500]},
    )


async def mark_failed(conn: Connection, item_id: int, now: datetime, error: str) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'failed', processed_at = :now, locked_until = NULL,"
        " last_error = :error WHERE id = :id",
        {"id": item_id, "now": db_time(now), "error": error[:500]},
    )


async def add_recipients(conn: Connection, item_id: int, account_ids: Iterable[int]) -> None:
    await conn.executemany(
        "INSERT OR IGNORE INTO inbox_recipients (item_id, account_id) VALUES (?, ?)",
        [(item_id, account_id) for account_id in set(account_ids)],
    )


async def for_account(
    conn: Connection, account_id: int, *, max_id: int | None, limit: int
) -> list[tuple[int, str]]:
    """(item id, raw activity) received for an account, newest first (its C2S inbox)."""
    async with conn.execute(
        "SELECT i.id, i.body FROM inbox_recipients r JOIN inbox_items i ON i.id = r.item_id"
        " WHERE r.account_id = :account AND i.state = 'done' AND i.id < :max"
        " ORDER BY i.id DESC LIMIT :limit",
        {"account": account_id, "max": max_id if max_id is not None else 2**63 - 1, "limit": limit},
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def pending_count(conn: Connection) -> int:
    async with conn.execute("SELECT count(*) FROM inbox_items WHERE state = 'pending'") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def counts(conn: Connection) -> dict[str, int]:
    async with conn.execute("SELECT state, count(*) FROM inbox_items GROUP BY state") as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}
