"""S3: `GET /api/v1/timelines/home?limit=20` on the large dataset (bench/dataset.py), for each
follow group (typical, uniform, rarely, never) and for deep `max_id` pages, against the bare
page ceiling (`GET /page` serialising a real 20-status page of this instance with orjson).

Load: wrk replaying pre-built GETs with each group's bearer tokens, `settings.connections`
connections; `watercooler serve` (workers off) pinned to core 0, wrk to core 1. Each round
measures the ceiling once, then every request set, so each set's ratio is against the
ceiling of its own round; after each set the server is let finish what wrk left in flight.

The database part runs without a server, on a plain sqlite3 connection:
- S3-db: the product's home-timeline SQL (captured from store.api_timelines.home, not
  copied) for random users of each group and random pages (half first pages, half at any
  depth), against the bare materialised read (store.timelines.home_ids) as its ceiling;
  goal p99 <= 5 ms per group and no full scan in the plan.
- S3-db-page: every statement of a whole request (the real API handler run over a recording
  connection: token, ids, filters, statuses, entities), per group, with the statements that
  cost most: how much of a request is database, and where.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from bench import servers, world, wrk
from bench.ceilings import sqlite_queries as sq
from bench.dataset import GROUPS, Dataset, depth_id, ensure
from bench.scenarios import Pair, Result, Settings
from bench.stats import Measurement, Spread, percentile
from federation.uris import Uris
from store import api_timelines, timelines
from store.api_timelines import Page
from store.db import db_time
from watercooler.api.timelines import home as api_home
from watercooler.config import load_config

HOME = "/api/v1/timelines/home"
DB_GOAL_MS = 5.0
RATIO_GOAL = 0.4
DEEP = (0.0, 0.1)  # deep pages: max_id in the oldest tenth of the dataset


def dataset_for(settings: Settings) -> Dataset:
    return ensure(settings.dataset, settings.work)


def seconds_for(settings: Settings) -> float:
    """Per measurement: quick runs measure many request sets, so rounds are kept short."""
    return min(settings.seconds, 2.0) if settings.quick else settings.seconds


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads


def _working_threads(pid: int) -> int:
    """Threads running or waiting on the disk (a cold page cache shows as little CPU)."""
    count = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        count += state in ("R", "D")
    return count


def wait_idle(server: servers.Server, *, timeout_s: float = 300.0) -> float:
    """Seconds until the server is idle: when wrk stops, requests it sent are still being
    answered, and they would slow the next measurement down."""
    started = time.monotonic()
    budget = 0.05 * 0.2 * os.sysconf("SC_CLK_TCK")  # 5% of a core over a 0.2 s tick
    last, quiet = _cpu_ticks(server.process.pid), 0
    while quiet < 3 and time.monotonic() - started < timeout_s:
        time.sleep(0.2)
        now = _cpu_ticks(server.process.pid)
        idle = now - last <= budget and _working_threads(server.process.pid) == 0
        quiet = quiet + 1 if idle else 0
        last = now
    return time.monotonic() - started


def get(target: str, token: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return wrk.raw_request("GET", target, world.DOMAIN, headers)


def _typical_token(dataset: Dataset) -> str:
    return str(dataset.users("typical")[0]["token"])


@contextmanager
def serving(dataset: Dataset, folder: Path) -> Iterator[tuple[servers.Server, servers.Server]]:
    """The instance on the dataset, and the page ceiling serving a real 20-status home page
    of a typical user, dumped from the instance first."""
    port, ceiling_port = servers.free_port(), servers.free_port()
    with servers.watercooler(dataset.config, port, folder / "server.log") as server:
        answer = httpx.get(
            f"{server.url}{HOME}?limit=20",
            headers={"Authorization": f"Bearer {_typical_token(dataset)}"},
            timeout=60,
        )
        answer.raise_for_status()
        page = folder / "page.json"
        page.write_bytes(answer.content)
        env = {"BENCH_PAGE": str(page)}
        with servers.ceiling(
            "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
        ) as ceiling:
            yield server, ceiling


def _request_sets(dataset: Dataset, rng: random.Random) -> dict[str, list[bytes]]:
    """Raw GETs per request set: first pages of each group's users, and deep pages."""
    sets = {
        group: [get(f"{HOME}?limit=20", user["token"]) for user in dataset.users(group)]
        for group in GROUPS
    }
    deep = []
    for user in [*dataset.users("typical"), *dataset.users("uniform")]:
        for _ in range(10):
            max_id = depth_id(dataset.meta, rng.uniform(*DEEP))
            deep.append(get(f"{HOME}?limit=20&max_id={max_id}", user["token"]))
    rng.shuffle(deep)
    sets["deep"] = deep
    return sets


