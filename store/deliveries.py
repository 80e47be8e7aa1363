"""Queries on the delivery queue (`deliveries`): one row per activity and distinct target inbox.

Owns the queue's SQL and its state machine (`TRANSITIONS`): enqueueing inside the caller's
transaction (the transactional outbox), leasing due rows, recording each outcome, pruning
finished rows, and the admin views and actions. Every update is guarded by the states it may
leave, so a late or duplicate write from a stale worker changes nothing.

An activity's body is stored once (`delivery_bodies`), however many inboxes it goes to; the
rows name it by `activity_uri`. Finished rows are pruned after a while; their counts, each
host's last success and latest error live on in `delivery_host_totals`, so the admin views
(`summary_by_host`, `counts`) do not change when rows go.

Must not send anything, decide the retry policy or know JSON-LD: the body is opaque text and
the worker (`outbox/delivery.py`) tells us what happened and when to try again.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
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
        # an admin's `queue retry`; cancelled when the failure stopped mattering (the peer
        # was removed, or a refused Follow was sent again under a new id)
        DEAD: frozenset({PENDING, CANCELLED}),
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

_ROW_COLUMNS = (
    "id",
    "activity_uri",
    "actor_account_id",
    "inbox_url",
    "host",
    "state",
    "attempts",
    "next_attempt_at",
    "locked_until",
    "last_status",
    "last_error",
    "created_at",
    "updated_at",
)
_COLUMNS = ", ".join(_ROW_COLUMNS)
_WITH_BODY = ", ".join(f"d.{name}" for name in _ROW_COLUMNS) + ", b.body"
_JOINED = "deliveries d JOIN delivery_bodies b ON b.activity_uri = d.activity_uri"

LEASE_SCAN = 8
"""A lease picks its batch among the oldest `limit × LEASE_SCAN` due rows (of the hosts it
does not skip): an ordered index scan that stops there, so leasing costs the same with ten
rows queued or a million. Within that window each host gets at most its share."""


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
class Sent:
    """One delivery the inbox accepted: what `mark_all_sent` writes."""

    delivery_id: int
    attempts: int
    status: int
    at: datetime


@dataclass(frozen=True, slots=True)
class HostSummary:
    """The queue as an admin sees it for one peer host (pruned rows included)."""

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


def _record(row: aiosqlite.Row, body: str) -> DeliveryRecord:
    values: dict[str, Any] = dict(row)
    values["body"] = body
    for name in ("next_attempt_at", "locked_until", "created_at", "updated_at"):
        values[name] = parse_db_time(values[name])
    return DeliveryRecord(**values)


def _joined_record(row: aiosqlite.Row) -> DeliveryRecord:
    return _record(row, row["body"])


def _names(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`:prefix0, :prefix1, ...` for an IN list, and the parameters that go with it."""
    params = {f"{prefix}{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


_PLAIN_URL = re.compile(r"https?://([a-z0-9.-]+(?::[0-9]+)?)(?:[/?#]|$)", re.IGNORECASE)
"""An http(s) URL whose authority is a plain name or address and port: read without
`urlsplit`, which costs a few milliseconds per thousand inboxes of a post."""


def host_of(inbox_url: str) -> str:
    """The host a delivery counts against (concurrency, circuit, policy): the lower-cased
    `host[:port]` of the inbox URL. Raises ValueError for anything but an absolute http(s) URL."""
    plain = _PLAIN_URL.match(inbox_url)
    if plain is not None:
        return plain.group(1).lower()
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
    The body is stored once per activity (an activity's body never changes: enqueueing the
    same activity again keeps the first). Enqueueing the same activity for the same inbox
    again changes nothing (UNIQUE (activity_uri, inbox_url)), so a retried request has one
    effect.
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
                "now": stamp,
            }
        )
    if not rows:
        return 0
    await _changed(
        conn,
        "INSERT INTO delivery_bodies (activity_uri, body) VALUES (:uri, :body)"
        " ON CONFLICT (activity_uri) DO NOTHING",
        {"uri": activity_uri, "body": body},
    )
    cursor = await conn.executemany(
        "INSERT INTO deliveries (id, activity_uri, actor_account_id, inbox_url, host,"
        " state, attempts, next_attempt_at, created_at, updated_at)"
        " VALUES (:id, :activity_uri, :actor_account_id, :inbox_url, :host,"
        " 'pending', 0, :now, :now, :now)"
        " ON CONFLICT (activity_uri, inbox_url) DO NOTHING",
        rows,
    )
    try:
        return cursor.rowcount
    finally:
        await cursor.close()


