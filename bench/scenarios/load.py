"""L1: load held. For one minute, 2,000 distinct signed Create(Note)s arrive at the inbox
(sent once each, then again: the replay goes round, so duplicates arrive too) while 200
API readers page through the home and public timelines. Afterwards the inbox queue drains and:
every distinct activity became exactly one status, no answer was a 5xx, and the server's
memory comes back near where it started.

Both request streams are replayed by wrk (pinned to core 1, the server to core 0); RSS and
the inbox queue are sampled every second (steady.Sampler).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

from bench import servers, signing, world, wrk
from bench.scenarios import Result, Settings
from bench.scenarios.steady import Sampler, _drain_seconds, _token
from bench.stats import Measurement

ACTIVITIES = 2000
READERS = 200
INBOX_CONNECTIONS = 4
READER_PAUSE_MS = 1000.0
"""Each reader asks for a page, reads it for a second, asks again: ~200 pages a second."""
SETTLE_SECONDS = 10.0
"""After the queue drained, before the last memory reading."""
NEAR_START_MIB = 40.0
"""'Back near its start': at most this far above the idle RSS once drained and settled."""


def _remote_statuses(db: Path) -> tuple[int, int]:
    """(remote statuses, distinct remote status URIs): equal when nothing was stored twice."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT uri) FROM statuses WHERE local = 0"
        ).fetchone()
    return int(row[0]), int(row[1])


def _five_xx(measurement: Measurement) -> int:
    return sum(int(n) for status, n in measurement.statuses.items() if int(status) >= 500)


def run(settings: Settings) -> list[Result]:
    folder = settings.work / "load"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    actors = asyncio.run(world.seed(folder, local_users=1, remote_actors=50))
    db = folder / "db.sqlite3"
    token = asyncio.run(_token(db))
    config = world.write_config(folder)
    seconds = 60.0
    result = Result(
        "L1",
        f"{ACTIVITIES} inbound activities and {READERS} API readers for a minute",
        f"each activity stored once, no 5xx, RSS back within {NEAR_START_MIB:g} MiB of idle",
    )
    bearer = {"Authorization": f"Bearer {token}"}
    reads = [
        wrk.raw_request("GET", path, world.DOMAIN, bearer)
        for path in ("/api/v1/timelines/home?limit=20", "/api/v1/timelines/public?limit=20")
    ]
    inbox_file = wrk.write_requests(signing.distinct_creates(actors, ACTIVITIES))
    reads_file = wrk.write_requests(reads)
    rate = 1.2 * ACTIVITIES / seconds  # wrk's pause comes after each answer: aim above
    measured: dict[str, Measurement] = {}

    def drive(name: str, url: str, file: Path, connections: int, pause_ms: float) -> None:
        measured[name] = wrk.run(
            url,
            file,
            seconds=seconds,
            connections=connections,
            expect=-1,
            pace_ms=pause_ms,
            timeout_s=30.0,
        )

    before = _remote_statuses(db)
    port = servers.free_port()
    try:
        with servers.watercooler(config, port, folder / "server.log") as server:
            time.sleep(2.0)
            idle = server.rss_kib
            sampler = Sampler(server.process.pid, db)
            sampler.start()
            drivers = [
                threading.Thread(
                    target=drive,
                    args=(
                        "inbox",
                        server.url + "/",
                        inbox_file,
                        INBOX_CONNECTIONS,
                        INBOX_CONNECTIONS * 1000 / rate,
                    ),
                ),
                threading.Thread(
                    target=drive,
                    args=("readers", server.url + "/", reads_file, READERS, READER_PAUSE_MS),
                ),
            ]
            for driver in drivers:
                driver.start()
            for driver in drivers:
                driver.join(timeout=seconds + 120)
            drained_after = _drain_seconds(db, timeout=300.0)
            time.sleep(SETTLE_SECONDS)
            settled = server.rss_kib
            sampler.stop.set()
            sampler.join(timeout=5)
    finally:
        inbox_file.unlink(missing_ok=True)
        reads_file.unlink(missing_ok=True)
    inbox, readers = measured["inbox"], measured["readers"]
    result.absolute.extend([inbox, readers])
    after = _remote_statuses(db)
    stored, distinct = after[0] - before[0], after[1] - before[1]
    accepted = sum(int(n) for status, n in inbox.statuses.items() if 200 <= int(status) < 300)
    # The replay sends the file in order, then again from the start: the first ACTIVITIES
    # accepted answers are the distinct activities, later ones duplicates.
    expected = min(accepted, ACTIVITIES)
    peak = max(sampler.rss_kib, default=0)
    result.extra.update(
        inbox_sent=inbox.requests,
        inbox_accepted=accepted,
        distinct_expected=expected,
        duplicates_sent=max(accepted - ACTIVITIES, 0),
        statuses_stored=stored,
        statuses_distinct=distinct,
        inbox_5xx=_five_xx(inbox),
        reads=readers.requests,
        read_rate=round(readers.rate, 1),
        read_p50_ms=round(readers.p50_ms, 1),
        read_p99_ms=round(readers.p99_ms, 1),
        reads_5xx=_five_xx(readers),
        reads_errors=readers.errors,
        queue_max=max(sampler.pending, default=0),
        drained_after_seconds=round(drained_after, 1),
        rss_idle_mib=round(idle / 1024, 1),
        rss_peak_mib=round(peak / 1024, 1),
        rss_settled_mib=round(settled / 1024, 1),
    )
    result.met = (
        expected == ACTIVITIES
        and stored == distinct == expected
        and _five_xx(inbox) == 0
        and _five_xx(readers) == 0
        and inbox.errors == 0
        and readers.errors == 0
        and settled <= idle + NEAR_START_MIB * 1024
    )
    return [result]
