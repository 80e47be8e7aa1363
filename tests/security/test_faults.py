"""Faults, with nothing lost (issue 8, point 1).

Two instances talk real signed HTTP in process (the rig), on one fake clock that every part of
both reads, so "down for hours" takes no time: a peer that is down, answers 500, 429 with
`Retry-After`, 410, answers after the timeout, or accepts a connection on a real socket and
never answers. For each, what the sender acknowledged reaches the peer's timelines exactly
once afterwards, and what admins read (`queue status`, the admin queue page and the peers
API share `summary_by_host` / `peer_statuses`) says what is happening. Then the two faults of
one machine: SQLite's write lock held by another connection, and a full disk under the media
folder. `kill -9` of the server is proven with real processes in
`tests/federation_core/test_live_rig.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import io
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

import watercooler.media
from store import deliveries
from store.db import Database
from store.deliveries import HostSummary
from tests.conftest import MakeConfig, running
from tests.rig import Rig, RouterTransport
from tests.watercooler.conftest import account_id
from tests.web.signing import csrf_token
from tests.web.signing import sign_in as web_sign_in
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.cli import cmd_queue_status
from watercooler.config import DeliveryConfig

Forward = Callable[[httpx.Request], Awaitable[httpx.Response]]
Fault = Callable[[httpx.Request, Forward], Awaitable[httpx.Response]]
TIMEOUT = 0.5
"""The delivery timeout of the rig's instances, in seconds (real time)."""


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FaultyRouter(RouterTransport):
    """The rig's router, with a fault per host that sees each request first, and a count of
    the activities POSTed to each host."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[str, Fault] = {}
        self.posted: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.netloc.decode("ascii")
        forward = super().handle_async_request
        if request.method == "POST":
            self.posted[host] += 1
        fault = self.faults.get(host)
        return await (fault(request, forward) if fault else forward(request))


@dataclass
class ClockRig(Rig):
    """The rig, with every instance on `clock` and behind a `FaultyRouter`."""

    clock: FakeClock = field(default_factory=FakeClock)
    router: FaultyRouter = field(default_factory=FaultyRouter)

    async def __aenter__(self) -> ClockRig:
        for config in self.configs:
            app = create_app(config, clock=self.clock.now, transport=self.router, run_workers=False)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[config.instance.domain] = app
            self.router.apps[config.instance.domain] = httpx.ASGITransport(app=app)
        await self.drain()
        return self


# The faults: each a peer misbehaving on activities POSTed to it (its documents still load).


async def down(request: httpx.Request, forward: Forward) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def answering(status: int, times: int, **headers: str) -> Fault:
    """Answer `status` to the first `times` activities POSTed, then behave."""
    left = [times]

    async def fault(request: httpx.Request, forward: Forward) -> httpx.Response:
        if request.method == "POST" and left[0] > 0:
            left[0] -= 1
            return httpx.Response(status, headers=headers, json={"error": "not now"})
        return await forward(request)

    return fault


def late(times: int) -> Fault:
    """Take the first `times` activities (stored, 202) but answer only after the timeout, as a
    peer under load does: the sender cannot know it arrived, sends it again."""
    left = [times]

    async def fault(request: httpx.Request, forward: Forward) -> httpx.Response:
        answer = await forward(request)
        if request.method == "POST" and left[0] > 0:
            left[0] -= 1
            await asyncio.sleep(TIMEOUT * 2)
        return answer

    return fault


@dataclass
class World:
    rig: ClockRig
    alice: httpx.AsyncClient
    admin: httpx.AsyncClient
    bob_id: int


@pytest.fixture
async def world(make_config: MakeConfig) -> AsyncIterator[World]:
    """a.test and b.test peered; bob on b.test follows alice on a.test."""
    delivery = DeliveryConfig(timeout=TIMEOUT)
    configs = [
        dataclasses.replace(make_config(a, peers=(b,)), delivery=delivery)
        for a, b in (("a.test", "b.test"), ("b.test", "a.test"))
    ]
    async with AsyncExitStack() as stack:
        rig = await stack.enter_async_context(ClockRig(configs))
        alice = await stack.enter_async_context(await rig.api_client("a.test", "alice"))
        bob = await stack.enter_async_context(await rig.api_client("b.test", "bob"))
        admin = await stack.enter_async_context(await rig.admin_client("a.test"))
        alice_id = await account_id(bob, "alice@a.test")
        followed = await bob.post(f"/api/v1/accounts/{alice_id}/follow")
        assert followed.status_code == 200, followed.text
        await rig.drain()
        bob_account = await rig.account("b.test", "http://b.test/users/bob")
        assert bob_account is not None
        yield World(rig, alice, admin, bob_account.id)


async def post(world: World, text: str) -> str:
    """Alice posts; the 200 is the acknowledgement. The status's URI."""
    made = await world.alice.post("/api/v1/statuses", json={"status": text})
    assert made.status_code == 200, made.text
    return str(made.json()["uri"])


