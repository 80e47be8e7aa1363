"""Property-based tests (hypothesis) of the inbox: random and mutated real payloads from
`tests/fixtures/activitypub/` (see `tests/security/strategies.py`) never crash the JSON parser,
never get a 5xx at `POST /inbox`, and never crash the inbox worker.

1. The parser the inbox uses (`inbox.receive.parse_activity_body`: orjson, the depth limit,
   `parse_activity`) gives an activity or `InboxRejected(400)` for any bytes, quickly; the
   worker's own re-reading of a stored body (stdlib `json`, `parse_activity`) agrees with it
   or raises only what the worker drops. `parse_document` raises only `ParseError`.
2. Over HTTP, in a rig (a.test receives; b.test and c.test are its peers): every real
   activity, rehomed to bob@b.test and mutated, signed with bob's key, is answered 202 or
   4xx; a 4xx stores nothing; the stored ones are processed by the worker without an
   exception escaping it, each ending done, dropped (`failed`, with a log line), or waiting
   for a retry after a network error. Unsigned, the same bodies are refused and store nothing.

Examples are derandomized (the same on every run) and no example database is kept.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from itertools import count
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from federation.activities import Activity, parse_activity, parse_document
from federation.errors import ParseError
from federation.keys import load_private_key
from federation.policy import PeerPolicy, PolicyRejected
from federation.signatures import sign_request
from inbox.receive import MAX_JSON_DEPTH, InboxRejected, _check_claimed_actor, _deeper_than
from inbox.receive import parse_activity_body as parse_body
from tests.conftest import MakeConfig
from tests.rig import Rig
from tests.security.strategies import (
    ALICE,
    ALICE_POST,
    BOB,
    JSON_OBJECTS,
    JSON_VALUES,
    PEER_ORIGIN,
    PUBLIC,
    RAW_BODIES,
    inbox_payloads,
    mutated_payloads,
    nested,
)
from watercooler.keyresolver import StoreKeyResolver

AS_JSON = "application/activity+json"

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None)
HTTP = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PARSE_SECONDS = 2.0
"""Bound on parsing one body of at most 1 MiB (it takes milliseconds)."""

# --- 1. the JSON parser ------------------------------------------------------------------------


def depth(value: Any) -> int:
    """JSON nesting depth: a scalar or an empty container is 1 deep."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 1


@FAST
@given(body=RAW_BODIES)
@example(body=b'{"type": "Create", "actor": "http://b.test/u", "x": NaN}')
@example(body=b'{"type": "Create", "actor": "http://b.test/u", "x": 1e999}')
@example(body=b'{"type": "Create", "actor": "http://b.test/u", "x": "\\ud800"}')
@example(body=b'{"type": "Create", "actor": "http://b.test/u", "x": "\xed\xa0\x80"}')
@example(body=b"[" * 100_000 + b"]" * 100_000)
@example(body=json.dumps(nested("x", MAX_JSON_DEPTH + 1)).encode())
def test_any_body_gives_an_activity_or_a_400_quickly(body: bytes) -> None:
    started = time.perf_counter()
    try:
        activity = parse_body(body)
    except InboxRejected as error:
        assert error.status == 400
        assert time.perf_counter() - started < PARSE_SECONDS
        return
    assert time.perf_counter() - started < PARSE_SECONDS
    assert isinstance(activity, Activity)
    # What the worker does later with the stored body: the same activity, or an error it drops.
    try:
        again = parse_activity(json.loads(body.decode("utf-8")))
    except (ParseError, ValueError):
        return
    assert (again.id, again.type, again.actor) == (activity.id, activity.type, activity.actor)


@FAST
@given(body=RAW_BODIES)
def test_an_unverified_body_yields_only_its_actor_domain(body: bytes) -> None:
    """Read for a request whose signature failed: a domain, None, or the policy refusal."""
    policy = PeerPolicy("allowlist", peers=["b.test"])
    try:
        domain = _check_claimed_actor(policy, body)
    except PolicyRejected:
        return
    assert domain is None or domain == "b.test"


@FAST
@given(value=JSON_VALUES | st.integers(0, 60).map(lambda n: nested([], n, as_list=True)))
def test_the_depth_limit_is_exact(value: Any) -> None:
    for limit in (1, 2, 3, MAX_JSON_DEPTH):
        assert _deeper_than(value, limit) == (depth(value) > limit)


@FAST
@given(doc=JSON_VALUES | JSON_OBJECTS | mutated_payloads("all").map(lambda p: p[1]))
def test_any_document_gives_a_view_or_a_parse_error(doc: Any) -> None:
    try:
        parse_document(doc)
    except ParseError:
        pass


