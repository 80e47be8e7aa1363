"""Hostile federation input at `POST /inbox` and `POST /users/NAME/inbox` of a live instance.

a.test receives; b.test and c.test are real peers whose users' own keys sign; d.test runs
but is not a peer of a.test. A bad request gets a clear 4xx (or its handler drops it with a
log line) and changes nothing in a.test's database, while the same request signed properly
is taken, so every test here can fail.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import count
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation import activities
from federation.digest import digest_header
from federation.keys import generate_rsa_keypair, load_private_key
from federation.objects import Note, note_to_json
from federation.rfc9421 import sign_rfc9421
from federation.signatures import HttpRequestView, format_http_date, sign_request, signing_string
from inbox.receive import MAX_BODY_BYTES
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig, Watch
from watercooler.keyresolver import StoreKeyResolver

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"
ALICE = "http://a.test/users/alice"
BOB = "http://b.test/users/bob"
CAROL = "http://c.test/users/carol"
DAVE = "http://d.test/users/dave"
HOSTILE = (
    '<p>Hi</p><script>alert(1)</script><img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(1)">click</a>'
)
TABLES = ("inbox_items", "statuses", "follows", "favourites", "home_timeline")
_serial = count(1)


@dataclass(frozen=True)
class Signer:
    key_id: str
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class World:
    rig: Rig
    alice: AccountRecord
    carol: AccountRecord
    bob: Signer
    carol_signer: Signer


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    peers = {
        "a.test": ("b.test", "c.test"),
        "b.test": ("a.test", "c.test"),
        "c.test": ("a.test", "b.test"),
        "d.test": ("a.test",),
    }
    async with Rig([make_config(d, peers=p) for d, p in peers.items()]) as rig:
        yield rig


async def signer(rig: Rig, domain: str, name: str) -> Signer:
    svc = rig.services(domain)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name)))
    assert isinstance(key, rsa.RSAPrivateKey)
    return Signer(svc.uris.key_id(name), key)


@pytest.fixture
async def world(rig: Rig) -> World:
    alice = await rig.user("a.test", "alice")
    await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    bob_signer = await signer(rig, "b.test", "bob")
    return World(rig, alice, carol, bob_signer, await signer(rig, "c.test", "carol"))


@cache
def stranger_key() -> rsa.RSAPrivateKey:
    key = load_private_key(generate_rsa_keypair().private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def encode(document: bytes | dict[str, Any] | list[Any]) -> bytes:
    return document if isinstance(document, bytes) else json.dumps(document).encode()


def sign(
    document: bytes | dict[str, Any],
    by: Signer,
    *,
    path: str = "/inbox",
    host: str = "a.test",
    at: datetime | None = None,
    content_type: str | None = AS_JSON,
) -> Request:
    """A POST to a.test signed as Mastodon signs (draft-cavage, rsa-sha256, with Digest)."""
    body = encode(document)
    headers = {"Content-Type": content_type} if content_type is not None else {}
    headers |= sign_request(
        "POST",
        f"http://{host}{path}",
        headers,
        body,
        key_id=by.key_id,
        private_key=by.key,
        now=at or now(),
    )
    return Request(path, body, headers)


async def send(rig: Rig, request: Request) -> httpx.Response:
    async with rig.client("a.test") as client:
        return await client.post(request.path, content=request.body, headers=request.headers)


async def deliver(rig: Rig, document: dict[str, Any], by: Signer, path: str = "/inbox") -> None:
    response = await send(rig, sign(document, by, path=path))
    assert response.status_code == 202, response.text


def query(rig: Rig, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """A plain read of a.test's SQLite file, beside the app's own connections."""
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        return conn.execute(sql, params).fetchall()


PEOPLE_FOLLOWS = (
    "SELECT f.uri, f.state FROM follows f JOIN accounts a ON a.id = f.account_id"
    " WHERE a.actor_type != 'Application'"
)
"""Follows between people, leaving out the instance actors' link between peers."""


