"""The people directory's store (migration 0018): the account search index follows every
change of names, well-known fields and discoverability; the change log that peers read moves
a local person up exactly when their actor document changes; searches read the index, never
every account."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from store import accounts, api_queries, directory, keys, users
from store.accounts import NewAccount
from store.db import Connection, Database
from store.records import AccountRecord

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"


async def _local(db: Database, name: str, fields: list[tuple[str, str]]) -> AccountRecord:
    async with db.transaction() as conn:
        account = await accounts.insert_account(
            conn,
            db.new_id(),
            NewAccount(username=name, domain=None, uri=f"https://a.test/users/{name}", url=None),
            T0,
        )
        await keys.insert_key(
            conn,
            db.new_id(),
            account_id=account.id,
            key_uri=f"{account.uri}#main-key",
            public_key_pem=PEM,
            private_key_pem="private",
            now=T0,
        )
        await users.insert_user(
            conn,
            db.new_id(),
            account_id=account.id,
            password_hash="x",
            admin=False,
            must_change_password=False,
            email=None,
            now=T0,
        )
        await api_queries.replace_profile_fields(conn, account.id, fields)
    return account


async def _remote(db: Database, name: str, fields: list[tuple[str, str]]) -> AccountRecord:
    async with db.transaction() as conn:
        account = await accounts.insert_account(
            conn,
            db.new_id(),
            NewAccount(
                username=name, domain="c.test", uri=f"https://c.test/users/{name}", url=None
            ),
            T0,
        )
        await api_queries.replace_profile_fields(conn, account.id, fields)
    return account


async def _search(db: Database, term: str, **options: object) -> list[int]:
    async with db.read() as conn:
        return await api_queries.search_account_ids(conn, term, limit=40, **options)  # type: ignore[arg-type]


async def _log(conn: Connection) -> dict[int, int]:
    """account id -> seq, from the change log."""
    return {c.account_id: c.seq for c in await directory.changes_after(conn, 0, 1000)}


async def test_search_by_name_department_and_title(db: Database) -> None:
    # Given people here and on a peer, with well-known fields under various spellings
    ana = await _local(db, "ana", [("Department", "Site Reliability"), ("Title", "Engineer")])
    ben = await _local(db, "ben_smith", [("job title", "Engineering Manager")])
    cy = await _remote(db, "cy", [(" DEPT ", "R&amp;D"), ("Role", "Analyst")])
    await _local(db, "dora", [("Hobby", "engineering bridges")])  # not a well-known field
    # Then a search finds them by any of those, across instances, names first
    assert await _search(db, "engi") == [ana.id, ben.id]
    assert await _search(db, "reliab") == [ana.id]
    assert await _search(db, "r&d") == [cy.id]
    assert await _search(db, "ANAL") == [cy.id]
    assert await _search(db, "ben") == [ben.id]  # the username's own prefix
    assert await _search(db, "site engineer") == [ana.id]  # every word must match
    assert await _search(db, "engi", local_only=True) == [ana.id, ben.id]
    assert await _search(db, "analyst", domain="c.test") == [cy.id]
    assert await _search(db, "***") == []
    assert await _search(db, '" OR name:*') == []  # FTS5 syntax is only ever text


async def test_fields_follow_changes_and_discoverability(db: Database) -> None:
    ana = await _local(db, "ana", [("Department", "Sales")])
    assert await _search(db, "sales") == [ana.id]
    async with db.transaction() as conn:
        await api_queries.replace_profile_fields(conn, ana.id, [("Department", "Legal")])
    assert await _search(db, "sales") == []
    assert await _search(db, "legal") == [ana.id]
    # Opting out of the directory keeps the name findable, not the fields
    async with db.transaction() as conn:
        await api_queries.update_local_profile(
            conn,
            ana.id,
            display_name="Ana Lima",
            note="",
            locked=False,
            discoverable=False,
            actor_type="Person",
            now=T0,
        )
    assert await _search(db, "legal") == []
    assert await _search(db, "lima") == [ana.id]
    # A disabled user is found by nothing
    async with db.transaction() as conn:
        user = await users.get_by_username(conn, "ana")
        assert user is not None
        await users.disable(conn, user.id, T0)
    assert await _search(db, "ana") == []


async def test_directory_department_filter_is_exact(db: Database) -> None:
    ana = await _local(db, "ana", [("Department", "Engineering")])
    await _local(db, "ben", [("Department", "Engineering Operations")])
    cy = await _remote(db, "cy", [("department", "engineering")])
    async with db.read() as conn:
        found = await api_queries.directory_ids(
            conn, local_only=False, order="new", offset=0, limit=40, department="ENGINEERING"
        )
        assert found == [cy.id, ana.id]
        assert not await api_queries.directory_ids(
            conn, local_only=False, order="new", offset=0, limit=40, department="!!"
        )


async def test_change_log_moves_only_on_real_changes(db: Database) -> None:
    ana = await _local(db, "ana", [("Department", "Sales")])
    ben = await _local(db, "ben", [])
    await _remote(db, "cy", [("Department", "Sales")])
    async with db.read() as conn:
        before = await _log(conn)
    assert set(before) == {ana.id, ben.id}  # local people only: not peers', not ours
    assert before[ana.id] < before[ben.id]
    # The same fields again change nothing
    async with db.transaction() as conn:
        await api_queries.replace_profile_fields(conn, ana.id, [("Department", "Sales")])
        await api_queries.update_local_profile(
            conn,
            ana.id,
            display_name="",
            note="",
            locked=False,
            discoverable=True,
            actor_type="Person",
            now=T0,
        )
        assert await _log(conn) == before
    # A field change moves ana after ben; disabling ben moves ben after ana
    async with db.transaction() as conn:
        await api_queries.replace_profile_fields(conn, ana.id, [("Department", "Legal")])
        moved = await _log(conn)
    assert moved[ana.id] > moved[ben.id] == before[ben.id]
    async with db.transaction() as conn:
        user = await users.get_by_username(conn, "ben")
        assert user is not None
        await users.disable(conn, user.id, T0)
        changes = await directory.changes_after(conn, moved[ana.id], 10)
        assert [c.account_id for c in changes] == [ben.id]
        # ben is no longer listed: the feed shows a tombstone for him
        assert set(await directory.listings(conn, [ana.id, ben.id])) == {ana.id}
        assert await directory.head(conn) == changes[0].seq


async def _plan(db: Database, query: Callable[[Connection], Awaitable[object]]) -> str:
    """SQLite's plan of the last statement `query` runs."""
    captured: list[tuple[str, Any]] = []
    async with db.read() as conn:
        original = conn.execute

        def spy(sql: str, parameters: Any = None) -> Any:
            captured.append((sql, parameters))
            return original(sql, parameters)

        conn.execute = spy  # type: ignore[method-assign]
        try:
            await query(conn)
        finally:
            conn.execute = original  # type: ignore[method-assign]
        sql, parameters = captured[-1]
        plan = await conn.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", parameters)
    return " | ".join(row[3] for row in plan) + " |"


