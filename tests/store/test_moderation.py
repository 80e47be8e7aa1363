"""The moderation rows: a suspension made here is lifted without undoing what hid the actor
for another reason (its deletion), and takes over from the directory's "left" mark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import accounts, directory, moderation
from store.accounts import NewAccount
from store.db import Database

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def _remote(db: Database, name: str) -> int:
    async with db.transaction() as conn:
        new = NewAccount(
            username=name, domain="b.test", uri=f"https://b.test/users/{name}", url=None
        )
        return (await accounts.insert_account(conn, db.new_id(), new, NOW)).id


async def _hidden(db: Database, account_id: int) -> bool:
    async with db.read() as conn:
        found = await accounts.get_by_id(conn, account_id)
    assert found is not None
    return found.suspended_at is not None


async def test_unsuspending_shows_only_what_the_suspension_hid(db: Database) -> None:
    erin, gone, left = (
        await _remote(db, "erin"),
        await _remote(db, "gone"),
        await _remote(db, "left"),
    )
    async with db.transaction() as conn:
        await accounts.suspend(conn, gone, NOW)  # its actor was deleted at its origin
        assert await directory.mark_left(conn, left, NOW)
        later = NOW + timedelta(hours=1)
        for account_id in (erin, gone, left):
            assert await moderation.suspend(conn, account_id, later)
            assert not await moderation.suspend(conn, account_id, later)  # once
        assert not await directory.mark_returned(conn, left)  # the suspension holds it now
    assert [await _hidden(db, i) for i in (erin, gone, left)] == [True, True, True]
    async with db.transaction() as conn:
        for account_id in (erin, gone, left):
            before = await moderation.unsuspend(conn, account_id)
            assert before is not None and before.suspended
            assert await moderation.unsuspend(conn, account_id) is None
    assert [await _hidden(db, i) for i in (erin, gone, left)] == [False, True, False]
