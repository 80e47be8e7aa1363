"""S1 and S1b: signed inbox ingest against the bare verifying endpoint.

S1: distinct signed Create(Note)s from 50 known actors -> verified, de-duplicated, durable,
202. S1b: the same requests again (duplicates) and forged signatures (rejections), which
must write nothing. The instance's inbox worker runs too; each round waits for it to drain
so that the next round (of either server) starts on an idle core.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import httpx

from bench import servers, signing, world, wrk
from bench.scenarios import Pair, Result, Settings
from bench.stats import Measurement
from federation.keys import generate_rsa_keypair

DRAIN_TIMEOUT = 300.0
BURST = 100
BURST_TIMEOUT = 30.0
OVERLOAD_CONNECTIONS = 256


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute(sql).fetchone()[0])


def _wait_drained(db: Path) -> float:
    """Seconds until the inbox queue has nothing pending (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < DRAIN_TIMEOUT:
        if _count(db, "SELECT count(*) FROM inbox_items WHERE state = 'pending'") == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError("the inbox queue did not drain")


def _accepted(measurement: Measurement) -> Measurement:
    """The measurement counting only 202s: an activity turned away with a 429 (the backlog
    is full) was not ingested, so it does not count as throughput."""
    return replace(measurement, requests=measurement.statuses.get("202", 0))


def run(settings: Settings) -> list[Result]:
    folder = settings.work / "inbox"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    actors = asyncio.run(world.seed(folder, local_users=1, remote_actors=50))
    config = world.write_config(folder)
    db = folder / "db.sqlite3"
    env = {
        "BENCH_BASE_URL": world.BASE_URL,
        "BENCH_KEYS": str(world.keys_file(folder, actors)),
    }
    s1 = Result(
        "S1",
        "inbox ingest, distinct signed Create(Note) from 50 actors",
        ">= 50% of the bare verifying endpoint; p99 <= 2x its p99",
    )
    dup = Result("S1b-dup", "inbox, duplicates of accepted activities", ">= 70% of the ceiling")
    bad = Result(
        "S1b-bad", "inbox, forged signatures", ">= 90% of the ceiling; rejections write nothing"
    )
    per_round = int(2500 * settings.seconds)
    drains: list[float] = []
    files: list[Path] = []
    wrapped = False
    forged_file = wrk.write_requests(signing.forged(actors, 2000))
    files.append(forged_file)
    port, ceiling_port = servers.free_port(), servers.free_port()
    try:
        with (
            servers.watercooler(config, port, folder / "server.log") as server,
            servers.ceiling(
                "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
            ) as ceiling,
        ):
            accepted: list[Path] = []
            turned_away: list[int] = []
            for _ in range(settings.rounds):
                requests = wrk.write_requests(signing.distinct_creates(actors, per_round))
                files.append(requests)
                load = dict(seconds=settings.seconds, connections=settings.connections)
                bare = wrk.run(ceiling.url + "/inbox", requests, expect=202, **load)
                ours = wrk.run(server.url + "/inbox", requests, expect=202, **load)
                wrapped |= ours.requests > per_round
                s1.rounds.append(Pair(_accepted(ours), bare))
                turned_away.append(ours.requests - _accepted(ours).requests)
                accepted.append(requests)
                drains.append(_wait_drained(db))
            for requests in accepted:
                load = dict(seconds=settings.seconds, connections=settings.connections)
                bare = wrk.run(ceiling.url + "/inbox", requests, expect=202, **load)
                ours = wrk.run(server.url + "/inbox", requests, expect=202, **load)
                dup.rounds.append(Pair(_accepted(ours), bare))
                _wait_drained(db)
            before = _count(db, "SELECT count(*) FROM inbox_items")
            for _ in range(settings.rounds):
                load = dict(seconds=settings.seconds, connections=settings.connections)
                bare = wrk.run(ceiling.url + "/inbox", forged_file, expect=401, **load)
                ours = wrk.run(server.url + "/inbox", forged_file, expect=401, **load)
                bad.rounds.append(Pair(ours, bare))
            written = _count(db, "SELECT count(*) FROM inbox_items") - before
            s1.extra["rss_mib"] = round(server.rss_kib / 1024, 1)
    finally:
        for path in files:
            path.unlink(missing_ok=True)
    s1.extra.update(
        not_202_per_round=turned_away,
        drain_seconds=[round(d, 2) for d in drains],
        statuses_stored=_count(db, "SELECT count(*) FROM statuses WHERE local = 0"),
        duplicates_in_rounds=wrapped,
    )
    bad.extra["rows_written_by_rejections"] = written
    ratio = s1.ratio().median
    p99 = [p.target.p99_ms <= 2 * p.ceiling.p99_ms for p in s1.rounds]
    s1.met = ratio >= 0.5 and sum(p99) * 2 > len(p99)
    dup.met = dup.ratio().median >= 0.7
    bad.met = bad.ratio().median >= 0.9 and written == 0
    return [s1, dup, bad]


async def _burst(url: str, requests: list[tuple[dict[str, str], bytes]]) -> list[float | None]:
    """POST everything at once, each on its own connection; latency per request (None when
    it failed or was refused)."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=BURST_TIMEOUT) as client:

        async def one(headers: dict[str, str], body: bytes) -> float | None:
            started = time.perf_counter()
            try:
                answer = await client.post("/inbox", headers=headers, content=body)
            except httpx.HTTPError:
                return None
            return time.perf_counter() - started if answer.status_code == 202 else None

        return await asyncio.gather(*(one(h, b) for h, b in requests))


def run_burst(settings: Settings) -> list[Result]:
    """S1c: 100 concurrent POSTs from one unknown actor whose document is served 50 ms
    slowly: exactly one key fetch, no request over 10 s."""
    folder = settings.work / "burst"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    asyncio.run(world.seed(folder, local_users=1, remote_actors=0))
    pair = generate_rsa_keypair()
    newcomer = world.remote_actor(9999, pair.public_pem, pair.private_pem)
    path = "/" + newcomer.uri.split("/", 3)[3]
    actors_file = folder / "peer-actors.json"
    actors_file.write_text(json.dumps({path: world.actor_document(newcomer)}))
    result = Result(
        "S1c", "100 concurrent POSTs from an unknown actor (document served in 50 ms)",
        "exactly one key fetch; no request over 10 s",
    )  # fmt: skip
    rounds = max(1, settings.rounds)
    fetches: list[int] = []
    peer_port, port = servers.free_port(), servers.free_port()
    env = {"BENCH_ACTORS": str(actors_file), "BENCH_DELAY_MS": "50"}
    config = world.write_config(folder, remote_port=peer_port)
    with (
        servers.ceiling("bench.peer_app:create_app", peer_port, folder / "peer.log", 1, env),
        servers.watercooler(config, port, folder / "server.log") as server,
    ):
        for n in range(rounds):
            if n:  # forget the actor again so the next burst meets a stranger
                _forget(folder / "db.sqlite3", newcomer.uri)
            before = _peer_fetches(peer_port, path)
            raws = []
            for i in range(BURST):
                body = signing.create_note(newcomer, f"burst-{n}-{i}-{time.time_ns()}", "hi")
                raws.append(signing.signed_headers(newcomer, body))
            started = time.perf_counter()
            latencies = asyncio.run(_burst(server.url, raws))
            elapsed = time.perf_counter() - started
            fetches.append(_peer_fetches(peer_port, path) - before)
            done = [value for value in latencies if value is not None]
            result.absolute.append(
                Measurement.of_latencies(done, elapsed, errors=len(latencies) - len(done))
            )
            _wait_drained(folder / "db.sqlite3")
    result.extra["key_fetches_per_burst"] = fetches
    slowest = max(m.max_ms for m in result.absolute)
    result.extra["slowest_ms"] = round(slowest, 1)
    result.met = (
        all(f == 1 for f in fetches)
        and slowest <= 10_000
        and not any(m.errors for m in result.absolute)
    )
    return [result]


def _peer_fetches(port: int, path: str) -> int:
    return int(httpx.get(f"http://127.0.0.1:{port}/stats", timeout=5).json().get(path, 0))


def _forget(db: Path, uri: str) -> None:
    """Drop a remote actor's key, as if we had never met it (the bench's own file)."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "DELETE FROM keys WHERE account_id IN (SELECT id FROM accounts WHERE uri = ?)", (uri,)
        )


