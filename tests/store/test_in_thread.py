"""store.in_thread: a store function runs in its connection's thread, all its statements
in one trip, and behaves as it does awaited on the connection."""

from __future__ import annotations

import threading
from typing import Any

import aiosqlite
import pytest

from store import accounts
from store.accounts import NewAccount
from store.db import Connection, Database
from store.in_thread import ThreadConnection, in_thread
from tests.store.test_db import NOW


async def _reads(conn: Connection, names: list[str]) -> dict[str, Any]:
    """A few statements the ways the store runs them."""
    found = {}
    for name in names:
        found[name] = await accounts.get_by_uri(conn, f"https://b.test/users/{name}")
    async with conn.execute("SELECT count(*) FROM accounts") as cursor:
        (count,) = await cursor.fetchone()
    rows = await conn.execute_fetchall("SELECT username FROM accounts ORDER BY id")
    return {
        "found": found,
        "count": count,
        "names": [row[0] for row in rows],
        "thread": threading.get_ident(),
        "conn": type(conn),
    }


@pytest.fixture
async def seeded(db: Database) -> Database:
    async with db.transaction() as conn:
        for index, name in enumerate(("alice", "bob")):
            new = NewAccount(name, "b.test", f"https://b.test/users/{name}", None)
            await accounts.insert_account(conn, db.new_id() + index, new, NOW)
    return db


async def test_it_answers_as_the_connection_does_from_its_thread(seeded: Database) -> None:
    async with seeded.read() as conn:
        direct = await _reads(conn, ["alice", "carol"])
        trip = await in_thread(conn, _reads, ["alice", "carol"])
    assert trip["found"] == direct["found"] and trip["found"]["carol"] is None
    assert trip["count"] == direct["count"] == 2
    assert trip["names"] == direct["names"] == ["alice", "bob"]
    assert direct["thread"] == threading.get_ident() != trip["thread"]
    assert direct["conn"] is aiosqlite.Connection and trip["conn"] is ThreadConnection


async def test_one_trip_whatever_the_statements(seeded: Database, monkeypatch: Any) -> None:
    trips: list[object] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(fn)
        return await real(self, fn, *args, **kwargs)

    async with seeded.read() as conn:
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        found = await in_thread(conn, _reads, ["alice", "bob"])
    assert len(trips) == 1 and found["count"] == 2


async def test_errors_come_back_and_the_reader_stays_usable(seeded: Database) -> None:
    async def broken(conn: Connection) -> None:
        await conn.execute_fetchall("SELECT nothing FROM nowhere")

    async def waits(conn: Connection) -> None:
        import asyncio

        await asyncio.sleep(0)

    async with seeded.read() as conn:
        with pytest.raises(aiosqlite.OperationalError):
            await in_thread(conn, broken)
        with pytest.raises(RuntimeError, match="awaited something other"):
            await in_thread(conn, waits)
        assert (await in_thread(conn, _reads, []))["count"] == 2
