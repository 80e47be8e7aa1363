"""The audit log: one append-only row per admin action, linked by a SHA-256 hash chain.

The table refuses UPDATE and DELETE (triggers, store/migrations/0021_audit_log.sql, which
also documents the canonical form hashed here). `append` runs inside the action's own
transaction: on the one writer, after `BEGIN IMMEDIATE`, so reading the newest row and
inserting the next one cannot interleave with another process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time

GENESIS = "0" * 64
"""The `prev_hash` of the first row."""
ORIGINS = ("web", "api", "cli", "system", "federation")
"""'system': the server by itself (the retention job); 'federation': on another division's
request (a forwarded report, a Move)."""
PAGE_LIMIT = 200
_SEARCHED = ("target", "actor_name", "action", "details")
"""The columns a free-text search looks in."""

_COLUMNS = "id, at, actor_account_id, actor_name, action, target, details, origin, prev_hash, hash"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_account_id: int | None
    actor_name: str
    action: str
    target: str
    details: dict[str, Any]
    origin: str
    prev_hash: str
    hash: str


def canonical_json(value: object) -> str:
    """The one text form of a JSON value that is hashed and stored."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(
    prev_hash: str,
    *,
    id_: int,
    at: str,
    actor_account_id: int | None,
    actor_name: str,
    action: str,
    target: str,
    details: Mapping[str, Any],
    origin: str,
) -> str:
    """SHA-256 over the previous hash and the row's canonical content (see the migration)."""
    content = canonical_json(
        {
            "action": action,
            "actor_account_id": actor_account_id,
            "actor_name": actor_name,
            "at": at,
            "details": details,
            "id": id_,
            "origin": origin,
            "target": target,
        }
    )
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """What `entry.hash` must be, given its content and `prev_hash` (for verifying)."""
    return row_hash(
        entry.prev_hash,
        id_=entry.id,
        at=db_time(entry.at),
        actor_account_id=entry.actor_account_id,
        actor_name=entry.actor_name,
        action=entry.action,
        target=entry.target,
        details=entry.details,
        origin=entry.origin,
    )


def _entry(row: aiosqlite.Row) -> AuditEntry:
    values: dict[str, Any] = dict(row)
    values["at"] = parse_db_time(values["at"])
    values["details"] = json.loads(values["details"])
    return AuditEntry(**values)


