"""Queries on the delivery queue (`deliveries`): one row per activity and distinct target inbox.

Owns the queue's SQL and its state machine (`TRANSITIONS`): enqueueing inside the caller's
transaction (the transactional outbox), leasing due rows, recording each outcome, and the
admin views and actions. Every update is guarded by the states it may leave, so a late or
duplicate write from a stale worker changes nothing.

Must not send anything, decide the retry policy or know JSON-LD: the body is opaque text and
the worker (`outbox/delivery.py`) tells us what happened and when to try again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import aiosqlite

from store.db import Connection, db_time, parse_db_time

PENDING = "pending"
"""Waiting for its first attempt (or sent back by an admin after it died)."""
RETRYING = "retrying"
"""At least one attempt failed in a way worth retrying; `next_attempt_at` says when."""
SENT = "sent"
"""The inbox answered 2xx."""
GONE = "gone"
"""The inbox answered 404/410: the recipient no longer exists there."""
DEAD = "dead"
"""A permanent refusal (other 4xx) or the attempts ran out; an admin may retry it."""
CANCELLED = "cancelled"
"""No longer wanted: the peer left our policy before the delivery happened."""

STATES = (PENDING, RETRYING, SENT, GONE, DEAD, CANCELLED)

TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        PENDING: frozenset({SENT, RETRYING, GONE, DEAD, CANCELLED}),
        RETRYING: frozenset({SENT, RETRYING, GONE, DEAD, CANCELLED}),
        DEAD: frozenset({PENDING}),  # an admin's `queue retry`
        SENT: frozenset(),
        GONE: frozenset(),
        CANCELLED: frozenset(),
    }
)
"""Which state each state may move to. The queries below derive their guards from it."""

ACTIVE = frozenset({PENDING, RETRYING})
"""States a worker may lease."""

FINISHED = frozenset(state for state, nexts in TRANSITIONS.items() if not nexts)
"""States nothing leaves: safe to prune."""


def can_transition(source: str, target: str) -> bool:
    return target in TRANSITIONS.get(source, frozenset())


def sources_of(target: str) -> frozenset[str]:
    """The states from which a row may move to `target`."""
    return frozenset(state for state, nexts in TRANSITIONS.items() if target in nexts)


def _in_list(states: Iterable[str]) -> str:
    """A constant SQL list of state names (they come from the table above, never from input)."""
    return ", ".join(f"'{state}'" for state in sorted(states))


_INTO = {state: _in_list(sources_of(state)) for state in STATES}
_ACTIVE = _in_list(ACTIVE)
_FINISHED = _in_list(FINISHED)

_COLUMNS = (
    "id, activity_uri, actor_account_id, inbox_url, host, body, state, attempts,"
    " next_attempt_at, locked_until, last_status, last_error, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One queued POST of an activity to one inbox. `body` is the exact JSON to send."""

    id: int
    activity_uri: str
    actor_account_id: int
    inbox_url: str
    host: str
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime
    locked_until: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HostSummary:
    """The queue as an admin sees it for one peer host."""

    host: str
    pending: int
    retrying: int
    dead: int
    sent: int
    gone: int
    cancelled: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def _record(row: aiosqlite.Row) -> DeliveryRecord:
    values: dict[str, Any] = dict(row)
    for name in ("next_attempt_at", "locked_until", "created_at", "updated_at"):
        values[name] = parse_db_time(values[name])
    return DeliveryRecord(**values)


def host_of(inbox_url: str) -> str:
    """The host a delivery counts against (concurrency, circuit, policy): the lower-cased
    `host[:port]` of the inbox URL. Raises ValueError for anything but an absolute http(s) URL."""
    parts = urlsplit(inbox_url)
    host = parts.netloc.rpartition("@")[2].lower()
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError(f"not an absolute http(s) inbox URL: {inbox_url!r}")
    return host


async def _changed(conn: Connection, sql: str, params: Mapping[str, Any]) -> int:
    cursor = await conn.execute(sql, params)
    try:
        return cursor.rowcount
    finally:
        await cursor.close()


async def enqueue(
    conn: Connection,
    db_ids: Callable[[], int],
    *,
    activity_uri: str,
    actor_account_id: int,
    inboxes: Iterable[str],
    body: str,
    now: datetime,
) -> int:
    """Queue `body` for each distinct inbox; returns how many rows were new.

    Call it inside the transaction that stores the activity, so both commit or neither does.
    Enqueueing the same activity for the same inbox again changes nothing (UNIQUE
    (activity_uri, inbox_url)), so a retried request has one effect.
    """
    stamp = db_time(now)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for inbox in inboxes:
        if inbox in seen:
            continue
        seen.add(inbox)
        rows.append(
            {
                "id": db_ids(),
                "activity_uri": activity_uri,
                "actor_account_id": actor_account_id,
                "inbox_url": inbox,
                "host": host_of(inbox),
                "body": body,
                "now": stamp,
            }
        )
    if not rows:
        return 0
    cursor = await conn.executemany(
        "INSERT INTO deliveries (id, activity_uri, actor_account_id, inbox_url, host, body,"
        " state, attempts, next_attempt_at, created_at, updated_at)"
        " VALUES (:id, :activity_uri, :actor_account_id, :inbox_url, :host, :body,"
        " 'pending', 0, :now, :now, :now)"
        " ON CONFLICT (activity_uri, inbox_url) DO NOTHING",
        rows,
    )
    try:
        return cursor.rowcount
    finally:
        await cursor.close()