def _parse(request: bytes) -> tuple[str, dict[str, str]]:
    head = request.split(b"\r\n\r\n")[0].decode().split("\r\n")
    return head[0].split(" ")[1], dict(line.split(": ", 1) for line in head[1:])


def alone(
    server: servers.Server, requests: list[bytes], *, count: int, budget_s: float
) -> dict[str, Any]:
    """Latency of requests sent one at a time (no queue): what one reader waits, even where
    the loaded rate is too low to show it. Also the statuses in the first answer."""
    times: list[float] = []
    first = -1
    started = time.monotonic()
    with httpx.Client(timeout=300) as client:
        for request in requests[:count]:
            target, headers = _parse(request)
            before = time.perf_counter()
            answer = client.get(server.url + target, headers=headers)
            times.append((time.perf_counter() - before) * 1000)
            answer.raise_for_status()
            if first < 0:
                body = answer.json()
                first = len(body["statuses"] if isinstance(body, dict) else body)
            if time.monotonic() - started > budget_s:
                break
    return {
        "alone_requests": len(times),
        "alone_p50_ms": round(percentile(times, 0.5), 1),
        "alone_max_ms": round(max(times), 1),
        "statuses_in_first_answer": first,
    }


def _http(settings: Settings, dataset: Dataset, folder: Path) -> list[Result]:
    rng = random.Random(3)
    sets = _request_sets(dataset, rng)
    files = {name: wrk.write_requests(requests) for name, requests in sets.items()}
    token = _typical_token(dataset)
    files["ceiling"] = wrk.write_requests([get("/page", token)])
    results = {
        name: Result(
            f"S3-{name}",
            f"home timeline, {name} {'pages' if name == 'deep' else 'group'}"
            f" ({dataset.meta['counts']['statuses']:,} statuses)",
            ">= 40% of the bare page",
        )
        for name in sets
    }
    load = {"seconds": seconds_for(settings), "connections": settings.connections}
    settle: dict[str, float] = {}
    try:
        with serving(dataset, folder) as (server, ceiling):
            count, budget = (5, 20.0) if settings.quick else (10, 60.0)
            single = {
                name: alone(server, requests, count=count, budget_s=budget)
                for name, requests in sets.items()
            }
            wait_idle(server)
            for _ in range(settings.rounds):
                bare = wrk.run(ceiling.url + "/page", files["ceiling"], expect=200, **load)
                for name in sets:
                    ours = wrk.run(server.url + HOME, files[name], expect=200, **load)
                    results[name].rounds.append(Pair(ours, bare))
                    settle[name] = max(settle.get(name, 0.0), wait_idle(server))
            rss = round(server.rss_kib / 1024, 1)
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)
    for name, result in results.items():
        members = dataset.users(name) if name in GROUPS else []
        result.extra.update(
            single[name],
            requests_in_set=len(sets[name]),
            rss_mib=rss,
            settle_seconds_max=round(settle.get(name, 0.0), 1),
        )
        if members:
            result.extra["home_rows"] = [user["home_rows"] for user in members]
            result.extra["follows"] = members[0]["follows"]
        result.met = result.ratio().median >= RATIO_GOAL
    return list(results.values())


# ----- the database part ---------------------------------------------------------------------


def _pages(dataset: Dataset, group: str, count: int, rng: random.Random) -> list[tuple[int, Page]]:
    """(account id, page): half first pages, half pages at a random depth."""
    users = dataset.users(group)
    chosen = []
    for index in range(count):
        user = users[rng.randrange(len(users))]
        max_id = None if index % 2 == 0 else depth_id(dataset.meta, rng.random())
        chosen.append((int(user["account_id"]), Page(max_id=max_id, limit=20)))
    return chosen


