"""S6 (posting by an author with many followers) and E2E (post -> a follower's home timeline
on another instance).

S6: `user0` has 1,000 local followers and remote followers on 1,000 sink domains (200 in
--quick). A Python load loop on core 1 sends `POST /api/v1/statuses` (a distinct text and
Idempotency-Key each) at a modest fixed rate; per post it records the request's latency and
the time until the status is in all local home timelines (polled read-only every 5 ms: the
followers' and the author's `home_timeline` rows). The delivery worker runs meanwhile, as it
would; after each round the delivery queue is drained so the next round starts idle. Ceiling:
the bare GET of the same JSON the POST answers (bench/ceilings/app.py `GET /doc`) under the
same schedule — the nearest bare app; the goal itself is absolute (p99 < 30 ms, visible
within 1 s). Rates here are 1 / mean latency, so the ratio is the ceiling's mean latency over
ours.

E2E: instance A (bench.test, core 0) and instance B (b.bench, core 1: both cannot have a core
of their own on two cores), each the other's peer through `[federation.resolve]`; B's user0
follows A's user0. Posts on A one after another; for each, the time from the POST until it is
in B's user0 home timeline (B's database polled read-only every 2 ms). Ceiling: the bare
sign-and-POST loop (core 0) sending the same activity, one at a time, to the bare verifying
endpoint (core 1, where B runs): one signed hop and its verification, nothing stored.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import servers, sinks, world
from bench.ceilings import sign_post
from bench.scenarios import Pair, Result, Settings
from bench.scenarios.delivery import (
    FanoutWorld,
    delivery_body,
    on_core,
    read_only,
    seed_fanout,
)
from bench.stats import Measurement, percentile
from store import accounts, follows, keys
from store.accounts import NewAccount
from store.db import Database

DRAIN_TIMEOUT = 600.0
VISIBLE_TIMEOUT = 5.0
E2E_TIMEOUT = 10.0
B_DOMAIN = "b.bench"
TEXT = "Release notes for the quarter: what shipped, what slipped, and what comes next. "


def latency_measurement(latencies_ms: list[float], errors: int = 0) -> Measurement:
    """Rate = 1 / mean latency (requests one connection could do back to back): the loads
    here are paced, so completed/elapsed would only repeat the pace."""
    return Measurement(
        requests=len(latencies_ms),
        seconds=sum(latencies_ms) / 1000,
        errors=errors,
        p50_ms=percentile(latencies_ms, 0.5),
        p90_ms=percentile(latencies_ms, 0.9),
        p99_ms=percentile(latencies_ms, 0.99),
        max_ms=max(latencies_ms, default=0.0),
    )


def _wait_drained(db: Path, timeout: float = DRAIN_TIMEOUT) -> float:
    """Seconds until the delivery queue has nothing pending (bounded)."""
    started = time.monotonic()
    with read_only(db) as conn:
        while time.monotonic() - started < timeout:
            (active,) = conn.execute(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'retrying')"
            ).fetchone()
            if active == 0:
                return time.monotonic() - started
            time.sleep(0.1)
    raise RuntimeError("the delivery queue did not drain")


def bare_write_ms(
    db: Path, readers: Sequence[int], inboxes: Sequence[str], body: str, repeats: int = 9
) -> float:
    """Median ms of the irreducible write of one such post in plain sqlite3 (WAL,
    synchronous=FULL, one transaction): its home_timeline rows, the body once and one
    deliveries row per inbox, as the schema has them. On a scratch copy of the database."""
    scratch = db.with_name("bare-write.sqlite3")
    shutil.copy(db, scratch)
    times = []
    try:
        with sqlite3.connect(scratch, isolation_level=None) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            for n in range(repeats):
                status_id = 2**62 + n * 1_000_000
                activity = f"http://{world.DOMAIN}/users/user0/statuses/{status_id}/activity"
                stamp = "2026-01-01T00:00:00.000Z"
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT INTO home_timeline (account_id, status_id) VALUES (?, ?)",
                    [(reader, status_id) for reader in readers],
                )
                conn.execute("INSERT INTO delivery_bodies VALUES (?, ?)", (activity, body))
                conn.executemany(
                    "INSERT INTO deliveries (id, activity_uri, actor_account_id, inbox_url, host,"
                    " state, attempts, next_attempt_at, created_at, updated_at)"
                    " VALUES (?, ?, 1, ?, ?, 'pending', 0, ?, ?, ?)",
                    [
                        (status_id + i + 1, activity, inbox, inbox.split("/")[2]) + (stamp,) * 3
                        for i, inbox in enumerate(inboxes)
                    ],
                )
                conn.execute("COMMIT")
                times.append((time.perf_counter() - started) * 1000)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return sorted(times)[len(times) // 2]


@dataclass
class Paced:
    latencies_ms: list[float] = field(default_factory=list)
    visible_ms: list[float] = field(default_factory=list)
    errors: int = 0
    not_visible: int = 0


async def _paced_posts(
    url: str, fw: FanoutWorld, *, count: int, rate: float, readers: tuple[int, ...]
) -> Paced:
    """`count` POSTs at `rate`/s (open loop); each waits for its status in every reader's
    home timeline."""
    out = Paced()
    marks = ",".join("?" * len(readers))
    query = f"SELECT count(*) FROM home_timeline WHERE status_id = ? AND account_id IN ({marks})"
    headers = {"Host": world.DOMAIN, "Authorization": f"Bearer {fw.token}"}

    async def one(client: httpx.AsyncClient, conn: sqlite3.Connection, n: int) -> None:
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{url}/api/v1/statuses",
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                data={"status": f"{n} {uuid.uuid4().hex} {TEXT * 5}"},
            )
            response.raise_for_status()
        except httpx.HTTPError:
            out.errors += 1
            return
        out.latencies_ms.append((time.perf_counter() - started) * 1000)
        status_id = int(response.json()["id"])
        while time.perf_counter() - started < VISIBLE_TIMEOUT:
            (seen,) = conn.execute(query, (status_id, *readers)).fetchone()
            if seen >= len(readers):
                out.visible_ms.append((time.perf_counter() - started) * 1000)
                return
            await asyncio.sleep(0.005)
        out.not_visible += 1

    with read_only(fw.db) as conn:
        async with httpx.AsyncClient(timeout=30.0) as client:
            begin = time.perf_counter()
            tasks = []
            for n in range(count):
                await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(client, conn, n)))
            await asyncio.gather(*tasks)
    return out


async def _paced_gets(url: str, *, count: int, rate: float) -> Paced:
    out = Paced()
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def one() -> None:
            started = time.perf_counter()
            try:
                (await client.get(url)).raise_for_status()
            except httpx.HTTPError:
                out.errors += 1
                return
            out.latencies_ms.append((time.perf_counter() - started) * 1000)

        begin = time.perf_counter()
        tasks = []
        for n in range(count):
            await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return out


def run_posting(settings: Settings) -> list[Result]:
    remote = 200 if settings.quick else 1000
    local = 1000
    per_round = 8 if settings.quick else 20
    rate = 2.0
    result = Result(
        "S6",
        f"POST /api/v1/statuses, author with {local} local followers and {remote} remote inboxes",
        "request p99 < 30 ms; visible in all local home timelines within 1 s",
    )
    folder = settings.work / "posting"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    domains = sinks.domains(remote)
    fw = asyncio.run(seed_fanout(folder, domains, local_followers=local))
    readers = (fw.author_id, *fw.local_follower_ids)
    all_latencies: list[float] = []
    all_visible: list[float] = []
    not_visible = 0
    drains: list[float] = []
    with on_core(1), sinks.running(servers.free_port(), folder / "sink.log") as sink:
        config = world.write_config(folder, peers={d: sink.address for d in domains})
        port, ceiling_port = servers.free_port(), servers.free_port()
        with servers.watercooler(config, port, folder / "server.log") as server:
            warm = asyncio.run(_paced_posts(server.url, fw, count=2, rate=rate, readers=readers))
            if warm.errors or warm.not_visible:
                raise RuntimeError("the warm-up posts failed")
            entity = httpx.get(
                f"{server.url}/api/v1/timelines/home?limit=1",
                headers={"Host": world.DOMAIN, "Authorization": f"Bearer {fw.token}"},
            )
            entity.raise_for_status()
            (folder / "doc.json").write_text(json.dumps(entity.json()[0]))  # the one status
            _wait_drained(fw.db)
            env = {"BENCH_DOC": str(folder / "doc.json")}
            with servers.ceiling(
                "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", env=env
            ) as ceiling:
                for _ in range(settings.rounds):
                    bare = asyncio.run(
                        _paced_gets(ceiling.url + "/doc", count=per_round, rate=rate)
                    )
                    ours = asyncio.run(
                        _paced_posts(server.url, fw, count=per_round, rate=rate, readers=readers)
                    )
                    result.rounds.append(
                        Pair(
                            latency_measurement(ours.latencies_ms, ours.errors),
                            latency_measurement(bare.latencies_ms, bare.errors),
                        )
                    )
                    all_latencies += ours.latencies_ms
                    all_visible += ours.visible_ms
                    not_visible += ours.not_visible
                    drains.append(round(_wait_drained(fw.db), 1))
            result.extra["rss_mib"] = round(server.rss_kib / 1024, 1)
            with read_only(fw.db) as conn:
                (body,) = conn.execute("SELECT body FROM delivery_bodies LIMIT 1").fetchone()
        sent = sink.stats()["total"]
    with on_core(0):  # where the instance ran (it has stopped)
        bare_write = bare_write_ms(fw.db, readers, fw.inboxes(), body)
    p99 = percentile(all_latencies, 0.99)
    visible_max = max(all_visible, default=0.0)
    result.extra.update(
        posts=len(all_latencies),
        rate_per_s=rate,
        readers_per_post=len(readers),
        remote_inboxes=remote,
        request_p99_ms_all_rounds=round(p99, 2),
        request_max_ms=round(max(all_latencies, default=0.0), 2),
        visible_p50_ms=round(percentile(all_visible, 0.5), 2),
        visible_p99_ms=round(percentile(all_visible, 0.99), 2),
        visible_max_ms=round(visible_max, 2),
        not_visible_within_5s=not_visible,
        delivery_drain_seconds=drains,
        sink_requests=sent,
        bare_sqlite_write_ms=round(bare_write, 2),
        bare_sqlite_write=(
            "median ms of one post's home_timeline and deliveries rows written by plain"
            " sqlite3 (WAL, synchronous=FULL) in one transaction, on core 0"
        ),
        ceiling="bench/ceilings/app.py GET /doc serving the status JSON the POST answers",
        rate_meaning="figure/s and ceiling/s are 1 / mean latency (paced load)",
    )
    errors = sum(p.target.errors for p in result.rounds)
    result.met = p99 < 30.0 and visible_max < 1000.0 and not_visible == 0 and errors == 0
    return [result]


async def _link(a: FanoutWorld, b_folder: Path) -> tuple[int, str, str]:
    """B's user0 follows A's user0, on both sides; returns (B user0's account id on B, A's
    public key PEM, B's domain)."""
    now = datetime.now(UTC)
    a_db, b_db = Database(str(a.db)), Database(str(b_folder / "db.sqlite3"))
    await a_db.open()
    await b_db.open()
    try:
        async with a_db.read() as conn:
            author = await accounts.get_by_id(conn, a.author_id)
            a_key = await keys.get_for_account(conn, a.author_id)
        async with b_db.read() as conn:
            reader = await accounts.get_local(conn, "user0")
            assert reader is not None
            b_key = await keys.get_for_account(conn, reader.id)
        assert author is not None and a_key is not None and b_key is not None
        for db, person, key, follower_local in (
            (a_db, reader, b_key, False),
            (b_db, author, a_key, True),
        ):
            async with db.transaction() as conn:
                base = person.uri.split("/users/")[0]
                domain = base.split("//", 1)[1]
                stored = await accounts.insert_account(
                    conn,
                    db.new_id(),
                    NewAccount(
                        username=person.username,
                        domain=domain,
                        uri=person.uri,
                        url=person.url,
                        inbox_url=person.inbox_url,
                        shared_inbox_url=f"{base}/inbox",
                        followers_url=person.followers_url,
                    ),
                    now,
                )
                await keys.replace_remote_key(
                    conn,
                    db.new_id(),
                    account_id=stored.id,
                    key_uri=key.key_uri,
                    public_key_pem=key.public_key_pem,
                    now=now,
                )
                local = await accounts.get_local(conn, "user0")
                assert local is not None
                follower, target = (local, stored) if follower_local else (stored, local)
                await follows.upsert(
                    conn,
                    db.new_id(),
                    account_id=follower.id,
                    target_account_id=target.id,
                    uri=f"http://{B_DOMAIN}/users/user0#follows/1",
                    state="accepted",
                    now=now,
                )
        return reader.id, a_key.public_key_pem, B_DOMAIN
    finally:
        await a_db.close()
        await b_db.close()


def _e2e_posts(url: str, a: FanoutWorld, b_db: Path, reader_id: int, count: int) -> Paced:
    """Posts on A one after another; each waits until it is in the reader's home on B."""
    out = Paced()
    query = (
        "SELECT count(*) FROM statuses s JOIN home_timeline h ON h.status_id = s.id"
        " WHERE s.uri = ? AND h.account_id = ?"
    )
    headers = {"Host": world.DOMAIN, "Authorization": f"Bearer {a.token}"}
    with httpx.Client(timeout=30.0) as client, read_only(b_db) as conn:
        for n in range(count):
            started = time.perf_counter()
            try:
                response = client.post(
                    f"{url}/api/v1/statuses",
                    headers=headers,
                    data={"status": f"{n} {uuid.uuid4().hex} {TEXT * 5}"},
                )
                response.raise_for_status()
            except httpx.HTTPError:
                out.errors += 1
                continue
            uri = response.json()["uri"]
            while time.perf_counter() - started < E2E_TIMEOUT:
                if conn.execute(query, (uri, reader_id)).fetchone()[0]:
                    out.latencies_ms.append((time.perf_counter() - started) * 1000)
                    break
                time.sleep(0.002)
            else:
                out.not_visible += 1
    return out


def run_e2e(settings: Settings) -> list[Result]:
    total = 40 if settings.quick else 200
    rounds = max(1, settings.rounds)
    per_round = max(1, total // rounds)
    result = Result(
        "E2E",
        "post on A -> in a follower's home timeline on B",
        f"p50 < 100 ms over {per_round * rounds} posts",
    )
    folder = settings.work / "e2e"
    shutil.rmtree(folder, ignore_errors=True)
    a_folder, b_folder = folder / "a", folder / "b"
    a_folder.mkdir(parents=True)
    b_folder.mkdir(parents=True)
    a = asyncio.run(seed_fanout(a_folder, []))
    asyncio.run(world.seed(b_folder, local_users=1, remote_actors=0, domain=B_DOMAIN))
    reader_id, a_public_pem, b_domain = asyncio.run(_link(a, b_folder))
    a_port, b_port, ceiling_port = servers.free_port(), servers.free_port(), servers.free_port()
    a_config = world.write_config(a_folder, peers={b_domain: f"127.0.0.1:{b_port}"})
    b_config = world.write_config(
        b_folder, domain=b_domain, peers={world.DOMAIN: f"127.0.0.1:{a_port}"}
    )
    keys_file = folder / "ceiling-keys.json"
    owner = a.key_id.split("#")[0]
    keys_file.write_text(json.dumps({a.key_id: {"owner": owner, "pem": a_public_pem}}))
    env = {"BENCH_BASE_URL": f"http://{b_domain}", "BENCH_KEYS": str(keys_file)}
    every: list[float] = []
    not_visible = 0
    with (
        on_core(1),
        servers.watercooler(a_config, a_port, a_folder / "server.log", core=0) as a_server,
        servers.watercooler(b_config, b_port, b_folder / "server.log", core=1),
        servers.ceiling(
            "bench.ceilings.app:create_app", ceiling_port, folder / "ceiling.log", core=1, env=env
        ),
    ):
        warm = _e2e_posts(a_server.url, a, b_folder / "db.sqlite3", reader_id, 3)
        if warm.errors or warm.not_visible:
            raise RuntimeError(f"the warm-up posts did not arrive on B (see {folder})")
        with read_only(a.db) as conn:
            (activity_uri,) = conn.execute(
                "SELECT activity_uri FROM deliveries ORDER BY id DESC LIMIT 1"
            ).fetchone()
        spec = sign_post.Spec(
            inboxes=[f"http://{b_domain}/inbox"] * per_round,
            resolve={b_domain: f"127.0.0.1:{ceiling_port}"},
            body=delivery_body(a.db, activity_uri),
            key_id=a.key_id,
            private_pem=a.private_pem,
            concurrency=1,
            warmup=2,  # A's connection to B is warm too: it posts every few milliseconds
        )
        for _ in range(rounds):
            bare = sign_post.measure(spec, core=0)
            ours = _e2e_posts(a_server.url, a, b_folder / "db.sqlite3", reader_id, per_round)
            result.rounds.append(
                Pair(
                    latency_measurement(ours.latencies_ms, ours.errors + ours.not_visible),
                    latency_measurement(bare.latency_ms, per_round - bare.sent),
                )
            )
            every += ours.latencies_ms
            not_visible += ours.not_visible
    p50 = percentile(every, 0.5)
    result.extra.update(
        posts=len(every),
        p50_ms_all_posts=round(p50, 2),
        p99_ms_all_posts=round(percentile(every, 0.99), 2),
        not_visible_within_10s=not_visible,
        cores="A on core 0; B, the verifying ceiling app and this poller on core 1",
        ceiling="bare sign-and-POST (core 0) to bench/ceilings/app.py POST /inbox (core 1)",
        rate_meaning="figure/s and ceiling/s are 1 / mean latency (one post at a time)",
    )
    result.met = p50 < 100.0 and not_visible == 0
    return [result]
