"""Running a store function in its connection's thread: all its statements for one trip.

Each aiosqlite call is a trip to the connection's thread and back: a queue put, a thread
wake-up, a wake-up of the event loop (~25 µs on one core, more under load), and
`async with conn.execute(...)` makes three of them (execute, fetch, close). A read that runs
a dozen statements (a page of a timeline: token, ids, filters, statuses, authors, media,
marks) spends more on trips than on SQL. `in_thread` runs such a function once in the
connection's thread against the plain sqlite3 connection instead.

The store functions are written once, against aiosqlite's API: `ThreadConnection` answers
that API synchronously, so they run there unchanged. A function run this way may await
nothing but its connection (no `asyncio.gather`, no sleeps, no other I/O): there is no event
loop in that thread. It holds its reader for its whole run, so keep it to reads of one
request.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

P = ParamSpec("P")
T = TypeVar("T")


class ThreadCursor:
    """aiosqlite's Cursor over a sqlite3 cursor, answering at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def close(self) -> None:
        self._cursor.close()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


class _Statement:
    """What `execute` returns: awaitable (a cursor) and an async context manager (closing
    it), as aiosqlite's is."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = ThreadCursor(cursor)

    def __await__(self) -> Generator[Any, None, ThreadCursor]:
        return self._ready().__await__()

    async def _ready(self) -> ThreadCursor:
        return self._cursor

    async def __aenter__(self) -> ThreadCursor:
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        await self._cursor.close()


class ThreadConnection:
    """aiosqlite's Connection API over the plain sqlite3 connection, for code running in
    the connection's own thread (see `in_thread`)."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Any = ()) -> _Statement:
        return _Statement(self.raw.execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Any = ()) -> list[Any]:
        return self.raw.execute(sql, parameters).fetchall()

    async def executemany(self, sql: str, parameters: Any) -> ThreadCursor:
        return ThreadCursor(self.raw.executemany(sql, parameters))


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never suspends (all it awaits answers at once)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a function run in_thread awaited something other than its connection")


def _run(
    conn: aiosqlite.Connection,
    fn: Callable[..., Coroutine[Any, Any, T]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> T:
    return _drive(fn(ThreadConnection(conn._conn), *args, **kwargs))


async def in_thread(
    conn: Any,
    fn: Callable[Concatenate[Any, P], Awaitable[T]],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`await fn(conn, *args, **kwargs)`, run in one trip to `conn`'s thread.

    On an aiosqlite connection `fn` gets a `ThreadConnection`; on anything else (one already
    in its thread, or a stand-in that records statements) it is simply awaited with `conn`.
    aiosqlite has no public call for this; `Connection._execute` (queue a function for the
    connection's thread, as all its own calls do) is private, so a change to it in aiosqlite
    fails every read test (tests/store/test_in_thread.py first).
    """
    if isinstance(conn, aiosqlite.Connection):
        return await conn._execute(_run, conn, fn, args, kwargs)  # type: ignore[no-any-return]
    return await fn(conn, *args, **kwargs)