async def bobs_home(world: World) -> list[str]:
    """The URIs on bob's home timeline at b.test (alice's posts reach it only by delivery)."""
    bob = await world.rig.account("b.test", "http://b.test/users/bob")
    assert bob is not None
    return [s.uri for s in await world.rig.home("b.test", bob)]


async def queue(world: World) -> HostSummary:
    """a.test's queue for b.test, as `watercooler queue status` and the admin page show it."""
    async with world.rig.services("a.test").db.read() as conn:
        (found,) = [h for h in await deliveries.summary_by_host(conn) if h.host == "b.test"]
    return found


async def peer_entity(world: World) -> dict[str, Any]:
    """b.test as the admin peers API (and `watercooler peer status`) shows it."""
    answer = await world.admin.get("/api/v1/admin/peers")
    assert answer.status_code == 200, answer.text
    (found,) = [p for p in answer.json() if p["domain"] == "b.test"]
    return found  # type: ignore[no-any-return]


async def queue_status_cli(world: World, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """a.test's row for b.test in `watercooler queue status`, column -> cell."""
    config = world.rig.services("a.test").config
    capsys.readouterr()
    assert await asyncio.to_thread(cmd_queue_status, config, argparse.Namespace()) == 0
    header, *rows, _ = capsys.readouterr().out.splitlines()
    (row,) = [r for r in rows if r.startswith("b.test\t")]
    return dict(zip(header.split("\t"), row.split("\t"), strict=True))


async def wait_out(world: World, *, hours: float, step: float = 0.5) -> None:
    """Let `hours` pass on the clock, running the workers every `step` hours."""
    for _ in range(int(hours / step)):
        world.rig.clock.advance(hours=step)
        await world.rig.drain()


async def test_a_peer_down_for_hours_gets_everything_once_when_back(world: World) -> None:
    rig = world.rig
    before = await queue(world)
    rig.router.faults["b.test"] = down
    sent = [await post(world, f"While you were out {n}") for n in range(5)]
    await rig.drain()
    await wait_out(world, hours=6)
    # Six hours later: nothing arrived, nothing was given up, and the admin sees why.
    assert await bobs_home(world) == []
    during = await queue(world)
    assert (during.pending + during.retrying, during.dead, during.sent) == (5, 0, before.sent)
    assert during.last_error is not None and "ConnectError" in during.last_error
    shown = await peer_entity(world)
    assert (shown["queued"], shown["dead"]) == (5, 0)
    assert "ConnectError" in shown["last_error"]
    # When it comes back, the next attempt (a back-off of hours by now) brings everything.
    del rig.router.faults["b.test"]
    await wait_out(world, hours=12)
    assert sorted(await bobs_home(world)) == sorted(sent)  # each once
    after = await queue(world)
    assert (after.pending, after.retrying, after.dead) == (0, 0, 0)
    assert after.sent == before.sent + 5
    assert after.last_success_at is not None and after.last_success_at > during.last_error_at  # type: ignore[operator]
    assert (await peer_entity(world))["queued"] == 0


async def test_a_500_is_retried_until_it_goes_through_once(world: World) -> None:
    rig = world.rig
    rig.router.faults["b.test"] = answering(500, times=3)
    sent = await post(world, "Third time lucky")
    await rig.drain()
    failing = await queue(world)
    assert (failing.retrying, failing.last_error) == (1, "HTTP 500")
    assert (await peer_entity(world))["queued"] == 1
    await wait_out(world, hours=1, step=0.25)
    assert await bobs_home(world) == [sent]
    assert ((await queue(world)).retrying, (await peer_entity(world))["queued"]) == (0, 0)


async def test_429_with_retry_after_is_waited_out_then_delivered_once(world: World) -> None:
    rig = world.rig
    rig.router.faults["b.test"] = answering(429, times=1, **{"Retry-After": "7200"})
    sent = await post(world, "Slow down, please")
    posted = rig.router.posted["b.test"]
    await rig.drain()
    assert rig.router.posted["b.test"] == posted + 1
    assert (await queue(world)).retrying == 1
    # Far past our own back-off (1 minute), but within the two hours asked: not one request.
    rig.clock.advance(hours=1, minutes=59)
    await rig.drain()
    assert rig.router.posted["b.test"] == posted + 1
    assert await bobs_home(world) == []
    rig.clock.advance(minutes=1)
    await rig.drain()
    assert rig.router.posted["b.test"] == posted + 2
    assert await bobs_home(world) == [sent]
    assert (await queue(world)).retrying == 0


async def test_410_gives_up_that_delivery_only_and_says_so(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    rig = world.rig
    rig.router.faults["b.test"] = answering(410, times=1)
    before = await queue(world)
    gone = await post(world, "Into the void")
    await rig.drain()
    # The inbox said the recipient is gone: not retried, even days later...
    posted = rig.router.posted["b.test"]
    await wait_out(world, hours=48, step=12)
    assert rig.router.posted["b.test"] == posted
    shown = await queue(world)
    assert (shown.gone, shown.retrying, shown.pending) == (before.gone + 1, 0, 0)
    assert shown.last_error == "HTTP 410"
    table = await queue_status_cli(world, capsys)
    assert (table["gone"], table["retrying"], table["last error"]) == (
        str(before.gone + 1),
        "0",
        "HTTP 410",
    )
    # ...but one answer does not end the peer: the next post is delivered.
    later = await post(world, "Still here?")
    await rig.drain()
    assert await bobs_home(world) == [later]
    assert gone not in await bobs_home(world)


async def test_an_answer_after_the_timeout_is_sent_again_and_taken_once(world: World) -> None:
    rig = world.rig
    rig.router.faults["b.test"] = late(times=2)
    sent = await post(world, "Did you get this?")
    started = time.monotonic()
    await rig.drain()
    assert time.monotonic() - started < 5 * TIMEOUT + 2  # cut off at the timeout
    shown = await queue(world)
    assert shown.retrying == 1 and shown.last_error == "TimeoutError"
    await wait_out(world, hours=1, step=0.25)
    assert rig.router.posted["b.test"] >= 3  # b.test got it three times...
    assert await bobs_home(world) == [sent]  # ...and took it once
    async with rig.services("b.test").db.read() as conn:
        async with conn.execute(
            "SELECT state, count(*) FROM inbox_items WHERE body LIKE ? GROUP BY state",
            (f"%{sent}%",),
        ) as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [("done", 1)]
    assert (await queue(world)).retrying == 0


# A peer on a real socket that accepts the connection and never answers.


class Silent:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word; once
    `speaking` is set, it answers 202 to each request on a new connection."""

    def __init__(self) -> None:
        self.connections = 0
        self.answered = 0
        self.speaking = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if not self.speaking.is_set():
                await self.speaking.wait()
                return  # this one never gets an answer
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            await writer.drain()
            self.answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.speaking.set()  # ends the handlers still waiting


async def test_a_connection_that_hangs_is_cut_off_and_retried(make_config: MakeConfig) -> None:
    clock = FakeClock()
    silent = Silent()
    async with silent as port:
        config = dataclasses.replace(
            make_config("a.test", mode="open", resolve={"quiet.test": f"127.0.0.1:{port}"}),
            delivery=DeliveryConfig(timeout=TIMEOUT),
        )
        app = create_app(config, clock=clock.now, run_workers=False)
        async with running(app, config.instance.base_url):
            svc = app.state.services
            alice = await create_user(svc.db, svc.uris, "alice", now=clock.now())
            async with svc.db.transaction() as conn:
                await deliveries.enqueue(
                    conn,
                    svc.db.new_id,
                    activity_uri="http://a.test/activities/1",
                    actor_account_id=alice.account.id,
                    inboxes=["http://quiet.test/inbox"],
                    body='{"id": "http://a.test/activities/1", "type": "Create"}',
                    now=clock.now(),
                )
            started = time.monotonic()
            assert await svc.workers.delivery.run_once() == 1
            assert time.monotonic() - started < TIMEOUT * 4  # not the 10 s default, not forever
            assert silent.connections >= 1 and silent.answered == 0
            async with svc.db.read() as conn:
                (row,) = await deliveries.list_for_activity(conn, "http://a.test/activities/1")
                (host,) = await deliveries.summary_by_host(conn)
            assert (row.state, row.attempts, row.last_error) == ("retrying", 1, "TimeoutError")
            assert (host.retrying, host.last_error) == (1, "TimeoutError")
            # It recovers: the retry after the back-off goes through, once.
            silent.speaking.set()
            clock.advance(minutes=2)
            assert await svc.workers.delivery.run_once() == 1
            async with svc.db.read() as conn:
                (row,) = await deliveries.list_for_activity(conn, "http://a.test/activities/1")
            assert (row.state, row.attempts, silent.answered) == ("sent", 2, 1)


# SQLite's write lock, held by another connection (another process: `watercooler worker`, the
# CLI, a backup tool).


def hold_write_lock(path: str, seconds: float, started: threading.Event) -> threading.Thread:
    """Another connection takes the write lock of `path` and keeps it for `seconds`."""

    def run() -> None:
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("BEGIN IMMEDIATE")
            started.set()
            time.sleep(seconds)
            conn.execute("COMMIT")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_writers_wait_for_a_locked_database_and_lose_nothing(
    make_config: MakeConfig,
) -> None:
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc = app.state.services
        alice = await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC))
        token = await create_token(svc.db, "alice", ("read", "write"), datetime.now(UTC))
        client.headers["Authorization"] = f"Bearer {token}"
        # A second writer on the same file, as a separate worker process has.
        other = Database(svc.db.path)
        await other.open()
        try:
            locked = threading.Event()
            holder = hold_write_lock(svc.db.path, 1.0, locked)
            assert await asyncio.to_thread(locked.wait, 5)

            async def post(n: int) -> httpx.Response:
                return await client.post("/api/v1/statuses", json={"status": f"locked {n}"})

            async def other_writes(n: int) -> None:
                async with other.transaction() as conn:
                    await deliveries.enqueue(
                        conn,
                        other.new_id,
                        activity_uri=f"http://a.test/fault/{n}",
                        actor_account_id=alice.account.id,
                        inboxes=["http://b.test/inbox"],
                        body="{}",
                        now=datetime.now(UTC),
                    )

            answers = await asyncio.gather(
                *(post(n) for n in range(10)), *(other_writes(n) for n in range(10))
            )
            await asyncio.to_thread(holder.join, 10)
        finally:
            await other.close()
        posted = [a for a in answers if isinstance(a, httpx.Response)]
        assert [a.status_code for a in posted] == [200] * 10
        with closing(sqlite3.connect(svc.db.path)) as conn:
            texts = {row[0] for row in conn.execute("SELECT text FROM statuses")}
            queued = conn.execute(
                "SELECT count(*) FROM deliveries WHERE activity_uri LIKE 'http://a.test/fault/%'"
            ).fetchone()[0]
        assert {f"locked {n}" for n in range(10)} <= texts
        assert queued == 10


async def test_a_lock_held_past_the_busy_timeout_is_a_clear_503_and_nothing_half_done(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import store.db

    short = tuple(
        "PRAGMA busy_timeout=200" if p.startswith("PRAGMA busy_timeout") else p
        for p in store.db._PRAGMAS
    )
    monkeypatch.setattr(store.db, "_PRAGMAS", short)
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc = app.state.services
        await create_user(
            svc.db, svc.uris, "alice", now=datetime.now(UTC), password="correct horse battery"
        )
        token = await create_token(svc.db, "alice", ("read", "write"), datetime.now(UTC))
        assert (await web_sign_in(client, "alice", "correct horse battery")).status_code == 303
        form = await client.get("/web/home")
        client.headers["Authorization"] = f"Bearer {token}"
        locked = threading.Event()
        holder = hold_write_lock(svc.db.path, 1.5, locked)
        assert await asyncio.to_thread(locked.wait, 5)
        refused = await client.post("/api/v1/statuses", json={"status": "not now"})
        page = await client.post(
            "/web/statuses", data={"csrf_token": csrf_token(form), "status": "nor now"}
        )
        await asyncio.to_thread(holder.join, 10)
        assert refused.status_code == 503, refused.text
        assert "busy" in refused.json()["error"]
        assert refused.headers["Retry-After"]
        # the web pages say it as a page, not as JSON
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        assert "database is busy" in page.text and page.headers["Retry-After"]
        with closing(sqlite3.connect(svc.db.path)) as conn:
            assert conn.execute("SELECT count(*) FROM statuses").fetchone() == (0,)
        # The same request once the lock is gone: taken.
        taken = await client.post("/api/v1/statuses", json={"status": "now"})
        assert taken.status_code == 200, taken.text


# A full disk under the media folder.


def jpeg(size: tuple[int, int] = (1200, 900)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 60, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


class _Failing:
    """A file object whose writes run out of space after half of the data."""

    def __init__(self, real: io.BufferedWriter) -> None:
        self.real = real

    def __enter__(self) -> _Failing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()

    def write(self, data: bytes) -> int:
        self.real.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        self.real.flush()

    def fileno(self) -> int:
        return self.real.fileno()


class Disk:
    """`os` for the media module: after `whole` more files, the disk is full."""

    def __init__(self, whole: int) -> None:
        self.whole = whole

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def fdopen(self, fd: int, mode: str) -> Any:
        real = os.fdopen(fd, mode)
        if self.whole > 0:
            self.whole -= 1
            return real
        return _Failing(real)


def media_state(root: Path, db_path: str) -> tuple[list[str], list[tuple[str, str | None]]]:
    """(every file under the media folder, (file, preview) of every media row)."""
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT file_name, preview_name FROM media_attachments").fetchall()
    return files, rows


@pytest.mark.parametrize("whole", [0, 1], ids=["original", "preview"])
async def test_a_full_disk_refuses_the_upload_with_507_and_leaves_nothing_behind(
    make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, whole: int
) -> None:
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    root = Path(config.media.path)
    async with running(app, config.instance.base_url) as client:
        svc = app.state.services
        await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC))
        token = await create_token(svc.db, "alice", ("read", "write"), datetime.now(UTC))
        client.headers["Authorization"] = f"Bearer {token}"
        picture = {"file": ("big.jpg", jpeg(), "image/jpeg")}
        monkeypatch.setattr(watercooler.media, "os", Disk(whole))
        full = await client.post("/api/v2/media", files=picture)
        assert full.status_code == 507, full.text
        assert "storage" in full.json()["error"].lower()
        profile = await client.patch(
            "/api/v1/accounts/update_credentials",
            files={"avatar": ("me.jpg", jpeg((400, 400)), "image/jpeg")},
        )
        assert profile.status_code == 507, profile.text
        files, rows = media_state(root, svc.db.path)
        assert (files, rows) == ([], [])  # no row, no file, no temporary file
        me = (await client.get("/api/v1/accounts/verify_credentials")).json()
        assert me["avatar"].endswith("/avatars/original/missing.png")  # unchanged
        # Space freed: the same upload goes through, and its row names files that exist.
        monkeypatch.setattr(watercooler.media, "os", os)
        saved = await client.post("/api/v2/media", files=picture)
        assert saved.status_code == 200, saved.text
        files, rows = media_state(root, svc.db.path)
        ((original, preview),) = rows
        assert {Path(f).name for f in files} == {original, preview}
