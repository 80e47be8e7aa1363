"""S1 and S1b: signed inbox ingest against the bare verifying endpoint.

S1: distinct signed Create(Note)s from 50 known actors -> verified, de-duplicated, durable,
202. S1b: the same requests again (duplicates) and forged signatures (rejections), which
must write nothing. The instance's inbox worker runs too; each round waits for it to drain
so that the next round (of either server) starts on an idle core.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from pathlib import Path

from bench import servers, signing, world, wrk
from bench.scenarios import Pair, Result, Settings

DRAIN_TIMEOUT = 300.0


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
            for _ in range(settings.rounds):
                requests = wrk.write_requests(signing.distinct_creates(actors, per_round))
                files.append(requests)
                load = dict(seconds=settings.seconds, connections=settings.connections)
                bare = wrk.run(ceiling.url + "/inbox", requests, expect=202, **load)
                ours = wrk.run(server.url + "/inbox", requests, expect=202, **load)
                wrapped |= ours.requests > per_round
                s1.rounds.append(Pair(ours, bare))
                accepted.append(requests)
                drains.append(_wait_drained(db))
            for requests in accepted:
                load = dict(seconds=settings.seconds, connections=settings.connections)
                bare = wrk.run(ceiling.url + "/inbox", requests, expect=202, **load)
                ours = wrk.run(server.url + "/inbox", requests, expect=202, **load)
                dup.rounds.append(Pair(ours, bare))
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
