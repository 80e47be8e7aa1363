"""Hostile federation input that `tests/federation_core/test_inbox_security.py` does not reach:
peers that misbehave when we fetch from them (endless reply chains, redirects to another
host, documents over the size limit, nested past any parser, speaking for another host),
activities pointing us at private and loopback addresses (SSRF), and a peer sending faster
than its rate limit.

a.test receives. b.test is a real instance whose user bob signs with his own key. c.test
and d.test, where a test is about them misbehaving, are `httpx.MockTransport`s in the rig's
router; where the real network path matters (the SSRF guard), the peers are tiny servers on
127.0.0.1 and a.test uses its production transport. Each refused input changes nothing in
a.test's store, and the same thing done right is taken, so every test here can fail.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation import activities
from federation.fetch import MAX_DOCUMENT_BYTES
from federation.keys import generate_rsa_keypair, load_private_key
from federation.signatures import sign_request
from inbox.from_as import MAX_REPLY_DEPTH
from inbox.rate_limit import MAX_DOMAINS, PeerRateLimit
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.app import create_app
from watercooler.config import ConfigError, parse_config
from watercooler.keyresolver import StoreKeyResolver

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"
BOB = "http://b.test/users/bob"
EVE = "http://c.test/users/eve"
TABLES = ("statuses", "accounts", "follows", "favourites", "home_timeline", "notifications")
_serial = count(1)


def now() -> datetime:
    return datetime.now(UTC)


def uid(actor: str, kind: str) -> str:
    return f"{actor}#{kind}/{next(_serial)}"


@dataclass(frozen=True)
class Signer:
    key_id: str
    key: rsa.RSAPrivateKey


def signed(
    document: dict[str, Any], by: Signer, *, host: str = "a.test", path: str = "/inbox"
) -> tuple[bytes, dict[str, str]]:
    """A POST body and headers as Mastodon signs them (draft-cavage, rsa-sha256, Digest)."""
    body = json.dumps(document).encode()
    headers = {"Content-Type": AS_JSON}
    headers |= sign_request(
        "POST",
        f"http://{host}{path}",
        headers,
        body,
        key_id=by.key_id,
        private_key=by.key,
        now=now(),
    )
    return body, headers


def rows(db_path: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """A plain read of an instance's SQLite file, beside the app's own connections."""
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(db_path: str) -> dict[str, int]:
    return {table: rows(db_path, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


# --- a misbehaving peer in the rig --------------------------------------------------------

Answer = Callable[[httpx.Request], httpx.Response]


class FakePeer(httpx.AsyncBaseTransport):
    """A peer whose every answer the test decides: `routes` maps a path to an answer; POSTs
    are accepted (202); anything else is 404. Remembers every URL asked for."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.routes: dict[str, Answer] = {}
        self.fallback: Answer | None = None
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        if request.method == "POST":
            return httpx.Response(202)
        answer = self.routes.get(request.url.path) or self.fallback
        return answer(request) if answer else httpx.Response(404)

    def gets(self, prefix: str = "/") -> list[str]:
        base = f"http://{self.domain}{prefix}"
        return [url for url in self.urls if url.startswith(base)]


def document(body: dict[str, Any] | bytes, status: int = 200, **headers: str) -> Answer:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda request: httpx.Response(
        status, content=content, headers={"Content-Type": AS_JSON} | headers
    )


def person(uri: str, key_pem: str | None = None) -> dict[str, Any]:
    actor = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": uri,
        "type": "Person",
        "preferredUsername": uri.rsplit("/", 1)[1],
        "inbox": f"{uri}/inbox",
        "followers": f"{uri}/followers",
    }
    if key_pem is not None:
        actor["publicKey"] = {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": key_pem}
    return actor


def note(uri: str, author: str, in_reply_to: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": uri,
        "type": "Note",
        "attributedTo": author,
        "content": f"<p>{uri}</p>",
        "published": "2026-01-01T00:00:00Z",
        "inReplyTo": in_reply_to,
        "to": [PUBLIC],
        "cc": [f"{author}/followers"],
    } | fields


@dataclass
class World:
    rig: Rig
    bob: Signer
    c: FakePeer
    d: FakePeer

    @property
    def db(self) -> str:
        return self.rig.services("a.test").db.path

    async def send(self, document: dict[str, Any], by: Signer | None = None) -> httpx.Response:
        body, headers = signed(document, by or self.bob)
        async with self.rig.client("a.test") as client:
            return await client.post("/inbox", content=body, headers=headers)

    async def deliver(self, document: dict[str, Any]) -> None:
        response = await self.send(document)
        assert response.status_code == 202, response.text

    def item(self, activity_id: str) -> tuple[str, int, str | None]:
        ((state, attempts, error),) = rows(
            self.db,
            "SELECT state, attempts, last_error FROM inbox_items WHERE activity_uri = ?",
            activity_id,
        )
        return state, attempts, error

    def status(self, uri: str) -> tuple[Any, ...] | None:
        found = rows(self.db, "SELECT uri, content FROM statuses WHERE uri = ?", uri)
        return found[0] if found else None


async def signer(rig: Rig, domain: str, name: str) -> Signer:
    svc = rig.services(domain)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name)))
    assert isinstance(key, rsa.RSAPrivateKey)
    return Signer(svc.uris.key_id(name), key)


