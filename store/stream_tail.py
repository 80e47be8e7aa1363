"""What the streaming hub reads: rows newer than its watermarks, and the two audience tests
that only streaming has (timeline membership itself is asked of the timeline queries).

The hub tails the store instead of being called by every writer, so local posts, inbox
handlers and other processes on the same database all reach streaming clients the same way.
Statuses, notifications and edits are tailed by id; ids are taken before a transaction waits
for the writer, so a row may commit a little after a newer one: the hub re-reads a short
window below its newest id and skips the ids it has seen. Deletions are tailed by
`deleted_at` (indexed by migration 0011).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from store.db import Connection

CHUNK = 500
"""Ids per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True, slots=True)
class Newest:
    """The newest row of each tailed kind when the hub starts; nothing older is streamed."""

    status_id: int
    notification_id: int
    edit_id: int
    deleted_at: str | None


def _marks(prefix: str, values: Sequence[int], params: dict[str, Any]) -> str:
    params.update({f"{prefix}{i}": value for i, value in enumerate(values)})
    return ", ".join(f":{prefix}{i}" for i in range(len(values)))


def _chunks(values: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(values))
    return [unique[i : i + CHUNK] for i in range(0, len(unique), CHUNK)]


async def _rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    async with conn.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


# ----- tailing ---------------------------------------------------------------------------------


async def newest(conn: Connection) -> Newest:
    rows = await _rows(
        conn,
        "SELECT (SELECT coalesce(max(id), 0) FROM statuses),"
        " (SELECT coalesce(max(id), 0) FROM notifications),"
        " (SELECT coalesce(max(id), 0) FROM status_edits),"
        " (SELECT max(deleted_at) FROM statuses WHERE deleted_at IS NOT NULL)",
        {},
    )
    status_id, notification_id, edit_id, deleted_at = rows[0]
    return Newest(status_id, notification_id, edit_id, deleted_at)


async def status_ids_after(conn: Connection, floor: int) -> list[int]:
    """Ids of statuses (posts and boosts, local and remote) above `floor`, oldest first."""
    rows = await _rows(
        conn, "SELECT id FROM statuses WHERE id > :floor ORDER BY id", {"floor": floor}
    )
    return [row[0] for row in rows]


async def notifications_after(conn: Connection, floor: int) -> list[tuple[int, int]]:
    """(notification id, recipient account id) above `floor`, oldest first."""
    rows = await _rows(
        conn,
        "SELECT id, account_id FROM notifications WHERE id > :floor ORDER BY id",
        {"floor": floor},
    )
    return [(row[0], row[1]) for row in rows]


async def edits_after(conn: Connection, floor: int) -> list[tuple[int, int]]:
    """(version id, status id) of status versions above `floor`, oldest first."""
    rows = await _rows(
        conn,
        "SELECT id, status_id FROM status_edits WHERE id > :floor ORDER BY id",
        {"floor": floor},
    )
    return [(row[0], row[1]) for row in rows]


async def deletions_after(conn: Connection, since: str | None) -> list[tuple[int, str]]:
    """(status id, deleted_at) of statuses deleted after `since` (all if None), oldest first."""
    rows = await _rows(
        conn,
        "SELECT id, deleted_at FROM statuses WHERE deleted_at > :since ORDER BY deleted_at, id",
        {"since": since if since is not None else ""},
    )
    return [(row[0], row[1]) for row in rows]


# ----- membership ------------------------------------------------------------------------------


async def hidden_from(
    conn: Connection,
    viewer_ids: Iterable[int],
    *,
    author_id: int,
    mentioned_ids: Sequence[int],
    now: str,
) -> set[int]:
    """Readers who must not get this status on public and hashtag streams, as Mastodon's
    streaming server filters them: they block or mute its author or someone it mentions, or
    its author blocks them."""
    hidden: set[int] = set()
    involved = [author_id, *mentioned_ids]
    for viewers in _chunks(viewer_ids):
        params: dict[str, Any] = {"author": author_id, "now": now}
        viewers_in = _marks("v", viewers, params)
        involved_in = _marks("i", involved, params)
        rows = await _rows(
            conn,
            "SELECT account_id FROM blocks"
            f" WHERE account_id IN ({viewers_in}) AND target_account_id IN ({involved_in})"
            " UNION SELECT target_account_id FROM blocks"
            f" WHERE account_id = :author AND target_account_id IN ({viewers_in})"
            " UNION SELECT account_id FROM mutes"
            f" WHERE account_id IN ({viewers_in}) AND target_account_id IN ({involved_in})"
            " AND (expires_at IS NULL OR expires_at > :now)",
            params,
        )
        hidden.update(row[0] for row in rows)
    return hidden


async def delete_audience(
    conn: Connection, viewer_ids: Iterable[int], *, status_id: int, author_id: int
) -> set[int]:
    """Readers whose home timeline could have held a deleted status (its author, their
    followers, the mentioned): its timeline rows are gone with it, so ask who they were."""
    audience: set[int] = set()
    for viewers in _chunks(viewer_ids):
        params: dict[str, Any] = {"author": author_id, "status": status_id}
        viewers_in = _marks("v", viewers, params)
        rows = await _rows(
            conn,
            "SELECT account_id FROM follows WHERE target_account_id = :author"
            f" AND state = 'accepted' AND account_id IN ({viewers_in})"
            " UNION SELECT account_id FROM status_mentions WHERE status_id = :status"
            f" AND account_id IN ({viewers_in})",
            params,
        )
        audience.update(row[0] for row in rows)
        audience.update(v for v in viewers if v == author_id)
    return audience