async def append(
    conn: Connection,
    *,
    now: datetime,
    actor_account_id: int | None,
    actor_name: str,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    origin: str,
) -> AuditEntry:
    """Add the next row of the chain. Call inside a write transaction (`db.transaction()`)."""
    if origin not in ORIGINS:
        raise ValueError(f"audit origin must be one of {ORIGINS}, not {origin!r}")
    # round-trip through the canonical text so the hash covers exactly what is stored
    stored_details = canonical_json(dict(details or {}))
    parsed_details = json.loads(stored_details)
    async with conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1") as cursor:
        last = await cursor.fetchone()
    id_ = last["id"] + 1 if last else 1
    prev_hash = last["hash"] if last else GENESIS
    at = db_time(now)
    digest = row_hash(
        prev_hash,
        id_=id_,
        at=at,
        actor_account_id=actor_account_id,
        actor_name=actor_name,
        action=action,
        target=target,
        details=parsed_details,
        origin=origin,
    )
    await conn.execute(
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES (:id, :at, :actor_account_id, :actor_name,"
        " :action, :target, :details, :origin, :prev_hash, :hash)",
        {
            "id": id_,
            "at": at,
            "actor_account_id": actor_account_id,
            "actor_name": actor_name,
            "action": action,
            "target": target,
            "details": stored_details,
            "origin": origin,
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    return AuditEntry(
        id=id_,
        at=parse_db_time(at) or now,
        actor_account_id=actor_account_id,
        actor_name=actor_name,
        action=action,
        target=target,
        details=parsed_details,
        origin=origin,
        prev_hash=prev_hash,
        hash=digest,
    )


def _filters(
    *,
    action: str | None = None,
    actor: str | None = None,
    text: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE terms of a search: `action` a name, or a prefix ending in a dot ('peer.'
    finds every peer action); `actor` the actor's name (any case); `text` a piece of the
    target, actor, action or details text (any case, no wildcards); `since` inclusive,
    `until` exclusive. Portable SQL: `lower(..) LIKE` rather than ILIKE."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if action:
        if action.endswith("."):
            where.append("substr(action, 1, :prefix_length) = :action")
            params["prefix_length"] = len(action)
        else:
            where.append("action = :action")
        params["action"] = action
    if actor:
        where.append("lower(actor_name) = lower(:actor)")
        params["actor"] = actor
    if text:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["text"] = f"%{escaped}%"
        terms = (f"lower({c}) LIKE :text ESCAPE '\\'" for c in _SEARCHED)
        where.append(f"({' OR '.join(terms)})")
    if since is not None:
        where.append("at >= :since")
        params["since"] = db_time(since)
    if until is not None:
        where.append("at < :until")
        params["until"] = db_time(until)
    return where, params


async def page(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    text: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    after_id: int | None = None,
    oldest_first: bool = False,
    limit: int = 50,
) -> list[AuditEntry]:
    """Newest first; `before_id` pages back, `after_id` keeps only newer rows (Mastodon's
    `max_id` and `since_id`); `oldest_first` takes the `limit` rows just after `after_id`
    (`min_id`), still answered newest first. The filters are `_filters`'."""
    where, params = _filters(action=action, actor=actor, text=text, since=since, until=until)
    params["limit"] = max(1, min(limit, PAGE_LIMIT))
    if before_id is not None:
        where.append("id < :before_id")
        params["before_id"] = before_id
    if after_id is not None:
        where.append("id > :after_id")
        params["after_id"] = after_id
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    order = "ASC" if oldest_first else "DESC"
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log{clause} ORDER BY id {order} LIMIT :limit", params
    ) as cursor:
        found = [_entry(row) for row in await cursor.fetchall()]
    return found[::-1] if oldest_first else found


async def stored_rows(
    conn: Connection,
    *,
    after_id: int = 0,
    up_to_id: int | None = None,
    limit: int = 1000,
    action: str | None = None,
    text: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Oldest first from `after_id`, as stored: `at` and `details` the stored text, not
    parsed (what `audit verify` hashes, and `audit export` writes). A page of the walk: the
    caller passes the last id back as `after_id`, so memory stays one page."""
    where, params = _filters(action=action, actor=actor, text=text, since=since, until=until)
    where.append("id > :after")
    params.update(after=after_id, limit=max(1, limit))
    if up_to_id is not None:
        where.append("id <= :up_to")
        params["up_to"] = up_to_id
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)} ORDER BY id LIMIT :limit",
        params,
    ) as cursor:
        return [dict(row) for row in await cursor.fetchall()]


async def head(conn: Connection) -> tuple[int, str] | None:
    """The newest row's id and hash (None for an empty log)."""
    async with conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1") as cursor:
        row = await cursor.fetchone()
    return (row["id"], row["hash"]) if row else None


async def triggers(conn: Connection) -> dict[str, str]:
    """The triggers on audit_log as the schema holds them: {name: CREATE TRIGGER text}."""
    async with conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
    ) as cursor:
        return {row[0]: row[1] or "" for row in await cursor.fetchall()}


async def chain(conn: Connection, *, after_id: int = 0, limit: int = 1000) -> list[AuditEntry]:
    """Oldest first from `after_id`: the order in which the chain is checked."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM audit_log WHERE id > :after ORDER BY id LIMIT :limit",
        {"after": after_id, "limit": limit},
    ) as cursor:
        return [_entry(row) for row in await cursor.fetchall()]


async def actions(conn: Connection) -> list[str]:
    """Every action name in the log, for the page's filter."""
    async with conn.execute("SELECT DISTINCT action FROM audit_log ORDER BY action") as cursor:
        return [row[0] for row in await cursor.fetchall()]
