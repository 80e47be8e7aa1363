"""S7: a mixed steady state — 70% reads, 20% signed inbox POSTs, 5% searches, 5% posts —
paced at half the S1 ceiling for 10 minutes (1 in --quick): the inbox queue must not grow,
and the server's memory stays small (RSS idle <= 105 MiB, <= 250 MiB under load).

The requests are one shuffled file replayed by wrk with a per-connection pause; RSS and the
queue depth are sampled every second from /proc and a read-only SQLite connection.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bench import servers, signing, world, wrk
from bench.scenarios import Result, Settings
from bench.stats import percentile
from store.db import Database
from watercooler.accounts import create_token

CONNECTIONS = 16
MIX = {"read": 70, "inbox": 20, "search": 5, "post": 5}


async def _token(db_path: Path) -> str:
    db = Database(str(db_path))
    await db.open()
    try:
        return await create_token(db, "user0", ("read", "write"), datetime.now(UTC))
    finally:
        await db.close()


def _mixed_requests(actors: list[world.RemoteActor], token: str, count: int) -> list[bytes]:
    bearer = {"Authorization": f"Bearer {token}"}
    host = world.DOMAIN
    inbox = signing.distinct_creates(actors, count * MIX["inbox"] // 100)
    out: list[bytes] = list(inbox)
    for n in range(count * MIX["read"] // 100):
        path = "/api/v1/timelines/home?limit=20" if n % 2 else "/api/v1/timelines/public?limit=20"
        out.append(wrk.raw_request("GET", path, host, bearer))
    for n in range(count * MIX["search"] // 100):
        query = urlencode({"q": ("numbers", "team", "quarterly")[n % 3], "type": "statuses"})
        out.append(wrk.raw_request("GET", f"/api/v2/search?{query}", host, bearer))
    for n in range(count * MIX["post"] // 100):
        body = urlencode({"status": f"Steady state update {n} #bench"}).encode()
        headers = {**bearer, "Content-Type": "application/x-www-form-urlencoded"}
        out.append(wrk.raw_request("POST", "/api/v1/statuses", host, headers, body))
    random.Random(7).shuffle(out)
    return out


class Sampler(threading.Thread):
    """Every second: the server's RSS and the inbox queue's pending count."""

    def __init__(self, pid: int, db: Path) -> None:
        super().__init__(daemon=True)
        self.pid, self.db = pid, db
        self.rss_kib: list[int] = []
        self.pending: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5) as conn:
            while not self.stop.wait(1.0):
                self.rss_kib.append(servers.rss_kib(self.pid))
                row = conn.execute("SELECT count(*) FROM inbox_items WHERE state = 'pending'")
                self.pending.append(int(row.fetchone()[0]))


def run(settings: Settings) -> list[Result]:
    folder = settings.work / "steady"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    actors = asyncio.run(world.seed(folder, local_users=1, remote_actors=50))
    db = folder / "db.sqlite3"
    token = asyncio.run(_token(db))
    config = world.write_config(folder)
    env = {"BENCH_BASE_URL": world.BASE_URL, "BENCH_KEYS": str(world.keys_file(folder, actors))}
    duration = 60.0 if settings.quick else 600.0
    result = Result(
        "S7",
        "mixed steady state at half the S1 ceiling",
        "no queue growth; RSS idle <= 105 MiB and <= 250 MiB under load",
    )
    files: list[Path] = []
    port, ceiling_port = servers.free_port(), servers.free_port()
    try:
        inbox_probe = wrk.write_requests(signing.distinct_creates(actors, 3000))
        files.append(inbox_probe)
        with servers.ceiling(
            "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
        ) as ceiling:
            bare = wrk.run(
                ceiling.url + "/inbox", inbox_probe, seconds=3, connections=32, expect=202
            )
        rate = bare.rate / 2
        count = int(min(rate * duration, 400_000 if not settings.quick else 60_000))
        mixed = wrk.write_requests(_mixed_requests(actors, token, max(count // 4, 2000)))
        files.append(mixed)
        with servers.watercooler(config, port, folder / "server.log") as server:
            time.sleep(2.0)
            idle = server.rss_kib
            sampler = Sampler(server.process.pid, db)
            sampler.start()
            load = wrk.run(
                server.url + "/",
                mixed,
                seconds=duration,
                connections=CONNECTIONS,
                expect=-1,
                pace_ms=CONNECTIONS * 1000 / rate,
            )
            sampler.stop.set()
            sampler.join(timeout=5)
            drained_after = _drain_seconds(db)
    finally:
        for path in files:
            path.unlink(missing_ok=True)
    result.absolute.append(load)
    half = len(sampler.pending) // 2
    first, second = sampler.pending[:half] or [0], sampler.pending[half:] or [0]
    peak = max(sampler.rss_kib, default=0)
    result.extra.update(
        target_rate=round(rate, 1),
        achieved_rate=round(load.rate, 1),
        s1_ceiling_rate=round(bare.rate, 1),
        rss_idle_mib=round(idle / 1024, 1),
        rss_peak_mib=round(peak / 1024, 1),
        queue_p50_first_half=percentile(first, 0.5),
        queue_p50_second_half=percentile(second, 0.5),
        queue_max=max(sampler.pending, default=0),
        drained_after_seconds=round(drained_after, 1),
        non_2xx=load.unexpected,
    )
    growing = percentile(second, 0.5) > max(10.0, 2 * percentile(first, 0.5))
    result.met = (
        not growing
        and idle <= 105 * 1024
        and peak <= 250 * 1024
        and load.unexpected == 0
        and load.rate >= 0.9 * rate
    )
    return [result]


def _drain_seconds(db: Path, timeout: float = 120.0) -> float:
    started = time.monotonic()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        while time.monotonic() - started < timeout:
            row = conn.execute("SELECT count(*) FROM inbox_items WHERE state = 'pending'")
            if int(row.fetchone()[0]) == 0:
                break
            time.sleep(0.2)
    return time.monotonic() - started
