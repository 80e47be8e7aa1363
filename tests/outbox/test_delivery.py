"""The delivery worker against misbehaving peers.

Peers here are `httpx.MockTransport` handlers, on purpose: these tests are about a peer that
fails, stalls, drops connections or rate-limits, which a live instance will not do on demand.
The database is a real SQLite file and the clock is fake, so retries and leases are driven
by `clock.advance(...)`, never by sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from federation.keys import KeyPairPem, generate_rsa_keypair, load_public_key
from federation.policy import ALLOWLIST, OPEN, PeerPolicy
from federation.signatures import HttpRequestView, ResolvedKey, verify_cavage
from outbox.delivery import ACTIVITY_JSON, DeliverySettings, DeliveryWorker
from store import accounts, deliveries, keys
from store.accounts import NewAccount
from store.db import Connection, Database
from store.deliveries import CANCELLED, DEAD, GONE, PENDING, RETRYING, SENT, DeliveryRecord

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ACTOR_URI = "https://a.test/users/alice"
KEY_ID = f"{ACTOR_URI}#main-key"
ACTIVITY = "https://a.test/activities/1"
EVERYONE = PeerPolicy(mode=OPEN)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class FakeClock:
    def __init__(self, start: datetime = NOW) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202)


@dataclass
class Peers:
    """Every remote host behind one transport: a handler per host, and what each received."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    received: list[httpx.Request] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        answer = self.handlers.get(request.url.host, ok)(request)
        return answer if isinstance(answer, httpx.Response) else await answer

    def to(self, host: str) -> list[httpx.Request]:
        return [request for request in self.received if request.url.host == host]


def answers(*responses: httpx.Response | Exception) -> Handler:
    """A handler that answers with each of `responses` in turn (raising the exceptions),
    then repeats the last one."""
    queue = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle


@pytest.fixture(scope="module")
def keypair() -> KeyPairPem:
    return generate_rsa_keypair()


@pytest.fixture
async def actor_id(db: Database, keypair: KeyPairPem) -> int:
    account_id = db.new_id()
    async with db.transaction() as conn:
        await accounts.insert_account(
            conn,
            account_id,
            NewAccount(username="alice", domain=None, uri=ACTOR_URI, url=None),
            NOW,
        )
        await keys.insert_key(
            conn,
            db.new_id(),
            account_id=account_id,
            key_uri=KEY_ID,
            public_key_pem=keypair.public_pem,
            private_key_pem=keypair.private_pem,
            now=NOW,
        )
    return account_id


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def peers() -> Peers:
    return Peers()


MakeWorker = Callable[..., DeliveryWorker]


@pytest.fixture
async def make_worker(db: Database, peers: Peers, clock: FakeClock) -> AsyncIterator[MakeWorker]:
    """Workers over the peers' transport; `rand` defaults to 1.0, so each wait is its ceiling."""
    clients: list[httpx.AsyncClient] = []

    def make(
        *,
        policy: PeerPolicy = EVERYONE,
        rand: Callable[[], float] = lambda: 1.0,
        **settings: object,
    ) -> DeliveryWorker:
        client = httpx.AsyncClient(transport=httpx.MockTransport(peers))
        clients.append(client)
        return DeliveryWorker(
            db,
            client,
            policy=policy,
            settings=DeliverySettings(**settings),  # type: ignore[arg-type]
            clock=clock.now,
            rand=rand,
        )

    yield make
    for client in clients:
        await client.aclose()


async def enqueue(
    db: Database,
    actor_id: int,
    inboxes: list[str],
    *,
    activity: str = ACTIVITY,
    now: datetime = NOW,
) -> None:
    async with db.transaction() as conn:
        await deliveries.enqueue(
            conn,
            db.new_id,
            activity_uri=activity,
            actor_account_id=actor_id,
            inboxes=inboxes,
            body=f'{{"id": "{activity}", "type": "Create"}}',
            now=now,
        )


async def rows(db: Database, activity: str = ACTIVITY) -> dict[str, DeliveryRecord]:
    async with db.read() as conn:
        return {r.host: r for r in await deliveries.list_for_activity(conn, activity)}


