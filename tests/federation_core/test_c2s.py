"""ActivityPub client-to-server against the rig: a C2S client posts to its outbox and reads its
inbox over HTTP with a bearer token; the other instances see the effects after `drain()`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from store import follows
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.accounts import create_token

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = "application/activity+json"
LD_JSON = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    domains = ("a.test", "b.test", "c.test")
    configs = [make_config(d, peers=tuple(p for p in domains if p != d)) for d in domains]
    async with Rig(configs) as rig:
        yield rig


async def token(
    rig: Rig, domain: str, name: str, scopes: tuple[str, ...] = ("read", "write")
) -> str:
    return await create_token(rig.services(domain).db, name, scopes, datetime.now(UTC))


async def outbox_post(
    rig: Rig, name: str, bearer: str | None, document: Any, *, domain: str = "a.test"
) -> httpx.Response:
    headers = {"Content-Type": LD_JSON}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    async with rig.client(domain) as client:
        return await client.post(f"/users/{name}/outbox", content=body, headers=headers)


async def get_json(
    rig: Rig, domain: str, url: str, bearer: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Accept": AS_JSON}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    async with rig.client(domain) as client:
        response = await client.get(url, headers=headers)
    return response.status_code, response.json()


async def follow(
    rig: Rig, follower_domain: str, follower: AccountRecord, target: AccountRecord
) -> None:
    svc = rig.services(follower_domain)
    remote = await svc.actors.get(target.uri)
    assert remote is not None
    await svc.publisher.follow(follower, remote)
    await rig.drain()


def note(content: str, to: list[str], cc: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "type": "Note",
        "content": content,
        "to": to,
        "cc": cc or [],
        **extra,
    }


# ----- posting -------------------------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare-note", "create"])
async def test_a_post_is_created_and_reaches_a_follower(rig: Rig, wrapped: bool) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    bearer = await token(rig, "a.test", "alice")
    obj = note("Hello", [PUBLIC], [alice.followers_url or ""])
    document = {"type": "Create", "actor": alice.uri, "object": obj} if wrapped else obj

    response = await outbox_post(rig, "alice", bearer, document)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith(AS_JSON)
    created = response.json()
    assert response.headers["Location"] == created["id"]
    assert created["type"] == "Create" and created["actor"] == alice.uri
    posted = created["object"]
    assert isinstance(posted, dict) and posted["type"] == "Note"
    assert posted["content"] == "<p>Hello</p>"
    assert posted["attributedTo"] == alice.uri
    assert posted["id"].startswith(f"{alice.uri}/statuses/")
    assert created["id"] == f"{posted['id']}/activity"
    assert posted["to"] == [PUBLIC] and posted["cc"] == [alice.followers_url]
    mine = await rig.status("a.test", posted["id"])
    assert mine is not None and mine.visibility == "public" and mine.local

    await rig.drain()

    at_b = await rig.status("b.test", posted["id"])
    assert at_b is not None and at_b.visibility == "public" and "Hello" in at_b.content
    assert [s.uri for s in await rig.home("b.test", bob)] == [posted["id"]]


async def test_followers_only_when_only_the_followers_are_addressed(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await rig.user("c.test", "carol")  # on a peer, not a follower
    await follow(rig, "b.test", bob, alice)
    bearer = await token(rig, "a.test", "alice")

    response = await outbox_post(
        rig, "alice", bearer, note("Reorg draft", [alice.followers_url or ""])
    )

    assert response.status_code == 201, response.text
    posted = response.json()["object"]
    assert posted["to"] == [alice.followers_url] and posted["cc"] == []
    mine = await rig.status("a.test", posted["id"])
    assert mine is not None and mine.visibility == "private"
    await rig.drain()
    at_b = await rig.status("b.test", posted["id"])
    assert at_b is not None and at_b.visibility == "private"
    assert [s.uri for s in await rig.home("b.test", bob)] == [posted["id"]]
    assert await rig.status("c.test", posted["id"]) is None


async def test_direct_when_only_a_mention_is_addressed(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    await follow(rig, "c.test", carol, alice)  # a follower, but not addressed
    bearer = await token(rig, "a.test", "alice")

    response = await outbox_post(
        rig, "alice", bearer, note("@bob@b.test the numbers are in", [bob.uri])
    )

    assert response.status_code == 201, response.text
    posted = response.json()["object"]
    assert posted["to"] == [bob.uri] and posted["cc"] == []
    assert any(t["type"] == "Mention" and t["href"] == bob.uri for t in posted["tag"])
    mine = await rig.status("a.test", posted["id"])
    assert mine is not None and mine.visibility == "direct"
    await rig.drain()
    at_b = await rig.status("b.test", posted["id"])
    assert at_b is not None and at_b.visibility == "direct"
    assert await rig.status("c.test", posted["id"]) is None
    assert await rig.home("c.test", carol) == []


async def test_an_addressed_actor_receives_a_direct_note_without_a_mention(rig: Rig) -> None:
    await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    bearer = await token(rig, "a.test", "alice")
    response = await outbox_post(rig, "alice", bearer, note("Just for you", [bob.uri]))
    assert response.status_code == 201, response.text
    posted = response.json()["object"]
    await rig.drain()
    at_b = await rig.status("b.test", posted["id"])
    assert posted["to"] == [bob.uri]
    assert at_b is not None and at_b.visibility == "direct"


async def test_a_reply_to_a_remote_post_is_stored_as_a_reply_there(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    question = await rig.services("b.test").publisher.post(bob, "Who knows the VPN setup?")
    bearer = await token(rig, "a.test", "alice")

    response = await outbox_post(
        rig,
        "alice",
        bearer,
        note("Ask IT", [PUBLIC], [alice.followers_url or ""], inReplyTo=question.uri),
    )

    assert response.status_code == 201, response.text
    posted = response.json()["object"]
    assert posted["inReplyTo"] == question.uri
    assert bob.uri in posted["cc"] + posted["to"]  # the parent's author is addressed
    parent_at_a = await rig.status("a.test", question.uri)
    mine = await rig.status("a.test", posted["id"])
    assert parent_at_a is not None and mine is not None
    assert mine.in_reply_to_id == parent_at_a.id
    await rig.drain()
    reply_at_b = await rig.status("b.test", posted["id"])
    assert reply_at_b is not None and reply_at_b.in_reply_to_id == question.id
    original = await rig.status("b.test", question.uri)
    assert original is not None and original.replies_count == 1


# ----- follows ----------------------------------------------------------------------------------


async def collection_items(rig: Rig, domain: str, url: str) -> list[Any]:
    status, page = await get_json(rig, domain, url)
    assert status == 200 and page["type"] == "OrderedCollectionPage"
    return page["orderedItems"]  # type: ignore[no-any-return]


async def test_follow_and_undo_follow_of_a_remote_actor(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    bearer = await token(rig, "a.test", "alice")

    response = await outbox_post(rig, "alice", bearer, {"type": "Follow", "object": bob.uri})

    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["type"] == "Follow" and sent["actor"] == alice.uri and sent["object"] == bob.uri
    assert response.headers["Location"] == sent["id"]
    await rig.drain()
    assert await collection_items(rig, "b.test", "/users/bob/followers?page=1") == [alice.uri]
    assert await collection_items(rig, "a.test", "/users/alice/following?page=1") == [bob.uri]
    bob_at_a = await rig.account("a.test", bob.uri)
    alice_at_b = await rig.account("b.test", alice.uri)
    assert bob_at_a is not None and alice_at_b is not None
    async with rig.services("a.test").db.read() as conn:
        assert await follows.is_following(conn, alice.id, bob_at_a.id)

    undo = await outbox_post(rig, "alice", bearer, {"type": "Undo", "object": sent["id"]})

    assert undo.status_code == 201, undo.text
    undone = undo.json()
    assert undone["type"] == "Undo" and undo.headers["Location"] == undone["id"]
    assert undone["object"]["id"] == sent["id"]
    await rig.drain()
    assert await collection_items(rig, "b.test", "/users/bob/followers?page=1") == []
    assert await collection_items(rig, "a.test", "/users/alice/following?page=1") == []
    async with rig.services("a.test").db.read() as conn:
        assert not await follows.is_following(conn, alice.id, bob_at_a.id)
    async with rig.services("b.test").db.read() as conn:
        assert not await follows.is_following(conn, alice_at_b.id, bob.id)


# ----- likes and boosts ---------------------------------------------------------------------


async def counts(rig: Rig, domain: str, uri: str) -> tuple[int, int]:
    status = await rig.status(domain, uri)
    assert status is not None
    return status.favourites_count, status.reblogs_count


async def test_like_and_announce_then_undo_each(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    post = await rig.services("b.test").publisher.post(bob, "Launch day!")
    bearer = await token(rig, "a.test", "alice")

    liked = await outbox_post(rig, "alice", bearer, {"type": "Like", "object": post.uri})
    announced = await outbox_post(rig, "alice", bearer, {"type": "Announce", "object": post.uri})

    assert liked.status_code == 201, liked.text
    assert announced.status_code == 201, announced.text
    like, announce = liked.json(), announced.json()
    assert like["type"] == "Like" and like["object"] == post.uri and like["actor"] == alice.uri
    assert announce["type"] == "Announce" and announce["object"] == post.uri
    assert liked.headers["Location"] == like["id"]
    assert announced.headers["Location"] == announce["id"]
    await rig.drain()
    assert await counts(rig, "b.test", post.uri) == (1, 1)

    unliked = await outbox_post(rig, "alice", bearer, {"type": "Undo", "object": like})
    unannounced = await outbox_post(
        rig, "alice", bearer, {"type": "Undo", "object": announce["id"]}
    )

    assert unliked.status_code == 201, unliked.text
    assert unannounced.status_code == 201, unannounced.text
    assert unliked.json()["object"]["id"] == like["id"]
    assert unannounced.json()["object"]["id"] == announce["id"]
    await rig.drain()
    assert await counts(rig, "b.test", post.uri) == (0, 0)
    assert await counts(rig, "a.test", post.uri) == (0, 0)


async def test_undo_of_a_like_by_its_id(rig: Rig) -> None:
    await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    post = await rig.services("b.test").publisher.post(bob, "Launch day!")
    bearer = await token(rig, "a.test", "alice")
    like = (await outbox_post(rig, "alice", bearer, {"type": "Like", "object": post.uri})).json()
    await rig.drain()
    assert await counts(rig, "b.test", post.uri) == (1, 0)
    undo = await outbox_post(rig, "alice", bearer, {"type": "Undo", "object": like["id"]})
    assert undo.status_code == 201, undo.text
    await rig.drain()
    assert await counts(rig, "b.test", post.uri) == (0, 0)


# ----- update and delete --------------------------------------------------------------------


async def posted_note(rig: Rig, bearer: str, content: str) -> str:
    response = await outbox_post(rig, "alice", bearer, note(content, [PUBLIC]))
    assert response.status_code == 201, response.text
    await rig.drain()
    return response.json()["object"]["id"]  # type: ignore[no-any-return]


async def test_update_and_delete_of_ones_own_post_reach_the_follower(rig: Rig) -> None:
    """The effects only: the answers to both requests are wrong (see the two tests below),
    so this client does not raise on the server's error."""
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    bearer = await token(rig, "a.test", "alice")
    uri = await posted_note(rig, bearer, "Meeting at 3")
    update = {"type": "Update", "object": {"id": uri, "type": "Note", "content": "Meeting at 4"}}
    transport = httpx.ASGITransport(app=rig.apps["a.test"], raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
        headers = {"Authorization": f"Bearer {bearer}", "Content-Type": AS_JSON}
        await client.post("/users/alice/outbox", json=update, headers=headers)
        await rig.drain()
        at_b = await rig.status("b.test", uri)
        assert at_b is not None and "Meeting at 4" in at_b.content and at_b.edited_at is not None
        mine = await rig.status("a.test", uri)
        assert mine is not None and "Meeting at 4" in mine.content

        delete = {"type": "Delete", "object": uri}
        await client.post("/users/alice/outbox", json=delete, headers=headers)
        await rig.drain()
    at_b = await rig.status("b.test", uri)
    assert at_b is not None and at_b.deleted_at is not None and at_b.content == ""
    assert await rig.home("b.test", bob) == []


async def test_update_of_ones_own_post_answers_201_with_the_update(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    bearer = await token(rig, "a.test", "alice")
    uri = await posted_note(rig, bearer, "Meeting at 3")

    response = await outbox_post(
        rig,
        "alice",
        bearer,
        {"type": "Update", "object": {"id": uri, "type": "Note", "content": "Meeting at 4"}},
    )

    assert response.status_code == 201, response.text
    update = response.json()
    assert update["type"] == "Update" and response.headers["Location"] == update["id"]
    assert update["object"]["id"] == uri and "Meeting at 4" in update["object"]["content"]
    await rig.drain()
    at_b = await rig.status("b.test", uri)
    assert at_b is not None and "Meeting at 4" in at_b.content


async def test_delete_of_ones_own_post_answers_201_with_the_delete(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    bearer = await token(rig, "a.test", "alice")
    uri = await posted_note(rig, bearer, "Meeting at 3")

    response = await outbox_post(rig, "alice", bearer, {"type": "Delete", "object": uri})

    assert response.status_code == 201, response.text
    delete = response.json()
    assert delete["type"] == "Delete" and response.headers["Location"] == delete["id"]
    assert delete["object"] == uri or delete["object"]["id"] == uri
    await rig.drain()
    at_b = await rig.status("b.test", uri)
    assert at_b is not None and at_b.deleted_at is not None


async def test_update_and_delete_of_someone_elses_post_are_refused(rig: Rig) -> None:
    await rig.user("a.test", "alice")
    erin = await rig.user("a.test", "erin")
    bob = await rig.user("b.test", "bob")
    remote = await rig.services("b.test").publisher.post(bob, "Bob's post")
    local = await rig.services("a.test").publisher.post(erin, "Erin's post")
    bearer = await token(rig, "a.test", "alice")
    missing = local.uri.rsplit("/", 1)[0] + "/1"

    for target in (remote.uri, local.uri):
        update = {"type": "Update", "object": {"id": target, "type": "Note", "content": "Mine"}}
        assert (await outbox_post(rig, "alice", bearer, update)).status_code == 403
        delete = {"type": "Delete", "object": target}
        assert (await outbox_post(rig, "alice", bearer, delete)).status_code == 403
    update = {"type": "Update", "object": {"id": missing, "type": "Note", "content": "Mine"}}
    assert (await outbox_post(rig, "alice", bearer, update)).status_code == 404
    assert (
        await outbox_post(rig, "alice", bearer, {"type": "Delete", "object": missing})
    ).status_code == 404

    await rig.drain()
    for domain, uri, text in (
        ("b.test", remote.uri, "Bob's post"),
        ("a.test", remote.uri, "Bob's post"),
        ("a.test", local.uri, "Erin's post"),
    ):
        status = await rig.status(domain, uri)
        assert status is not None and status.deleted_at is None and status.edited_at is None
        assert text in status.content.replace("&#39;", "'")


# ----- refusals -----------------------------------------------------------------------------


async def test_refusals_change_nothing(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    await rig.user("a.test", "erin")
    hello = note("Hello", [PUBLIC])
    read_only = await token(rig, "a.test", "alice", ("read",))
    erins = await token(rig, "a.test", "erin")
    mine = await token(rig, "a.test", "alice")

    cases: list[tuple[str | None, Any, int]] = [
        (None, hello, 401),
        ("not-a-token", hello, 401),
        (read_only, hello, 403),
        (erins, hello, 403),
        (mine, b"{not json", 400),
        (mine, b"[1, 2]", 400),
        (mine, {"type": "Flag", "object": alice.uri}, 422),
        (mine, {"type": "Move", "object": alice.uri, "target": alice.uri}, 422),
        (mine, {"type": "Note", "to": [PUBLIC]}, 422),
        (mine, {"type": "Note", "content": "   ", "to": [PUBLIC]}, 422),
        (mine, {"type": "Create", "object": {"type": "Note", "to": [PUBLIC]}}, 422),
        (mine, {"type": "Like"}, 422),
    ]
    for bearer, document, expected in cases:
        response = await outbox_post(rig, "alice", bearer, document)
        assert response.status_code == expected, (document, response.text)
        assert "error" in response.json()

    status, page = await get_json(rig, "a.test", "/users/alice/outbox")
    assert status == 200 and page["totalItems"] == 0
    assert await rig.home("a.test", alice) == []
    assert await rig.drain() == 0


# ----- the inbox -----------------------------------------------------------------------------


async def test_inbox_lists_received_activities_newest_first_with_paging(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    await rig.user("a.test", "erin")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "a.test", alice, bob)
    b = rig.services("b.test")
    posted = []
    for number in range(21):
        posted.append(await b.publisher.post(bob, f"Update number {number}"))
        await rig.drain()  # one at a time, so arrival order is posting order
    newest_first = [s.uri for s in reversed(posted)]
    bearer = await token(rig, "a.test", "alice", ("read",))

    status, page = await get_json(rig, "a.test", "/users/alice/inbox", bearer)

    assert status == 200, page
    assert page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == alice.inbox_url
    items = page["orderedItems"]
    assert len(items) == 20
    assert all(item["type"] == "Create" and item["actor"] == bob.uri for item in items)
    assert all(isinstance(item["object"], dict) for item in items)
    assert [item["object"]["id"] for item in items] == newest_first[:20]
    assert "Update number 20" in items[0]["object"]["content"]
    assert page["next"].startswith(f"{alice.inbox_url}?max_id=")

    status, rest = await get_json(rig, "a.test", page["next"], bearer)

    assert status == 200
    assert [item["object"]["id"] for item in rest["orderedItems"]] == newest_first[20:]
    assert "next" not in rest

    erins = await token(rig, "a.test", "erin", ("read",))
    status, refused = await get_json(rig, "a.test", "/users/alice/inbox", erins)
    assert status == 403 and "error" in refused
    async with rig.client("a.test") as client:
        assert (await client.get("/users/alice/inbox")).status_code == 401


# ----- collections and documents ------------------------------------------------------------


async def test_outbox_collection_lists_public_posts_newest_first(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bearer = await token(rig, "a.test", "alice")
    uris = []
    for content, to in (
        ("First", [PUBLIC]),
        ("Secret", [alice.followers_url or ""]),
        ("Second", [PUBLIC]),
    ):
        response = await outbox_post(rig, "alice", bearer, note(content, to))
        assert response.status_code == 201, response.text
        uris.append(response.json()["object"]["id"])
    first, secret, second = uris

    status, collection = await get_json(rig, "a.test", "/users/alice/outbox")

    assert status == 200
    assert collection["type"] == "OrderedCollection"
    assert collection["id"] == alice.outbox_url
    assert collection["totalItems"] == 2
    assert collection["first"] == f"{alice.outbox_url}?page=true"

    status, page = await get_json(rig, "a.test", collection["first"])

    assert status == 200 and page["type"] == "OrderedCollectionPage"
    assert page["partOf"] == alice.outbox_url
    items = page["orderedItems"]
    assert [item["type"] for item in items] == ["Create", "Create"]
    assert [item["object"]["id"] for item in items] == [second, first]
    assert secret not in json.dumps(page)
    assert "next" not in page


async def test_followers_and_following_pages(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    await follow(rig, "b.test", bob, alice)
    await follow(rig, "c.test", carol, alice)
    await follow(rig, "a.test", alice, bob)

    for path, total, members in (
        ("/users/alice/followers", 2, {bob.uri, carol.uri}),
        ("/users/alice/following", 1, {bob.uri}),
    ):
        status, collection = await get_json(rig, "a.test", path)
        assert status == 200 and collection["type"] == "OrderedCollection"
        assert collection["id"] == f"http://a.test{path}"
        assert collection["totalItems"] == total
        assert collection["first"] == f"http://a.test{path}?page=1"
        status, page = await get_json(rig, "a.test", collection["first"])
        assert status == 200 and page["type"] == "OrderedCollectionPage"
        assert page["partOf"] == collection["id"]
        assert set(page["orderedItems"]) == members and "next" not in page


async def test_status_document_as_activity_json_and_as_html(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bearer = await token(rig, "a.test", "alice")
    response = await outbox_post(
        rig, "alice", bearer, note("Hello", [PUBLIC], [alice.followers_url or ""])
    )
    uri = response.json()["object"]["id"]
    path = uri.removeprefix("http://a.test")

    for accept in (AS_JSON, LD_JSON):
        async with rig.client("a.test") as client:
            served = await client.get(path, headers={"Accept": accept})
        assert served.status_code == 200
        assert served.headers["content-type"].startswith(AS_JSON)
        document = served.json()
        assert document["id"] == uri and document["type"] == "Note"
        assert document["to"] == [PUBLIC] and document["cc"] == [alice.followers_url]
        assert document["attributedTo"] == alice.uri
        assert document["content"] == "<p>Hello</p>"
        assert datetime.fromisoformat(document["published"].replace("Z", "+00:00"))
        assert document["url"] == f"http://a.test/@alice/{uri.rsplit('/', 1)[1]}"
        assert document["conversation"] and document["context"] == document["conversation"]
        assert document["replies"]["id"] == f"{uri}/replies"

    async with rig.client("a.test") as client:
        page = await client.get(path, headers={"Accept": "text/html"})
    assert page.status_code in (301, 302, 303, 307, 308)
    assert page.headers["Location"] == f"http://a.test/@alice/{uri.rsplit('/', 1)[1]}"


async def test_proxy_url_fetches_through_the_server_within_its_rules(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    svc_a = rig.services("a.test")
    async with rig.client("a.test") as client:
        actor = await client.get(alice.uri, headers={"Accept": "application/activity+json"})
    assert actor.json()["endpoints"]["proxyUrl"] == "http://a.test/proxy"
    post = await rig.services("b.test").publisher.post(bob, "Fetched through a proxy")
    hidden = await rig.services("b.test").publisher.post(
        bob, "Only followers", visibility="private"
    )
    token = await create_token(svc_a.db, "alice", ("read",), datetime.now(UTC))
    async with rig.client("a.test") as client:
        auth = {"Authorization": f"Bearer {token}"}
        fetched = await client.post("/proxy", data={"id": post.uri}, headers=auth)
        assert fetched.status_code == 200 and fetched.json()["content"] == post.content
        refused = await client.post("/proxy", data={"id": hidden.uri}, headers=auth)
        assert refused.status_code == 502  # b.test answers 404 to a.test's instance actor
        assert (await client.post("/proxy", data={"id": post.uri})).status_code == 401
        outside = await client.post("/proxy", data={"id": "http://z.test/x"}, headers=auth)
        assert outside.status_code == 403  # not a peer
        local_file = await client.post("/proxy", data={"id": "file:///etc/passwd"}, headers=auth)
        assert local_file.status_code == 400
