"""Reads for the ActivityPub documents peers fetch most: a local actor, a local status.

Each is one statement (one trip to the reader's thread) returning what decides whether the
document may be served and everything it is made of. The app shell keeps the rendered
document with that row (`store.memo`) and renders again when the row differs: the row is
read on every request, so nothing served can be stale, whichever process wrote last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.db import Connection

_ACTOR = (
    "SELECT a.id, a.actor_type, a.suspended_at, u.disabled_at, k.id AS key_id, a.*,"
    " k.key_uri, k.public_key_pem,"
    " (SELECT json_group_array(json_array(f.position, f.name, f.value))"
    "  FROM account_fields f WHERE f.account_id = a.id) AS fields"
    " FROM accounts a LEFT JOIN users u ON u.account_id = a.id"
    " LEFT JOIN keys k ON k.id = (SELECT max(id) FROM keys WHERE account_id = a.id)"
    " WHERE lower(a.username) = lower(:username) AND a.domain IS NULL"
)

_STATUS = (
    "SELECT s.id, s.account_id, a.actor_type, a.suspended_at,"
    " u.disabled_at, EXISTS (SELECT 1 FROM keys WHERE account_id = a.id) AS has_key,"
    " s.reblog_of_id, s.deleted_at, s.visibility, s.local_only, s.*, a.uri, a.username,"
    " a.followers_url,"
    " (SELECT group_concat(m.account_id || ' ' || ma.username || '@' || coalesce(ma.domain, '')"
    "  || ' ' || ma.uri) FROM status_mentions m JOIN accounts ma ON ma.id = m.account_id"
    "  WHERE m.status_id = s.id) AS mentions,"
    " (SELECT group_concat(t.name, ' ') FROM status_tags t WHERE t.status_id = s.id) AS tags,"
    " (SELECT coalesce(q.accepted_answer_id, 0) FROM questions q WHERE q.status_id = s.id)"
    " AS question,"  # store.questions: the Note names the accepted answer
    " (SELECT p.tallies || ' ' || coalesce(p.voters_count, '') || ' ' || coalesce(p.closed_at, '')"
    "  FROM polls p WHERE p.status_id = s.id) AS poll"  # store.polls: the Question's counts
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    " LEFT JOIN users u ON u.account_id = a.id"
    " WHERE s.id = :id AND lower(a.username) = lower(:username) AND a.domain IS NULL"
)


@dataclass(frozen=True, slots=True)
class ActorStamp:
    """A local account as its actor document needs it. `servable`: a person's (not the
    instance actor's), neither suspended nor disabled, with a key. `inputs`: the whole row,
    equal as long as the document would be the same."""

    account_id: int
    servable: bool
    inputs: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StatusStamp:
    """A local status as its Note needs it. `servable`: its author's account is servable
    and it is neither a boost, nor deleted, nor local-only (never served to another
    instance). `inputs`: as for actors."""

    status_id: int
    servable: bool
    visibility: str
    inputs: tuple[Any, ...]


async def actor_stamp(conn: Connection, username: str) -> ActorStamp | None:
    rows = await conn.execute_fetchall(_ACTOR, {"username": username})
    if not rows:
        return None
    row = tuple(rows[0])
    account_id, actor_type, suspended_at, disabled_at, key_id = row[:5]
    servable = (
        actor_type != "Application"
        and suspended_at is None
        and disabled_at is None
        and key_id is not None
    )
    return ActorStamp(account_id, servable, row)


async def status_stamp(conn: Connection, username: str, status_id: int) -> StatusStamp | None:
    """None when there is no such status by the local account `username`."""
    rows = await conn.execute_fetchall(_STATUS, {"id": status_id, "username": username})
    if not rows:
        return None
    row = tuple(rows[0])
    (_, _, actor_type, suspended_at, disabled_at, has_key, reblog_of_id, deleted_at,
     visibility, local_only) = row[:10]  # fmt: skip
    servable = (
        actor_type != "Application"
        and suspended_at is None
        and disabled_at is None
        and bool(has_key)
        and reblog_of_id is None
        and deleted_at is None
        and not local_only
    )
    return StatusStamp(status_id, servable, visibility, row)
