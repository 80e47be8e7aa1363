"""Visibility `org` (issue 6, point 3): a post seen by every signed-in employee of every peer
instance and by no one else.

The rig holds three instances: a.test (the origin, in `open` mode so that anyone *could*
follow its users and get their public posts), b.test (a peer: each lists the other) and
x.test (in `open` mode and not a peer of a.test; it lists a.test one-sidedly, so it would
take whatever a.test sent it). A public post reaching x.test is the control that proves the
test able to fail; then an organisation-only post, its edit, its deletion and a boost of it
must reach b.test and nothing of them x.test, and x.test's signed fetch must get 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from federation import activities
from federation.astools import PUBLIC
from federation.fetch import ObjectNotFound
from store.records import AccountRecord, StatusRecord
from tests.conftest import MakeConfig, running
from tests.federation_core.test_flow import post_signed
from tests.rig import Rig
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app

AP = {"Accept": "application/activity+json"}
HTML = {"Accept": "text/html"}


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests on to an instance, keeping each one's method, URL and body: what that
    instance was sent, to prove what it was not."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[tuple[str, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = (await request.aread()).decode("utf-8", "replace")
        self.seen.append((request.method, str(request.url), body))
        return await self.inner.handle_async_request(request)

    def mentions(self, text: str) -> list[tuple[str, str, str]]:
        return [entry for entry in self.seen if text in entry[1] or text in entry[2]]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [
        make_config("a.test", peers=("b.test",), mode="open"),
        make_config("b.test", peers=("a.test",)),
        make_config("x.test", peers=("a.test",), mode="open"),
    ]
    async with Rig(configs) as rig:
        yield rig


def record(rig: Rig, domain: str) -> Recorder:
    recorder = Recorder(rig.router.apps[domain])
    rig.router.apps[domain] = recorder  # type: ignore[assignment]
    return recorder


async def follow(rig: Rig, domain: str, follower: AccountRecord, target: AccountRecord) -> None:
    svc = rig.services(domain)
    remote = await svc.actors.get(target.uri)
    assert remote is not None
    await svc.publisher.follow(follower, remote)
    await rig.drain()


async def at(rig: Rig, domain: str, uri: str) -> StatusRecord | None:
    return await rig.status(domain, uri)


async def test_org_posts_reach_peers_only_and_an_open_non_peer_gets_nothing(rig: Rig) -> None:
    # Given alice on a.test, followed by bob (peer b.test) and xavier (open non-peer x.test),
    # and her colleague carol, whom bob and xavier follow too
    alice = await rig.user("a.test", "alice")
    carol = await rig.user("a.test", "carol")
    bob = await rig.user("b.test", "bob")
    xavier = await rig.user("x.test", "xavier")
    for domain, follower in (("b.test", bob), ("x.test", xavier)):
        for target in (alice, carol):
            await follow(rig, domain, follower, target)
    a = rig.services("a.test")
    x_inbound = record(rig, "x.test")

    # When alice posts in public (the control: open mode lets x.test have it)
    public = await a.publisher.post(alice, "Public launch notes")
    await rig.drain()
    # Then xavier and bob have it
    assert await at(rig, "x.test", public.uri) is not None
    assert public.uri in [s.uri for s in await rig.home("x.test", xavier)]
    assert x_inbound.mentions(public.uri)

    # When alice posts to the organisation
    org = await a.publisher.post(alice, "Org-only: reorg details", visibility="org")
    await rig.drain()
    # Then bob's instance stores it as org and puts it on his home timeline
    at_b = await at(rig, "b.test", org.uri)
    assert at_b is not None and at_b.visibility == "org"
    assert org.uri in [s.uri for s in await rig.home("b.test", bob)]
    # and x.test was sent nothing about it, and holds nothing of it
    assert await at(rig, "x.test", org.uri) is None
    assert org.uri not in [s.uri for s in await rig.home("x.test", xavier)]

    # When alice edits it, carol boosts it, then alice deletes it
    await a.publisher.edit(alice, org, "Org-only: reorg details, revised")
    boost = await a.publisher.boost(carol, org)
    await rig.drain()
    at_b = await at(rig, "b.test", org.uri)
    assert at_b is not None and "revised" in at_b.content  # the Update reached the peer
    assert boost.visibility == "org"
    boost_at_b = await at(rig, "b.test", boost.uri)
    assert boost_at_b is not None and boost_at_b.visibility == "org"
    assert boost.uri in [s.uri for s in await rig.home("b.test", bob)]
    await a.publisher.delete(alice, org)
    await rig.drain()
    at_b = await at(rig, "b.test", org.uri)
    assert at_b is not None and at_b.deleted_at is not None  # the Delete reached the peer

    # Then none of the four activities went to x.test
    assert x_inbound.mentions(org.uri) == []
    assert x_inbound.mentions("reorg") == []
    assert x_inbound.mentions(boost.uri) == []
    assert await at(rig, "x.test", boost.uri) is None


async def test_org_posts_are_served_only_on_signed_fetches_from_peers(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    a, b, x = (rig.services(d) for d in ("a.test", "b.test", "x.test"))
    public = await a.publisher.post(alice, "Open to all")
    org = await a.publisher.post(alice, "Inside only", visibility="org")

    # A peer's signed fetch gets the Note, marked, addressed without Public
    document = await b.fetcher.fetch_json(org.uri)
    assert document["orgOnly"] is True and "Inside only" in document["content"]
    assert {"wc": "https://w3id.org/watercooler/ns#", "orgOnly": "wc:orgOnly"}.items() <= (
        document["@context"][1].items()
    )
    public_iri = "https://www.w3.org/ns/activitystreams#Public"
    assert public_iri not in (*document["to"], *document["cc"])
    activity = await b.fetcher.fetch_json(f"{org.uri}/activity")
    assert activity["type"] == "Create" and activity["object"]["orgOnly"] is True

    # The open non-peer's signed fetch of the same post: 404, though it may fetch public ones
    assert (await x.fetcher.fetch_json(public.uri))["id"] == public.uri
    with pytest.raises(ObjectNotFound):
        await x.fetcher.fetch_json(org.uri)
    with pytest.raises(ObjectNotFound):
        await x.fetcher.fetch_json(f"{org.uri}/activity")

    # Unsigned: 404 as ActivityStreams and as a web page, whatever the path
    async with rig.client("a.test") as anonymous:
        assert (await anonymous.get(org.uri, headers=AP)).status_code == 404
        assert (await anonymous.get(org.url or "", headers=AP)).status_code == 404
        assert (await anonymous.get(org.url or "", headers=HTML)).status_code == 404
        assert (await anonymous.get(public.url or "", headers=HTML)).status_code == 200
        # Not in the public outbox either
        outbox = await anonymous.get("/users/alice/outbox?page=true", headers=AP)
        items = [item["object"]["id"] for item in outbox.json()["orderedItems"]]
        assert items == [public.uri]
        assert (await anonymous.get("/users/alice/outbox", headers=AP)).json()["totalItems"] == 1


async def test_the_org_marker_is_believed_only_from_a_peer(rig: Rig) -> None:
    # Given alice on a.test following bob (peer) and xavier (x.test, which lists a.test as
    # its peer, so it sends its org posts there; a.test does not list it)
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    xavier = await rig.user("x.test", "xavier")
    await follow(rig, "a.test", alice, bob)
    await follow(rig, "a.test", alice, xavier)
    # When both post to their organisation
    from_peer = await rig.services("b.test").publisher.post(bob, "Peer memo", visibility="org")
    forged = await rig.services("x.test").publisher.post(xavier, "Outside memo", visibility="org")
    await rig.drain()
    # Then the peer's is org at a.test; the outsider's marker is ignored: it is followers-only,
    # as Mastodon would read its addressing (alice follows xavier, so she still sees it)
    peer_copy, outside_copy = (
        await at(rig, "a.test", from_peer.uri),
        await at(rig, "a.test", forged.uri),
    )
    assert peer_copy is not None and peer_copy.visibility == "org"
    assert outside_copy is not None and outside_copy.visibility == "private"
    assert {from_peer.uri, forged.uri} <= {s.uri for s in await rig.home("a.test", alice)}
    # and only the peer's shows to the rest of the organisation (carol follows no one)
    async with await rig.api_client("a.test", "carol") as carol:
        shown = await carol.get("/api/v1/timelines/public")
        assert shown.status_code == 200
        uris = [s["uri"] for s in shown.json()]
        assert from_peer.uri in uris and forged.uri not in uris
        entity = await carol.get(f"/api/v1/statuses/{peer_copy.id}")
        assert entity.status_code == 200 and entity.json()["visibility"] == "org"
        assert (await carol.get(f"/api/v1/statuses/{outside_copy.id}")).status_code == 404


async def test_local_users_see_org_posts_everywhere_anonymous_readers_nowhere(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    a = rig.services("a.test")
    public = await a.publisher.post(alice, "Kickoff #launch")
    org = await a.publisher.post(alice, "Budget numbers #launch", visibility="org")
    local_only = await a.publisher.post(alice, "Division lunch #launch", local_only=True)
    reply = await a.publisher.post(alice, "Budget follow-up", visibility="org", in_reply_to=org)
    remote_org = await rig.services("b.test").publisher.post(bob, "Peer budget", visibility="org")
    await rig.drain()  # b.test's org post comes to a.test through the instance actors' link
    remote_at_a = await at(rig, "a.test", remote_org.uri)
    assert remote_at_a is not None and remote_at_a.visibility == "org"

    async with await rig.api_client("a.test", "carol") as carol, rig.client("a.test") as anon:
        # Public timelines (local and the whole organisation's) and the tag timeline
        local = await carol.get("/api/v1/timelines/public", params={"local": "true"})
        assert [s["id"] for s in local.json()] == [
            str(reply.id),
            str(local_only.id),
            str(org.id),
            str(public.id),
        ]
        federated = [s["uri"] for s in (await carol.get("/api/v1/timelines/public")).json()]
        assert remote_org.uri in federated and org.uri in federated
        tagged = await carol.get("/api/v1/timelines/tag/launch")
        assert {s["id"] for s in tagged.json()} == {str(org.id), str(local_only.id), str(public.id)}
        assert (await anon.get("/api/v1/timelines/public")).status_code == 401
        assert (await anon.get("/api/v1/timelines/tag/launch")).status_code == 401
        # Single statuses and the thread
        assert (await carol.get(f"/api/v1/statuses/{org.id}")).json()["visibility"] == "org"
        assert (await anon.get(f"/api/v1/statuses/{org.id}")).status_code == 404
        assert (await anon.get(f"/api/v1/statuses/{local_only.id}")).status_code == 404
        context = (await carol.get(f"/api/v1/statuses/{org.id}/context")).json()
        assert [s["id"] for s in context["descendants"]] == [str(reply.id)]
        assert (await anon.get(f"/api/v1/statuses/{reply.id}/context")).status_code == 404
        # A profile's posts
        shown = await carol.get(f"/api/v1/accounts/{alice.id}/statuses")
        assert {s["id"] for s in shown.json()} == {
            str(reply.id),
            str(local_only.id),
            str(org.id),
            str(public.id),
        }
        anonymous = await anon.get(f"/api/v1/accounts/{alice.id}/statuses")
        assert [s["id"] for s in anonymous.json()] == [str(public.id)]
        # Search (anonymous readers cannot search at all)
        found = await carol.get("/api/v2/search", params={"q": "budget", "type": "statuses"})
        assert {s["uri"] for s in found.json()["statuses"]} == {org.uri, reply.uri, remote_org.uri}
        public_only = await carol.get(
            "/api/v2/search", params={"q": "budget in:public", "type": "statuses"}
        )
        assert {s["uri"] for s in public_only.json()["statuses"]} == {
            org.uri,
            reply.uri,
            remote_org.uri,
        }
        assert (await anon.get("/api/v2/search", params={"q": "budget"})).status_code == 401
        # NodeInfo and the instance's counts leave out org and local-only posts
        nodeinfo = (await anon.get("/nodeinfo/2.0")).json()
        assert nodeinfo["usage"]["localPosts"] == 1
        assert (await anon.get("/api/v1/instance")).json()["stats"]["status_count"] == 1
        # The author's own count (Mastodon's statuses_count) counts them like public ones
        me = (await carol.get(f"/api/v1/accounts/{alice.id}")).json()
        assert me["statuses_count"] == 4


async def test_an_org_boost_of_a_local_user_stays_inside(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "a.test", alice, bob)
    org = await rig.services("b.test").publisher.post(bob, "Peer plans", visibility="org")
    await rig.drain()
    async with await rig.api_client("a.test", "alice") as api:
        at_a = await at(rig, "a.test", org.uri)
        assert at_a is not None
        boosted = await api.post(f"/api/v1/statuses/{at_a.id}/reblog")
        assert boosted.status_code == 200, boosted.text
        assert boosted.json()["visibility"] == "org"
        assert boosted.json()["reblog"]["visibility"] == "org"
    await rig.drain()
    original = await at(rig, "b.test", org.uri)
    assert original is not None and original.reblogs_count == 1


async def test_an_outsider_cannot_boost_an_org_post(rig: Rig) -> None:
    # Given an org post of alice's whose id an outsider learnt somehow
    alice = await rig.user("a.test", "alice")
    await rig.user("x.test", "xavier")
    org = await rig.services("a.test").publisher.post(alice, "Inside", visibility="org")
    public = await rig.services("a.test").publisher.post(alice, "Outside")
    # When xavier (open non-peer) announces both, signed as Mastodon signs
    for status in (org, public):
        announce = activities.announce(
            f"http://x.test/users/xavier/statuses/{status.id}/activity",
            "http://x.test/users/xavier",
            status.uri,
            [PUBLIC],
            [alice.uri],
            datetime.now(UTC),
        )
        answer = await post_signed(rig, "x.test", "xavier", "http://a.test/inbox", announce)
        assert answer.status_code == 202
    await rig.drain()
    # Then the boost of the public post counts, that of the org post is refused
    assert (await at(rig, "a.test", public.uri)).reblogs_count == 1  # type: ignore[union-attr]
    assert (await at(rig, "a.test", org.uri)).reblogs_count == 0  # type: ignore[union-attr]


# ----- instance.default_visibility and the user's own default ---------------------------------


@pytest.fixture
async def org_default(make_config: MakeConfig) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """One instance whose `instance.default_visibility` is org, and a token of alice's."""
    config = make_config("a.test")
    config = replace(config, instance=replace(config.instance, default_visibility="org"))
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc = app.state.services
        now = datetime.now(UTC)
        await create_user(svc.db, svc.uris, "alice", now=now)
        token = await create_token(svc.db, "alice", ("read", "write"), now)
        yield client, token


