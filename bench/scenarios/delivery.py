"""S5 and S5b: one post fanned out to many distinct shared inboxes (loopback sinks).

World: the local author `user0` followed by one remote account on each of N peer domains
(`peer0001.sink` …, N = 1,000; 200 in --quick), each with its own shared inbox; every
domain is a `[[peers]]` entry resolved to the sink process (bench/sinks.py, core 1). The
instance runs on core 0; this process polls from core 1.

S5: per round, the bare sign-and-POST loop (bench/ceilings/sign_post.py: the product's
client, key and concurrency, pinned to core 0) sends the same activity to the same N inboxes,
then `POST /api/v1/statuses` fans a post out through the product. The product's time runs
from the POST until every delivery row is `sent` (polled read-only every 5 ms); per-delivery
times are the rows' `updated_at` minus the POST's start. Deliveries/s is the figure. The
httpx investigation (client variants x concurrency 4/32) runs in the same loop.

S5b: the same with 10% bad inboxes (every tenth domain: half answer 503, half accept and
never answer). Each round starts a fresh instance from one seeded template twice: all healthy
(the S5 reference) and with the bad inboxes; the figure is the time until the healthy 90% are
sent, waited for at most `cap` seconds (the instance is killed then: what it still holds is
not measured). Ratio = S5 time / S5b healthy time; the goal (within 1.2x) is ratio >= 0.83.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import servers, sinks, world
from bench.ceilings import sign_post
from bench.scenarios import Pair, Result, Settings
from bench.stats import Measurement, percentile
from outbox.delivery import DeliverySettings
from store import accounts, follows, keys
from store.accounts import NewAccount
from store.db import Database
from watercooler.accounts import create_token

POLL_S = 0.005
WAIT_S = 120.0
"""The longest a healthy fan-out may take before the round is reported as failed."""
CONCURRENCY = DeliverySettings().total_concurrency
FILLER = "Quarterly numbers are in and the team did great work on the launch. " * 2
"""With the Create(Note) envelope, a delivery body of about 1.8 KB."""


@contextmanager
def on_core(core: int) -> Iterator[None]:
    """Pin this process (the poller, the load loop) to `core` for a while."""
    before = os.sched_getaffinity(0)
    usable = core in before
    if usable:
        os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        if usable:
            os.sched_setaffinity(0, before)


@dataclass(frozen=True)
class FanoutWorld:
    """A seeded instance folder: its author's token and signing key, and its followers."""

    folder: Path
    token: str
    author_id: int
    key_id: str
    private_pem: str
    domains: tuple[str, ...]
    local_follower_ids: tuple[int, ...]

    @property
    def db(self) -> Path:
        return self.folder / "db.sqlite3"

    def inboxes(self) -> list[str]:
        return [f"http://{domain}/inbox" for domain in self.domains]


async def seed_fanout(
    folder: Path, domains: Sequence[str], *, local_followers: int = 0, domain: str = world.DOMAIN
) -> FanoutWorld:
    """`world.seed` with `user0` as the author, followed by `local_followers` local users
    (user1 …) and by one remote account on each of `domains` (each its own shared inbox)."""
    await world.seed(folder, local_users=1 + local_followers, remote_actors=0, domain=domain)
    db = Database(str(folder / "db.sqlite3"))
    await db.open()
    now = datetime.now(UTC)
    try:
        async with db.transaction() as conn:
            author = await accounts.get_local(conn, "user0")
            assert author is not None
            local_ids = []
            for index in range(1, local_followers + 1):
                reader = await accounts.get_local(conn, f"user{index}")
                assert reader is not None
                local_ids.append(reader.id)
                await follows.upsert(
                    conn,
                    db.new_id(),
                    account_id=reader.id,
                    target_account_id=author.id,
                    uri=f"http://{domain}/users/user{index}#follows/{author.id}",
                    state="accepted",
                    now=now,
                )
            for peer in domains:
                actor = f"http://{peer}/users/reader"
                remote = await accounts.insert_account(
                    conn,
                    db.new_id(),
                    NewAccount(
                        username="reader",
                        domain=peer,
                        uri=actor,
                        url=actor,
                        inbox_url=f"{actor}/inbox",
                        shared_inbox_url=f"http://{peer}/inbox",
                        followers_url=f"{actor}/followers",
                    ),
                    now,
                )
                await follows.upsert(
                    conn,
                    db.new_id(),
                    account_id=remote.id,
                    target_account_id=author.id,
                    uri=f"{actor}#follows/1",
                    state="accepted",
                    now=now,
                )
            key = await keys.get_for_account(conn, author.id)
            assert key is not None and key.private_key_pem is not None
        token = await create_token(db, "user0", ("read", "write"), now)
    finally:
        await db.close()
    return FanoutWorld(
        folder,
        token,
        author.id,
        key.key_uri,
        key.private_key_pem,
        tuple(domains),
        tuple(local_ids),
    )


