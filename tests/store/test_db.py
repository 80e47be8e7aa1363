"""The store: schema migrations, WAL and fsync settings, transactions, ids, uniqueness."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from store import accounts, users
from store.accounts import NewAccount
from store.db import Database, db_time, parse_db_time
from store.errors import Conflict
from store.ids import IdGenerator, id_for_time, id_time
from store.migrate import available_migrations, migrate

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def remote(name: str, domain: str | None = "b.test") -> NewAccount:
    host = domain or "a.test"
    return NewAccount(username=name, domain=domain, uri=f"https://{host}/users/{name}", url=None)


async def test_migrations_are_recorded_and_not_reapplied(db: Database) -> None:
    async with db.read() as conn:
        async with conn.execute("SELECT version FROM schema_migrations") as cursor:
            versions = [row[0] for row in await cursor.fetchall()]
    assert versions == [version for version, _, _ in available_migrations()]
    assert await migrate(db.writer) == []


async def test_database_file_is_wal_and_fsyncs_every_commit(db: Database) -> None:
    async with db.transaction() as conn:
        async with conn.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone())[0] == "wal"
        async with conn.execute("PRAGMA synchronous") as cursor:
            assert (await cursor.fetchone())[0] == 2  # FULL
    # Another process sees committed rows: a plain sqlite3 connection on the same file.
    async with db.transaction() as conn:
        await accounts.insert_account(conn, db.new_id(), remote("carol"), NOW)
    with sqlite3.connect(db.path) as other:
        assert other.execute("SELECT username FROM accounts").fetchall() == [("carol",)]


async def _synchronous(db: Database) -> int:
    async with db.transaction() as conn:
        async with conn.execute("PRAGMA synchronous") as cursor:
            return int((await cursor.fetchone())[0])


async def test_redoable_work_commits_without_waiting_and_everything_else_with(
    db: Database,
) -> None:
    assert await _synchronous(db) == 2  # FULL
    with db.redoable():
        assert await _synchronous(db) == 1  # NORMAL: redone from a durable record if lost
        assert await _synchronous(db) == 1

    go = asyncio.Event()

    async def acknowledged_meanwhile() -> int:  # another request's task: an inbox POST, say
        await go.wait()
        return await _synchronous(db)

    other = asyncio.create_task(acknowledged_meanwhile())
    with db.redoable():
        assert await _synchronous(db) == 1
        go.set()
        assert await other == 2  # the block covers the worker's own task only
        assert await _synchronous(db) == 1
    assert await _synchronous(db) == 2


async def test_failed_transaction_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await accounts.insert_account(conn, db.new_id(), remote("dave"), NOW)
            raise RuntimeError("crash half-way")
    async with db.read() as conn:
        assert await accounts.get_by_uri(conn, "https://b.test/users/dave") is None


async def test_usernames_are_unique_per_domain_ignoring_case(db: Database) -> None:
    async with db.transaction() as conn:
        await accounts.insert_account(conn, db.new_id(), remote("Erin", None), NOW)
        await accounts.insert_account(conn, db.new_id(), remote("erin", "b.test"), NOW)
    with pytest.raises(Conflict):
        async with db.transaction() as conn:
            await accounts.insert_account(
                conn,
                db.new_id(),
                NewAccount(username="ERIN", domain=None, uri="https://a.test/x", url=None),
                NOW,
            )
    async with db.read() as conn:
        found = await accounts.get_local(conn, "eRiN")
    assert found is not None and found.username == "Erin" and found.is_local


async def test_users_join_their_account(db: Database) -> None:
    async with db.transaction() as conn:
        account = await accounts.insert_account(conn, db.new_id(), remote("frank", None), NOW)
        await users.insert_user(
            conn,
            db.new_id(),
            account_id=account.id,
            password_hash="x",
            admin=True,
            must_change_password=True,
            email=None,
            now=NOW,
        )
    async with db.read() as conn:
        user = await users.get_by_username(conn, "FRANK")
        assert await users.has_admin(conn)
    assert user is not None and user.admin and user.must_change_password and not user.disabled


def test_ids_increase_and_encode_their_time() -> None:
    ticks = iter([1000.0, 1000.0, 1000.0, 999.0, 1000.002])
    generator = IdGenerator(clock=lambda: next(ticks))
    made = [generator.next_id() for _ in range(5)]
    assert made == sorted(made) and len(set(made)) == 5
    assert all(0 < i < 2**63 for i in made)
    assert id_time(made[0]) == datetime.fromtimestamp(1000.0, tz=UTC)
    assert id_for_time(datetime.fromtimestamp(1000.002, tz=UTC)) <= made[-1]


def test_sequence_overflow_moves_to_the_next_millisecond() -> None:
    generator = IdGenerator(clock=lambda: 5.0)
    made = [generator.next_id() for _ in range(70_000)]
    assert made == sorted(made) and len(set(made)) == len(made)


def test_times_round_trip_and_sort_as_text() -> None:
    early = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    late = datetime(2026, 1, 2, 3, 4, 5, 679000, tzinfo=UTC)
    assert parse_db_time(db_time(early)) == early
    assert db_time(early) < db_time(late)
