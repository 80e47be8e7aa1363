"""Retention and legal hold across divisions (issue 10, point 3), in process on one fake clock.

Alice posts on a.test, bob on b.test follows her (and she him). a.test's admin sets a
retention policy through the admin API; time passes; the job runs on the injected clock. What
it deletes on a.test, b.test learns through the `Delete`; a copy of bob's post is purged on
a.test alone. Holds (on an account, on a query, on a remote account) stop the job, turn the
author's delete and the remote Delete into a hide with a preserved copy, and releasing them
erases the copies. The job is bounded and restart-safe.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from store import legal_holds
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.app import create_app
from watercooler.config import Config
from watercooler.retention import RetentionJob

DOMAINS = ("a.test", "b.test")
DAY = 86_400.0


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class ClockRig(Rig):
    """The rig with every instance on `clock`."""

    clock: FakeClock = field(default_factory=FakeClock)

    async def __aenter__(self) -> ClockRig:
        for config in self.configs:
            app = create_app(config, clock=self.clock.now, transport=self.router, run_workers=False)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[config.instance.domain] = app
            self.router.apps[config.instance.domain] = httpx.ASGITransport(app=app)
        await self.drain()
        return self

    async def later(self, **delta: float) -> None:
        self.clock.advance(**delta)
        await self.drain()


def two_divisions(make_config: MakeConfig) -> list[Config]:
    return [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[ClockRig]:
    async with ClockRig(two_divisions(make_config)) as rig:
        yield rig


def rows(rig: Rig, domain: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        return conn.execute(sql, params).fetchall()


def audit_rows(rig: Rig, domain: str, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, origin, details) of the audit rows of `action`, oldest first."""
    return [
        (actor, origin, json.loads(details))
        for actor, origin, details in rows(
            rig,
            domain,
            "SELECT actor_name, origin, details FROM audit_log WHERE action = ? ORDER BY id",
            action,
        )
    ]


async def follow(rig: Rig, domain: str, follower: AccountRecord, target: AccountRecord) -> None:
    svc = rig.services(domain)
    remote = await svc.actors.get(target.uri)
    assert remote is not None
    await svc.publisher.follow(follower, remote)
    await rig.drain()


@dataclass
class Cast:
    alice: AccountRecord
    bob: AccountRecord
    alice_api: httpx.AsyncClient
    bob_api: httpx.AsyncClient
    admin: httpx.AsyncClient


async def cast(rig: ClockRig) -> Cast:
    """alice on a.test and bob on b.test follow each other; a.test's admin has a client."""
    alice_api = await rig.api_client("a.test", "alice")
    bob_api = await rig.api_client("b.test", "bob")
    alice = await rig.account("a.test", rig.services("a.test").uris.actor("alice"))
    bob = await rig.account("b.test", rig.services("b.test").uris.actor("bob"))
    assert alice is not None and bob is not None
    await follow(rig, "b.test", bob, alice)
    await follow(rig, "a.test", alice, bob)
    return Cast(alice, bob, alice_api, bob_api, await rig.admin_client("a.test"))


async def post(client: httpx.AsyncClient, text: str, visibility: str = "public") -> dict[str, Any]:
    made = await client.post("/api/v1/statuses", json={"status": text, "visibility": visibility})
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


async def gone_on(rig: Rig, domain: str, uri: str) -> bool:
    found = await rig.status(domain, uri)
    assert found is not None, f"{uri} never reached {domain}"
    return found.deleted_at is not None and found.content == ""


