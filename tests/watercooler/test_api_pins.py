"""Pins: `POST /api/v1/statuses/:id/pin` and `/unpin` with Mastodon's rules (own public,
unlisted or followers-only posts; at most five), `pinned` on the owner's statuses,
`/api/v1/accounts/:id/statuses?pinned=true`, the featured collection peers read, and pins
crossing instances as Add / Remove on it: bob on b.test sees alice's pin on a.test. A forged
Add from another actor pins nothing."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.activities import parse_activity
from federation.keys import load_private_key
from federation.signatures import sign_request
from inbox.handlers import HANDLERS
from store.records import InboxItemRecord
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post
from watercooler.keyresolver import StoreKeyResolver

AS_JSON = {"Accept": "application/activity+json"}


async def pinned(client: httpx.AsyncClient, account: str) -> list[str]:
    response = await client.get(f"/api/v1/accounts/{account}/statuses", params={"pinned": "true"})
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


def rows(rig: Rig, domain: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        return conn.execute(sql, params).fetchall()


async def handle_again(rig: Rig, domain: str, kind: str) -> int:
    """Run the handler of each handled activity of type `kind` once more."""
    ctx = rig.services(domain).workers.inbox.ctx
    query = (
        "SELECT id, activity_uri, actor_uri, recipient_account_id, body, attempts"
        " FROM inbox_items WHERE state = 'done' ORDER BY id"
    )
    handled = 0
    for row in rows(rig, domain, query):
        item = InboxItemRecord(*row)
        activity = parse_activity(json.loads(item.body))
        if activity.type == kind:
            await HANDLERS[kind](ctx, activity, item)
            handled += 1
    return handled


async def signed(
    rig: Rig, signer_domain: str, name: str, method: str, url: str, body: bytes | None = None
) -> httpx.Response:
    """A request to another instance signed with `name`'s key, as its server signs."""
    svc = rig.services(signer_domain)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name)))
    assert isinstance(key, rsa.RSAPrivateKey)
    headers = {"Content-Type": "application/activity+json", **AS_JSON}
    headers |= sign_request(
        method,
        url,
        headers,
        body,
        key_id=svc.uris.key_id(name),
        private_key=key,
        now=datetime.now(UTC),
    )
    async with httpx.AsyncClient(transport=rig.router) as client:
        return await client.request(method, url, content=body, headers=headers)


# ----- the client API ------------------------------------------------------------------------


