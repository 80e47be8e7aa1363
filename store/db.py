"""The database handle: one writer connection and a small pool of readers over SQLite (WAL).

All writes go through `Database.transaction()`, which serialises them on the one writer and
opens with `BEGIN IMMEDIATE`, so a write never fails half-way on a lock upgrade. Reads use
their own connections and never wait for a writer (WAL). `synchronous=FULL`: a commit is on
disk before we answer, which is what a 2xx promises. Work that is redone from such a durable
record when lost (the inbox worker's handlers) commits inside `redoable()` without waiting
for the disk.
This module owns connections and transactions only; queries live in the aggregate modules.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from store.errors import Busy
from store.ids import IdGenerator

log = logging.getLogger(__name__)

Connection = aiosqlite.Connection

_REDOABLE: ContextVar[bool] = ContextVar("store_redoable", default=False)

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
)


async def _connect(path: str) -> Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class Database:
    """Owns the connections to one SQLite file. Open it in the app's lifespan, not at import."""

    def __init__(self, path: str | Path, *, readers: int = 4, ids: IdGenerator | None = None):
        self.path = str(path)
        self.ids = ids or IdGenerator()
        self._reader_count = readers
        self._writer: Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[Connection] = asyncio.Queue()
        self._all_readers: list[Connection] = []
        self._durable = True  # the writer's synchronous mode: FULL (True) or NORMAL
        self._watcher: sqlite3.Connection | None = None  # data_version(), on the caller's thread

    async def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        self._durable = True
        for _ in range(self._reader_count):
            reader = await _connect(self.path)
            await reader.execute("PRAGMA query_only=ON")
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        self._watcher = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._watcher.execute("PRAGMA query_only=ON")
        self._watcher.execute("PRAGMA busy_timeout=0")  # never waits: a caller falls back

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = asyncio.Queue()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def writer(self) -> Connection:
        if self._writer is None:
            raise RuntimeError("database is not open")
        return self._writer

    @staticmethod
    @contextmanager
    def redoable() -> Iterator[None]:
        """Transactions begun in this block (in this task) commit with `synchronous=NORMAL`:
        without waiting for the disk. Only for work redone from a durable record if it is lost:
        the inbox worker's handlers (the inbound row was committed with FULL before the 202,
        and handlers are idempotent). A power loss can then drop only the newest commits, never
        one in the middle: WAL frames carry cumulative checksums and recovery stops at the
        first bad one. The next ordinary commit makes everything before it durable too."""
        token = _REDOABLE.set(True)
        try:
            yield
        finally:
            _REDOABLE.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction on the one writer; commits on exit, rolls back on error."""
        async with self._write_lock:
            conn = self.writer
            durable = not _REDOABLE.get()
            if durable != self._durable:  # the mode only changes between transactions
                await conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                log.warning("database write lock not obtained path=%s error=%s", self.path, error)
                raise Busy(str(error)) from error
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Connection]:
        """A reader connection from the pool (a consistent snapshot per statement)."""
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    def data_version(self) -> int | None:
        """SQLite's `data_version`: it changes whenever any connection but this one commits
        (our writer, another process such as `watercooler worker` or the CLI). Read on the
        caller's thread in a few µs, without a trip to a reader's thread, so a value made
        from the database can be reused while it holds. None when it cannot be read at once."""
        if self._watcher is None:
            return None
        try:
            return int(self._watcher.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def new_id(self) -> int:
        return self.ids.next_id()


def db_time(moment: datetime) -> str:
    """How times are stored: UTC ISO 8601 with milliseconds, so text order is time order."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_db_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    # fromisoformat reads our "...T10:00:00.000Z" (Python 3.11+) some 50x faster than
    # strptime, which was a tenth of the time of an actor GET.
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