def snapshot(rig: Rig) -> dict[str, int]:
    return {table: query(rig, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def states(rig: Rig, activity_id: str) -> list[str]:
    rows = query(rig, "SELECT state FROM inbox_items WHERE activity_uri = ?", activity_id)
    return [row[0] for row in rows]


def status_row(rig: Rig, uri: str) -> dict[str, Any] | None:
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM statuses WHERE uri = ?", (uri,)).fetchone()
    return dict(row) if row is not None else None


def note_json(author: str = BOB, content: str = "<p>Numbers are in</p>", **fields: Any) -> Any:
    """A public Note as Mastodon serves it, on its author's host unless `id` says otherwise."""
    fields.setdefault("id", f"{author}/statuses/{next(_serial)}")
    fields.setdefault("to", (PUBLIC,))
    fields.setdefault("cc", (f"{author}/followers",))
    return note_to_json(
        Note(type="Note", attributed_to=author, content=content, published=now(), **fields)
    )


def create(note: dict[str, Any], actor: str = BOB, id: str | None = None) -> dict[str, Any]:
    return activities.create(actor, note, id=id)


def now() -> datetime:
    return datetime.now(UTC)


def uid(actor: str, kind: str) -> str:
    """An activity id in Mastodon's shape for activities without an object of their own."""
    return f"{actor}#{kind}/{next(_serial)}"


# --- signatures -----------------------------------------------------------------------------

Forge = Callable[[bytes, World], Request]


def _without_signature(body: bytes, w: World) -> Request:
    signed = sign(body, w.bob)
    return replace(signed, headers={k: v for k, v in signed.headers.items() if k != "Signature"})


def _tampered_body(body: bytes, w: World) -> Request:
    signed, evil = sign(body, w.bob), body.replace(b"Numbers are in", b"Numbers are up")
    return replace(signed, body=evil, headers=signed.headers | {"Digest": digest_header(evil)})


def _digest_mismatch(body: bytes, w: World) -> Request:
    return replace(sign(body, w.bob), body=body.replace(b"Numbers are in", b"Numbers are up"))


def _unknown_algorithm(body: bytes, w: World) -> Request:
    signed = sign(body, w.bob)
    value = signed.headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="rsa-sha1"')
    return replace(signed, headers=signed.headers | {"Signature": value})


def _no_digest_covered(body: bytes, w: World) -> Request:
    """A GET-style signature, (request-target) host date, on a POST (a Digest sent unsigned)."""
    headers = {
        "Content-Type": AS_JSON,
        "Host": "a.test",
        "Date": format_http_date(now()),
        "Digest": digest_header(body),
    }
    covered = ("(request-target)", "host", "date")
    view = HttpRequestView("POST", "http://a.test/inbox", tuple(headers.items()), body)
    data = signing_string(view, covered).encode()
    signature = base64.b64encode(w.bob.key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    headers["Signature"] = (
        f'keyId="{w.bob.key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{signature.decode()}"'
    )
    return Request("/inbox", body, headers)


TWO_HOURS = timedelta(hours=2)
FORGERIES: dict[str, tuple[Forge, str]] = {
    "missing-signature": (_without_signature, "no_signature"),
    "forged-with-another-key": (
        lambda b, w: sign(b, Signer(w.bob.key_id, stranger_key())),
        "invalid",
    ),
    "tampered-body-digest-recomputed": (_tampered_body, "invalid"),
    "digest-mismatch": (_digest_mismatch, "digest_mismatch"),
    "date-two-hours-old": (lambda b, w: sign(b, w.bob, at=now() - TWO_HOURS), "expired"),
    "date-two-hours-ahead": (lambda b, w: sign(b, w.bob, at=now() + TWO_HOURS), "expired"),
    "signer-not-actor": (lambda b, w: sign(b, w.carol_signer), "invalid"),
    "key-id-not-published": (
        lambda b, w: sign(b, Signer(f"{BOB}#other-key", w.bob.key)),
        "key_unavailable",
    ),
    "get-style-without-digest": (_no_digest_covered, "missing_headers"),
    "unknown-algorithm": (_unknown_algorithm, "unknown_algorithm"),
    "signed-for-another-inbox": (
        lambda b, w: replace(sign(b, w.bob, path="/users/alice/inbox"), path="/inbox"),
        "invalid",
    ),
}


@pytest.mark.parametrize(
    ("forge", "reason"),
    [pytest.param(*case, id=name) for name, case in FORGERIES.items()]
    + [
        pytest.param(
            lambda b, w: sign(b, w.bob, host="c.test"),
            "invalid",
            id="signed-for-another-host",
        )
    ],
)
async def test_a_bad_signature_is_refused_and_changes_nothing(
    world: World, forge: Forge, reason: str
) -> None:
    rig = world.rig
    body = encode(create(note_json()))
    before = snapshot(rig)
    response = await send(rig, forge(body, world))
    assert response.status_code == 401, response.text
    assert f"({reason})" in response.json()["error"]
    await rig.drain()
    assert snapshot(rig) == before
    # The same activity, signed properly, is taken.
    assert (await send(rig, sign(body, world.bob))).status_code == 202
    assert snapshot(rig)["inbox_items"] == before["inbox_items"] + 1


async def test_a_valid_request_replayed_after_the_window_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = world.rig
    signed = sign(create(note_json()), world.bob)
    assert (await send(rig, signed)).status_code == 202
    before = snapshot(rig)
    # Replayed at once: the same activity, one row.
    assert (await send(rig, signed)).status_code == 202
    assert snapshot(rig) == before
    # Replayed two hours later: refused.
    later = now() + timedelta(hours=2)
    monkeypatch.setattr(rig.services("a.test"), "clock", lambda: later)
    replayed = await send(rig, signed)
    assert replayed.status_code == 401 and "(expired)" in replayed.json()["error"]
    assert snapshot(rig) == before
    # A request signed at that time is fine.
    assert (await send(rig, sign(create(note_json()), world.bob, at=later))).status_code == 202


async def test_an_rfc9421_signature_is_accepted(world: World) -> None:
    rig = world.rig
    note = note_json()
    body = encode(create(note))
    url = "http://a.test/users/alice/inbox"
    base = {"Content-Type": AS_JSON}
    view = HttpRequestView("POST", url, tuple(base.items()), body)
    headers = base | sign_rfc9421(
        view, key_id=world.bob.key_id, private_key=world.bob.key, now=now()
    )
    assert "Digest" not in headers and "Content-Digest" in headers
    before = snapshot(rig)["inbox_items"]
    tampered = Request("/users/alice/inbox", body.replace(b"are in", b"are up"), headers)
    refused = await send(rig, tampered)
    assert refused.status_code == 401 and "(digest_mismatch)" in refused.json()["error"]
    assert snapshot(rig)["inbox_items"] == before
    assert (await send(rig, Request("/users/alice/inbox", body, headers))).status_code == 202
    await rig.drain()
    assert status_row(rig, note["id"]) is not None


async def test_a_non_peer_is_refused_and_never_fetched(world: World) -> None:
    rig = world.rig
    await rig.user("d.test", "dave")
    dave = await signer(rig, "d.test", "dave")
    watch = Watch(rig.router.apps["d.test"])
    rig.router.apps["d.test"] = watch  # type: ignore[assignment]
    before = snapshot(rig)
    refused = await send(rig, sign(create(note_json(DAVE), DAVE), dave))
    assert refused.status_code == 403, refused.text
    # Claiming to be bob does not help: dave's key is never fetched either.
    claimed = await send(rig, sign(create(note_json()), dave))
    assert claimed.status_code == 401, claimed.text
    assert watch.urls == []
    assert query(rig, "SELECT count(*) FROM accounts WHERE domain = 'd.test'") == [(0,)]
    assert snapshot(rig) == before
    await deliver(rig, create(note_json()), world.bob)


# --- intake: media type, size, shape ----------------------------------------------------------


def _activity(**changes: Any) -> bytes:
    document = create(note_json())
    for name, value in changes.items():
        if value is None:
            del document[name]
        else:
            document[name] = value
    return encode(document)


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth - 1):
        value = {"object": value}
    return value


NOT_JSON, NOT_AS = "not valid JSON", "not an activity"
BAD_INPUT = {
    "text-plain": (_activity(), "text/plain", 415, "text/plain is not ActivityStreams"),
    "no-content-type": (_activity(), None, 415, "missing is not ActivityStreams"),
    "not-json": (b'{"type": "Create", "actor": ', AS_JSON, 400, NOT_JSON),
    "not-utf8": (b"\xff\xfe{}", AS_JSON, 400, NOT_JSON),
    "json-array": (encode([json.loads(_activity())]), AS_JSON, 400, "not a JSON object"),
    "depth-100": (_activity(object=_nested(100)), AS_JSON, 400, "nested too deeply"),
    "depth-100000": (b"[" * 100_000 + b"]" * 100_000, AS_JSON, 400, NOT_JSON),
    "no-type": (_activity(type=None), AS_JSON, 400, NOT_AS),
    "no-actor": (_activity(actor=None), AS_JSON, 400, NOT_AS),
    "actor-not-a-url": (_activity(actor="bob@b.test"), AS_JSON, 400, NOT_AS),
    "id-not-a-url": (_activity(id="urn:uuid:1"), AS_JSON, 400, NOT_AS),
    "id-on-another-host": (
        _activity(id=f"{CAROL}/statuses/1/activity"),
        AS_JSON,
        400,
        "not on the actor's host",
    ),
}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [pytest.param(*case, id=name) for name, case in BAD_INPUT.items()],
)
@pytest.mark.parametrize("path", ["/inbox", "/users/alice/inbox"])
async def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    world: World, path: str, body: bytes, content_type: str | None, status: int, message: str
) -> None:
    rig = world.rig
    before = snapshot(rig)
    response = await send(rig, sign(body, world.bob, path=path, content_type=content_type))
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    await rig.drain()
    assert snapshot(rig) == before
    assert (await send(rig, sign(_activity(), world.bob, path=path))).status_code == 202