# --- 2. the inbox over HTTP --------------------------------------------------------------------


class World:
    """A plain class, not a dataclass: hypothesis prints it with each failing example."""

    def __init__(self, rig: Rig, key_id: str, key: rsa.RSAPrivateKey, alice_post: str) -> None:
        self.rig, self.key_id, self.key, self.alice_post = rig, key_id, key, alice_post

    def __repr__(self) -> str:
        return f"World(alice_post={self.alice_post!r})"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    peers = {"a.test": ("b.test", "c.test"), "b.test": ("a.test",), "c.test": ("a.test",)}
    async with Rig([make_config(d, peers=p) for d, p in peers.items()]) as rig:
        yield rig


@pytest.fixture
async def world(rig: Rig) -> World:
    """alice on a.test has a public post and bob@b.test follows her; bob's key signs."""
    bob = await rig.user("b.test", "bob")
    await rig.user("c.test", "carol")
    async with await rig.api_client("a.test", "alice") as alice:
        posted = await alice.post("/api/v1/statuses", json={"status": "Hello"})
        assert posted.status_code == 200, posted.text
    b = rig.services("b.test")
    alice_at_b = await b.actors.get(ALICE)
    assert alice_at_b is not None
    await b.publisher.follow(bob, alice_at_b)
    await rig.drain()
    key = load_private_key(await StoreKeyResolver.signing_key(b.db, b.uris.key_id("bob")))
    assert isinstance(key, rsa.RSAPrivateKey)
    return World(rig, b.uris.key_id("bob"), key, posted.json()["uri"])


