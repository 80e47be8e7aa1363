"""The eDiscovery reads: every status the division holds that matches a search and a date
range, whoever wrote it and whoever may see it, a page at a time, with what each row of
the export needs read in a few statements per page.

This module applies no visibility rule on purpose: it serves the admins' legal export
(watercooler.ediscovery), which must see everything. Nothing else may call it to show
statuses to a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.batches import rows_in
from store.db import Connection, db_time
from store.records import StatusRecord
from store.statuses import _COLUMNS, _record

WINDOW = 500
"""Index matches read per round of a search (the rows are then filtered by date)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What an export covers. `match` is an FTS5 expression over the search index
    (store.api_search.match_expression), None for every status; `since` inclusive,
    `until` exclusive, on the status's own creation time."""

    match: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    public_only: bool = False


def _conditions(scope: Scope) -> tuple[str, dict[str, Any]]:
    clauses = ["s.reblog_of_id IS NULL", "s.deleted_at IS NULL"]
    params: dict[str, Any] = {}
    if scope.since is not None:
        clauses.append("s.created_at >= :since")
        params["since"] = db_time(scope.since)
    if scope.until is not None:
        clauses.append("s.created_at < :until")
        params["until"] = db_time(scope.until)
    if scope.public_only:
        clauses.append("s.visibility IN ('public', 'org')")
    return " AND ".join(clauses), params


async def matching_ids(
    conn: Connection, scope: Scope, *, after: int, limit: int = WINDOW
) -> tuple[list[int], int | None]:
    """The ids in scope after the id `after`, oldest first, and the cursor of the next call
    (None: nothing more). A page may be empty while the cursor goes on (a window of index
    matches all outside the dates)."""
    where, params = _conditions(scope)
    if scope.match is None:
        async with conn.execute(
            f"SELECT s.id FROM statuses s WHERE s.id > :after AND {where}"
            " ORDER BY s.id LIMIT :limit",
            {**params, "after": after, "limit": limit},
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        return ids, (ids[-1] if len(ids) == limit else None)
    async with conn.execute(
        "SELECT rowid FROM status_search WHERE status_search MATCH :match AND rowid > :after"
        " ORDER BY rowid LIMIT :limit",
        {"match": scope.match, "after": after, "limit": limit},
    ) as cursor:
        window = [row[0] for row in await cursor.fetchall()]
    if not window:
        return [], None
    rows = await rows_in(
        conn, f"SELECT s.id FROM statuses s WHERE s.id IN ({{ids}}) AND {where}", window, params
    )
    kept = {row[0] for row in rows}
    return [id_ for id_ in window if id_ in kept], (window[-1] if len(window) == limit else None)


async def preserved_ids(
    conn: Connection, scope: Scope, *, after: int, limit: int = WINDOW
) -> tuple[list[int], int | None]:
    """As `matching_ids`, for the copies legal holds keep of deleted statuses
    (store.legal_holds): their index rows stay while the copy does."""
    clauses, params = ["p.status_id > :after"], {"after": after, "limit": limit}
    if scope.since is not None:
        clauses.append("p.created_at >= :since")
        params["since"] = db_time(scope.since)
    if scope.until is not None:
        clauses.append("p.created_at < :until")
        params["until"] = db_time(scope.until)
    if scope.public_only:
        clauses.append("p.visibility IN ('public', 'org')")
    if scope.match is not None:
        clauses.append(
            "p.status_id IN (SELECT rowid FROM status_search WHERE status_search MATCH :match)"
        )
        params["match"] = scope.match
    async with conn.execute(
        f"SELECT p.status_id FROM held_statuses p WHERE {' AND '.join(clauses)}"
        " ORDER BY p.status_id LIMIT :limit",
        params,
    ) as cursor:
        ids = [row[0] for row in await cursor.fetchall()]
    return ids, (ids[-1] if len(ids) == limit else None)


async def statuses(conn: Connection, ids: Sequence[int]) -> list[StatusRecord]:
    """The statuses of `ids`, in that order."""
    rows = await rows_in(conn, f"SELECT {_COLUMNS} FROM statuses WHERE id IN ({{ids}})", ids)
    found = {row["id"]: _record(row) for row in rows}
    return [found[id_] for id_ in ids if id_ in found]


async def mentions(conn: Connection, ids: Sequence[int]) -> dict[int, list[int]]:
    """The mentioned account ids of each status."""
    found: dict[int, list[int]] = {}
    rows = await rows_in(
        conn,
        "SELECT status_id, account_id FROM status_mentions WHERE status_id IN ({ids})"
        " ORDER BY status_id, account_id",
        ids,
    )
    for row in rows:
        found.setdefault(row[0], []).append(row[1])
    return found


async def tags(conn: Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    rows = await rows_in(
        conn,
        "SELECT status_id, name FROM status_tags WHERE status_id IN ({ids}) ORDER BY name",
        ids,
    )
    for row in rows:
        found.setdefault(row[0], []).append(row[1])
    return found


async def application_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    rows = await rows_in(conn, "SELECT id, name FROM oauth_applications WHERE id IN ({ids})", ids)
    return {row[0]: row[1] for row in rows}


async def sent_documents(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """The latest Create or Update this instance sent for each local status, as sent."""
    found: dict[int, str] = {}
    rows = await rows_in(
        conn,
        "SELECT status_id, body FROM activities WHERE status_id IN ({ids})"
        " AND type IN ('Create', 'Update') ORDER BY id",
        ids,
    )
    for row in rows:
        found[row[0]] = row[1]  # the last one wins
    return found


async def received_documents(conn: Connection, activity_uris: Sequence[str]) -> dict[str, str]:
    """The activities as received (the inbound queue keeps them), by activity URI."""
    found: dict[str, str] = {}
    unique = list(dict.fromkeys(activity_uris))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        async with conn.execute(
            f"SELECT activity_uri, body FROM inbox_items WHERE activity_uri IN ({marks})", chunk
        ) as cursor:
            for row in await cursor.fetchall():
                found[row[0]] = row[1]
    return found