async def test_an_inbox_of_nobody_is_404(world: World) -> None:
    before = snapshot(world.rig)["inbox_items"]
    response = await send(world.rig, sign(_activity(), world.bob, path="/users/nobody/inbox"))
    assert response.status_code == 404
    assert snapshot(world.rig)["inbox_items"] == before


def _sized(size: int) -> bytes:
    """A signed-able Create whose JSON is exactly `size` bytes."""
    note = note_json(content="")
    padding_needed = size - len(encode(create(note)))
    return encode(create(note | {"content": "x" * padding_needed}))


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


async def test_a_body_over_one_mib_is_refused_with_or_without_content_length(
    world: World,
) -> None:
    rig = world.rig
    before = snapshot(rig)["inbox_items"]
    async with rig.client("a.test") as client:
        for size, status in ((MAX_BODY_BYTES + 1, 413), (MAX_BODY_BYTES, 202)):
            for declared in (True, False):
                signed = sign(_sized(size), world.bob)
                assert len(signed.body) == size
                content = signed.body if declared else _chunks(signed.body)
                response = await client.post("/inbox", content=content, headers=signed.headers)
                assert response.status_code == status, (size, declared)
                assert ("content-length" in response.request.headers) is declared
            if status == 413:
                assert snapshot(rig)["inbox_items"] == before
    assert snapshot(rig)["inbox_items"] == before + 2