def run_overload(settings: Settings) -> list[Result]:
    """S8: inbox traffic offered at twice the S1 ceiling (30 s; 10 s in --quick) over many
    connections: every request answered (2xx, or 429/503 with Retry-After) within 10 s, and
    the accepted backlog drained within twice the burst."""
    folder = settings.work / "overload"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    actors = asyncio.run(world.seed(folder, local_users=1, remote_actors=50))
    config = world.write_config(folder)
    db = folder / "db.sqlite3"
    env = {"BENCH_BASE_URL": world.BASE_URL, "BENCH_KEYS": str(world.keys_file(folder, actors))}
    burst = 10.0 if settings.quick else 30.0
    result = Result(
        "S8",
        "inbox at twice the S1 ceiling",
        "every request answered (2xx, or 429/503 with Retry-After) within 10 s; "
        "backlog drained within 2x the burst",
    )
    files: list[Path] = []
    port, ceiling_port = servers.free_port(), servers.free_port()
    try:
        probe = wrk.write_requests(signing.distinct_creates(actors, 3000))
        files.append(probe)
        with servers.ceiling(
            "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
        ) as ceiling:
            bare = wrk.run(ceiling.url + "/inbox", probe, seconds=3, connections=32, expect=202)
        offered = 2 * bare.rate
        requests = wrk.write_requests(
            signing.distinct_creates(actors, int(min(offered * burst * 1.1, 150_000)))
        )
        files.append(requests)
        with servers.watercooler(config, port, folder / "server.log") as server:
            load = wrk.run(
                server.url + "/inbox",
                requests,
                seconds=burst,
                connections=OVERLOAD_CONNECTIONS,
                expect=-2,
                pace_ms=OVERLOAD_CONNECTIONS * 1000 / offered,
                timeout_s=10.0,
            )
            drained = _wait_drained(db)
            accepted = _count(db, "SELECT count(*) FROM inbox_items")
    finally:
        for path in files:
            path.unlink(missing_ok=True)
    result.absolute.append(load)
    result.extra.update(
        offered_rate=round(offered, 1),
        s1_ceiling_rate=round(bare.rate, 1),
        accepted=accepted,
        refused_with_retry_after=load.refused,
        statuses=load.statuses,
        wrong_answers=load.unexpected,
        timeouts=load.timeouts,
        max_ms=round(load.max_ms, 1),
        drain_seconds=round(drained, 1),
    )
    result.met = (
        load.timeouts == 0
        and load.errors == 0
        and load.unexpected == 0
        and load.max_ms <= 10_000
        and drained <= 2 * burst
    )
    return [result]