async def all_rows(db: Database, activities: list[str]) -> list[DeliveryRecord]:
    async with db.read() as conn:
        return [r for a in activities for r in await deliveries.list_for_activity(conn, a)]


# The request itself.


class StaticKeys:
    """A KeyResolver that knows exactly one key: the actor's."""

    def __init__(self, key: ResolvedKey) -> None:
        self.key = key

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        return self.key if key_id == self.key.key_id else None


async def test_a_delivery_is_signed_and_carries_the_exact_body(
    db: Database,
    actor_id: int,
    keypair: KeyPairPem,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
) -> None:
    # Given an activity queued for b.test's shared inbox
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    # When the worker runs
    assert await make_worker().run_once() == 1
    # Then b.test received one POST, signed by alice's key, with the body as queued
    (request,) = peers.to("b.test")
    assert request.method == "POST"
    assert request.headers["content-type"] == ACTIVITY_JSON
    assert request.content == f'{{"id": "{ACTIVITY}", "type": "Create"}}'.encode()
    view = HttpRequestView(
        method=request.method,
        url=str(request.url),
        headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw),
        body=request.content,
    )
    resolver = StaticKeys(ResolvedKey(KEY_ID, ACTOR_URI, load_public_key(keypair.public_pem)))
    verified = await verify_cavage(view, resolver, now=clock.now())
    assert (verified.key_id, verified.owner, verified.scheme) == (KEY_ID, ACTOR_URI, "cavage")
    assert {"(request-target)", "host", "date", "digest"} <= set(verified.covered)
    row = (await rows(db))["b.test"]
    assert (row.state, row.attempts, row.last_status, row.locked_until) == (SENT, 1, 202, None)


async def test_an_actor_without_a_private_key_cannot_deliver(
    db: Database, peers: Peers, make_worker: MakeWorker
) -> None:
    remote_id = db.new_id()
    async with db.transaction() as conn:
        await accounts.insert_account(
            conn,
            remote_id,
            NewAccount(username="bob", domain="c.test", uri="https://c.test/users/bob", url=None),
            NOW,
        )
    await enqueue(db, remote_id, ["https://b.test/inbox"])
    assert await make_worker().run_once() == 1
    row = (await rows(db))["b.test"]
    assert (row.state, row.last_error) == (DEAD, "no signing key")
    assert peers.received == []


async def test_plain_http_inboxes_need_allow_http(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    await enqueue(db, actor_id, ["http://b.test/inbox"])
    await make_worker().run_once()
    assert (await rows(db))["b.test"].state == DEAD
    assert peers.received == []
    await enqueue(db, actor_id, ["http://c.test/inbox"], activity="https://a.test/2")
    await make_worker(allow_http=True).run_once()
    assert (await rows(db, "https://a.test/2"))["c.test"].state == SENT


# Misbehaving peers.


async def test_a_500_is_retried_after_the_backoff_and_then_delivered(
    db: Database,
    actor_id: int,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
) -> None:
    peers.handlers["b.test"] = answers(httpx.Response(500), httpx.Response(202))
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    worker = make_worker()
    assert await worker.run_once() == 1
    row = (await rows(db))["b.test"]
    assert (row.state, row.attempts, row.last_status, row.last_error) == (
        RETRYING,
        1,
        500,
        "HTTP 500",
    )
    assert row.next_attempt_at == NOW + timedelta(minutes=1)
    # Not due yet: nothing happens.
    clock.advance(seconds=59)
    assert await worker.run_once() == 0
    clock.advance(seconds=1)
    assert await worker.run_once() == 1
    row = (await rows(db))["b.test"]
    assert (row.state, row.attempts, row.last_status, row.last_error) == (SENT, 2, 202, None)
    assert len(peers.to("b.test")) == 2


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (429, "300", timedelta(seconds=300)),  # later than the 1 min back-off: honoured
        (503, "10", timedelta(minutes=1)),  # sooner than the back-off: the back-off wins
        (429, "Thu, 26 Nov 2026 10:30:00 GMT", timedelta(minutes=30)),
        (429, "31536000", timedelta(hours=12)),  # a year: capped at max_delay
        (429, "tomorrow-ish", timedelta(minutes=1)),
        (500, "300", timedelta(minutes=1)),  # only 429 and 503 are asked about Retry-After
    ],
)
async def test_retry_after_is_honoured_when_later_than_the_backoff(
    db: Database,
    actor_id: int,
    peers: Peers,
    make_worker: MakeWorker,
    status: int,
    retry_after: str,
    wait: timedelta,
) -> None:
    peers.handlers["b.test"] = answers(httpx.Response(status, headers={"Retry-After": retry_after}))
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    await make_worker().run_once()
    row = (await rows(db))["b.test"]
    assert (row.state, row.last_status) == (RETRYING, status)
    assert row.next_attempt_at == NOW + wait


