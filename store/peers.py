"""The peer list, domain blocks and per-domain refusal counters (migration 0017).

Who may federate is decided in `federation.policy` from what these functions return; the
`policy_version` row, bumped by triggers, tells a running server that another process
(the CLI) changed either list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time

SOURCES = ("config", "admin", "manifest")
SEVERITIES = ("reject", "silence")
COUNTER_KINDS = ("refused", "signature_failed")


@dataclass(frozen=True)
class PeerRecord:
    domain: str
    name: str | None
    source: str
    actor_uri: str | None
    added_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class DomainBlockRecord:
    domain: str
    severity: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class DomainCounter:
    domain: str
    kind: str
    count: int
    last_at: datetime


def _required_time(value: str) -> datetime:
    moment = parse_db_time(value)
    assert moment is not None  # NOT NULL columns
    return moment


def _peer(row: aiosqlite.Row) -> PeerRecord:
    values: dict[str, Any] = dict(row)
    values["added_at"] = _required_time(values["added_at"])
    values["last_attempt_at"] = parse_db_time(values["last_attempt_at"])
    return PeerRecord(**values)


_PEER = "SELECT domain, name, source, actor_uri, added_at, last_attempt_at, last_error FROM peers"


async def version(conn: Connection) -> int:
    """Changes whenever a peer or a block is added, changed or removed."""
    async with conn.execute("SELECT version FROM policy_version WHERE id = 1") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def all_peers(conn: Connection) -> list[PeerRecord]:
    async with conn.execute(f"{_PEER} ORDER BY domain") as cursor:
        return [_peer(row) for row in await cursor.fetchall()]


async def get(conn: Connection, domain: str) -> PeerRecord | None:
    async with conn.execute(f"{_PEER} WHERE domain = :domain", {"domain": domain}) as cursor:
        row = await cursor.fetchone()
    return _peer(row) if row else None


async def add(
    conn: Connection, domain: str, *, source: str, now: datetime, name: str | None = None
) -> bool:
    """List `domain` as a peer; False if it already was (its name is refreshed then). The
    stronger source wins: config over admin over manifest, so a `[[peers]]` entry cannot be
    removed by the CLI, and one an admin added stays when a new manifest drops it."""
    if source not in SOURCES:
        raise ValueError(f"unknown peer source {source!r}")
    cursor = await conn.execute(
        "INSERT INTO peers (domain, name, source, added_at) VALUES (:domain, :name, :source,"
        " :now) ON CONFLICT (domain) DO NOTHING",
        {"domain": domain, "name": name, "source": source, "now": db_time(now)},
    )
    added = cursor.rowcount > 0
    await cursor.close()
    if not added:
        await conn.execute(
            "UPDATE peers SET name = coalesce(:name, name),"
            " source = CASE WHEN :source = 'config' OR source = 'config' THEN 'config'"
            " WHEN :source = 'admin' OR source = 'admin' THEN 'admin' ELSE 'manifest' END"
            " WHERE domain = :domain",
            {"domain": domain, "name": name, "source": source},
        )
    return added


async def remove(conn: Connection, domain: str) -> PeerRecord | None:
    """Stop listing `domain`; the removed row, or None if it was not a peer."""
    found = await get(conn, domain)
    if found is not None:
        await conn.execute("DELETE FROM peers WHERE domain = :domain", {"domain": domain})
    return found


async def replace_source(
    conn: Connection, source: str, domains: Mapping[str, str | None], *, now: datetime
) -> tuple[list[str], list[str]]:
    """Make the peers listed by `source` exactly `domains` (domain -> name): rows of that
    source not named are removed, new ones added. Rows of other sources are left alone.
    Returns (added, removed) domains."""
    async with conn.execute(
        "SELECT domain FROM peers WHERE source = :source", {"source": source}
    ) as cursor:
        current = {row[0] for row in await cursor.fetchall()}
    removed = sorted(current - set(domains))
    for domain in removed:
        await conn.execute("DELETE FROM peers WHERE domain = :domain", {"domain": domain})
    added = []
    for domain, name in sorted(domains.items()):
        if await add(conn, domain, source=source, now=now, name=name):
            added.append(domain)
    return added, removed


async def record_attempt(
    conn: Connection,
    domain: str,
    *,
    now: datetime,
    actor_uri: str | None = None,
    error: str | None = None,
) -> None:
    """Note a linking attempt: the peer's instance actor when found, the error if any."""
    await conn.execute(
        "UPDATE peers SET last_attempt_at = :now, last_error = :error,"
        " actor_uri = coalesce(:actor_uri, actor_uri) WHERE domain = :domain",
        {"domain": domain, "now": db_time(now), "error": error, "actor_uri": actor_uri},
    )