async def set_policy(admin: httpx.AsyncClient, days: int, *visibilities: str) -> dict[str, Any]:
    answer = await admin.put(
        "/api/v1/admin/retention", json={"days": days, "visibilities": list(visibilities)}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def hold(admin: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    made = await admin.post("/api/v1/admin/legal_holds", json={"reason": "Case 42", **params})
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


async def test_the_job_deletes_old_posts_and_peers_receive_the_delete(rig: ClockRig) -> None:
    c = await cast(rig)
    async with c.alice_api, c.bob_api, c.admin:
        # Given alice's old public post, old unlisted post, and bob's old post (copied to a)
        old = await post(c.alice_api, "Q3 numbers, draft")
        unlisted = await post(c.alice_api, "Unlisted aside", "unlisted")
        bobs = await post(c.bob_api, "Hello from b")
        await rig.drain()
        assert not await gone_on(rig, "b.test", old["uri"])
        # When a.test keeps public and followers-only posts 30 days
        policy = await set_policy(c.admin, 30, "public", "private")
        assert policy["enabled"] and policy["visibilities"] == ["public", "private"]
        await rig.later(seconds=20 * DAY)
        newer = await post(c.alice_api, "Still fresh")
        await rig.later(seconds=11 * DAY)  # the job's hour is long past: the drain runs it

        # Then alice's old public post is gone on a.test, for her and for everyone
        assert (await c.alice_api.get(f"/api/v1/statuses/{old['id']}")).status_code == 404
        assert await gone_on(rig, "a.test", old["uri"])
        # and b.test received the Delete: gone there too, from bob's home
        assert await gone_on(rig, "b.test", old["uri"])
        assert old["uri"] not in [s.uri for s in await rig.home("b.test", c.bob)]
        # The newer post and the excluded visibility stay, on both divisions
        for kept in (unlisted, newer):
            assert (await c.alice_api.get(f"/api/v1/statuses/{kept['id']}")).status_code == 200
            assert not await gone_on(rig, "b.test", kept["uri"])
        # a.test's copy of bob's old post is purged there only; b.test keeps bob's post
        assert await gone_on(rig, "a.test", bobs["uri"])
        assert (await c.bob_api.get(f"/api/v1/statuses/{bobs['id']}")).status_code == 200
        # One audit row for the run that deleted, by the system
        ((actor, origin, details),) = audit_rows(rig, "a.test", "retention.run")
        assert (actor, origin) == ("retention", "system")
        assert details["deleted"] == 1 and details["purged_remote"] == 1
        assert details["skipped_held"] == 0 and details["visibilities"] == ["public", "private"]
        assert details["cutoff"].startswith((rig.clock.now() - timedelta(days=30)).isoformat()[:16])
        (set_row,) = audit_rows(rig, "a.test", "retention.set")
        assert set_row[1] == "api" and set_row[2]["days"] == 30
        # An hour later nothing is left to do: no new audit row
        await rig.later(seconds=3600)
        assert len(audit_rows(rig, "a.test", "retention.run")) == 1
        # Off: nothing more is deleted
        assert (await c.admin.delete("/api/v1/admin/retention")).json()["enabled"] is False
        await rig.later(seconds=40 * DAY)
        assert not await gone_on(rig, "a.test", newer["uri"])
        assert [r[2]["enabled"] for r in audit_rows(rig, "a.test", "retention.set")] == [
            True,
            False,
        ]


async def test_a_hold_on_an_account_stops_the_job_and_turns_deletes_into_hides(
    rig: ClockRig,
) -> None:
    c = await cast(rig)
    async with c.alice_api, c.bob_api, c.admin:
        first = await post(c.alice_api, "Contract terms for ACME", "private")
        second = await post(c.alice_api, "Another thought")
        await rig.drain()
        made = await hold(c.admin, account="alice", name="ACME dispute")
        assert made["kind"] == "account" and made["account"]["acct"] == "alice"
        await set_policy(c.admin, 30)
        await rig.later(seconds=31 * DAY)
        # The job skipped both (counted), deleted nothing: no run audit row
        assert not await gone_on(rig, "a.test", first["uri"])
        assert rows(rig, "a.test", "SELECT sum(held) FROM retention_runs")[0][0] >= 2
        assert audit_rows(rig, "a.test", "retention.run") == []

        # When alice deletes her held post herself
        deleted = await c.alice_api.delete(f"/api/v1/statuses/{first['id']}")
        assert deleted.status_code == 200, deleted.text
        await rig.drain()
        # Then it is gone for her and everyone, on a.test and on b.test (the Delete went out)
        assert (await c.alice_api.get(f"/api/v1/statuses/{first['id']}")).status_code == 404
        home = await c.alice_api.get("/api/v1/timelines/home")
        assert first["id"] not in [s["id"] for s in home.json()]
        assert await gone_on(rig, "b.test", first["uri"])
        assert first["uri"] not in [s.uri for s in await rig.home("b.test", c.bob)]
        # but a.test preserved it for Legal, with its text, visibility and hold
        async with rig.services("a.test").db.read() as conn:
            (copy,) = await legal_holds.preserved(conn)
        assert copy.uri == first["uri"] and copy.hold_ids == (int(made["id"]),)
        assert copy.snapshot["status"]["text"] == "Contract terms for ACME"
        assert copy.snapshot["status"]["visibility"] == "private"
        listed = await c.admin.get(f"/api/v1/admin/legal_holds/{made['id']}/preserved")
        assert [p["uri"] for p in listed.json()] == [first["uri"]]
        (preserve_row,) = audit_rows(rig, "a.test", "hold.preserve")
        assert preserve_row[1] == "system" and preserve_row[2]["holds"] == [int(made["id"])]

        # When the hold is released: the copy is erased, and the next run deletes the rest
        released = await c.admin.post(f"/api/v1/admin/legal_holds/{made['id']}/release")
        assert released.status_code == 200 and released.json()["erased_count"] == 1
        async with rig.services("a.test").db.read() as conn:
            assert await legal_holds.preserved(conn) == []
        assert rows(rig, "a.test", "SELECT count(*) FROM held_statuses")[0][0] == 0
        await rig.later(seconds=3600)
        assert await gone_on(rig, "a.test", second["uri"])
        assert await gone_on(rig, "b.test", second["uri"])
        ((_, _, details),) = audit_rows(rig, "a.test", "retention.run")
        assert details["deleted"] == 1
        actions = [r[0] for r in rows(rig, "a.test", "SELECT action FROM audit_log ORDER BY id")]
        assert actions.index("hold.create") < actions.index("hold.preserve")
        assert actions.index("hold.preserve") < actions.index("hold.release")
        (release_row,) = audit_rows(rig, "a.test", "hold.release")
        assert release_row[1] == "api" and release_row[2]["erased"] == 1


async def test_a_hold_on_a_query_covers_only_matching_posts(rig: ClockRig) -> None:
    c = await cast(rig)
    async with c.alice_api, c.bob_api, c.admin:
        tagged = await post(c.alice_api, "Kickoff notes #ProjectX")
        worded = await post(c.alice_api, "The merger timeline moved")
        other = await post(c.alice_api, "Lunch anyone?")
        bobs = await post(c.bob_api, "Team offsite plans")
        await rig.drain()
        await hold(c.admin, query="#projectx")
        await hold(c.admin, query="merger")
        await hold(c.admin, query="from:bob@b.test offsite")  # a.test's copy of bob's post
        await hold(c.admin, query="lunch before:2001-01-01")  # no post that old
        await set_policy(c.admin, 7)
        await rig.later(seconds=8 * DAY)
        assert await gone_on(rig, "a.test", other["uri"])
        assert await gone_on(rig, "b.test", other["uri"])
        for kept in (tagged, worded, bobs):
            assert not await gone_on(rig, "a.test", kept["uri"])
        ((_, _, details),) = audit_rows(rig, "a.test", "retention.run")
        assert (details["deleted"], details["purged_remote"], details["skipped_held"]) == (1, 0, 3)
        # A fresh post deleted at once (before the indexer ran) is matched all the same
        fresh = await post(c.alice_api, "merger call at 5")
        unrelated = await post(c.alice_api, "coffee at 5")
        for status in (fresh, unrelated):
            answer = await c.alice_api.delete(f"/api/v1/statuses/{status['id']}")
            assert answer.status_code == 200
        async with rig.services("a.test").db.read() as conn:
            uris = {copy.uri for copy in await legal_holds.preserved(conn)}
        assert uris == {fresh["uri"]}


async def test_a_remote_delete_of_a_held_remote_post_is_preserved(rig: ClockRig) -> None:
    c = await cast(rig)
    async with c.alice_api, c.bob_api, c.admin:
        bobs = await post(c.bob_api, "Pricing for the Q4 bid")
        await rig.drain()
        made = await hold(c.admin, account="bob@b.test")
        assert made["account"]["uri"] == c.bob.uri
        # When bob deletes his post on b.test
        assert (await c.bob_api.delete(f"/api/v1/statuses/{bobs['id']}")).status_code == 200
        await rig.drain()
        # Then a.test hides it like any deleted post, and keeps its copy for Legal
        assert await gone_on(rig, "a.test", bobs["uri"])
        found = await c.alice_api.get("/api/v2/search", params={"q": bobs["uri"]})
        assert found.json()["statuses"] == []
        async with rig.services("a.test").db.read() as conn:
            (copy,) = await legal_holds.preserved(conn, hold_id=int(made["id"]))
        assert copy.local is False
        assert "Pricing for the Q4 bid" in copy.snapshot["status"]["content"]
        # b.test (no hold there) erased it
        assert not rows(rig, "b.test", "SELECT 1 FROM held_statuses")


async def test_only_admins_may_set_retention_or_holds(rig: ClockRig) -> None:
    mallory = await rig.api_client("a.test", "mallory", "read write admin:read admin:write")
    async with mallory:
        for method, path, body in (
            ("GET", "/api/v1/admin/retention", None),
            ("PUT", "/api/v1/admin/retention", {"days": 1}),
            ("DELETE", "/api/v1/admin/retention", None),
            ("POST", "/api/v1/admin/retention/run", None),
            ("GET", "/api/v1/admin/legal_holds", None),
            ("POST", "/api/v1/admin/legal_holds", {"account": "mallory", "reason": "x"}),
            ("POST", "/api/v1/admin/legal_holds/1/release", None),
        ):
            answer = await mallory.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
    assert rows(rig, "a.test", "SELECT count(*) FROM retention_policy")[0][0] == 0
    assert rows(rig, "a.test", "SELECT count(*) FROM legal_holds")[0][0] == 0
    admin = await rig.admin_client("a.test")
    async with admin:
        for body in (
            {"days": 0},
            {"days": "many"},
            {"days": 3, "visibilities": ["secret"]},
        ):
            assert (await admin.put("/api/v1/admin/retention", json=body)).status_code == 422
        for body in (
            {"reason": "x"},
            {"account": "nobody", "reason": "x"},
            {"account": "admin", "query": "x", "reason": "x"},
            {"account": "admin"},
            {"query": "-word", "reason": "x"},
            {"query": "in:library", "reason": "x"},
        ):
            answer = await admin.post("/api/v1/admin/legal_holds", json=body)
            assert answer.status_code == 422, (body, answer.text)
        assert (await admin.post("/api/v1/admin/legal_holds/99/release")).status_code == 404
    assert rows(rig, "a.test", "SELECT count(*) FROM audit_log WHERE action LIKE 'hold.%'") == [
        (0,)
    ]


class Crash(BaseException):
    """A kill -9 in the middle of a run."""


async def test_the_job_is_bounded_and_resumes_after_a_crash(make_config: MakeConfig) -> None:
    configs = two_divisions(make_config)
    clock = FakeClock()
    async with ClockRig(configs, clock=clock) as rig:
        c = await cast(rig)
        async with c.alice_api, c.bob_api, c.admin:
            posts = [await post(c.alice_api, f"Note {i}") for i in range(5)]
            await rig.drain()
            await set_policy(c.admin, 30)
            clock.advance(seconds=31 * DAY)
            job: RetentionJob = rig.services("a.test").workers.retention
            calls = 0
            delete_local = job._delete_local

            async def crashing(run: Any, candidate: Any) -> None:
                nonlocal calls
                calls += 1
                if calls == 3:
                    raise Crash
                await delete_local(run, candidate)

            job._delete_local = crashing  # type: ignore[method-assign]
            with pytest.raises(Crash):
                await job.run_once()
            # Two deletes committed, with their Deletes queued; the run is unfinished
            assert [await gone_on(rig, "a.test", p["uri"]) for p in posts] == [True] * 2 + [
                False
            ] * 3
            assert rows(rig, "a.test", "SELECT deleted, finished_at FROM retention_runs") == [
                (2, None)
            ]
    # The process restarts (same files); later, the job runs on start and does the rest
    clock.advance(seconds=1800)
    async with ClockRig(configs, clock=clock) as rig:
        await rig.drain()
        assert all([await gone_on(rig, "a.test", p["uri"]) for p in posts])
        assert all([await gone_on(rig, "b.test", p["uri"]) for p in posts])  # every Delete
        runs = audit_rows(rig, "a.test", "retention.run")
        # the cut-short run's row first (written on start), then the run that finished
        assert [(d["deleted"], d.get("interrupted", False)) for _, _, d in runs] == [
            (2, True),
            (3, False),
        ]
        # Bounded: a run looks at max_per_run posts at most, the next one goes on at once
        job = rig.services("a.test").workers.retention
        job.max_per_run = 2
        alice_api = await rig.api_client("a.test", "alice")
        async with alice_api:
            more = [await post(alice_api, f"Later {i}") for i in range(5)]
        clock.advance(seconds=31 * DAY)
        first = await job.run()
        assert (first.deleted, first.more) == (2, True)
        await rig.drain()
        assert all([await gone_on(rig, "a.test", p["uri"]) for p in more])
