"""The stored peer list: which source keeps a domain, the change counter, the counters."""

from __future__ import annotations

from datetime import UTC, datetime

from store import peers
from store.db import Database

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def test_the_stronger_source_keeps_a_peer(db: Database) -> None:
    async with db.transaction() as conn:
        await peers.replace_source(conn, "manifest", {"x.test": "X", "y.test": "Y"}, now=NOW)
        assert not await peers.add(conn, "x.test", source="admin", now=NOW)
        assert not await peers.add(conn, "y.test", source="config", now=NOW)
        added, removed = await peers.replace_source(conn, "manifest", {}, now=NOW)
        assert (added, removed) == ([], [])  # both are listed by someone stronger now
        assert not await peers.add(conn, "y.test", source="admin", now=NOW)
        listed = {p.domain: (p.source, p.name) for p in await peers.all_peers(conn)}
    assert listed == {"x.test": ("admin", "X"), "y.test": ("config", "Y")}


async def test_every_change_moves_the_version(db: Database) -> None:
    async with db.transaction() as conn:
        start = await peers.version(conn)
        await peers.add(conn, "x.test", source="admin", now=NOW)
        after_add = await peers.version(conn)
        await peers.block(conn, "spam.example", severity="reject", reason="", now=NOW)
        after_block = await peers.version(conn)
        await peers.record_attempt(conn, "x.test", now=NOW, error="down")  # not a change
        after_attempt = await peers.version(conn)
        await peers.remove(conn, "x.test")
        after_remove = await peers.version(conn)
    assert start < after_add < after_block == after_attempt < after_remove


async def test_counts_add_up_per_domain_and_kind(db: Database) -> None:
    async with db.transaction() as conn:
        await peers.add_counts(conn, [("x.test", "refused", 2), ("y.test", "refused", 0)], now=NOW)
        await peers.add_counts(
            conn, [("x.test", "refused", 3), ("x.test", "signature_failed", 1)], now=NOW
        )
        counted = [(c.domain, c.kind, c.count) for c in await peers.counters(conn)]
    assert counted == [("x.test", "refused", 5), ("x.test", "signature_failed", 1)]