@pytest.fixture
async def world(make_config: MakeConfig) -> AsyncIterator[World]:
    configs = [
        make_config("a.test", peers=("b.test", "c.test", "d.test")),
        make_config("b.test", peers=("a.test",)),
    ]
    rig = Rig(configs)
    c, d = FakePeer("c.test"), FakePeer("d.test")
    rig.router.apps["c.test"] = c  # type: ignore[assignment]
    rig.router.apps["d.test"] = d  # type: ignore[assignment]
    async with rig:
        await rig.user("a.test", "alice")
        await rig.user("b.test", "bob")
        c.routes["/users/eve"] = document(person(EVE))
        yield World(rig, await signer(rig, "b.test", "bob"), c, d)


def announce(obj: str) -> dict[str, Any]:
    return activities.announce(uid(BOB, "boosts"), BOB, obj, [PUBLIC], [f"{BOB}/followers"], now())


# --- a reply chain that never ends ----------------------------------------------------------


@pytest.mark.parametrize("shape", ["endless", "cycle"])
async def test_a_reply_chain_that_never_ends_is_followed_a_bounded_way(
    world: World, shape: str
) -> None:
    """Each parent a peer serves names a new parent (or two point at each other): we fetch at
    most MAX_REPLY_DEPTH of them, store the reply, and stop."""
    c = world.c

    def parent(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.rsplit("/", 1)[1])
        following = n + 1 if shape == "endless" else 3 - n  # cycle: 1 -> 2 -> 1 -> ...
        uri = f"http://c.test/notes/{n}"
        return document(note(uri, EVE, f"http://c.test/notes/{following}"))(request)

    c.fallback = parent
    reply = note(f"{BOB}/statuses/{next(_serial)}", BOB, "http://c.test/notes/1")
    started = time.monotonic()
    await world.deliver(activities.create(BOB, reply))
    await world.rig.drain()
    assert time.monotonic() - started < 10
    assert len(c.gets("/notes/")) == MAX_REPLY_DEPTH
    assert world.status(reply["id"]) is not None
    stored = rows(world.db, "SELECT count(*) FROM statuses WHERE uri LIKE 'http://c.test/%'")
    assert stored == [(MAX_REPLY_DEPTH if shape == "endless" else 2,)]
    # The chain's author was fetched once, not once per parent.
    assert len(c.gets("/users/eve")) == 1


# --- fetching from a peer that misbehaves ---------------------------------------------------