async def test_searches_read_the_index_not_every_account(db: Database) -> None:
    await _local(db, "ana", [("Department", "Sales")])
    searched = await _plan(db, lambda conn: api_queries.search_account_ids(conn, "sal", limit=9))
    listed = await _plan(
        db,
        lambda conn: api_queries.directory_ids(
            conn, local_only=False, order="active", offset=0, limit=9, department="Sales"
        ),
    )
    for plan in (searched, listed):
        assert "SCAN account_search VIRTUAL TABLE INDEX 0:M" in plan, plan  # a MATCH
        assert "SEARCH a USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN a |" not in plan and "SCAN accounts" not in plan, plan


async def test_left_and_returned(db: Database) -> None:
    cy = await _remote(db, "cy", [("Department", "Sales")])
    async with db.transaction() as conn:
        assert await directory.mark_left(conn, cy.id, T0)
        assert not await directory.mark_left(conn, cy.id, T0)
        assert not await api_queries.is_available(conn, cy.id)
        assert await directory.mark_returned(conn, cy.id)
        assert await api_queries.is_available(conn, cy.id)
        # a suspension for another reason is not undone by a return
        await accounts.suspend(conn, cy.id, T0)
        assert not await directory.mark_returned(conn, cy.id)
        assert not await api_queries.is_available(conn, cy.id)