# --- processing: once, and only what the actor may do ---------------------------------------


async def test_the_same_activity_twice_has_one_effect(world: World) -> None:
    rig, a = world.rig, world.rig.services("a.test")
    note = note_json()
    body = encode(create(note))
    for path in ("/inbox", "/inbox", "/users/alice/inbox"):
        assert (await send(rig, sign(body, world.bob, path=path))).status_code == 202
    assert states(rig, f"{note['id']}/activity") == ["pending"]
    await rig.drain()
    assert query(rig, "SELECT count(*) FROM statuses WHERE uri = ?", note["id"]) == [(1,)]
    # A like, delivered three times, then again under a new id: one favourite.
    post = await a.publisher.post(world.alice, "Launch day!")
    like = activities.like(uid(BOB, "likes"), BOB, post.uri, published=now(), to=[ALICE])
    for path in ("/inbox", "/users/alice/inbox", "/inbox"):
        await deliver(rig, like, world.bob, path)
    await deliver(rig, like | {"id": uid(BOB, "likes")}, world.bob)
    await rig.drain()
    likes = 'SELECT count(*) FROM inbox_items WHERE body LIKE \'%"type": "Like"%\''
    assert query(rig, likes) == [(2,)]
    assert status_row(rig, post.uri)["favourites_count"] == 1  # type: ignore[index]
    assert query(rig, "SELECT count(*) FROM favourites") == [(1,)]