async def lease_due(
    conn: Connection,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    skip_hosts: Collection[str] = (),
    per_host_limit: int | None = None,
    host: str | None = None,
) -> list[DeliveryRecord]:
    """Claim up to `limit` due rows until `lease_until`, oldest first, in one statement.

    Due: pending or retrying, `next_attempt_at <= now`, and not leased (or the lease ran out,
    which is how a crashed worker's jobs come back). `skip_hosts` are hosts whose circuit is
    open; `per_host_limit` caps each host's share of the batch so one backlogged host cannot
    fill it; `host` leases only that host's rows (a circuit's probe). Nothing is deleted: a
    row stays until an outcome is recorded.
    """
    params: dict[str, Any] = {
        "now": db_time(now),
        "lease": db_time(lease_until),
        "limit": limit,
        "per_host": per_host_limit if per_host_limit is not None else limit,
    }
    filters = ""
    skipped = sorted(set(skip_hosts))
    if skipped:
        names = [f"skip{index}" for index in range(len(skipped))]
        params.update(zip(names, skipped, strict=True))
        filters += " AND host NOT IN (" + ", ".join(f":{name}" for name in names) + ")"
    if host is not None:
        params["host"] = host
        filters += " AND host = :host"
    async with conn.execute(
        "UPDATE deliveries SET locked_until = :lease WHERE id IN ("
        " SELECT id FROM ("
        "  SELECT id, next_attempt_at,"
        "   ROW_NUMBER() OVER (PARTITION BY host ORDER BY next_attempt_at, id) AS host_rank"
        f"  FROM deliveries WHERE state IN ({_ACTIVE}) AND next_attempt_at <= :now"
        f"   AND (locked_until IS NULL OR locked_until < :now){filters}"
        " ) AS due WHERE host_rank <= :per_host ORDER BY next_attempt_at, id LIMIT :limit)"
        f" RETURNING {_COLUMNS}",
        params,
    ) as cursor:
        rows = await cursor.fetchall()
    return sorted((_record(row) for row in rows), key=lambda r: (r.next_attempt_at, r.id))


async def release(conn: Connection, delivery_id: int, *, lease: datetime) -> bool:
    """Give a leased row back untried (its host's circuit opened, or the lease ran short).

    Only our own lease is released: `lease` must match, so a row another worker has since
    claimed keeps its lease.
    """
    changed = await _changed(
        conn,
        "UPDATE deliveries SET locked_until = NULL WHERE id = :id AND locked_until = :lease",
        {"id": delivery_id, "lease": db_time(lease)},
    )
    return changed == 1


async def mark_sent(
    conn: Connection, delivery_id: int, *, attempts: int, status: int, now: datetime
) -> bool:
    changed = await _changed(
        conn,
        "UPDATE deliveries SET state = 'sent', attempts = :attempts, last_status = :status,"
        " last_error = NULL, locked_until = NULL, updated_at = :now"
        f" WHERE id = :id AND state IN ({_INTO[SENT]})",
        {"id": delivery_id, "attempts": attempts, "status": status, "now": db_time(now)},
    )
    return changed == 1


async def reschedule(
    conn: Connection,
    delivery_id: int,
    *,
    attempts: int,
    next_attempt_at: datetime,
    last_status: int | None,
    last_error: str | None,
    now: datetime,
) -> bool:
    """Record a failed attempt and when to try again.

    `attempts` only grows: a stale worker (whose lease ran out while another worker already
    retried the row) cannot roll the count or the schedule back.
    """
    changed = await _changed(
        conn,
        "UPDATE deliveries SET state = 'retrying', attempts = :attempts,"
        " next_attempt_at = :next_attempt_at, last_status = :last_status,"
        " last_error = :last_error, locked_until = NULL, updated_at = :now"
        f" WHERE id = :id AND state IN ({_INTO[RETRYING]}) AND attempts < :attempts",
        {
            "id": delivery_id,
            "attempts": attempts,
            "next_attempt_at": db_time(next_attempt_at),
            "last_status": last_status,
            "last_error": last_error,
            "now": db_time(now),
        },
    )
    return changed == 1


async def mark_gone(
    conn: Connection, delivery_id: int, *, attempts: int, status: int, now: datetime
) -> bool:
    """The inbox answered 404/410: the recipient is gone, retrying cannot help."""
    changed = await _changed(
        conn,
        "UPDATE deliveries SET state = 'gone', attempts = :attempts, last_status = :status,"
        " last_error = :error, locked_until = NULL, updated_at = :now"
        f" WHERE id = :id AND state IN ({_INTO[GONE]})",
        {
            "id": delivery_id,
            "attempts": attempts,
            "status": status,
            "error": f"HTTP {status}",
            "now": db_time(now),
        },
    )
    return changed == 1