def _product_call(account_id: int, page: Page, now: str) -> sq.Call:
    return sq.capture(api_timelines.home, account_id, page, now=now)[0]


def _bare_call(account_id: int, page: Page) -> sq.Call:
    return sq.capture(timelines.home_ids, account_id, max_id=page.max_id, limit=page.limit)[0]


class _Reads:
    """The `db` of a stand-in Services: every read goes to one (recording) connection."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        yield self.conn


def run_handler(
    handler: Callable[[Request], Awaitable[Response]],
    conn: Any,
    dataset: Dataset,
    target: str,
    token: str,
    now: datetime,
) -> Response:
    """Run an API handler for `GET target` with every read on `conn` and no server: the
    statements of a real request, in the order the product runs them."""
    path, _, query = target.partition("?")
    svc = SimpleNamespace(
        db=_Reads(conn),
        clock=lambda: now,
        uris=Uris(world.BASE_URL),
        config=load_config(dataset.config),
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [
            (b"host", world.DOMAIN.encode()),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "scheme": "http",
        "server": (world.DOMAIN, 80),
        "app": SimpleNamespace(state=SimpleNamespace(services=svc)),
    }
    return asyncio.run(handler(Request(scope)))


def _short(sql: str) -> str:
    return " ".join(sql.split())[:90]


def database_part(settings: Settings, dataset: Dataset) -> list[Result]:
    """S3-db (the home timeline query) and S3-db-page (every statement of a page)."""
    query = Result(
        "S3-db",
        "home timeline SQL in plain sqlite3 (ceiling: the bare materialised read)",
        f"p99 <= {DB_GOAL_MS:g} ms for every group; no full scans",
    )
    whole = Result(
        "S3-db-page",
        "all statements of a home page in plain sqlite3 (ceiling: the bare materialised read)",
        f"p99 <= {DB_GOAL_MS:g} ms for every group",
    )
    rng = random.Random(11)
    now = datetime.now(UTC)
    per_group = 300 if settings.quick else 1000
    budget = 1.0 if settings.quick else 3.0
    conn = sq.connect(dataset.db)
    try:
        warm = _pages(dataset, "typical", 50, rng)
        sq.time_calls(conn, [_product_call(a, p, db_time(now)) for a, p in warm], budget_s=5)
        p99s: dict[str, list[float]] = {group: [] for group in GROUPS}
        p50s: dict[str, list[float]] = {group: [] for group in GROUPS}
        cpu_p99s: dict[str, list[float]] = {group: [] for group in GROUPS}
        counts: dict[str, int] = dict.fromkeys(GROUPS, 0)
        for _ in range(settings.rounds):
            ours: list[float] = []
            bare: list[float] = []
            ours_s = bare_s = 0.0
            for group in GROUPS:
                pages = _pages(dataset, group, per_group, rng)
                product = [_product_call(a, p, db_time(now)) for a, p in pages]
                ceiling = [_bare_call(a, p) for a, p in pages]
                times, seconds = sq.time_calls(conn, ceiling, budget_s=budget)
                bare += times
                bare_s += seconds
                cpu: list[float] = []
                times, seconds = sq.time_calls(conn, product, budget_s=budget, cpu=cpu)
                ours += times
                ours_s += seconds
                ms = [value * 1000 for value in times]
                p50s[group].append(percentile(ms, 0.5))
                p99s[group].append(percentile(ms, 0.99))
                cpu_p99s[group].append(percentile([value * 1000 for value in cpu], 0.99))
                counts[group] += len(ms)
            query.rounds.append(
                Pair(Measurement.of_latencies(ours, ours_s), Measurement.of_latencies(bare, bare_s))
            )
        user = dataset.users("typical")[0]["account_id"]
        deep = Page(max_id=depth_id(dataset.meta, 0.05), limit=20)
        plans = {
            "first_page": sq.plan(conn, *_product_call(user, Page(limit=20), db_time(now))),
            "deep_page": sq.plan(conn, *_product_call(user, deep, db_time(now))),
        }
        scans = sorted({line for lines in plans.values() for line in sq.full_scans(lines)})
        groups: dict[str, Any] = {
            group: {
                "queries": counts[group],
                "p50_ms": round(Spread.of(p50s[group]).median, 3),
                "p99_ms": round(Spread.of(p99s[group]).median, 3),
                "p99_ms_rounds": [round(value, 3) for value in p99s[group]],
                "cpu_p99_ms": round(Spread.of(cpu_p99s[group]).median, 3),
            }
            for group in GROUPS
        }
        _page_path(whole, dataset, conn, now, rng, budget_s=3.0 if settings.quick else 15.0)
    finally:
        conn.close()
    query.extra.update(
        groups=groups,
        plan=plans,
        full_scans=scans,
        analyzed=False,
        note="p99_ms: median of the per-round p99s (wall clock); cpu_p99_ms: the same in"
        " thread CPU time, which a preemption by another process does not inflate",
    )
    query.met = not scans and all(g["p99_ms"] <= DB_GOAL_MS for g in groups.values())
    return [query, whole]


def _page_path(
    result: Result,
    dataset: Dataset,
    conn: Any,
    now: datetime,
    rng: random.Random,
    *,
    budget_s: float,
    per_group: int = 30,
) -> None:
    """Database time and statement count of whole home pages (every statement the API runs
    for one), for up to `per_group` pages per group or `budget_s` seconds per group."""
    recorder = sq.RecordingConnection(conn)
    tokens = {
        int(user["account_id"]): str(user["token"])
        for group in GROUPS
        for user in dataset.users(group)
    }
    groups: dict[str, Any] = {}
    cost: Counter[str] = Counter()
    pages_s: list[float] = []
    bare_s: list[float] = []
    for group in GROUPS:
        totals, counts = [], []
        started = time.monotonic()
        for account_id, page in _pages(dataset, group, per_group, rng):
            if len(totals) >= 3 and time.monotonic() - started > budget_s:
                break
            recorder.reset()
            target = f"{HOME}?limit=20" + (f"&max_id={page.max_id}" if page.max_id else "")
            answer = run_handler(api_home, recorder, dataset, target, tokens[account_id], now)
            if answer.status_code != 200:
                raise RuntimeError(f"{target}: {answer.status_code} {answer.body[:200]!r}")
            pages_s.append(sum(recorder.seconds))
            bare_s += sq.time_calls(conn, [_bare_call(account_id, page)], budget_s=0)[0]
            totals.append(sum(recorder.seconds) * 1000)
            counts.append(len(recorder.calls))
            for (sql, _), seconds in zip(recorder.calls, recorder.seconds, strict=True):
                cost[_short(sql)] += seconds
        groups[group] = {
            "pages": len(totals),
            "p50_ms": round(percentile(totals, 0.5), 2),
            "p99_ms": round(percentile(totals, 0.99), 2),
            "statements_p50": percentile(counts, 0.5),
        }
    total = sum(cost.values()) or 1.0
    result.rounds.append(
        Pair(
            Measurement.of_latencies(pages_s, sum(pages_s)),
            Measurement.of_latencies(bare_s, sum(bare_s)),
        )
    )
    result.extra.update(
        groups=groups,
        top_statements=[
            {"sql": sql, "share": round(seconds / total, 3)} for sql, seconds in cost.most_common(5)
        ],
    )
    result.met = all(g["p99_ms"] <= DB_GOAL_MS for g in groups.values())


def run(settings: Settings) -> list[Result]:
    dataset = dataset_for(settings)
    folder = settings.work / "timelines"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    results = database_part(settings, dataset)
    results[:0] = _http(settings, dataset, folder)
    for result in results:
        result.extra["dataset"] = {
            "scale": dataset.meta["scale"]["name"],
            "statuses": dataset.meta["counts"]["statuses"],
            "accounts": dataset.meta["counts"]["accounts"],
            "home_rows": dataset.meta["counts"]["home_rows"],
        }
    return results