async def test_an_unknown_activity_type_is_accepted_and_ignored(world: World) -> None:
    rig = world.rig
    dance = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": uid(BOB, "dances"),
        "type": "Dance",
        "actor": BOB,
        "object": ALICE,
        "to": [ALICE],
    }
    before = snapshot(rig)
    await deliver(rig, dance, world.bob, "/users/alice/inbox")
    await rig.drain()
    assert states(rig, dance["id"]) == ["done"]
    assert snapshot(rig) == before | {"inbox_items": before["inbox_items"] + 1}


async def test_a_delete_of_someone_elses_post_is_refused(world: World) -> None:
    rig = world.rig
    post = await rig.services("a.test").publisher.post(world.alice, "Our roadmap")
    delete = activities.delete(BOB, post.uri, [PUBLIC], [], id=uid(BOB, "deletes"), published=now())
    await deliver(rig, delete, world.bob)
    await rig.drain()
    assert states(rig, delete["id"]) == ["failed"]
    assert status_row(rig, post.uri)["deleted_at"] is None  # type: ignore[index]
    # bob may delete his own post.
    note = note_json()
    await deliver(rig, create(note), world.bob)
    await deliver(rig, activities.delete(BOB, note["id"], [PUBLIC], [], published=now()), world.bob)
    await rig.drain()
    assert status_row(rig, note["id"])["deleted_at"] is not None  # type: ignore[index]


async def test_an_update_of_someone_elses_post_changes_nothing(world: World) -> None:
    rig = world.rig
    original = note_json(CAROL, "<p>Offsite on Friday</p>")
    await deliver(rig, create(original, CAROL), world.carol_signer)
    await rig.drain()
    forged = original | {"content": "<p>Offsite cancelled</p>", "updated": "2030-01-01T00:00:00Z"}
    update = activities.update(BOB, forged, id=uid(BOB, "updates"))
    await deliver(rig, update, world.bob)
    await rig.drain()
    assert states(rig, update["id"]) == ["failed"]
    row = status_row(rig, original["id"])
    assert row is not None and "Offsite on Friday" in row["content"] and row["edited_at"] is None
    # carol may edit her own post.
    await deliver(rig, activities.update(CAROL, forged), world.carol_signer)
    await rig.drain()
    assert "Offsite cancelled" in status_row(rig, original["id"])["content"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("note_id", "author"),
    [
        pytest.param(f"{BOB}/statuses/9001", CAROL, id="bob-host-attributed-to-carol"),
        pytest.param(f"{CAROL}/statuses/9002", BOB, id="carol-host-attributed-to-bob"),
        pytest.param(f"{CAROL}/statuses/9003", CAROL, id="carol-host-attributed-to-carol"),
    ],
)
async def test_a_create_of_a_post_that_is_not_the_actors_stores_nothing(
    world: World, note_id: str, author: str
) -> None:
    rig = world.rig
    before = snapshot(rig)
    activity = create(note_json(author, id=note_id), id=uid(BOB, "creates"))
    await deliver(rig, activity, world.bob)
    await rig.drain()
    assert states(rig, activity["id"]) == ["failed"]
    assert status_row(rig, note_id) is None
    assert snapshot(rig) == before | {"inbox_items": before["inbox_items"] + 1}


async def test_an_embedded_note_from_another_host_is_never_stored_as_is(world: World) -> None:
    rig = world.rig
    real = await rig.services("c.test").publisher.post(world.carol, "Real words")
    forged = note_json(CAROL, "<p>Forged words</p>", id=real.uri)
    activity = create(forged, id=uid(BOB, "creates"))
    await deliver(rig, activity, world.bob)
    await rig.drain()
    row = status_row(rig, real.uri)
    assert row is None or ("Real words" in row["content"] and "Forged" not in row["content"])
    assert query(rig, "SELECT count(*) FROM statuses WHERE content LIKE '%Forged%'") == [(0,)]


