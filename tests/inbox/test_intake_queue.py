"""The inbox's group commit: concurrent requests share one transaction, each is answered only
once its row is committed (durably, whatever the caller's context), duplicates and rows
whose key was replaced meanwhile are told apart, and a failed commit fails its requests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from typing import Any

import pytest

from inbox.intake_queue import IntakeFailed, IntakeQueue, Outcome
from store import accounts, inbox_items, keys
from store.accounts import NewAccount
from store.db import Connection, Database
from store.inbox_items import NewInboxItem

BOB = "http://b.test/users/bob"


def now() -> datetime:
    return datetime.now(UTC)


async def bobs_key(db: Database) -> int:
    """Store bob and his key; the key's row id."""
    async with db.transaction() as conn:
        bob = await accounts.insert_account(
            conn, db.new_id(), NewAccount(username="bob", domain="b.test", uri=BOB, url=BOB), now()
        )
        row_id = db.new_id()
        await keys.insert_key(
            conn,
            row_id,
            account_id=bob.id,
            key_uri=f"{BOB}#main-key",
            public_key_pem="PEM",
            private_key_pem=None,
            now=now(),
        )
    return row_id


def item(db: Database, n: int) -> NewInboxItem:
    return NewInboxItem(db.new_id(), f"{BOB}/activities/{n}", BOB, None, f'{{"n": {n}}}')


def stored_uris(db: Database) -> set[str]:
    """What another connection (another process) sees: committed rows only."""
    with closing(sqlite3.connect(db.path)) as conn:
        return {row[0] for row in conn.execute("SELECT activity_uri FROM inbox_items")}


def count_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []
    inner = db.transaction

    @asynccontextmanager
    async def counted() -> AsyncIterator[Connection]:
        opened.append(1)
        async with inner() as conn:
            yield conn

    monkeypatch.setattr(db, "transaction", counted)
    return opened


async def test_concurrent_requests_share_one_commit_and_each_waits_for_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_row = await bobs_key(db)
    queue = IntakeQueue(db, now)
    opened = count_transactions(db, monkeypatch)

    async def request(n: int) -> tuple[Outcome, bool]:
        outcome = await queue.put(item(db, n), key_row_id=key_row)
        return outcome, f"{BOB}/activities/{n}" in stored_uris(db)

    answers = await asyncio.gather(*(request(n) for n in range(50)))
    assert answers == [(Outcome.STORED, True)] * 50  # committed before answered
    assert len(opened) == 1
    # A lone request later is written at once, in a commit of its own.
    assert await queue.put(item(db, 50), key_row_id=key_row) is Outcome.STORED
    assert len(opened) == 2


async def test_duplicates_are_told_apart_within_a_batch_and_across_batches(db: Database) -> None:
    key_row = await bobs_key(db)
    queue = IntakeQueue(db, now)
    first, again = await asyncio.gather(
        queue.put(item(db, 1), key_row_id=key_row), queue.put(item(db, 1), key_row_id=key_row)
    )
    assert (first, again) == (Outcome.STORED, Outcome.DUPLICATE)
    assert await queue.put(item(db, 1), key_row_id=None) is Outcome.DUPLICATE
    async with db.read() as conn:
        assert await inbox_items.counts(conn) == {"pending": 1}


async def test_a_row_whose_key_was_replaced_meanwhile_is_not_stored(db: Database) -> None:
    key_row = await bobs_key(db)
    async with db.transaction() as conn:  # bob's key rotated: a new row replaces the old one
        account = await accounts.get_by_uri(conn, BOB)
        assert account is not None
        await keys.replace_remote_key(
            conn,
            db.new_id(),
            account_id=account.id,
            key_uri=f"{BOB}#main-key",
            public_key_pem="NEW",
            now=now(),
        )
    queue = IntakeQueue(db, now)
    outcomes = await asyncio.gather(
        queue.put(item(db, 1), key_row_id=key_row), queue.put(item(db, 2), key_row_id=None)
    )
    assert outcomes == [Outcome.KEY_GONE, Outcome.STORED]
    assert stored_uris(db) == {f"{BOB}/activities/2"}


async def test_the_batch_commits_durably_even_for_a_caller_inside_redoable(db: Database) -> None:
    key_row = await bobs_key(db)
    queue = IntakeQueue(db, now)
    modes: list[int] = []
    inner = inbox_items.enqueue_many

    async def probe(conn: Connection, *args: Any) -> set[int]:
        modes.append((await conn.execute_fetchall("PRAGMA synchronous"))[0][0])
        return await inner(conn, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inbox_items, "enqueue_many", probe)
        with db.redoable():
            assert await queue.put(item(db, 1), key_row_id=key_row) is Outcome.STORED
    assert modes == [2]  # FULL


async def test_a_failed_commit_fails_its_requests_and_the_next_ones_go_through(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_row = await bobs_key(db)
    queue = IntakeQueue(db, now)

    async def broken(*args: Any) -> set[int]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(inbox_items, "enqueue_many", broken)
    failed = await asyncio.gather(
        *(queue.put(item(db, n), key_row_id=key_row) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(error, IntakeFailed) for error in failed)
    assert stored_uris(db) == set()
    monkeypatch.undo()
    assert await queue.put(item(db, 1), key_row_id=key_row) is Outcome.STORED