async def test_pin_rules_and_limit_like_mastodon(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        mine = [await post(alice, f"post {n}") for n in range(6)]
        direct = await post(alice, "@bob psst", visibility="direct")
        theirs = await post(bob, "bob's post")
        boost = await alice.post(f"/api/v1/statuses/{theirs['id']}/reblog")
        assert boost.status_code == 200
        assert mine[0]["pinned"] is False  # the owner sees the key, false until pinned

        # When alice pins her first post (twice: the second call changes nothing)
        for _ in range(2):
            response = await alice.post(f"/api/v1/statuses/{mine[0]['id']}/pin")
            assert response.status_code == 200, response.text
            assert response.json()["pinned"] is True

        # Then others' posts, boosts and direct posts are refused with Mastodon's messages
        refused = {
            theirs["id"]: "Someone else's post cannot be pinned",
            boost.json()["id"]: "A boost cannot be pinned",
            direct["id"]: "only visible to mentioned users",
        }
        for status_id, message in refused.items():
            response = await alice.post(f"/api/v1/statuses/{status_id}/pin")
            assert response.status_code == 422, response.text
            assert message in response.json()["error"]

        # And five pins is the limit
        for status in mine[1:5]:
            assert (await alice.post(f"/api/v1/statuses/{status['id']}/pin")).status_code == 200
        sixth = await alice.post(f"/api/v1/statuses/{mine[5]['id']}/pin")
        assert sixth.status_code == 422
        assert sixth.json()["error"] == (
            "Validation failed: You have already pinned the maximum number of posts"
        )

        # A deleted pinned post frees its place
        assert (await alice.delete(f"/api/v1/statuses/{mine[4]['id']}")).status_code == 200
        assert (await alice.post(f"/api/v1/statuses/{mine[5]['id']}/pin")).status_code == 200

        # Unpinning answers the status unpinned, and again changes nothing
        for _ in range(2):
            response = await alice.post(f"/api/v1/statuses/{mine[0]['id']}/unpin")
            assert response.status_code == 200 and response.json()["pinned"] is False

        # Others never see `pinned`; a status nobody can see is 404
        seen_by_bob = await bob.get(f"/api/v1/statuses/{mine[1]['id']}")
        assert "pinned" not in seen_by_bob.json()
        assert (await alice.post("/api/v1/statuses/99999/pin")).status_code == 404


async def test_pinning_needs_write_accounts(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        status = await post(alice, "pin me")
    for scopes, expected in (("read write:statuses", 403), ("write:accounts", 200)):
        client = await rig.api_client("a.test", "alice", scopes)
        async with client:
            response = await client.post(f"/api/v1/statuses/{status['id']}/pin")
            assert response.status_code == expected, (scopes, response.text)


async def test_pinned_statuses_of_an_account_as_each_viewer_may_see_them(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    follower = await rig.api_client("a.test", "bob")
    stranger = await rig.api_client("a.test", "carol")
    async with alice, follower, stranger:
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
        assert (await follower.post(f"/api/v1/accounts/{me}/follow")).status_code == 200
        public = await post(alice, "public")
        private = await post(alice, "followers only", visibility="private")
        unlisted = await post(alice, "unlisted", visibility="unlisted")
        await post(alice, "not pinned")
        for status in (public, private, unlisted):
            assert (await alice.post(f"/api/v1/statuses/{status['id']}/pin")).status_code == 200

        # Latest pin first; followers-only ones for the owner and followers only
        everything = [unlisted["id"], private["id"], public["id"]]
        assert await pinned(alice, me) == everything
        assert await pinned(follower, me) == everything
        assert await pinned(stranger, me) == [unlisted["id"], public["id"]]
        async with httpx.AsyncClient(transport=rig.router, base_url="http://a.test") as anonymous:
            assert await pinned(anonymous, me) == [unlisted["id"], public["id"]]
        listed = await alice.get(f"/api/v1/accounts/{me}/statuses", params={"pinned": "true"})
        assert all(status["pinned"] is True for status in listed.json())


# ----- federation ----------------------------------------------------------------------------


async def test_featured_collection_serves_visible_pins(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        alice_at_b = await account_id(bob, "@alice@a.test")
        assert (await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")).status_code == 200
        await rig.drain()
        public = await post(alice, "public pin")
        private = await post(alice, "followers-only pin", visibility="private")
        for status in (public, private):
            assert (await alice.post(f"/api/v1/statuses/{status['id']}/pin")).status_code == 200

    actor = (await rig.client("a.test").get("/users/alice", headers=AS_JSON)).json()
    featured_url = actor["featured"]
    assert featured_url == "http://a.test/users/alice/collections/featured"

    # Unsigned: only the public pin, embedded as a Note
    async with rig.client("a.test") as client:
        document = (await client.get(featured_url, headers=AS_JSON)).json()
    assert document["type"] == "OrderedCollection" and document["totalItems"] == 1
    assert [note["id"] for note in document["orderedItems"]] == [public["uri"]]
    assert document["orderedItems"][0]["type"] == "Note"

    # Signed by a follower: the followers-only pin too, latest pin first
    response = await signed(rig, "b.test", "bob", "GET", featured_url)
    assert response.status_code == 200, response.text
    assert [n["id"] for n in response.json()["orderedItems"]] == [private["uri"], public["uri"]]


async def test_a_pin_crosses_instances_as_add_and_remove(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        # Given bob on b.test follows alice on a.test, and has her post
        alice_at_b = await account_id(bob, "@alice@a.test")
        assert (await bob.post(f"/api/v1/accounts/{alice_at_b}/follow")).status_code == 200
        await rig.drain()
        status = await post(alice, "our roadmap, pinned")
        await rig.drain()
        remote = await rig.status("b.test", status["uri"])
        assert remote is not None
        assert await pinned(bob, alice_at_b) == []

        # When alice pins it
        assert (await alice.post(f"/api/v1/statuses/{status['id']}/pin")).status_code == 200
        await rig.drain()

        # Then the Add to her featured collection reached b.test, and bob sees the pin
        (body,) = [
            json.loads(row[0])
            for row in rows(
                rig,
                "a.test",
                "SELECT b.body FROM deliveries d JOIN delivery_bodies b"
                " ON b.activity_uri = d.activity_uri WHERE d.host = 'b.test'",
            )
            if json.loads(row[0])["type"] == "Add"
        ]
        assert body["object"] == status["uri"]
        assert body["target"] == "http://a.test/users/alice/collections/featured"
        assert body["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
        assert await pinned(bob, alice_at_b) == [str(remote.id)]

        # The same Add handled once more (a retry after a crash) leaves one pin
        assert await handle_again(rig, "b.test", "Add") == 1
        assert rows(rig, "b.test", "SELECT count(*) FROM status_pins") == [(1,)]

        # And the unpin (Remove) takes it away
        assert (await alice.post(f"/api/v1/statuses/{status['id']}/unpin")).status_code == 200
        await rig.drain()
        assert await pinned(bob, alice_at_b) == []


async def test_a_forged_add_pins_nothing(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    mallory = await rig.api_client("a.test", "mallory")
    bob = await rig.api_client("b.test", "bob")
    async with alice, mallory, bob:
        for name in ("alice", "mallory"):
            target = await account_id(bob, f"@{name}@a.test")
            assert (await bob.post(f"/api/v1/accounts/{target}/follow")).status_code == 200
        await rig.drain()
        status = await post(alice, "alice's post")
        await post(mallory, "mallory's post")
        await rig.drain()
        alice_at_b = await account_id(bob, "@alice@a.test")
        mallory_at_b = await account_id(bob, "@mallory@a.test")

    # When mallory, signing as herself, adds alice's post to alice's collection, then to her own
    svc = rig.services("a.test")
    for n, collection in enumerate(("alice", "mallory")):
        add = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{svc.uris.actor('mallory')}#forged/{n}",
            "type": "Add",
            "actor": svc.uris.actor("mallory"),
            "object": status["uri"],
            "target": svc.uris.featured(collection),
        }
        body = json.dumps(add).encode()
        response = await signed(rig, "a.test", "mallory", "POST", "http://b.test/inbox", body)
        assert response.status_code == 202, response.text
    await rig.drain()

    # Then nothing is pinned on b.test, for either of them
    bob = await rig.api_client("b.test", "bob")
    async with bob:
        assert await pinned(bob, alice_at_b) == []
        assert await pinned(bob, mallory_at_b) == []
    assert rows(rig, "b.test", "SELECT count(*) FROM status_pins") == [(0,)]
    # (both were received and handled: the first ignored, the second refused)
    states = "SELECT state FROM inbox_items WHERE activity_uri LIKE '%forged%' ORDER BY id"
    assert rows(rig, "b.test", states) == [("done",), ("failed",)]
