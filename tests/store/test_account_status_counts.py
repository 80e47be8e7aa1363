"""The per-account status counts kept by triggers (migration 0014) always equal counting the
statuses themselves, whatever sequence of posts, direct messages, deletions, visibility
changes and hard deletes happened."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from store import accounts, statuses
from store.accounts import NewAccount
from store.db import Database
from store.statuses import NewStatus

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
BRUTE = (
    "SELECT account_id, count(*), max(created_at) FROM statuses"
    " WHERE deleted_at IS NULL AND visibility != 'direct' GROUP BY account_id"
)
KEPT = "SELECT account_id, statuses_count, last_status_at FROM account_status_counts"


async def _rows(db: Database, sql: str) -> set[tuple[int, int, str | None]]:
    async with db.read() as conn:
        async with conn.execute(sql) as cursor:
            return {(r[0], r[1], r[2]) for r in await cursor.fetchall() if r[1]}


async def test_counts_follow_every_write(db: Database) -> None:
    rng = random.Random(11)
    async with db.transaction() as conn:
        authors = [
            await accounts.insert_account(
                conn,
                db.new_id(),
                NewAccount(
                    username=f"u{i}", domain="b.test", uri=f"https://b.test/u/{i}", url=None
                ),
                T0,
            )
            for i in range(3)
        ]
    made: list[int] = []
    for step in range(300):
        action = rng.random()
        async with db.transaction() as conn:
            if action < 0.55 or not made:
                author = rng.choice(authors)
                status = await statuses.insert(
                    conn,
                    db.new_id(),
                    NewStatus(
                        uri=f"https://b.test/s/{step}",
                        url=None,
                        account_id=author.id,
                        local=False,
                        visibility=rng.choice(["public", "unlisted", "private", "direct"]),
                        content="<p>x</p>",
                    ),
                    T0 + timedelta(minutes=rng.randrange(10_000)),
                )
                made.append(status.id)
            elif action < 0.75:
                await statuses.mark_deleted(conn, rng.choice(made), T0)
            elif action < 0.9:
                await conn.execute(
                    "UPDATE statuses SET visibility = :v WHERE id = :id",
                    {"v": rng.choice(["public", "direct"]), "id": rng.choice(made)},
                )
            else:
                gone = made.pop(rng.randrange(len(made)))
                await conn.execute("DELETE FROM statuses WHERE id = :id", {"id": gone})
        if step % 25 == 0:
            assert await _rows(db, KEPT) == await _rows(db, BRUTE), step
    assert await _rows(db, KEPT) == await _rows(db, BRUTE)