@pytest.mark.parametrize(("status", "state"), [(410, GONE), (404, GONE), (403, DEAD), (400, DEAD)])
async def test_permanent_answers_are_not_retried(
    db: Database,
    actor_id: int,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
    status: int,
    state: str,
) -> None:
    peers.handlers["b.test"] = answers(httpx.Response(status))
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    worker = make_worker()
    assert await worker.run_once() == 1
    clock.advance(days=3)
    assert await worker.run_once() == 0
    row = (await rows(db))["b.test"]
    assert (row.state, row.attempts, row.last_status) == (state, 1, status)
    assert len(peers.received) == 1


async def test_a_read_timeout_is_retried(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    peers.handlers["b.test"] = answers(httpx.ReadTimeout("peer too slow"))
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    await make_worker().run_once()
    row = (await rows(db))["b.test"]
    assert (row.state, row.last_status, row.last_error) == (
        RETRYING,
        None,
        "ReadTimeout: peer too slow",
    )


async def test_a_peer_that_stalls_past_the_timeout_is_cut_off(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(202)

    peers.handlers["b.test"] = stall
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    started = time.monotonic()
    await make_worker(request_timeout=0.005).run_once()
    assert time.monotonic() - started < 1
    found = await rows(db)
    assert (found["b.test"].state, found["b.test"].last_error) == (RETRYING, "TimeoutError")
    assert found["c.test"].state == SENT


async def test_a_dropped_keep_alive_connection_is_retried_once_at_once(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    peers.handlers["b.test"] = answers(
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(202),
    )
    peers.handlers["c.test"] = answers(httpx.ReadError("connection reset"))
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    await make_worker().run_once()
    found = await rows(db)
    # b.test: the retry on a fresh connection went through, in the same attempt.
    assert (found["b.test"].state, found["b.test"].attempts) == (SENT, 1)
    assert len(peers.to("b.test")) == 2
    # c.test drops it again: exactly one immediate retry, then the normal back-off.
    assert (found["c.test"].state, found["c.test"].attempts) == (RETRYING, 1)
    assert found["c.test"].last_error == "ReadError: connection reset"
    assert len(peers.to("c.test")) == 2


async def test_attempts_run_out_and_the_delivery_dies(
    db: Database,
    actor_id: int,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
) -> None:
    peers.handlers["b.test"] = answers(httpx.Response(502))
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    worker = make_worker(max_attempts=3)
    while await worker.run_once():
        clock.advance(hours=12)
    row = (await rows(db))["b.test"]
    assert (row.state, row.attempts, row.last_status) == (DEAD, 3, 502)
    assert row.last_error == "gave up after 3: HTTP 502"
    assert len(peers.received) == 3
    clock.advance(days=7)
    assert await worker.run_once() == 0


async def test_a_peer_removed_from_policy_gets_nothing_and_its_queue_is_cancelled(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    # Given deliveries queued for b.test and c.test
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    await enqueue(db, actor_id, ["https://c.test/inbox"], activity="https://a.test/2")
    # When IT removes c.test from the peers before the worker runs
    worker = make_worker(policy=PeerPolicy(mode=ALLOWLIST, peers=frozenset({"b.test"})))
    assert await worker.run_once() == 3
    # Then c.test receives nothing and every delivery to it is cancelled
    assert peers.to("c.test") == []
    found = await rows(db)
    assert (found["b.test"].state, found["c.test"].state) == (SENT, CANCELLED)
    assert (await rows(db, "https://a.test/2"))["c.test"].state == CANCELLED
    assert found["c.test"].last_error == "peer not permitted by policy"


async def test_the_same_activity_enqueued_twice_is_delivered_once(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://b.test/inbox"])
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    worker = make_worker()
    assert await worker.run_once() == 1
    assert await worker.run_once() == 0
    assert len(peers.received) == 1


async def test_a_crashed_workers_lease_expires_and_nothing_is_lost(
    db: Database,
    actor_id: int,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
) -> None:
    # Given a worker that leased the job and was killed before sending it
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    async with db.transaction() as conn:
        leased = await deliveries.lease_due(
            conn, now=NOW, lease_until=NOW + timedelta(seconds=60), limit=10
        )
    assert len(leased) == 1
    # When another worker runs while the lease holds, it leaves the job alone
    worker = make_worker()
    assert await worker.run_once() == 0
    assert (await rows(db))["b.test"].state == PENDING
    # Then once the lease has expired, the job is delivered
    clock.advance(seconds=61)
    assert await worker.run_once() == 1
    assert (await rows(db))["b.test"].state == SENT
    assert len(peers.received) == 1


# One dead host never slows the others.


async def test_a_failing_host_opens_its_circuit_while_others_keep_receiving(
    db: Database,
    actor_id: int,
    peers: Peers,
    clock: FakeClock,
    make_worker: MakeWorker,
) -> None:
    down = {"up": False}

    def flaky(request: httpx.Request) -> httpx.Response:
        if down["up"]:
            return httpx.Response(202)
        raise httpx.ConnectError("connection refused")

    peers.handlers["down.test"] = flaky
    activities = [f"https://a.test/activities/{n}" for n in range(6)]
    for n, activity in enumerate(activities):
        await enqueue(
            db,
            actor_id,
            ["https://down.test/inbox", "https://up.test/inbox"],
            activity=activity,
            now=NOW - timedelta(seconds=10 - n),
        )
    worker = make_worker(circuit_failures=3, host_batch_size=4)

    # Given a batch in which down.test fails three times in a row
    assert await worker.run_once() == 8
    tried = len(peers.to("down.test"))
    assert 3 <= tried <= 4
    assert worker.open_circuits() == {"down.test": NOW + timedelta(minutes=5)}
    # When the worker runs again, down.test is not even leased; up.test gets the rest
    assert await worker.run_once() == 2
    assert len(peers.to("up.test")) == 6
    assert len(peers.to("down.test")) == tried
    assert await worker.run_once() == 0
    by_attempts = Counter(
        r.attempts for r in await all_rows(db, activities) if r.host == "down.test"
    )
    assert by_attempts == Counter({1: tried, 0: 6 - tried})  # skipped jobs spend no attempt

    # Then after the cooldown exactly one probe goes out; it fails and the circuit reopens
    clock.advance(minutes=5)
    assert await worker.run_once() == 1
    assert len(peers.to("down.test")) == tried + 1
    assert worker.open_circuits() == {"down.test": clock.now() + timedelta(minutes=5)}
    assert await worker.run_once() == 0

    # And when down.test is back, the next probe closes the circuit and the backlog flows
    down["up"] = True
    clock.advance(minutes=5)
    assert await worker.run_once() == 1
    assert worker.open_circuits() == {}
    while await worker.run_once():
        pass
    assert {r.host: r.state for r in await all_rows(db, activities)} == {
        "down.test": SENT,
        "up.test": SENT,
    }
    assert len(peers.to("down.test")) == tried + 1 + 6


async def test_any_answer_resets_the_failure_count(
    db: Database, actor_id: int, peers: Peers, clock: FakeClock, make_worker: MakeWorker
) -> None:
    peers.handlers["b.test"] = answers(
        httpx.Response(500), httpx.Response(500), httpx.Response(403), httpx.Response(500)
    )
    for n in range(4):
        await enqueue(db, actor_id, ["https://b.test/inbox"], activity=f"https://a.test/{n}")
    worker = make_worker(circuit_failures=3, per_host_concurrency=1, host_batch_size=1)
    for _ in range(4):
        assert await worker.run_once() == 1
    assert worker.open_circuits() == {}


# Concurrency limits.


async def test_per_host_concurrency_never_exceeds_its_limit(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    overall = {"now": 0, "peak": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] += 1
        overall["now"] += 1
        peak[host] = max(peak[host], in_flight[host])
        overall["peak"] = max(overall["peak"], overall["now"])
        for _ in range(5):
            await asyncio.sleep(0)
        in_flight[host] -= 1
        overall["now"] -= 1
        return httpx.Response(202)

    peers.handlers["b.test"] = peers.handlers["c.test"] = slow
    for n in range(8):
        await enqueue(
            db,
            actor_id,
            ["https://b.test/inbox", "https://c.test/inbox"],
            activity=f"https://a.test/{n}",
        )
    worker = make_worker(per_host_concurrency=2, host_batch_size=8)
    assert await worker.run_once() == 16
    assert peak == {"b.test": 2, "c.test": 2}
    assert overall["peak"] == 4  # the two hosts were served side by side
    assert len(peers.received) == 16


async def test_total_concurrency_never_exceeds_its_limit(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    overall = {"now": 0, "peak": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        overall["now"] += 1
        overall["peak"] = max(overall["peak"], overall["now"])
        for _ in range(5):
            await asyncio.sleep(0)
        overall["now"] -= 1
        return httpx.Response(202)

    inboxes = [f"https://h{n}.test/inbox" for n in range(8)]
    for inbox in inboxes:
        peers.handlers[httpx.URL(inbox).host] = slow
    await enqueue(db, actor_id, inboxes)
    assert await make_worker(total_concurrency=3).run_once() == 8
    assert overall["peak"] == 3


# Running for real.


async def test_run_forever_wakes_on_notify_and_stops_when_told(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    worker = make_worker(idle_wait=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    await asyncio.sleep(0.001)  # let it find nothing and go idle
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    started = time.monotonic()
    worker.notify()
    for _ in range(500):
        if peers.received:
            break
        await asyncio.sleep(0.001)
    assert len(peers.received) == 1
    assert time.monotonic() - started < 0.5  # woken, not waiting out the idle second
    stop.set()
    await asyncio.wait_for(task, timeout=1)


async def test_each_outcome_is_one_log_line_without_the_body(
    db: Database,
    actor_id: int,
    peers: Peers,
    make_worker: MakeWorker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    peers.handlers["c.test"] = answers(httpx.Response(500))
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    with caplog.at_level(logging.INFO, logger="outbox.delivery"):
        await make_worker().run_once()
    lines = sorted(r.getMessage() for r in caplog.records if r.name == "outbox.delivery")
    assert lines == [
        f"delivery retry activity_uri={ACTIVITY} inbox=https://c.test/inbox attempt=1"
        " status=500 error=HTTP 500 next_attempt_at=2026-11-26T10:01:00+00:00",
        f"delivery sent activity_uri={ACTIVITY} inbox=https://b.test/inbox attempt=1"
        " status=202 error=None next_attempt_at=None",
    ]
    assert all('"type": "Create"' not in r.getMessage() for r in caplog.records)


# Running for real: a window of jobs in flight, not batches.


async def wait_until(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll `check` for up to about 3 s (real time: the worker's own loop runs meanwhile)."""
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


@asynccontextmanager
async def running(worker: DeliveryWorker) -> AsyncIterator[asyncio.Event]:
    """`worker.run_forever` in the background; stopped (and awaited) on exit."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


def hanging() -> tuple[Handler, asyncio.Event]:
    """A peer that accepts and does not answer until the event is set."""
    answer = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        await answer.wait()
        return httpx.Response(202)

    return hang, answer


async def test_a_peer_that_never_answers_does_not_hold_up_the_others(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    # Given a fan-out in which one peer early in the queue accepts and never answers
    inboxes = [f"https://h{n:02d}.test/inbox" for n in range(40)]
    peers.handlers["h01.test"], answer = hanging()
    await enqueue(db, actor_id, inboxes)
    worker = make_worker(batch_size=8, total_concurrency=8, idle_wait=60.0)
    async with running(worker):

        async def others_sent() -> bool:
            found = await rows(db)
            return all(r.state == SENT for host, r in found.items() if host != "h01.test")

        # Then the other 39 are delivered and recorded while it still hangs
        await wait_until(others_sent)
        held = (await rows(db))["h01.test"]
        assert (held.state, held.attempts) == (PENDING, 0)
        assert held.locked_until is not None  # leased, not lost
        answer.set()
        await wait_until(lambda: _state_of(db, "h01.test", SENT))


async def test_more_silent_peers_than_the_window_still_hold_up_no_one(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    # Given ten peers that never answer, first in the queue, then thirty that do
    silent = [f"https://s{n}.test/inbox" for n in range(10)]
    healthy = [f"https://t{n:02d}.test/inbox" for n in range(30)]
    handler, answer = hanging()
    for url in silent:
        peers.handlers[httpx.URL(url).host] = handler
    await enqueue(db, actor_id, [*silent, *healthy])
    # When the window is smaller than that, and a request unanswered after 10 ms waits
    # without a slot
    worker = make_worker(batch_size=4, total_concurrency=2, slow_after=0.01, idle_wait=60.0)
    async with running(worker):

        async def healthy_sent() -> bool:
            found = await rows(db)
            return all(found[f"t{n:02d}.test"].state == SENT for n in range(30))

        # Then every healthy peer is served while the silent ones still wait
        await wait_until(healthy_sent)
        found = await rows(db)
        answer.set()
        assert all(found[f"s{n}.test"].state == PENDING for n in range(10))


async def test_at_most_max_waiting_requests_wait_on_slow_peers(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    handler, answer = hanging()
    silent = [f"https://s{n}.test/inbox" for n in range(10)]
    for url in silent:
        peers.handlers[httpx.URL(url).host] = handler
    await enqueue(db, actor_id, silent)
    worker = make_worker(batch_size=4, total_concurrency=2, slow_after=0.01, max_waiting=2)
    async with running(worker):
        await wait_until(lambda: _has_requests(peers, 6))
        await asyncio.sleep(0.1)
        assert len(peers.received) == 6  # the window (4) and the waiting (2): no more
        answer.set()


async def _state_of(db: Database, host: str, state: str) -> bool:
    return (await rows(db))[host].state == state


async def test_run_forever_holds_at_most_its_window_and_each_hosts_share(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    overall = {"now": 0, "peak": 0}

    async def slow(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] += 1
        overall["now"] += 1
        peak[host] = max(peak[host], in_flight[host])
        overall["peak"] = max(overall["peak"], overall["now"])
        await asyncio.sleep(0.002)
        in_flight[host] -= 1
        overall["now"] -= 1
        return httpx.Response(202)

    # A backlog of 12 activities for busy.test, and 12 other hosts
    activities = [f"https://a.test/{n}" for n in range(12)]
    for activity in activities:
        await enqueue(db, actor_id, ["https://busy.test/inbox"], activity=activity)
    others = [f"https://o{n}.test/inbox" for n in range(12)]
    await enqueue(db, actor_id, others)
    for url in [*others, "https://busy.test/inbox"]:
        peers.handlers[httpx.URL(url).host] = slow
    # (a long idle wait: the worker must look again as jobs finish, not on a timer)
    worker = make_worker(batch_size=6, host_batch_size=2, total_concurrency=32, idle_wait=60.0)
    async with running(worker):

        async def all_sent() -> bool:
            found = await all_rows(db, [*activities, ACTIVITY])
            return len(found) == 24 and all(r.state == SENT for r in found)

        await wait_until(all_sent)
    assert overall["peak"] <= 6
    assert peak["busy.test"] == 2
    assert len(peers.received) == 24


async def test_outcomes_are_written_several_at_a_time(
    db: Database,
    actor_id: int,
    make_worker: MakeWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    written: list[int] = []
    mark_all_sent = deliveries.mark_all_sent

    async def counting(conn: Connection, sent: Sequence[deliveries.Sent]) -> int:
        if sent:
            written.append(len(sent))
        return await mark_all_sent(conn, sent)

    monkeypatch.setattr(deliveries, "mark_all_sent", counting)
    await enqueue(db, actor_id, [f"https://h{n}.test/inbox" for n in range(24)])
    async with running(make_worker(flush_after=0.05)):

        async def all_sent() -> bool:
            return all(r.state == SENT for r in (await rows(db)).values())

        await wait_until(all_sent)
    assert sum(written) == 24
    assert len(written) < 24 / 2  # not one transaction per job


async def test_stopping_lets_jobs_in_flight_finish_and_records_them(
    db: Database, actor_id: int, peers: Peers, make_worker: MakeWorker
) -> None:
    peers.handlers["b.test"], answer = hanging()
    await enqueue(db, actor_id, ["https://b.test/inbox"])
    stop = asyncio.Event()
    task = asyncio.create_task(make_worker().run_forever(stop))
    await wait_until(lambda: _has_requests(peers, 1))
    stop.set()
    await asyncio.sleep(0.01)
    assert not task.done()  # waits for the answer
    answer.set()
    await asyncio.wait_for(task, timeout=1)
    assert (await rows(db))["b.test"].state == SENT


async def _has_requests(peers: Peers, count: int) -> bool:
    return len(peers.received) >= count


async def test_a_killed_worker_loses_nothing_its_jobs_come_back_after_the_lease(
    db: Database, actor_id: int, peers: Peers, clock: FakeClock, make_worker: MakeWorker
) -> None:
    # Given a worker killed (its task cancelled) while a job was in flight
    peers.handlers["b.test"], _ = hanging()
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    task = asyncio.create_task(make_worker().run_forever(asyncio.Event()))
    await wait_until(lambda: _state_of(db, "c.test", SENT))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Then the job stays leased until the lease runs out, and is delivered after it
    peers.handlers["b.test"] = ok
    worker = make_worker()
    assert await worker.run_once() == 0
    clock.advance(seconds=61)
    assert await worker.run_once() == 1
    assert (await rows(db))["b.test"].state == SENT
    assert len(peers.to("b.test")) == 2


async def test_run_forever_prunes_finished_rows_and_keeps_the_counts(
    db: Database, actor_id: int, peers: Peers, clock: FakeClock, make_worker: MakeWorker
) -> None:
    peers.handlers["c.test"] = answers(httpx.Response(403))
    await enqueue(db, actor_id, ["https://b.test/inbox", "https://c.test/inbox"])
    worker = make_worker(keep_finished=timedelta(minutes=10), prune_every=0.01)
    async with running(worker):
        await wait_until(lambda: _state_of(db, "c.test", DEAD))
        await wait_until(lambda: _state_of(db, "b.test", SENT))
        await asyncio.sleep(0.05)  # a prune or two: the sent row is too young to go
        assert set(await rows(db)) == {"b.test", "c.test"}
        clock.advance(minutes=11)

        async def only_dead_left() -> bool:
            return set(await rows(db)) == {"c.test"}

        await wait_until(only_dead_left)
    async with db.read() as conn:
        totals = await deliveries.counts(conn)
    assert (totals[SENT], totals[DEAD]) == (1, 1)


@pytest.mark.parametrize(
    "settings",
    [
        {"max_attempts": 0},
        {"jitter": 1.5},
        {"base_delay": timedelta(hours=2), "max_delay": timedelta(hours=1)},
        {"request_timeout": 40.0},  # a job could outlive its 60 s lease
        {"per_host_concurrency": 0},
        {"flush_size": 0},
        {"flush_after": -1.0},
    ],
)
def test_settings_that_cannot_work_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DeliverySettings(**settings)  # type: ignore[arg-type]