async def test_a_boost_of_a_followers_only_post_is_not_stored(world: World) -> None:
    rig = world.rig
    a, c = rig.services("a.test"), rig.services("c.test")
    unseen = await c.publisher.post(world.carol, "Before you followed", visibility="private")
    carol_at_a = await a.actors.get(CAROL)
    assert carol_at_a is not None
    await a.publisher.follow(world.alice, carol_at_a)
    await rig.drain()
    held = await c.publisher.post(world.carol, "Reorg draft", visibility="private")
    public = await c.publisher.post(world.carol, "All hands at 3")
    await rig.drain()
    assert status_row(rig, held.uri)["visibility"] == "private"  # type: ignore[index]

    def boost(uri: str) -> dict[str, Any]:
        followers = [f"{BOB}/followers"]
        return activities.announce(uid(BOB, "boosts"), BOB, uri, [PUBLIC], followers, now())

    refused = [boost(unseen.uri), boost(held.uri)]
    for activity in refused:
        await deliver(rig, activity, world.bob)
    await rig.drain()
    assert all(status_row(rig, activity["id"]) is None for activity in refused)
    assert status_row(rig, unseen.uri) is None
    assert status_row(rig, held.uri)["reblogs_count"] == 0  # type: ignore[index]
    assert states(rig, refused[1]["id"]) == ["failed"]
    # A public post is boosted all right.
    accepted = boost(public.uri)
    await deliver(rig, accepted, world.bob)
    await rig.drain()
    assert status_row(rig, accepted["id"]) is not None
    assert status_row(rig, public.uri)["reblogs_count"] == 1  # type: ignore[index]


@pytest.mark.parametrize("shape", ["embedded", "embedded-as-bob", "iri"])
async def test_an_undo_of_someone_elses_follow_leaves_it(world: World, shape: str) -> None:
    rig = world.rig
    c = rig.services("c.test")
    alice_at_c = await c.actors.get(ALICE)
    assert alice_at_c is not None
    follow = await c.publisher.follow(world.carol, alice_at_c)
    await rig.drain()
    assert query(rig, PEOPLE_FOLLOWS) == [(follow.uri, "accepted")]
    inner = activities.follow(follow.uri, CAROL, ALICE, published=now())
    if shape == "embedded-as-bob":
        inner |= {"actor": BOB}
    undo_doc = activities.undo(uid(BOB, "undos"), BOB, inner, to=[ALICE], published=now())
    if shape == "iri":
        undo_doc["object"] = follow.uri
    await deliver(rig, undo_doc, world.bob, "/users/alice/inbox")
    await rig.drain()
    assert query(rig, PEOPLE_FOLLOWS) == [(follow.uri, "accepted")]
    # carol may take back her own follow.
    await c.publisher.unfollow(world.carol, alice_at_c)
    await rig.drain()
    assert query(rig, PEOPLE_FOLLOWS) == []


# --- remote HTML ------------------------------------------------------------------------------


def assert_clean(text: str) -> None:
    lowered = text.lower()
    assert "<script" not in lowered and "onerror" not in lowered and "javascript:" not in lowered


async def test_remote_html_in_posts_and_profiles_is_sanitised(world: World) -> None:
    rig = world.rig
    note = note_json(content=HOSTILE, summary=f"CW {HOSTILE}")
    await deliver(rig, create(note), world.bob)
    actor = await rig.services("a.test").fetcher.fetch_json(BOB)
    profile = actor | {"name": f"Bob the Builder{HOSTILE}", "summary": f"<p>Builds</p>{HOSTILE}"}
    await deliver(rig, activities.update(BOB, profile, published=now()), world.bob)
    await rig.drain()
    row = status_row(rig, note["id"])
    assert row is not None and "<p>Hi</p>" in row["content"] and "click" in row["content"]
    assert_clean(row["content"])
    assert_clean(row["spoiler_text"])
    ((name, bio),) = query(rig, "SELECT display_name, note FROM accounts WHERE uri = ?", BOB)
    assert "Bob the Builder" in name and "Builds" in bio
    assert_clean(name)
    assert_clean(bio)


async def test_past_the_backlog_limit_peers_are_asked_to_come_back_later(world: World) -> None:
    rig = world.rig
    backlog = rig.services("a.test").backlog
    backlog.limit, backlog.refresh = 2, 0.0  # read the depth on every request
    for _ in range(2):
        assert (await send(rig, sign(create(note_json()), world.bob))).status_code == 202
    before = snapshot(rig)
    refused = await send(rig, sign(create(note_json()), world.bob))
    assert refused.status_code == 429, refused.text
    assert refused.headers["Retry-After"] == "30"
    assert snapshot(rig) == before  # nothing stored, nothing verified
    await rig.drain()  # the worker catches up: taken again
    assert (await send(rig, sign(create(note_json()), world.bob))).status_code == 202