async def set_actor(conn: Connection, domain: str, actor_uri: str) -> None:
    """Remember the peer's instance actor (seen when it followed ours)."""
    await conn.execute(
        "UPDATE peers SET actor_uri = :actor_uri WHERE domain = :domain",
        {"domain": domain, "actor_uri": actor_uri},
    )


async def reset_attempt(conn: Connection, domain: str) -> None:
    """Make the peer due for linking again at once."""
    await conn.execute(
        "UPDATE peers SET last_attempt_at = NULL, last_error = NULL WHERE domain = :domain",
        {"domain": domain},
    )


# ----- domain blocks ---------------------------------------------------------------------


def _block(row: aiosqlite.Row) -> DomainBlockRecord:
    values: dict[str, Any] = dict(row)
    values["created_at"] = _required_time(values["created_at"])
    return DomainBlockRecord(**values)


async def all_blocks(conn: Connection) -> list[DomainBlockRecord]:
    async with conn.execute(
        "SELECT domain, severity, reason, created_at FROM domain_blocks ORDER BY domain"
    ) as cursor:
        return [_block(row) for row in await cursor.fetchall()]


async def block(
    conn: Connection, domain: str, *, severity: str, reason: str, now: datetime
) -> DomainBlockRecord:
    """Block `domain` (or change an existing block's severity and reason)."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    await conn.execute(
        "INSERT INTO domain_blocks (domain, severity, reason, created_at)"
        " VALUES (:domain, :severity, :reason, :now) ON CONFLICT (domain) DO UPDATE SET"
        " severity = excluded.severity, reason = excluded.reason",
        {"domain": domain, "severity": severity, "reason": reason, "now": db_time(now)},
    )
    async with conn.execute(
        "SELECT domain, severity, reason, created_at FROM domain_blocks WHERE domain = :domain",
        {"domain": domain},
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return _block(row)


async def unblock(conn: Connection, domain: str) -> bool:
    cursor = await conn.execute(
        "DELETE FROM domain_blocks WHERE domain = :domain", {"domain": domain}
    )
    removed = cursor.rowcount > 0
    await cursor.close()
    return removed


# ----- counters --------------------------------------------------------------------------


async def add_counts(
    conn: Connection, counts: Iterable[tuple[str, str, int]], *, now: datetime
) -> None:
    """Add (domain, kind, n) to the running totals."""
    await conn.executemany(
        "INSERT INTO domain_counters (domain, kind, count, last_at)"
        " VALUES (:domain, :kind, :n, :now) ON CONFLICT (domain, kind) DO UPDATE SET"
        " count = count + excluded.count, last_at = excluded.last_at",
        [
            {"domain": domain, "kind": kind, "n": n, "now": db_time(now)}
            for domain, kind, n in counts
            if n > 0
        ],
    )


async def counters(conn: Connection, *, kind: str | None = None) -> list[DomainCounter]:
    sql = "SELECT domain, kind, count, last_at FROM domain_counters"
    params: dict[str, Any] = {}
    if kind is not None:
        sql += " WHERE kind = :kind"
        params["kind"] = kind
    async with conn.execute(f"{sql} ORDER BY count DESC, domain", params) as cursor:
        rows = await cursor.fetchall()
    return [DomainCounter(row[0], row[1], int(row[2]), _required_time(row[3])) for row in rows]