def post_status(
    client: httpx.Client, url: str, token: str, text: str, *, visibility: str = "public"
) -> dict[str, Any]:
    response = client.post(
        f"{url}/api/v1/statuses",
        headers={"Host": world.DOMAIN, "Authorization": f"Bearer {token}"},
        data={"status": text, "visibility": visibility},
        timeout=30.0,
    )
    response.raise_for_status()
    return dict(response.json())


def _epoch(db_time: str) -> float:
    return datetime.strptime(db_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)


def delivery_states(conn: sqlite3.Connection, activity_uri: str) -> Counter[str]:
    rows = conn.execute(
        "SELECT state, count(*) FROM deliveries WHERE activity_uri = ? GROUP BY state",
        (activity_uri,),
    ).fetchall()
    return Counter({state: count for state, count in rows})


@dataclass
class Fanout:
    """One post's fan-out as the product did it."""

    activity_uri: str
    post_ms: float
    """The POST /api/v1/statuses request itself."""
    seconds: float | None
    """From the POST's start until `expected` rows were sent (None: not within the wait)."""
    sent: int
    done_ms: list[float]
    """Each sent row's updated_at minus the POST's start."""
    states: dict[str, int]

    def measurement(self, expected: int, cap: float) -> Measurement:
        return Measurement(
            requests=self.sent,
            seconds=self.seconds if self.seconds is not None else cap,
            errors=expected - self.sent,
            p50_ms=percentile(self.done_ms, 0.5),
            p90_ms=percentile(self.done_ms, 0.9),
            p99_ms=percentile(self.done_ms, 0.99),
            max_ms=max(self.done_ms, default=0.0),
        )


def fan_out(
    server_url: str, fw: FanoutWorld, *, expected: int, wait: float = WAIT_S, text: str = ""
) -> Fanout:
    """Post once and wait until `expected` of its deliveries are sent (at most `wait` s)."""
    with httpx.Client() as client, read_only(fw.db) as conn:
        started_wall, started = time.time(), time.perf_counter()
        status = post_status(client, server_url, fw.token, text or f"{time.time_ns()} {FILLER}")
        post_ms = (time.perf_counter() - started) * 1000
        activity_uri = f"{status['uri']}/activity"
        seconds = None
        sent = 0
        while time.perf_counter() - started < wait:
            states = delivery_states(conn, activity_uri)
            sent = states["sent"]
            if sent >= expected:
                seconds = time.perf_counter() - started
                break
            time.sleep(POLL_S)
        states = delivery_states(conn, activity_uri)
        rows = conn.execute(
            "SELECT updated_at FROM deliveries WHERE activity_uri = ? AND state = 'sent'",
            (activity_uri,),
        ).fetchall()
    done_ms = [(_epoch(row[0]) - started_wall) * 1000 for row in rows]
    return Fanout(activity_uri, post_ms, seconds, states["sent"], done_ms, dict(states))


def delivery_body(db: Path, activity_uri: str) -> str:
    with read_only(db) as conn:
        row = conn.execute(
            "SELECT body FROM delivery_bodies WHERE activity_uri = ?", (activity_uri,)
        ).fetchone()
    return str(row[0])