def query(rig: Rig, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        return conn.execute(sql, params).fetchall()


TABLES = ("inbox_items", "statuses", "accounts", "follows", "favourites", "notifications")


def counts(rig: Rig) -> dict[str, int]:
    return {table: query(rig, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


_serial = count(1)


def fresh(doc: Any) -> Any:
    """The document with its id, and its embedded object's, made new (when they are bob's):
    a real activity sent twice is a duplicate, answered 202 and not processed again."""
    n = next(_serial)
    for holder in (doc, doc.get("object") if isinstance(doc, dict) else None):
        if isinstance(holder, dict) and isinstance(holder.get("id"), str):
            if holder["id"].startswith(PEER_ORIGIN + "/"):
                holder["id"] += f"-{n}"
    return doc


def encode(world: World, doc: Any) -> bytes:
    return json.dumps(doc).replace(f'"{ALICE_POST}"', f'"{world.alice_post}"').encode()


async def post(world: World, body: bytes, path: str, *, signed: bool = True) -> httpx.Response:
    headers = {"Content-Type": AS_JSON}
    if signed:
        headers |= sign_request(
            "POST",
            f"http://a.test{path}",
            headers,
            body,
            key_id=world.key_id,
            private_key=world.key,
            now=datetime.now(UTC),
        )
    async with world.rig.client("a.test") as client:
        return await client.post(path, content=body, headers=headers)


RETRYABLE = re.compile(r"^(FetchError|PolicyRejected)\(")
"""What a stored activity may be waiting on after its attempt: a peer that could not be
reached or answered oddly, or an object on a domain that is not (yet) a peer (the admin may
add it). Anything else (a TypeError, KeyError, ...) is a handler crashing on bad input."""


async def process_and_check(world: World, before: int, caplog: pytest.LogCaptureFixture) -> None:
    """Drain the queues (no exception may escape), then check each new item's end."""
    await world.rig.drain()
    await world.rig.services("a.test").workers.inbox.run_once()  # the worker still runs
    rows = query(
        world.rig,
        "SELECT activity_uri, state, last_error FROM inbox_items WHERE rowid > ?",
        before,
    )
    logged = caplog.text
    for uri, state, error in rows:
        event(f"item {state}")
        if state == "done":
            continue
        assert error, (uri, state)
        if state == "failed":  # dropped: said so in the log
            assert f"activity dropped activity_id={uri} " in logged, (uri, error)
        else:
            assert state == "pending", (uri, state)
            assert RETRYABLE.match(error), (uri, error)
            assert f"activity failed activity_id={uri} " in logged, (uri, error)


def last_rowid(world: World) -> int:
    return query(world.rig, "SELECT coalesce(max(rowid), 0) FROM inbox_items")[0][0]


PATHS = st.sampled_from(["/inbox", "/users/alice/inbox"])


@settings(HTTP, max_examples=300)
@given(payload=mutated_payloads(), path=PATHS)
async def test_a_signed_mutated_real_activity_gets_202_or_4xx_and_never_crashes_the_worker(
    world: World, caplog: pytest.LogCaptureFixture, payload: tuple[str, Any], path: str
) -> None:
    caplog.set_level(logging.INFO, logger="inbox.worker")
    caplog.clear()
    doc = fresh(payload[1])
    before, stored = counts(world.rig), last_rowid(world)
    response = await post(world, encode(world, doc), path)
    event(f"answer {response.status_code}")
    assert response.status_code == 202 or 400 <= response.status_code < 500, response.text
    if response.status_code != 202:
        assert "error" in response.json()
        assert counts(world.rig) == before  # refused: nothing stored
    await process_and_check(world, stored, caplog)


@settings(HTTP, max_examples=60)
@given(body=RAW_BODIES, path=PATHS)
async def test_a_signed_garbage_body_gets_a_4xx_and_stores_nothing(
    world: World, caplog: pytest.LogCaptureFixture, body: bytes, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="inbox.worker")
    caplog.clear()
    before, stored = counts(world.rig), last_rowid(world)
    response = await post(world, body, path)
    assert response.status_code == 202 or 400 <= response.status_code < 500, response.text
    if response.status_code != 202:
        assert counts(world.rig) == before
    await process_and_check(world, stored, caplog)


@settings(HTTP, max_examples=40)
@given(payload=mutated_payloads(), path=PATHS)
async def test_an_unsigned_mutated_activity_is_refused_and_stores_nothing(
    world: World, payload: tuple[str, Any], path: str
) -> None:
    before = counts(world.rig)
    response = await post(world, encode(world, payload[1]), path, signed=False)
    assert response.status_code in (400, 401, 403, 413), response.text
    await world.rig.drain()
    assert counts(world.rig) == before


def test_every_real_activity_kind_is_fed() -> None:
    """The inputs cover the activity types of many servers, not a few."""
    types = {doc["type"] for doc in inbox_payloads().values()}
    assert {"Create", "Update", "Delete", "Announce", "Like", "Follow", "Accept", "Reject",
            "Undo", "Block", "Flag", "Move", "EmojiReact", "Add"} <= types  # fmt: skip
    servers = {name.split("/")[0] for name in inbox_payloads()}
    assert len(servers) >= 10, servers


# --- found by the properties above -------------------------------------------------------------


def announce(world: World, n: int) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{BOB}/statuses/9{n}/activity",
        "type": "Announce",
        "actor": BOB,
        "published": "2024-01-01T00:00:00Z",
        "to": [PUBLIC],
        "cc": [ALICE, f"{BOB}/followers"],
        "object": world.alice_post,
    }


def boosts_of_alice_post(world: World) -> list[tuple[Any, ...]]:
    return query(
        world.rig,
        "SELECT b.uri, b.deleted_at IS NULL, o.reblogs_count FROM statuses b"
        " JOIN statuses o ON o.id = b.reblog_of_id WHERE o.uri = ? ORDER BY b.id",
        world.alice_post,
    )


def item_states(world: World, *uris: str) -> list[tuple[str, str | None]]:
    return [
        query(world.rig, "SELECT state, last_error FROM inbox_items WHERE activity_uri = ?", u)[0]
        for u in uris
    ]


async def test_a_second_announce_of_a_boosted_post_is_done_not_retried(world: World) -> None:
    """Hypothesis found it: the same real Announce under a new id (as a peer that lost track
    of its boost sends) broke the one-boost-per-account index, so the item was retried five
    times with a warning, then failed. It is a no-op now."""
    first, second = announce(world, 1), announce(world, 2)
    for doc in (first, second):
        assert (await post(world, encode(world, doc), "/inbox")).status_code == 202
        await world.rig.drain()
    assert item_states(world, first["id"], second["id"]) == [("done", None), ("done", None)]
    assert boosts_of_alice_post(world) == [(first["id"], 1, 1)]


async def test_a_boost_after_its_undo_is_stored_again(world: World) -> None:
    first, second = announce(world, 1), announce(world, 2)
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{first['id']}/undo",
        "type": "Undo",
        "actor": BOB,
        "object": {k: v for k, v in first.items() if k != "@context"},
    }
    for doc in (first, undo, second):
        assert (await post(world, encode(world, doc), "/inbox")).status_code == 202
        await world.rig.drain()
    assert item_states(world, first["id"], undo["id"], second["id"]) == [("done", None)] * 3
    assert boosts_of_alice_post(world) == [(first["id"], 0, 1), (second["id"], 1, 1)]
