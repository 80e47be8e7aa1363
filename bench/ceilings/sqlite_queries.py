"""The plain-sqlite3 ceiling: the product's own SQL, run on a bare `sqlite3` connection with no
server, no event loop and no aiosqlite thread, timed query by query.

The SQL is never copied here: `capture` runs a `store/` query function against a connection
that records what it is asked to execute, so a changed query is measured as it now is.
`RecordingConnection` runs a whole code path (a page of entities, say) for real and records
each statement's time. `plan` gives EXPLAIN QUERY PLAN lines and `full_scans` the ones that
read a whole table or index.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
Call = tuple[str, Any]  # (sql, parameters)


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends (all it awaits completes at once)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("the query function awaited something other than the connection")


class _Cursor:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    async def fetchall(self) -> list[Any]:
        return self._rows

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def close(self) -> None:
        return None


class _Result:
    """What `aiosqlite.Connection.execute` returns: awaitable and an async context manager."""

    def __init__(self, run: Callable[[], list[Any]]) -> None:
        self._run = run

    def __await__(self) -> Any:
        return self._cursor().__await__()

    async def _cursor(self) -> _Cursor:
        return _Cursor(self._run())

    async def __aenter__(self) -> _Cursor:
        return _Cursor(self._run())

    async def __aexit__(self, *exc: object) -> None:
        return None


class Capture:
    """A stand-in connection that records statements and answers no rows."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def execute(self, sql: str, parameters: Any = ()) -> _Result:
        self.calls.append((sql, parameters))
        return _Result(list)

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        self.calls.append((sql, parameters))
        return []


def capture(query: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> list[Call]:
    """The statements `query(conn, *args, **kwargs)` runs (on an empty answer)."""
    conn = Capture()
    drive(query(conn, *args, **kwargs))  # type: ignore[arg-type]
    return conn.calls


@dataclass
class RecordingConnection:
    """A plain sqlite3 connection behind the aiosqlite calls the store makes; each statement
    is run for real and its time kept in `seconds` (and the statement in `calls`)."""

    conn: sqlite3.Connection
    calls: list[Call] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def _run(self, sql: str, parameters: Any) -> list[Any]:
        started = time.perf_counter()
        rows = self.conn.execute(sql, parameters).fetchall()
        self.seconds.append(time.perf_counter() - started)
        self.calls.append((sql, parameters))
        return rows

    def execute(self, sql: str, parameters: Any = ()) -> _Result:
        return _Result(lambda: self._run(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        return self._run(sql, parameters)

    def reset(self) -> None:
        self.calls.clear()
        self.seconds.clear()


def connect(db: Path) -> sqlite3.Connection:
    """A read-only connection set up as the product's readers are (rows by name)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA query_only=ON")
    return conn


def time_calls(
    conn: sqlite3.Connection,
    calls: Sequence[Call],
    *,
    budget_s: float,
    at_least: int = 3,
    cpu: list[float] | None = None,
) -> tuple[list[float], float]:
    """Seconds of each of `calls` in turn, stopping early once `budget_s` is spent and at
    least `at_least` ran: (latencies, wall seconds). With `cpu`, each call's thread CPU time
    is appended there too: on a shared machine a wall-clock tail can be a preemption by
    another process, which the CPU time does not count (nor does it count disk waits)."""
    latencies: list[float] = []
    started = time.perf_counter()
    for sql, parameters in calls:
        before, before_cpu = time.perf_counter(), time.thread_time()
        conn.execute(sql, parameters).fetchall()
        after_cpu, after = time.thread_time(), time.perf_counter()
        latencies.append(after - before)
        if cpu is not None:
            cpu.append(after_cpu - before_cpu)
        if before - started >= budget_s and len(latencies) >= at_least:
            break
    return latencies, time.perf_counter() - started


def plan(conn: sqlite3.Connection, sql: str, parameters: Any = ()) -> list[str]:
    """EXPLAIN QUERY PLAN, one line per step, indented by depth."""
    rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", parameters).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for row in rows:
        node, parent, detail = row[0], row[1], row[3]
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def full_scans(lines: Sequence[str]) -> list[str]:
    """Plan steps that read a whole table or index (`SCAN ...`), not a key range."""
    return [line.strip() for line in lines if line.strip().startswith("SCAN ")]


def shuffled(calls: list[Call], seed: int = 7) -> list[Call]:
    random.Random(seed).shuffle(calls)
    return calls