async def _bodies(conn: Connection, activity_uris: Collection[str]) -> dict[str, str]:
    names, params = _names("uri", sorted(activity_uris))
    async with conn.execute(
        f"SELECT activity_uri, body FROM delivery_bodies WHERE activity_uri IN ({names})", params
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def lease_due(
    conn: Connection,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    skip_hosts: Collection[str] = (),
    per_host_limit: int | None = None,
    held: Mapping[str, int] | None = None,
    host: str | None = None,
) -> list[DeliveryRecord]:
    """Claim up to `limit` due rows until `lease_until`, oldest first.

    Due: pending or retrying, `next_attempt_at <= now`, and not leased (or the lease ran out,
    which is how a crashed worker's jobs come back). `skip_hosts` are hosts not to lease (an
    open circuit); `per_host_limit` caps each host's share, counting the `held` jobs per host
    the caller already has in flight, so one backlogged host cannot fill the batch; `host`
    leases only that host's rows (a circuit's probe). The batch is chosen among the oldest
    `limit × LEASE_SCAN` due rows of the hosts not skipped. Nothing is deleted: a row stays
    until an outcome is recorded. Call it inside a write transaction.
    """
    per_host = per_host_limit if per_host_limit is not None else limit
    held = held or {}
    skipped = sorted(set(skip_hosts) | {name for name, count in held.items() if count >= per_host})
    params: dict[str, Any] = {"now": db_time(now), "scan": limit * LEASE_SCAN}
    filters = ""
    if skipped:
        names, named = _names("skip", skipped)
        params.update(named)
        filters += f" AND host NOT IN ({names})"
    if host is not None:
        params["host"] = host
        filters += " AND host = :host"
    due = (
        f"state IN ({_ACTIVE}) AND next_attempt_at <= :now"
        " AND (locked_until IS NULL OR locked_until < :now)"
    )
    async with conn.execute(
        f"SELECT id, host FROM deliveries WHERE {due}{filters}"
        " ORDER BY next_attempt_at, id LIMIT :scan",
        params,
    ) as cursor:
        candidates = await cursor.fetchall()
    taken: Counter[str] = Counter(held)
    chosen: list[int] = []
    for row_id, row_host in candidates:
        if taken[row_host] >= per_host:
            continue
        taken[row_host] += 1
        chosen.append(row_id)
        if len(chosen) == limit:
            break
    if not chosen:
        return []
    names, named = _names("id", chosen)
    async with conn.execute(
        f"UPDATE deliveries SET locked_until = :lease WHERE id IN ({names}) AND {due}"
        f" RETURNING {_COLUMNS}",
        {"now": params["now"], "lease": db_time(lease_until), **named},
    ) as cursor:
        rows = await cursor.fetchall()
    bodies = await _bodies(conn, {row["activity_uri"] for row in rows})
    records = (_record(row, bodies[row["activity_uri"]]) for row in rows)
    return sorted(records, key=lambda r: (r.next_attempt_at, r.id))


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


_MARK_SENT = (
    "UPDATE deliveries SET state = 'sent', attempts = :attempts, last_status = :status,"
    " last_error = NULL, locked_until = NULL, updated_at = :now"
    f" WHERE id = :id AND state IN ({_INTO[SENT]})"
)


async def mark_sent(
    conn: Connection, delivery_id: int, *, attempts: int, status: int, now: datetime
) -> bool:
    changed = await _changed(
        conn,
        _MARK_SENT,
        {"id": delivery_id, "attempts": attempts, "status": status, "now": db_time(now)},
    )
    return changed == 1


async def mark_all_sent(conn: Connection, sent: Sequence[Sent]) -> int:
    """`mark_sent` for many rows in one call (the worker's common case); returns how many
    rows changed."""
    if not sent:
        return 0
    cursor = await conn.executemany(
        _MARK_SENT,
        [
            {"id": s.delivery_id, "attempts": s.attempts, "status": s.status, "now": db_time(s.at)}
            for s in sent
        ],
    )
    try:
        return cursor.rowcount
    finally:
        await cursor.close()


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
        f" updated_at = :now WHERE host = :host AND state IN ({_in_list(ACTIVE)})",
        {"host": host.lower(), "reason": reason, "now": db_time(now)},
    )


