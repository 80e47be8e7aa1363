"""Reading rows for many ids at once: an `IN (...)` list per statement, in chunks.

A page of statuses is rendered from a few such statements instead of a dozen per status:
each aiosqlite call costs a thread round trip (~25 µs and an event-loop wake-up) however
little SQL it runs. A chunk stays far below SQLite's variable limit (999 before 3.32) and
PostgreSQL's.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from store.db import Connection

CHUNK = 500
"""Ids per `IN (...)` list."""


@lru_cache(maxsize=64)
def _marks(count: int) -> tuple[str, tuple[str, ...]]:
    """The `IN` list of `count` named parameters and their names (made once per length)."""
    names = tuple(f"id{i}" for i in range(count))
    return ", ".join(f":{name}" for name in names), names


async def rows_in(
    conn: Connection, sql: str, ids: Iterable[int], params: dict[str, Any] | None = None
) -> list[Any]:
    """The rows of `sql`, whose `{ids}` becomes a list of named parameters holding `ids`
    (distinct; one statement per chunk). No ids: no statement. `params` are the other named
    parameters; an `ORDER BY` orders each chunk, so group rows by an id of the list."""
    unique = list(dict.fromkeys(ids))
    rows: list[Any] = []
    for start in range(0, len(unique), CHUNK):
        chunk = unique[start : start + CHUNK]
        marks, names = _marks(len(chunk))
        values: dict[str, Any] = dict(zip(names, chunk, strict=True))
        if params:
            values.update(params)
        # one call (execute and fetch) rather than three (execute, fetch, close)
        rows.extend(await conn.execute_fetchall(sql.replace("{ids}", marks), values))
    return rows