async def mark_dead(
    conn: Connection,
    delivery_id: int,
    *,
    attempts: int,
    last_status: int | None,
    last_error: str | None,
    now: datetime,
) -> bool:
    """A permanent refusal, or the attempts ran out. Kept for admins (`retry_dead`)."""
    changed = await _changed(
        conn,
        "UPDATE deliveries SET state = 'dead', attempts = :attempts, last_status = :last_status,"
        " last_error = :last_error, locked_until = NULL, updated_at = :now"
        f" WHERE id = :id AND state IN ({_INTO[DEAD]})",
        {
            "id": delivery_id,
            "attempts": attempts,
            "last_status": last_status,
            "last_error": last_error,
            "now": db_time(now),
        },
    )
    return changed == 1


async def cancel_for_host(
    conn: Connection, host: str, now: datetime, *, reason: str = "peer not permitted by policy"
) -> int:
    """Cancel every unfinished delivery to `host` (a peer removed from policy); returns how many."""
    return await _changed(
        conn,
        "UPDATE deliveries SET state = 'cancelled', last_error = :reason, locked_until = NULL,"
        f" updated_at = :now WHERE host = :host AND state IN ({_INTO[CANCELLED]})",
        {"host": host.lower(), "reason": reason, "now": db_time(now)},
    )


async def retry_dead(conn: Connection, *, now: datetime, host: str | None = None) -> int:
    """Send dead deliveries (of one host, or all) back to the queue with a fresh budget of
    attempts, due at once; returns how many. The last status and error stay for reference."""
    params: dict[str, Any] = {"now": db_time(now)}
    where = f"state IN ({_INTO[PENDING]})"
    if host is not None:
        params["host"] = host.lower()
        where += " AND host = :host"
    return await _changed(
        conn,
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = :now,"
        f" locked_until = NULL, updated_at = :now WHERE {where}",
        params,
    )


async def prune_finished(conn: Connection, *, before: datetime) -> int:
    """Delete sent, gone and cancelled rows last touched before `before`; returns how many."""
    return await _changed(
        conn,
        f"DELETE FROM deliveries WHERE state IN ({_FINISHED}) AND updated_at < :before",
        {"before": db_time(before)},
    )


async def get_by_id(conn: Connection, delivery_id: int) -> DeliveryRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE id = :id", {"id": delivery_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row is not None else None


async def list_for_activity(conn: Connection, activity_uri: str) -> list[DeliveryRecord]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE activity_uri = :uri ORDER BY inbox_url",
        {"uri": activity_uri},
    ) as cursor:
        rows = await cursor.fetchall()
    return [_record(row) for row in rows]


async def summary_by_host(conn: Connection) -> list[HostSummary]:
    """Per host: how many rows in each state, the last success and the latest error."""
    async with conn.execute(
        "SELECT d.host,"
        " SUM(CASE WHEN d.state = 'pending' THEN 1 ELSE 0 END) AS pending,"
        " SUM(CASE WHEN d.state = 'retrying' THEN 1 ELSE 0 END) AS retrying,"
        " SUM(CASE WHEN d.state = 'dead' THEN 1 ELSE 0 END) AS dead,"
        " SUM(CASE WHEN d.state = 'sent' THEN 1 ELSE 0 END) AS sent,"
        " SUM(CASE WHEN d.state = 'gone' THEN 1 ELSE 0 END) AS gone,"
        " SUM(CASE WHEN d.state = 'cancelled' THEN 1 ELSE 0 END) AS cancelled,"
        " MAX(CASE WHEN d.state = 'sent' THEN d.updated_at END) AS last_success_at,"
        " (SELECT e.last_error FROM deliveries e WHERE e.host = d.host"
        "  AND e.last_error IS NOT NULL ORDER BY e.updated_at DESC, e.id DESC LIMIT 1)"
        "  AS last_error,"
        " MAX(CASE WHEN d.last_error IS NOT NULL THEN d.updated_at END) AS last_error_at"
        " FROM deliveries d GROUP BY d.host ORDER BY d.host"
    ) as cursor:
        rows = await cursor.fetchall()
    summaries = []
    for row in rows:
        values: dict[str, Any] = dict(row)
        values["last_success_at"] = parse_db_time(values["last_success_at"])
        values["last_error_at"] = parse_db_time(values["last_error_at"])
        summaries.append(HostSummary(**values))
    return summaries


async def counts(conn: Connection) -> dict[str, int]:
    """How many rows are in each state (every state present, zero when empty)."""
    async with conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state") as cursor:
        rows = await cursor.fetchall()
    found = {state: 0 for state in STATES}
    found.update({row[0]: row[1] for row in rows})
    return found