async def test_default_visibility_org_applies_when_the_app_names_none(
    org_default: tuple[httpx.AsyncClient, str],
) -> None:
    client, token = org_default
    auth = {"Authorization": f"Bearer {token}"}
    # Given IT made org the default: a post without `visibility` is org
    posted = await client.post("/api/v1/statuses", data={"status": "Hello"}, headers=auth)
    assert posted.status_code == 200 and posted.json()["visibility"] == "org"
    # an explicit choice is kept
    explicit = await client.post(
        "/api/v1/statuses", json={"status": "Hi all", "visibility": "public"}, headers=auth
    )
    assert explicit.json()["visibility"] == "public"
    # and apps are told the default
    me = (await client.get("/api/v1/accounts/verify_credentials", headers=auth)).json()
    assert me["source"]["privacy"] == "org"
    preferences = (await client.get("/api/v1/preferences", headers=auth)).json()
    assert preferences["posting:default:visibility"] == "org"
    # When the user sets their own default (form and JSON, as apps send it)
    changed = await client.patch(
        "/api/v1/accounts/update_credentials", data={"source[privacy]": "private"}, headers=auth
    )
    assert changed.status_code == 200 and changed.json()["source"]["privacy"] == "private"
    # Then it wins over the instance's
    posted = await client.post("/api/v1/statuses", data={"status": "Mine"}, headers=auth)
    assert posted.json()["visibility"] == "private"
    changed = await client.patch(
        "/api/v1/accounts/update_credentials", json={"source": {"privacy": "org"}}, headers=auth
    )
    assert changed.json()["source"]["privacy"] == "org"
    wrong = await client.patch(
        "/api/v1/accounts/update_credentials", data={"source[privacy]": "secret"}, headers=auth
    )
    assert wrong.status_code == 422 and "privacy" in wrong.json()["error"]
    bad = await client.post(
        "/api/v1/statuses", data={"status": "x", "visibility": "everyone"}, headers=auth
    )
    assert bad.status_code == 422


async def test_the_default_visibility_is_checked_in_the_config() -> None:
    from watercooler.config import ConfigError, parse_config

    base = {"instance": {"domain": "a.test", "base_url": "https://a.test"}}
    assert parse_config(base).instance.default_visibility == "public"
    chosen = {"instance": {**base["instance"], "default_visibility": "org"}}
    assert parse_config(chosen).instance.default_visibility == "org"
    with pytest.raises(ConfigError, match=r"instance\.default_visibility"):
        parse_config({"instance": {**base["instance"], "default_visibility": "everyone"}})