async def cancel_dead_of(conn: Connection, activity_uri: str, now: datetime, *, reason: str) -> int:
    """Cancel the dead deliveries of one activity that no longer matters (a refused Follow
    sent again under a new id), so the queue does not show a failure that was resolved."""
    return await _changed(
        conn,
        "UPDATE deliveries SET state = 'cancelled', last_error = :reason, updated_at = :now"
        " WHERE activity_uri = :uri AND state = 'dead'",
        {"uri": activity_uri, "reason": reason, "now": db_time(now)},
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


async def list_dead(conn: Connection, *, limit: int = 50) -> list[DeliveryRecord]:
    """The newest dead deliveries, for the admin queue page; their bodies are left out
    (`body` is empty): the page shows where and why, not what."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM deliveries WHERE state = 'dead'"
        " ORDER BY updated_at DESC, id DESC LIMIT :limit",
        {"limit": limit},
    ) as cursor:
        rows = await cursor.fetchall()
    return [_record(row, "") for row in rows]


@dataclass(slots=True)
class _Totals:
    """What pruned rows of one host leave behind (a `delivery_host_totals` row's increment)."""

    counts: Counter[str]
    last_success_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None


async def prune_finished(conn: Connection, *, before: datetime, limit: int = 500) -> int:
    """Delete up to `limit` sent, gone and cancelled rows last touched before `before`, oldest
    first, and the bodies no row needs any more; returns how many rows went (call again
    while it returns `limit`). Their counts, each host's last success and latest error are
    added to `delivery_host_totals` first, so `summary_by_host` and `counts` stay the same.
    """
    async with conn.execute(
        "SELECT id, activity_uri, host, state, last_error, updated_at FROM deliveries"
        f" WHERE state IN ({_FINISHED}) AND updated_at < :before ORDER BY updated_at LIMIT :limit",
        {"before": db_time(before), "limit": limit},
    ) as cursor:
        rows = await cursor.fetchall()
    if not rows:
        return 0
    totals: dict[str, _Totals] = {}
    for row in rows:  # oldest first: later rows overwrite the "last" values
        found = totals.setdefault(row["host"], _Totals(Counter()))
        found.counts[row["state"]] += 1
        if row["state"] == SENT:
            found.last_success_at = row["updated_at"]
        if row["last_error"] is not None:
            found.last_error, found.last_error_at = row["last_error"], row["updated_at"]
    await conn.executemany(
        "INSERT INTO delivery_host_totals AS t"
        " (host, sent, gone, cancelled, last_success_at, last_error, last_error_at)"
        " VALUES (:host, :sent, :gone, :cancelled, :last_success_at, :last_error, :last_error_at)"
        " ON CONFLICT (host) DO UPDATE SET sent = t.sent + excluded.sent,"
        " gone = t.gone + excluded.gone, cancelled = t.cancelled + excluded.cancelled,"
        " last_success_at = CASE WHEN excluded.last_success_at > COALESCE(t.last_success_at, '')"
        "  THEN excluded.last_success_at ELSE t.last_success_at END,"
        " last_error = CASE WHEN excluded.last_error_at > COALESCE(t.last_error_at, '')"
        "  THEN excluded.last_error ELSE t.last_error END,"
        " last_error_at = CASE WHEN excluded.last_error_at > COALESCE(t.last_error_at, '')"
        "  THEN excluded.last_error_at ELSE t.last_error_at END",
        [
            {
                "host": name,
                "sent": found.counts[SENT],
                "gone": found.counts[GONE],
                "cancelled": found.counts[CANCELLED],
                "last_success_at": found.last_success_at,
                "last_error": found.last_error,
                "last_error_at": found.last_error_at,
            }
            for name, found in totals.items()
        ],
    )
    names, params = _names("id", [row["id"] for row in rows])
    await _changed(conn, f"DELETE FROM deliveries WHERE id IN ({names})", params)
    names, params = _names("uri", sorted({row["activity_uri"] for row in rows}))
    await _changed(
        conn,
        f"DELETE FROM delivery_bodies WHERE activity_uri IN ({names}) AND NOT EXISTS"
        " (SELECT 1 FROM deliveries d WHERE d.activity_uri = delivery_bodies.activity_uri)",
        params,
    )
    return len(rows)


async def get_by_id(conn: Connection, delivery_id: int) -> DeliveryRecord | None:
    async with conn.execute(
        f"SELECT {_WITH_BODY} FROM {_JOINED} WHERE d.id = :id", {"id": delivery_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _joined_record(row) if row is not None else None


async def list_for_activity(conn: Connection, activity_uri: str) -> list[DeliveryRecord]:
    async with conn.execute(
        f"SELECT {_WITH_BODY} FROM {_JOINED} WHERE d.activity_uri = :uri ORDER BY d.inbox_url",
        {"uri": activity_uri},
    ) as cursor:
        rows = await cursor.fetchall()
    return [_joined_record(row) for row in rows]


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two stored times (text order is time order), either may be missing."""
    if a is None or (b is not None and b > a):
        return b
    return a


async def summary_by_host(conn: Connection) -> list[HostSummary]:
    """Per host: how many deliveries in each state (pruned ones included), the last success
    and the latest error."""
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
        " FROM deliveries d GROUP BY d.host"
    ) as cursor:
        live_rows = await cursor.fetchall()
    found: dict[str, dict[str, Any]] = {row["host"]: dict(row) for row in live_rows}
    async with conn.execute(
        "SELECT host, sent, gone, cancelled, last_success_at, last_error, last_error_at"
        " FROM delivery_host_totals"
    ) as cursor:
        pruned = await cursor.fetchall()
    for row in pruned:
        live = found.get(row["host"])
        if live is None:
            found[row["host"]] = {**dict(row), "pending": 0, "retrying": 0, "dead": 0}
            continue
        for state in (SENT, GONE, CANCELLED):
            live[state] += row[state]
        live["last_success_at"] = _later(live["last_success_at"], row["last_success_at"])
        if _later(live["last_error_at"], row["last_error_at"]) != live["last_error_at"]:
            live["last_error"], live["last_error_at"] = row["last_error"], row["last_error_at"]
    summaries = []
    for host in sorted(found):
        values = found[host]
        values["last_success_at"] = parse_db_time(values["last_success_at"])
        values["last_error_at"] = parse_db_time(values["last_error_at"])
        summaries.append(HostSummary(**values))
    return summaries


async def counts(conn: Connection) -> dict[str, int]:
    """How many deliveries are in each state, pruned ones included (every state present,
    zero when empty)."""
    async with conn.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state") as cursor:
        rows = await cursor.fetchall()
    async with conn.execute(
        "SELECT COALESCE(SUM(sent), 0), COALESCE(SUM(gone), 0), COALESCE(SUM(cancelled), 0)"
        " FROM delivery_host_totals"
    ) as cursor:
        pruned = await cursor.fetchone()
    found = {state: 0 for state in STATES}
    found.update({row[0]: row[1] for row in rows})
    for state, count in zip((SENT, GONE, CANCELLED), pruned, strict=True):
        found[state] += count
    return found