async def _endless() -> AsyncIterator[bytes]:
    """A body without Content-Length that goes on past the limit (bounded here all the same)."""
    yield b'{"id": "http://c.test/notes/1", "x": "'
    for _ in range(MAX_DOCUMENT_BYTES // 65536 + 2):
        yield b"x" * 65536


def _deep(depth: int) -> bytes:
    return b'{"id": "http://c.test/notes/1", "a": ' + b"[" * depth + b"]" * depth + b"}"


MISBEHAVIOURS: dict[str, tuple[Answer, str]] = {
    "redirect-to-another-host": (
        lambda r: httpx.Response(302, headers={"Location": "http://d.test/notes/1"}),
        "redirects to another host",
    ),
    "redirect-loop-on-its-own-host": (
        lambda r: httpx.Response(302, headers={"Location": f"{r.url.path}?hop={len(r.url.query)}"}),
        "too many redirects",
    ),
    "larger-than-the-limit": (
        document(b'{"id": "http://c.test/notes/1", "x": "' + b"x" * MAX_DOCUMENT_BYTES + b'"}'),
        "larger than",
    ),
    "larger-than-the-limit-no-length": (
        lambda r: httpx.Response(200, content=_endless(), headers={"Content-Type": AS_JSON}),
        "larger than",
    ),
    "nested-past-any-parser": (document(_deep(100_000)), "not valid JSON"),
    "id-on-another-host": (
        document(note("http://d.test/notes/1", "http://d.test/users/dan")),
        "from another host",
    ),
    "not-activitystreams": (
        document(note("http://c.test/notes/1", EVE), **{"Content-Type": "text/html"}),
        "not application/activity+json",
    ),
}


async def test_a_boost_of_an_object_a_peer_serves_badly_stores_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """One world for every case (each its own object on c.test): a rig costs seconds."""
    world.d.routes["/notes/1"] = document(note("http://d.test/notes/1", "http://d.test/users/dan"))
    boosts = {}
    for name, (answer, _) in MISBEHAVIOURS.items():
        world.c.routes[f"/notes/{name}"] = answer
        boosts[name] = announce(f"http://c.test/notes/{name}")
    before = snapshot(world.db)
    with caplog.at_level(logging.INFO):
        for boost in boosts.values():
            await world.deliver(boost)
        await world.rig.drain()
    assert world.d.gets("/notes/") == []  # never followed elsewhere
    for name, (_, error) in MISBEHAVIOURS.items():
        boost_id = boosts[name]["id"]
        state, attempts, last_error = world.item(boost_id)
        if name == "not-activitystreams":  # a proxy's error page may pass: asked again later
            assert state == "pending", name
        else:  # refused for what the origin serves: asking again gets the same, so no retry
            assert (state, attempts) == ("failed", 1), name
        assert last_error is not None and error in last_error, (name, last_error)
        assert any(boost_id in r.getMessage() and error in r.getMessage() for r in caplog.records)
    after = snapshot(world.db)
    # bob is now known to a.test (he signed); nothing else changed.
    assert after == before | {"accounts": after["accounts"]}
    assert rows(world.db, "SELECT uri FROM accounts WHERE domain NOT IN ('a.test', 'b.test')") == []
    # Served properly, the same object is taken.
    world.c.routes["/notes/1"] = document(note("http://c.test/notes/1", EVE))
    good = announce("http://c.test/notes/1")
    await world.deliver(good)
    await world.rig.drain()
    assert world.status("http://c.test/notes/1") is not None
    assert world.status(good["id"]) is not None


async def test_an_author_whose_document_does_not_speak_for_itself_stores_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The author of a fetched post is fetched from where the post says; a document that
    claims to be someone on another host (or is no actor) is not taken."""
    authors = {
        "elsewhere": person("http://d.test/users/elsewhere"),
        "note": {**person("http://c.test/users/note"), "type": "Note"},
    }
    boosts = []
    for name, actor in authors.items():
        world.c.routes[f"/users/{name}"] = document(actor)
        author = f"http://c.test/users/{name}"
        world.c.routes[f"/notes/{name}"] = document(note(f"http://c.test/notes/{name}", author))
        boosts.append(announce(f"http://c.test/notes/{name}"))
        await world.deliver(boosts[-1])
    before = snapshot(world.db)
    with caplog.at_level(logging.INFO):
        await world.rig.drain()
    assert snapshot(world.db) == before
    assert all(world.item(boost["id"])[0] in ("pending", "failed") for boost in boosts)
    unavailable = [r.getMessage() for r in caplog.records if "actor unavailable" in r.getMessage()]
    assert any("another host" in line for line in unavailable)
    assert any("users/note" in line for line in unavailable)
    assert world.d.gets("/users/") == []
    # A proper author is taken.
    world.c.routes["/notes/1"] = document(note("http://c.test/notes/1", EVE))
    await world.deliver(announce("http://c.test/notes/1"))
    await world.rig.drain()
    assert rows(world.db, "SELECT count(*) FROM accounts WHERE uri = ?", EVE) == [(1,)]


async def test_a_signer_whose_key_document_is_nested_past_any_parser_is_refused(
    world: World,
) -> None:
    """A 401 like any key we cannot have, not a 500 (the parser's RecursionError once
    escaped the fetcher)."""
    world.c.routes["/users/eve"] = document(_deep(100_000))
    key = load_private_key(generate_rsa_keypair().private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    eve = Signer(f"{EVE}#main-key", key)
    activity = activities.create(EVE, note(f"{EVE}/statuses/1", EVE))
    before = snapshot(world.db)
    response = await world.send(activity, eve)
    assert response.status_code == 401, response.text
    assert "(key_unavailable)" in response.json()["error"]
    assert world.c.gets("/users/eve") == ["http://c.test/users/eve"]
    assert snapshot(world.db) == before


# --- SSRF: private and loopback addresses that are not peers ------------------------------


@dataclass
class Server:
    """A tiny HTTP server on 127.0.0.1: its port, the request lines it read, connections."""

    port: int = 0
    requests: list[str] = field(default_factory=list)
    connections: int = 0


@asynccontextmanager
async def http_server(answer: Callable[[str], tuple[int, bytes]]) -> AsyncIterator[Server]:
    """`answer(path)` gives (status, JSON body). One request per connection."""
    server_state = Server()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_state.connections += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            line = head.split(b"\r\n", 1)[0].decode()
            server_state.requests.append(line)
            status, body = answer(line.split(" ")[1])
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Type: {AS_JSON}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    server_state.port = server.sockets[0].getsockname()[1]
    try:
        yield server_state
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class Open:
    """a.test in open federation with its production transport (SSRF guard on); b.test is a
    peer on loopback, reached through `[federation.resolve]`; `intranet` is a service on
    loopback that no one outside should reach through us."""

    app: Any
    b: Server
    intranet: Server
    bob: Signer

    @property
    def db(self) -> str:
        return self.app.state.services.db.path  # type: ignore[no-any-return]

    async def send(self, document: dict[str, Any], by: Signer | None = None) -> httpx.Response:
        body, headers = signed(document, by or self.bob)
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
            return await client.post("/inbox", content=body, headers=headers)


BOB_KEY = generate_rsa_keypair()


@pytest.fixture
async def open_world(make_config: MakeConfig) -> AsyncIterator[Open]:
    bob_doc = json.dumps(person(BOB, BOB_KEY.public_pem)).encode()

    def b_answer(path: str) -> tuple[int, bytes]:
        return (200, bob_doc) if path == "/users/bob" else (404, b"{}")

    def intranet_answer(path: str) -> tuple[int, bytes]:
        return 200, json.dumps(note(f"http://intranet.local{path}", EVE)).encode()

    async with http_server(b_answer) as b, http_server(intranet_answer) as intranet:
        config = make_config(
            "a.test",
            mode="open",
            resolve={"b.test": f"127.0.0.1:{b.port}"},
            peers=("b.test",),
        )
        app = create_app(config, run_workers=False)
        async with app.router.lifespan_context(app):
            key = load_private_key(BOB_KEY.private_pem)
            assert isinstance(key, rsa.RSAPrivateKey)
            yield Open(app, b, intranet, Signer(f"{BOB}#main-key", key))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_boost_of_an_object_on_a_loopback_address_is_never_fetched(
    open_world: Open, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    w = open_world
    target = f"http://{host}:{w.intranet.port}/admin/secrets"
    boost = announce(target)
    assert (await w.send(boost)).status_code == 202  # bob is real: his key came from b.test
    assert w.b.requests == ["GET /users/bob HTTP/1.1"]
    before = snapshot(w.db)
    with caplog.at_level(logging.INFO):
        await w.app.state.services.workers.inbox.run_once()
    assert w.intranet.connections == 0
    assert snapshot(w.db) == before
    assert any("non-public address" in r.getMessage() for r in caplog.records)


async def test_a_key_on_a_loopback_address_is_never_fetched(open_world: Open) -> None:
    w = open_world
    at = f"http://localhost:{w.intranet.port}/users/mallory"
    forged = Signer(f"{at}#main-key", w.bob.key)
    before = snapshot(w.db)
    response = await w.send(announce(f"{BOB}/statuses/1") | {"actor": at}, forged)
    assert response.status_code == 401, response.text
    assert "(key_unavailable)" in response.json()["error"]
    assert w.intranet.connections == 0
    assert snapshot(w.db) == before


async def test_a_configured_peer_on_a_loopback_address_is_reached(
    make_config: MakeConfig,
) -> None:
    """The guard refuses loopback for strangers only: a peer listed in `[[peers]]` whose
    name resolves to loopback (an organisation's peers live on private networks) is fetched."""

    port: list[int] = []

    def answer(path: str) -> tuple[int, bytes]:
        return 200, json.dumps(person(f"http://localhost:{port[0]}{path}")).encode()

    async with http_server(answer) as peer:
        port.append(peer.port)
        domain = f"localhost:{peer.port}"
        config = make_config("a.test", mode="open", peers=(domain,))
        app = create_app(config, run_workers=False)
        async with app.router.lifespan_context(app):
            pat = await app.state.services.actors.get(f"http://{domain}/users/pat")
        assert pat is not None and pat.domain == domain
        assert peer.requests == ["GET /users/pat HTTP/1.1"]


# --- a peer sending faster than its rate limit ----------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def limited(make_config: MakeConfig) -> AsyncIterator[tuple[Rig, Clock]]:
    configs = [
        make_config("a.test", peers=("b.test", "c.test"), inbox_rate_limit=2, inbox_rate_burst=50),
        make_config("b.test", peers=("a.test",)),
        make_config("c.test", peers=("a.test",)),
    ]
    async with Rig(configs) as rig:  # the peers link up within the burst of 50
        clock, rate = Clock(), rig.services("a.test").intake.rate
        assert (rate.rate, rate.burst) == (2, 50)  # as configured
        rate.burst, rate._monotonic = 3, clock  # a smaller burst and our clock from now on
        rate._buckets.clear()
        for domain, name in (("b.test", "bob"), ("c.test", "carol")):
            await rig.user(domain, name)
        yield rig, clock


async def test_a_peer_past_its_rate_is_asked_to_retry_later_and_others_are_not(
    limited: tuple[Rig, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    rig, clock = limited
    bob, carol = await signer(rig, "b.test", "bob"), await signer(rig, "c.test", "carol")
    db = rig.services("a.test").db.path

    def create(actor: str) -> dict[str, Any]:
        return activities.create(actor, note(f"{actor}/statuses/{next(_serial)}", actor))

    async def send(document: dict[str, Any], by: Signer) -> httpx.Response:
        body, headers = signed(document, by)
        async with rig.client("a.test") as client:
            return await client.post("/inbox", content=body, headers=headers)

    def queued() -> int:
        return int(rows(db, "SELECT count(*) FROM inbox_items")[0][0])

    # Forged requests in bob's name spend nothing of b.test's allowance.
    stranger = load_private_key(generate_rsa_keypair().private_pem)
    assert isinstance(stranger, rsa.RSAPrivateKey)
    for _ in range(5):
        assert (await send(create(BOB), Signer(bob.key_id, stranger))).status_code == 401
    for _ in range(3):  # the burst
        assert (await send(create(BOB), bob)).status_code == 202
    before = queued()
    with caplog.at_level(logging.WARNING):
        refused = await send(create(BOB), bob)
        again = await send(create(BOB), bob)
    assert refused.status_code == 429 and again.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "b.test is sending too fast" in refused.json()["error"]
    assert queued() == before  # nothing stored
    lines = [r.getMessage() for r in caplog.records if "inbox rate limit" in r.getMessage()]
    assert lines == ["inbox rate limit: peer=b.test refused=1 retry_after=1"]  # not one per 429
    # Another peer is not held back by b.test.
    assert (await send(create("http://c.test/users/carol"), carol)).status_code == 202
    # Half a second later one more (2 a second), then refused again.
    clock.now += 0.5
    assert (await send(create(BOB), bob)).status_code == 202
    assert (await send(create(BOB), bob)).status_code == 429
    clock.now += 60
    for _ in range(3):
        assert (await send(create(BOB), bob)).status_code == 202
    assert queued() == before + 5


def test_the_bucket_refills_at_its_rate_and_holds_bounded_memory() -> None:
    clock = Clock()
    bucket = PeerRateLimit(rate=0.5, burst=2, monotonic=clock)
    assert [bucket.take("b.test") for _ in range(3)] == [None, None, 2]
    clock.now += 2
    assert bucket.take("b.test") is None and bucket.take("b.test") == 2
    assert PeerRateLimit(rate=0, burst=1).take("b.test") is None  # 0: off
    many = PeerRateLimit(rate=1, burst=1, monotonic=clock)
    for n in range(MAX_DOMAINS * 2):
        many.take(f"p{n}.test")
    assert len(many._buckets) <= MAX_DOMAINS


def test_the_rate_limit_is_configurable_and_checked() -> None:
    base = {"instance": {"domain": "eng.example.com"}}
    config = parse_config(base | {"federation": {"inbox_rate_limit": 5, "inbox_rate_burst": 50}})
    assert (config.federation.inbox_rate_limit, config.federation.inbox_rate_burst) == (5, 50)
    default = parse_config(base).federation
    assert default.inbox_rate_limit >= 100 and default.inbox_rate_burst >= 1000  # generous
    for bad in ({"inbox_rate_limit": -1}, {"inbox_rate_burst": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            parse_config(base | {"federation": bad})