def outcome_measurement(outcome: sign_post.Outcome, expected: int) -> Measurement:
    return Measurement(
        requests=outcome.sent,
        seconds=outcome.seconds,
        errors=expected - outcome.sent,
        p50_ms=percentile(outcome.done_ms, 0.5),
        p90_ms=percentile(outcome.done_ms, 0.9),
        p99_ms=percentile(outcome.done_ms, 0.99),
        max_ms=max(outcome.done_ms, default=0.0),
    )


def _variants(spec: sign_post.Spec, sink: sinks.Sink, passes: int) -> dict[str, Any]:
    """The httpx investigation: deliveries/s of each client variant at concurrency 4 and 32
    (median of `passes` interleaved passes)."""
    rates: dict[str, list[float]] = {}
    for _ in range(passes):
        for variant in sign_post.VARIANTS:
            for concurrency in (4, 32):
                sink.reset()
                outcome = sign_post.measure(sign_post.variant_spec(spec, variant, concurrency))
                rates.setdefault(f"{variant} c={concurrency}", []).append(round(outcome.rate, 1))
    table = {name: {"median": sorted(v)[len(v) // 2], "rounds": v} for name, v in rates.items()}
    return {"product": sign_post.PRODUCT, "deliveries_per_s": table}


def run(settings: Settings) -> list[Result]:
    count = 200 if settings.quick else 1000
    result = Result(
        "S5",
        f"one post fanned out to {count} distinct shared inboxes (sinks)",
        ">= 70% of the bare sign-and-POST loop with the same client and concurrency",
    )
    folder = settings.work / "delivery"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    domains = sinks.domains(count)
    fw = asyncio.run(seed_fanout(folder, domains))
    sink_port, port = servers.free_port(), servers.free_port()
    posts: list[float] = []
    duplicates = 0
    with on_core(1), sinks.running(sink_port, folder / "sink.log") as sink:
        config = world.write_config(folder, peers={d: sink.address for d in domains})
        with servers.watercooler(config, port, folder / "server.log") as server:
            warm = fan_out(server.url, fw, expected=count)  # warms the instance; its body
            if warm.seconds is None:
                raise RuntimeError(f"the warm-up fan-out did not finish: {warm.states}")
            spec = sign_post.Spec(
                inboxes=fw.inboxes(),
                resolve={d: sink.address for d in domains},
                body=delivery_body(fw.db, warm.activity_uri),
                key_id=fw.key_id,
                private_pem=fw.private_pem,
                concurrency=CONCURRENCY,
                warmup=CONCURRENCY,  # the instance's pool is warm from the round before
            )
            for _ in range(settings.rounds):
                sink.reset()
                bare = outcome_measurement(sign_post.measure(spec), count)
                duplicates += sink.stats()["total"] - bare.requests - spec.warmup
                sink.reset()
                ours = fan_out(server.url, fw, expected=count)
                duplicates += sink.stats()["total"] - ours.sent
                posts.append(round(ours.post_ms, 1))
                result.rounds.append(Pair(ours.measurement(count, WAIT_S), bare))
            result.extra["client_variants"] = _variants(
                spec, sink, passes=1 if settings.quick else 3
            )
    result.extra.update(
        inboxes=count,
        concurrency=CONCURRENCY,
        body_bytes=len(spec.body.encode()),
        post_request_ms=posts,
        seconds=[round(p.target.seconds, 3) for p in result.rounds],
        ceiling_seconds=[round(p.ceiling.seconds, 3) for p in result.rounds],
        sink_requests_beyond_one_per_inbox=duplicates,
        note="p50/p99: ms from the start until each delivery was answered",
    )
    result.met = result.ratio().median >= 0.7
    return [result]


def _bad_modes(domains: Sequence[str]) -> dict[str, str]:
    """Every tenth domain is bad: alternately 503 and accept-and-never-answer."""
    bad = [domain for index, domain in enumerate(domains) if index % 10 == 9]
    return {domain: ("503" if n % 2 == 0 else "hang") for n, domain in enumerate(bad)}


def _circuits_opened(log: Path) -> int:
    if not log.exists():
        return 0
    return sum("delivery circuit opened" in line for line in log.read_text().splitlines())


def _fresh_run(
    template: Path,
    folder: Path,
    fw: FanoutWorld,
    sink: sinks.Sink,
    *,
    expected: int,
    cap: float,
) -> tuple[Fanout, dict[str, Any]]:
    """A fresh instance from `template`: one warm-up direct post (no deliveries), then one
    fan-out; killed afterwards, whatever it still holds."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(template / "db.sqlite3", folder / "db.sqlite3")
    run_world = replace(fw, folder=folder)
    config = world.write_config(folder, peers={d: sink.address for d in fw.domains})
    port = servers.free_port()
    with servers.watercooler(config, port, folder / "server.log") as server:
        with httpx.Client() as client:
            post_status(client, server.url, fw.token, "warm-up", visibility="direct")
        sink.reset()
        fanout = fan_out(server.url, run_world, expected=expected, wait=cap)
        seen = sink.stats()
        server.process.kill()  # held connections and timed-out batches are not measured
        server.process.wait(timeout=15)
    with read_only(folder / "db.sqlite3") as conn:
        failures = conn.execute(
            "SELECT state, coalesce(last_status, ''), substr(coalesce(last_error, ''), 1, 40),"
            " count(*) FROM deliveries WHERE activity_uri = ? AND state != 'sent'"
            " GROUP BY 1, 2, 3",
            (fanout.activity_uri,),
        ).fetchall()
    details = {
        "sink_by_mode": seen["by_mode"],
        "held_at_end": seen["held_now"],
        "unsent_rows": [
            {"state": s, "status": st, "error": e, "count": c} for s, st, e, c in failures
        ],
        "circuits_opened": _circuits_opened(folder / "server.log"),
    }
    return fanout, details


def run_bad(settings: Settings) -> list[Result]:
    count = 200 if settings.quick else 1000
    cap = 15.0 if settings.quick else 45.0
    rounds = min(settings.rounds, 2) if settings.quick else settings.rounds
    result = Result(
        "S5b",
        f"fan-out to {count} inboxes, 10% bad (503 / accept and never answer)",
        "the healthy 90% finish within 1.2x of S5 (ratio = S5 time / healthy time >= 0.83)",
    )
    folder = settings.work / "delivery-bad"
    shutil.rmtree(folder, ignore_errors=True)
    template = folder / "template"
    template.mkdir(parents=True)
    domains = sinks.domains(count)
    modes = _bad_modes(domains)
    healthy = count - len(modes)
    fw = asyncio.run(seed_fanout(template, domains))
    details: list[dict[str, Any]] = []
    reference: list[float] = []
    with on_core(1), sinks.running(servers.free_port(), folder / "sink.log") as sink:
        for n in range(rounds):
            sink.set_modes({})
            ref, _ = _fresh_run(template, folder / f"ref{n}", fw, sink, expected=count, cap=WAIT_S)
            if ref.seconds is None:
                raise RuntimeError(f"the healthy reference fan-out did not finish: {ref.states}")
            sink.set_modes(modes)
            bad, detail = _fresh_run(
                template, folder / f"bad{n}", fw, sink, expected=healthy, cap=cap
            )
            sink.set_modes({})
            reference.append(round(ref.seconds, 3))
            detail["healthy_seconds"] = round(bad.seconds, 3) if bad.seconds else None
            detail["healthy_sent"] = bad.sent
            details.append(detail)
            target = bad.measurement(healthy, cap)
            result.rounds.append(Pair(target, Measurement(requests=healthy, seconds=ref.seconds)))
    result.extra.update(
        inboxes=count,
        bad_inboxes=dict(Counter(modes.values())),
        wait_cap_seconds=cap,
        s5_reference_seconds=reference,
        rounds_detail=details,
        note=(
            "ceiling = the same fresh instance fanning out to all-healthy inboxes (S5);"
            " healthy_seconds None = not all healthy sent within the cap"
        ),
    )
    finished = all(d["healthy_seconds"] is not None for d in details)
    result.met = finished and result.ratio().median >= 1 / 1.2
    return [result]
