"""The delivery queue table: its state machine, enqueueing, leases, outcomes and admin views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import accounts, deliveries
from store.accounts import NewAccount
from store.db import Database, db_time
from store.deliveries import (
    ACTIVE,
    CANCELLED,
    DEAD,
    FINISHED,
    GONE,
    PENDING,
    RETRYING,
    SENT,
    STATES,
    TRANSITIONS,
    DeliveryRecord,
)
from store.migrate import available_migrations, migrate

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ACTIVITY = "https://a.test/activities/1"


@pytest.fixture
async def actor_id(db: Database) -> int:
    account_id = db.new_id()
    async with db.transaction() as conn:
        await accounts.insert_account(
            conn,
            account_id,
            NewAccount(username="alice", domain=None, uri="https://a.test/users/alice", url=None),
            NOW,
        )
    return account_id


async def enqueue(
    db: Database,
    actor_id: int,
    inboxes: list[str],
    *,
    activity: str = ACTIVITY,
    now: datetime = NOW,
) -> int:
    async with db.transaction() as conn:
        return await deliveries.enqueue(
            conn,
            db.new_id,
            activity_uri=activity,
            actor_account_id=actor_id,
            inboxes=inboxes,
            body=f'{{"id": "{activity}"}}',
            now=now,
        )


async def lease(db: Database, now: datetime = NOW, **options: object) -> list[DeliveryRecord]:
    options.setdefault("limit", 100)
    async with db.transaction() as conn:
        return await deliveries.lease_due(
            conn,
            now=now,
            lease_until=now + LEASE,
            **options,  # type: ignore[arg-type]
        )


async def rows(db: Database, activity: str = ACTIVITY) -> list[DeliveryRecord]:
    async with db.read() as conn:
        return await deliveries.list_for_activity(conn, activity)


# The state table (STYLE 20): the queries derive their guards from it, so test it itself.


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(target in STATES for targets in TRANSITIONS.values() for target in targets)


def test_workers_move_active_rows_to_every_outcome() -> None:
    for state in ACTIVE:
        assert TRANSITIONS[state] == {SENT, RETRYING, GONE, DEAD, CANCELLED}


def test_finished_states_are_final_and_only_dead_can_be_revived() -> None:
    assert FINISHED == {SENT, GONE, CANCELLED}
    assert TRANSITIONS[DEAD] == {PENDING, CANCELLED}
    assert deliveries.sources_of(PENDING) == {DEAD}
    assert not deliveries.can_transition(SENT, RETRYING)
    assert not deliveries.can_transition(CANCELLED, PENDING)
    assert deliveries.can_transition(RETRYING, RETRYING)


def test_every_state_is_reachable_from_pending() -> None:
    seen, frontier = {PENDING}, [PENDING]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(STATES)


# Enqueueing: the transactional outbox.


async def test_enqueue_makes_one_row_per_distinct_inbox(db: Database, actor_id: int) -> None:
    inboxes = ["https://B.test/inbox", "https://c.test:8443/inbox", "https://B.test/inbox"]
    assert await enqueue(db, actor_id, inboxes) == 2
    found = await rows(db)
    assert [(r.inbox_url, r.host, r.state, r.attempts) for r in found] == [
        ("https://B.test/inbox", "b.test", PENDING, 0),
        ("https://c.test:8443/inbox", "c.test:8443", PENDING, 0),
    ]
    assert all(r.next_attempt_at == NOW and r.locked_until is None for r in found)
    assert found[0].body == f'{{"id": "{ACTIVITY}"}}'


async def test_enqueueing_twice_has_one_effect(db: Database, actor_id: int) -> None:
    assert await enqueue(db, actor_id, ["https://b.test/inbox"]) == 1
    assert await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"]) == 1
    assert len(await rows(db)) == 2


async def test_enqueue_commits_or_rolls_back_with_the_callers_transaction(
    db: Database, actor_id: int
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await deliveries.enqueue(
                conn,
                db.new_id,
                activity_uri=ACTIVITY,
                actor_account_id=actor_id,
                inboxes=["https://b.test/inbox"],
                body="{}",
                now=NOW,
            )
            raise RuntimeError("storing the status failed")
    assert await rows(db) == []


async def test_enqueue_refuses_an_inbox_that_is_not_an_http_url(
    db: Database, actor_id: int
) -> None:
    with pytest.raises(ValueError):
        await enqueue(db, actor_id, ["/inbox"])
    with pytest.raises(ValueError):
        await enqueue(db, actor_id, ["mailto:someone@b.test"])


async def test_enqueue_of_no_inboxes_is_nothing(db: Database, actor_id: int) -> None:
    assert await enqueue(db, actor_id, []) == 0


# Leases.


async def test_lease_claims_due_rows_oldest_first_and_only_once(
    db: Database, actor_id: int
) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="https://a.test/2")
    await enqueue(
        db, actor_id, ["https://c.test/inbox"], activity="https://a.test/1", now=NOW - LEASE
    )
    first = await lease(db)
    assert [job.inbox_url for job in first] == ["https://c.test/inbox", "https://b.test/inbox"]
    assert all(job.locked_until == NOW + LEASE for job in first)
    assert await lease(db, NOW + timedelta(seconds=30)) == []


async def test_an_expired_lease_is_claimed_again(db: Database, actor_id: int) -> None:
    # Given a worker that leased a job and crashed
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    assert len(await lease(db)) == 1
    # When the lease has run out
    later = NOW + LEASE + timedelta(milliseconds=1)
    # Then the job is due again, nothing lost
    again = await lease(db, later)
    assert [job.inbox_url for job in again] == ["https://b.test/inbox"]
    assert again[0].locked_until == later + LEASE


async def test_lease_honours_limit_hosts_and_schedule(db: Database, actor_id: int) -> None:
    for n in range(3):
        await enqueue(
            db,
            actor_id,
            ["https://b.test/inbox", "https://c.test/inbox", "https://d.test/inbox"],
            activity=f"https://a.test/{n}",
            now=NOW + timedelta(seconds=n),
        )
    later = NOW + timedelta(minutes=1)
    async with db.transaction() as conn:
        # Not yet due: nothing.
        assert await deliveries.lease_due(conn, now=NOW - LEASE, lease_until=NOW, limit=10) == []
        capped = await deliveries.lease_due(
            conn,
            now=later,
            lease_until=later + LEASE,
            limit=10,
            skip_hosts={"d.test"},
            per_host_limit=2,
        )
        assert sorted((j.host, j.activity_uri) for j in capped) == [
            ("b.test", "https://a.test/0"),
            ("b.test", "https://a.test/1"),
            ("c.test", "https://a.test/0"),
            ("c.test", "https://a.test/1"),
        ]
        probe = await deliveries.lease_due(
            conn, now=later, lease_until=later + LEASE, limit=1, host="d.test"
        )
        assert [(j.host, j.activity_uri) for j in probe] == [("d.test", "https://a.test/0")]
        rest = await deliveries.lease_due(conn, now=later, lease_until=later + LEASE, limit=1)
        # Oldest first across hosts: d.test's second row is older than b.test's third.
        assert [(j.host, j.activity_uri) for j in rest] == [("d.test", "https://a.test/1")]


async def test_lease_skips_finished_rows(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    (job,) = await lease(db)
    async with db.transaction() as conn:
        assert await deliveries.mark_sent(conn, job.id, attempts=1, status=202, now=NOW)
    assert await lease(db, NOW + timedelta(days=1)) == []


async def test_release_gives_back_only_our_own_lease(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    (job,) = await lease(db)
    assert job.locked_until is not None
    async with db.transaction() as conn:
        assert not await deliveries.release(conn, job.id, lease=job.locked_until + LEASE)
        assert await deliveries.release(conn, job.id, lease=job.locked_until)
    assert len(await lease(db)) == 1


# Outcomes.


async def test_outcomes_are_recorded_and_unlock_the_row(db: Database, actor_id: int) -> None:
    inboxes = [f"https://{host}.test/inbox" for host in ("b", "c", "d", "e")]
    await enqueue(db, actor_id, inboxes)
    jobs = {job.host: job for job in await lease(db)}
    later = NOW + timedelta(seconds=5)
    retry_at = NOW + timedelta(minutes=1)
    async with db.transaction() as conn:
        assert await deliveries.mark_sent(
            conn, jobs["b.test"].id, attempts=1, status=202, now=later
        )
        assert await deliveries.reschedule(
            conn,
            jobs["c.test"].id,
            attempts=1,
            next_attempt_at=retry_at,
            last_status=500,
            last_error="HTTP 500",
            now=later,
        )
        assert await deliveries.mark_gone(
            conn, jobs["d.test"].id, attempts=1, status=410, now=later
        )
        assert await deliveries.mark_dead(
            conn, jobs["e.test"].id, attempts=1, last_status=403, last_error="HTTP 403", now=later
        )
    found = {r.host: r for r in await rows(db)}
    summary = {
        host: (r.state, r.attempts, r.last_status, r.last_error, r.locked_until)
        for host, r in found.items()
    }
    assert summary == {
        "b.test": (SENT, 1, 202, None, None),
        "c.test": (RETRYING, 1, 500, "HTTP 500", None),
        "d.test": (GONE, 1, 410, "HTTP 410", None),
        "e.test": (DEAD, 1, 403, "HTTP 403", None),
    }
    assert found["c.test"].next_attempt_at == retry_at
    assert all(r.updated_at == later for r in found.values())
    # A retrying row comes back when it is due, not before.
    assert await lease(db, retry_at - timedelta(seconds=1)) == []
    assert [j.host for j in await lease(db, retry_at)] == ["c.test"]


async def test_a_finished_row_ignores_late_writes(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    (job,) = await lease(db)
    async with db.transaction() as conn:
        assert await deliveries.mark_sent(conn, job.id, attempts=1, status=202, now=NOW)
        assert not await deliveries.reschedule(
            conn,
            job.id,
            attempts=2,
            next_attempt_at=NOW,
            last_status=500,
            last_error="late",
            now=NOW,
        )
        assert not await deliveries.mark_dead(
            conn, job.id, attempts=2, last_status=400, last_error="late", now=NOW
        )
        assert not await deliveries.mark_sent(conn, job.id, attempts=2, status=200, now=NOW)
    (row,) = await rows(db)
    assert (row.state, row.attempts, row.last_status) == (SENT, 1, 202)


async def test_a_stale_worker_cannot_roll_the_attempt_count_back(
    db: Database, actor_id: int
) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    (job,) = await lease(db)
    retry_at = NOW + timedelta(minutes=2)
    async with db.transaction() as conn:
        assert await deliveries.reschedule(
            conn,
            job.id,
            attempts=2,
            next_attempt_at=retry_at,
            last_status=500,
            last_error="newer",
            now=NOW,
        )
        assert not await deliveries.reschedule(
            conn,
            job.id,
            attempts=1,
            next_attempt_at=NOW,
            last_status=502,
            last_error="stale",
            now=NOW,
        )
    (row,) = await rows(db)
    assert (row.attempts, row.next_attempt_at, row.last_error) == (2, retry_at, "newer")


# Admin actions and views.


async def test_cancel_for_host_cancels_only_unfinished_rows_of_that_host(
    db: Database, actor_id: int
) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="https://a.test/1")
    await enqueue(
        db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"], activity="https://a.test/2"
    )
    sent = (await rows(db, "https://a.test/1"))[0]
    async with db.transaction() as conn:
        await deliveries.mark_sent(conn, sent.id, attempts=1, status=202, now=NOW)
        assert await deliveries.cancel_for_host(conn, "B.test", NOW) == 1
    assert [r.state for r in await rows(db, "https://a.test/1")] == [SENT]
    assert [(r.host, r.state) for r in await rows(db, "https://a.test/2")] == [
        ("b.test", CANCELLED),
        ("c.test", PENDING),
    ]


async def test_retry_dead_sends_dead_rows_back_with_a_fresh_budget(
    db: Database, actor_id: int
) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    async with db.transaction() as conn:
        for job in await deliveries.lease_due(conn, now=NOW, lease_until=NOW + LEASE, limit=10):
            await deliveries.mark_dead(
                conn, job.id, attempts=15, last_status=500, last_error="gave up", now=NOW
            )
    later = NOW + timedelta(days=3)
    async with db.transaction() as conn:
        assert await deliveries.retry_dead(conn, now=later, host="b.test") == 1
    found = {r.host: r for r in await rows(db)}
    assert (found["b.test"].state, found["b.test"].attempts) == (PENDING, 0)
    assert found["b.test"].next_attempt_at == later
    assert found["c.test"].state == DEAD
    async with db.transaction() as conn:
        assert await deliveries.retry_dead(conn, now=later) == 1
        assert await deliveries.retry_dead(conn, now=later) == 0


async def test_summary_and_counts(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"], activity="1")
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"], activity="2")
    await enqueue(db, actor_id, ["https://c.test/inbox"], activity="3")
    sent_at = NOW + timedelta(seconds=1)
    failed_at = NOW + timedelta(seconds=2)
    async with db.transaction() as conn:
        jobs = {
            (job.host, job.activity_uri): job
            for job in await deliveries.lease_due(conn, now=NOW, lease_until=NOW + LEASE, limit=10)
        }
        await deliveries.mark_sent(
            conn, jobs["b.test", "1"].id, attempts=1, status=202, now=sent_at
        )
        await deliveries.mark_dead(
            conn,
            jobs["c.test", "1"].id,
            attempts=1,
            last_status=403,
            last_error="HTTP 403",
            now=NOW,
        )
        await deliveries.reschedule(
            conn,
            jobs["c.test", "2"].id,
            attempts=1,
            next_attempt_at=NOW,
            last_status=None,
            last_error="ConnectError",
            now=failed_at,
        )
    async with db.read() as conn:
        summary = await deliveries.summary_by_host(conn)
        totals = await deliveries.counts(conn)
    assert summary == [
        deliveries.HostSummary(
            host="b.test",
            pending=1,
            retrying=0,
            dead=0,
            sent=1,
            gone=0,
            cancelled=0,
            last_success_at=sent_at,
            last_error=None,
            last_error_at=None,
        ),
        deliveries.HostSummary(
            host="c.test",
            pending=1,
            retrying=1,
            dead=1,
            sent=0,
            gone=0,
            cancelled=0,
            last_success_at=None,
            last_error="ConnectError",
            last_error_at=failed_at,
        ),
    ]
    assert totals == {PENDING: 2, RETRYING: 1, SENT: 1, GONE: 0, DEAD: 1, CANCELLED: 0}


async def test_prune_deletes_only_old_finished_rows(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    jobs = {job.host: job for job in await lease(db)}
    async with db.transaction() as conn:
        await deliveries.mark_sent(conn, jobs["b.test"].id, attempts=1, status=202, now=NOW)
        await deliveries.mark_dead(
            conn, jobs["c.test"].id, attempts=1, last_status=400, last_error="HTTP 400", now=NOW
        )
        assert await deliveries.prune_finished(conn, before=NOW) == 0
        assert await deliveries.prune_finished(conn, before=NOW + timedelta(days=1)) == 1
    assert [r.host for r in await rows(db)] == ["c.test"]


async def test_get_by_id(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    (row,) = await rows(db)
    async with db.read() as conn:
        assert await deliveries.get_by_id(conn, row.id) == row
        assert await deliveries.get_by_id(conn, row.id + 1) is None


# The body once per activity, and pruning that keeps what admins read.


async def test_the_body_is_stored_once_per_activity(db: Database, actor_id: int) -> None:
    await enqueue(db, actor_id, [f"https://{host}.test/inbox" for host in "bcdef"])
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="https://a.test/2")
    async with db.read() as conn, conn.execute("SELECT count(*) FROM delivery_bodies") as cursor:
        assert tuple(await cursor.fetchone()) == (2,)
    assert {r.body for r in await rows(db)} == {f'{{"id": "{ACTIVITY}"}}'}
    leased = await lease(db)
    assert {(r.activity_uri, r.body) for r in leased} == {
        (ACTIVITY, f'{{"id": "{ACTIVITY}"}}'),
        ("https://a.test/2", '{"id": "https://a.test/2"}'),
    }


async def test_a_lease_counts_the_jobs_a_worker_holds_against_each_hosts_share(
    db: Database, actor_id: int
) -> None:
    # Given a backlog for b.test far longer than one lease looks at, older than c.test's job
    for n in range(deliveries.LEASE_SCAN * 3):
        await enqueue(
            db, actor_id, ["https://b.test/inbox"], activity=f"https://a.test/{n}", now=NOW
        )
    await enqueue(db, actor_id, ["https://c.test/inbox"], now=NOW + timedelta(seconds=1))
    later = NOW + timedelta(minutes=1)
    async with db.transaction() as conn:
        # A worker holding one b.test job gets one more of b.test's, then c.test's
        first = await deliveries.lease_due(
            conn,
            now=later,
            lease_until=later + LEASE,
            limit=5,
            per_host_limit=2,
            held={"b.test": 1},
        )
        assert [j.host for j in first] == ["b.test", "c.test"]
        # Holding b.test's share, the backlog is passed over: nothing else is due here
        second = await deliveries.lease_due(
            conn,
            now=later,
            lease_until=later + LEASE,
            limit=1,
            per_host_limit=2,
            held={"b.test": 2},
        )
        assert second == []
        third = await deliveries.lease_due(
            conn, now=later, lease_until=later + LEASE, limit=1, per_host_limit=2
        )
        assert [j.host for j in third] == ["b.test"]


async def finish_some(db: Database, actor_id: int) -> None:
    """b.test: 2 sent, 1 gone; c.test: 1 sent, 1 dead, 1 cancelled; d.test: 1 pending."""
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"], activity="1")
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"], activity="2")
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="3")
    await enqueue(db, actor_id, ["https://c.test/inbox", "https://d.test/inbox"], activity="4")
    jobs = {(j.host, j.activity_uri): j for j in await lease(db)}
    async with db.transaction() as conn:
        for n, (host, activity) in enumerate([("b.test", "1"), ("b.test", "2"), ("c.test", "1")]):
            at = NOW + timedelta(seconds=n)
            await deliveries.mark_sent(
                conn, jobs[host, activity].id, attempts=1, status=202, now=at
            )
        await deliveries.mark_gone(
            conn, jobs["b.test", "3"].id, attempts=1, status=410, now=NOW + timedelta(seconds=5)
        )
        await deliveries.mark_dead(
            conn,
            jobs["c.test", "2"].id,
            attempts=3,
            last_status=403,
            last_error="HTTP 403",
            now=NOW + timedelta(seconds=4),
        )
        await deliveries.release(conn, jobs["d.test", "4"].id, lease=NOW + LEASE)
        await deliveries.cancel_for_host(
            conn, "c.test", NOW + timedelta(seconds=6), reason="peer not permitted by policy"
        )


async def views(db: Database) -> tuple[list[deliveries.HostSummary], dict[str, int]]:
    async with db.read() as conn:
        return await deliveries.summary_by_host(conn), await deliveries.counts(conn)


async def test_pruning_keeps_the_admin_views_and_drops_bodies_no_row_needs(
    db: Database, actor_id: int
) -> None:
    await finish_some(db, actor_id)
    before = await views(db)
    assert before[1] == {PENDING: 1, RETRYING: 0, SENT: 3, GONE: 1, DEAD: 1, CANCELLED: 1}
    # When finished rows are pruned in small chunks, as the worker does
    pruned = []
    async with db.transaction() as conn:
        while n := await deliveries.prune_finished(conn, before=NOW + timedelta(days=1), limit=2):
            pruned.append(n)
    # Then only dead and unfinished rows stay, and admins see the same per host and in total
    assert pruned == [2, 2, 1]
    async with (
        db.read() as conn,
        conn.execute("SELECT host, state FROM deliveries ORDER BY host") as cursor,
    ):
        assert [tuple(row) for row in await cursor.fetchall()] == [
            ("c.test", DEAD),
            ("d.test", PENDING),
        ]
    assert await views(db) == before
    # The bodies of activities with no row left are gone; the others stay
    async with (
        db.read() as conn,
        conn.execute("SELECT activity_uri FROM delivery_bodies ORDER BY activity_uri") as cursor,
    ):
        assert [row[0] for row in await cursor.fetchall()] == ["2", "4"]


async def test_views_merge_pruned_totals_with_newer_rows(db: Database, actor_id: int) -> None:
    await finish_some(db, actor_id)
    async with db.transaction() as conn:
        await deliveries.prune_finished(conn, before=NOW + timedelta(days=1))
    # A later success and a later error for b.test, still as rows
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="5")
    await enqueue(db, actor_id, ["https://b.test/inbox"], activity="6")
    later = NOW + timedelta(hours=1)
    jobs = {j.activity_uri: j for j in await lease(db, later)}
    async with db.transaction() as conn:
        await deliveries.mark_sent(conn, jobs["5"].id, attempts=1, status=202, now=later)
        await deliveries.reschedule(
            conn,
            jobs["6"].id,
            attempts=1,
            next_attempt_at=later + LEASE,
            last_status=500,
            last_error="HTTP 500",
            now=later,
        )
    summary, totals = await views(db)
    b_test = next(s for s in summary if s.host == "b.test")
    assert (b_test.sent, b_test.gone, b_test.retrying) == (3, 1, 1)
    assert (b_test.last_success_at, b_test.last_error, b_test.last_error_at) == (
        later,
        "HTTP 500",
        later,
    )
    c_test = next(s for s in summary if s.host == "c.test")
    assert (c_test.sent, c_test.dead, c_test.cancelled) == (1, 1, 1)
    assert c_test.last_error == "peer not permitted by policy"
    assert totals[SENT] == 4


async def test_the_migration_moves_bodies_out_of_the_rows(tmp_path: Path) -> None:
    # Given a database as it was before bodies were stored once, with queued deliveries
    stamps = (db_time(NOW),) * 3
    database = Database(tmp_path / "old.sqlite3")
    await database.open()
    try:
        for version, _, sql in available_migrations():
            if version < 16:
                await database.writer.executescript(sql)
        async with database.transaction() as conn:
            # as the schema of then had it (store.accounts reads columns added since)
            await conn.execute(
                "INSERT INTO accounts (id, username, uri, created_at, updated_at)"
                " VALUES (7, 'alice', 'u', ?, ?)",
                stamps[:2],
            )
            await conn.executemany(
                "INSERT INTO deliveries (id, activity_uri, actor_account_id, inbox_url, host,"
                " body, state, attempts, next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, 7, ?, ?, ?, ?, 0, ?, ?, ?)",
                [
                    (1, "A", "https://b.test/inbox", "b.test", '{"id": "A"}', PENDING, *stamps),
                    (2, "A", "https://c.test/inbox", "c.test", '{"id": "A"}', SENT, *stamps),
                    (3, "B", "https://b.test/inbox", "b.test", '{"id": "B"}', DEAD, *stamps),
                ],
            )
        await database.writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        await database.writer.executemany(
            "INSERT INTO schema_migrations VALUES (?, ?, 't')",
            [(v, name) for v, name, _ in available_migrations() if v < 16],
        )
        # When it is migrated
        applied = await migrate(database.writer)
        # Then every row is there with its body, each body stored once
        assert applied[0] == "0016_delivery_bodies.sql"
        async with database.read() as conn:
            found = await deliveries.list_for_activity(conn, "A")
            found += await deliveries.list_for_activity(conn, "B")
            async with conn.execute("SELECT count(*) FROM delivery_bodies") as cursor:
                assert tuple(await cursor.fetchone()) == (2,)
        assert [(r.id, r.state, r.body) for r in found] == [
            (1, PENDING, '{"id": "A"}'),
            (2, SENT, '{"id": "A"}'),
            (3, DEAD, '{"id": "B"}'),
        ]
    finally:
        await database.close()


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://B.test/inbox", "b.test"),
        ("https://c.test:8443/inbox", "c.test:8443"),
        ("HTTP://Peer.Sink?x=1", "peer.sink"),
        ("https://h.test#frag", "h.test"),
        ("http://user@h.test/inbox", "h.test"),  # not plain: read by urlsplit
        ("http://[::1]:8080/inbox", "[::1]:8080"),
    ],
)
def test_host_of_reads_plain_and_unusual_urls_alike(url: str, host: str) -> None:
    assert deliveries.host_of(url) == host
