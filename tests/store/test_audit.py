"""The audit log table: append-only whatever the SQL, and one hash chain from the first row."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from store import audit
from store.audit import GENESIS, AuditEntry, entry_hash
from store.db import Database

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


async def _append(
    db: Database, action: str, target: str, minute: int = 0, **details: object
) -> AuditEntry:
    async with db.transaction() as conn:
        return await audit.append(
            conn,
            now=T0 + timedelta(minutes=minute),
            actor_account_id=7,
            actor_name="root",
            action=action,
            target=target,
            details=details,
            origin="web",
        )


async def _chain(db: Database) -> list[AuditEntry]:
    async with db.read() as conn:
        return await audit.chain(conn)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET target = 'someone else'",
        "UPDATE audit_log SET hash = prev_hash WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 2",
        "INSERT OR REPLACE INTO audit_log SELECT * FROM audit_log WHERE id = 1",
        "REPLACE INTO audit_log (id, at, actor_name, action, target, details, origin,"
        " prev_hash, hash) VALUES (1, 'x', 'x', 'x', 'x', '{}', 'cli', 'x', 'x')",
    ],
)
async def test_rows_cannot_be_changed_or_deleted(db: Database, statement: str) -> None:
    await _append(db, "user.create", "alice")
    await _append(db, "peer.add", "eng.test", 1)
    before = await _chain(db)
    with pytest.raises(sqlite3.DatabaseError):
        async with db.transaction() as conn:
            await conn.execute(statement)
    assert await _chain(db) == before


async def test_rows_cannot_be_changed_from_another_connection(db: Database) -> None:
    """The triggers live in the file: a plain sqlite3 connection is refused too."""
    await _append(db, "user.create", "alice")
    other = sqlite3.connect(db.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("UPDATE audit_log SET actor_name = 'nobody'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("DELETE FROM audit_log")
    finally:
        other.close()


async def test_the_hash_chain_links_every_row_from_the_first(db: Database) -> None:
    first = await _append(db, "user.create", "alice", admin=False)
    second = await _append(db, "peer.add", "eng.test", 1, name="Engineering — ü")
    third = await _append(db, "queue.retry", "*", 2, count=3)
    rows = await _chain(db)
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows == [first, second, third]
    assert rows[0].prev_hash == GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    for row in rows:
        assert len(row.hash) == 64 and entry_hash(row) == row.hash
    assert rows[1].details == {"name": "Engineering — ü"}


async def test_the_hash_covers_the_content(db: Database) -> None:
    """Any change to a stored row's content no longer matches its hash (what `audit verify`
    will check after someone edits the file without the triggers)."""
    entry = await _append(db, "domain.block", "spam.example", severity="reject")
    for changed in (
        {"target": "other.example"},
        {"actor_name": "someone"},
        {"details": {"severity": "silence"}},
        {"at": entry.at + timedelta(seconds=1)},
        {"origin": "cli"},
        {"prev_hash": "f" * 64},
    ):
        forged = AuditEntry(**{**_fields(entry), **changed})
        assert entry_hash(forged) != entry.hash, changed


def _fields(entry: AuditEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in entry.__slots__}  # type: ignore[attr-defined]


async def test_an_insert_that_does_not_extend_the_chain_is_refused(db: Database) -> None:
    first = await _append(db, "user.create", "alice")
    for prev_hash, id_ in ((GENESIS, 2), ("0" * 63 + "1", 2), (first.hash, 1)):
        with pytest.raises(sqlite3.IntegrityError, match="extend the chain"):
            async with db.transaction() as conn:
                await conn.execute(
                    "INSERT INTO audit_log (id, at, actor_name, action, target, details, origin,"
                    " prev_hash, hash) VALUES (:id, 'x', 'x', 'x', 'x', '{}', 'cli', :prev, 'x')",
                    {"id": id_, "prev": prev_hash},
                )
    assert len(await _chain(db)) == 1


async def test_pages_newest_first_with_filters(db: Database) -> None:
    for minute, (action, target) in enumerate(
        [
            ("user.create", "a"),
            ("peer.add", "x.test"),
            ("user.disable", "a"),
            ("peer.remove", "x.test"),
        ]
    ):
        await _append(db, action, target, minute)
    async with db.transaction() as conn:
        await audit.append(
            conn,
            now=T0,
            actor_account_id=None,
            actor_name="ops",
            action="peer.add",
            target="y.test",
            origin="cli",
        )
    async with db.read() as conn:
        newest = await audit.page(conn, limit=2)
        older = await audit.page(conn, limit=2, before_id=newest[-1].id)
        peer_actions = await audit.page(conn, action="peer.")
        adds = await audit.page(conn, action="peer.add")
        by_ops = await audit.page(conn, actor="OPS")
        names = await audit.actions(conn)
    assert [e.id for e in newest] == [5, 4] and [e.id for e in older] == [3, 2]
    assert [e.target for e in peer_actions] == ["y.test", "x.test", "x.test"]
    assert [e.id for e in adds] == [5, 2]
    assert [(e.actor_account_id, e.origin) for e in by_ops] == [(None, "cli")]
    assert names == ["peer.add", "peer.remove", "user.create", "user.disable"]


async def test_an_unknown_origin_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="origin"):
        async with db.transaction() as conn:
            await audit.append(
                conn,
                now=T0,
                actor_account_id=None,
                actor_name="x",
                action="x",
                target="x",
                origin="mail",
            )
