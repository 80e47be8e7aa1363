"""Follows and posts across instances, in process: real apps, real signatures, real SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from federation import activities
from federation.fetch import Fetcher, ObjectNotFound
from federation.keys import load_private_key
from federation.signatures import HttpSignatureAuth, sign_request
from store import deliveries, follows, statuses
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.keyresolver import StoreKeyResolver


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    domains = ("a.test", "b.test", "c.test")
    configs = [make_config(d, peers=tuple(p for p in domains if p != d)) for d in domains]
    async with Rig(configs) as rig:
        yield rig


async def test_follow_is_accepted_and_posts_arrive(rig: Rig) -> None:
    # Given alice on a.test and bob on b.test
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    a, b = rig.services("a.test"), rig.services("b.test")
    bob_at_a = await a.actors.get(bob.uri)
    assert bob_at_a is not None
    # When alice follows bob
    await a.publisher.follow(alice, bob_at_a)
    await rig.drain()
    # Then the follow is accepted on both sides
    async with a.db.read() as conn:
        assert await follows.is_following(conn, alice.id, bob_at_a.id)
    alice_at_b = await rig.account("b.test", alice.uri)
    assert alice_at_b is not None
    async with b.db.read() as conn:
        assert await follows.is_following(conn, alice_at_b.id, bob.id)
    # When bob posts
    status = await b.publisher.post(bob, "Hello #watercooler from @bob")
    await rig.drain()
    # Then it is on alice's home timeline, with its content
    home = await rig.home("a.test", alice)
    assert [s.uri for s in home] == [status.uri]
    assert "#<span>watercooler</span>" in home[0].content
    assert home[0].visibility == "public"


async def follow(rig: Rig, follower_domain: str, follower, target) -> None:  # type: ignore[no-untyped-def]
    svc = rig.services(follower_domain)
    remote = await svc.actors.get(target.uri)
    assert remote is not None
    await svc.publisher.follow(follower, remote)
    await rig.drain()


async def test_reply_thread_across_three_instances(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    await follow(rig, "b.test", bob, alice)
    await follow(rig, "c.test", carol, bob)
    a, b, c = (rig.services(d) for d in ("a.test", "b.test", "c.test"))
    question = await a.publisher.post(alice, "Who knows the VPN setup?")
    await rig.drain()
    at_b = await rig.status("b.test", question.uri)
    assert at_b is not None
    answer = await b.publisher.post(bob, "@alice@a.test ask IT", in_reply_to=at_b)
    await rig.drain()
    # alice sees the answer (mentioned), linked to her question.
    answer_at_a = await rig.status("a.test", answer.uri)
    assert answer_at_a is not None and answer_at_a.in_reply_to_id == question.id
    assert (await rig.status("a.test", question.uri)).replies_count == 1  # type: ignore[union-attr]
    # carol follows bob only: she gets the answer, and c.test fetched its parent.
    answer_at_c = await rig.status("c.test", answer.uri)
    parent_at_c = await rig.status("c.test", question.uri)
    assert answer_at_c is not None and parent_at_c is not None
    assert answer_at_c.in_reply_to_id == parent_at_c.id
    assert [s.uri for s in await rig.home("c.test", carol)] == [answer.uri]
    # carol replies; bob gets it as a reply to his answer.
    answer_at_c_record = await rig.status("c.test", answer.uri)
    assert answer_at_c_record is not None
    reply = await c.publisher.post(carol, "@bob@b.test thanks", in_reply_to=answer_at_c_record)
    await rig.drain()
    reply_at_b = await rig.status("b.test", reply.uri)
    assert reply_at_b is not None and reply_at_b.in_reply_to_id == answer.id


async def test_boosts_and_likes_arrive_and_are_undone(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    await follow(rig, "b.test", bob, alice)
    await follow(rig, "c.test", carol, bob)
    a, b = rig.services("a.test"), rig.services("b.test")
    post = await a.publisher.post(alice, "Launch day!")
    await rig.drain()
    at_b = await rig.status("b.test", post.uri)
    assert at_b is not None
    await b.publisher.like(bob, at_b)
    boost = await b.publisher.boost(bob, at_b)
    await rig.drain()
    original = await rig.status("a.test", post.uri)
    assert original is not None and (original.favourites_count, original.reblogs_count) == (1, 1)
    # carol follows bob, not alice: the boost brings alice's post to her home timeline.
    home = await rig.home("c.test", carol)
    assert [s.uri for s in home] == [boost.uri]
    assert home[0].reblog_of_id is not None
    await b.publisher.unlike(bob, at_b)
    await b.publisher.unboost(bob, at_b)
    await rig.drain()
    original = await rig.status("a.test", post.uri)
    assert original is not None and (original.favourites_count, original.reblogs_count) == (0, 0)
    assert await rig.home("c.test", carol) == []


async def test_edit_and_delete_propagate(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    a = rig.services("a.test")
    post = await a.publisher.post(alice, "Meeting at 3")
    await rig.drain()
    await a.publisher.edit(alice, post, "Meeting at 4")
    await rig.drain()
    at_b = await rig.status("b.test", post.uri)
    assert at_b is not None and "Meeting at 4" in at_b.content and at_b.edited_at is not None
    async with rig.services("b.test").db.read() as conn:
        versions = await statuses.versions(conn, at_b.id)
    assert ["at 3" in v[0] for v in versions] == [True, False]  # the original, then the edit
    await rig.drain()  # nothing more to do: a replayed Update would not add a version
    await a.publisher.delete(alice, post)
    await rig.drain()
    at_b = await rig.status("b.test", post.uri)
    assert at_b is not None and at_b.deleted_at is not None and at_b.content == ""
    assert await rig.home("b.test", bob) == []


async def test_followers_only_never_reaches_a_non_follower(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    carol = await rig.user("c.test", "carol")
    await follow(rig, "b.test", bob, alice)
    a = rig.services("a.test")
    secret = await a.publisher.post(alice, "Reorg draft, followers only", visibility="private")
    await rig.drain()
    assert await rig.status("b.test", secret.uri) is not None
    assert await rig.status("c.test", secret.uri) is None
    # Not by fetching either: unsigned, signed by a non-follower instance, or by carol's server.
    async with rig.client("a.test") as client:
        unsigned = await client.get(secret.uri, headers={"Accept": "application/activity+json"})
        assert unsigned.status_code == 404
    c = rig.services("c.test")
    with pytest.raises(ObjectNotFound):
        await c.fetcher.fetch_json(secret.uri)
    # bob's server, signing as its instance actor, is not bob: also refused.
    with pytest.raises(ObjectNotFound):
        await rig.services("b.test").fetcher.fetch_json(secret.uri)
    assert await rig.status("c.test", secret.uri) is None
    _ = carol


async def test_a_follower_fetches_a_followers_only_post_signed_as_themselves(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    secret = await rig.services("a.test").publisher.post(
        alice, "Just for you", visibility="private"
    )
    b = rig.services("b.test")
    private_pem = await StoreKeyResolver.signing_key(b.db, b.uris.key_id("bob"))
    as_bob = Fetcher(
        b.http,
        policy=b.policy,
        allow_http=True,
        auth=HttpSignatureAuth(b.uris.key_id("bob"), load_private_key(private_pem)),
    )
    document = await as_bob.fetch_json(secret.uri)
    assert document["id"] == secret.uri and "Just for you" in document["content"]
    assert document["to"] == [alice.followers_url]


async def test_a_remote_mention_resolves_through_webfinger(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    carol = await rig.user("c.test", "carol")
    a = rig.services("a.test")
    assert await rig.account("a.test", carol.uri) is None  # a.test has never seen carol
    note = await a.publisher.post(alice, "@carol@c.test can you review?", visibility="direct")
    await rig.drain()
    known = await rig.account("a.test", carol.uri)
    assert known is not None and known.domain == "c.test"  # found via WebFinger, then fetched
    assert 'href="http://c.test/@carol" class="u-url mention"' in note.content
    assert [s.uri for s in await rig.home("c.test", carol)] == [note.uri]
    at_c = await rig.status("c.test", note.uri)
    assert at_c is not None and at_c.visibility == "direct"


async def test_local_follows_need_no_http(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    dave = await rig.user("a.test", "dave")
    a = rig.services("a.test")
    async with a.db.read() as conn:
        before = await deliveries.counts(conn)
    record = await a.publisher.follow(dave, alice)
    assert record.state == "accepted"
    # Followers-only: a public post would also go to the peers' organisation timelines.
    post = await a.publisher.post(alice, "Team lunch on Friday", visibility="private")
    assert [s.uri for s in await rig.home("a.test", dave)] == [post.uri]  # at once, no drain
    async with a.db.read() as conn:
        assert await deliveries.counts(conn) == before


async def post_signed(
    rig: Rig, domain: str, name: str, inbox: str, document: dict[str, object]
) -> httpx.Response:
    """POST `document` to `inbox`, signed by `name` on `domain` as Mastodon signs."""
    svc = rig.services(domain)
    pem = await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name))
    raw = json.dumps(document).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST",
        inbox,
        headers,
        raw,
        key_id=svc.uris.key_id(name),
        private_key=load_private_key(pem),
        now=datetime.now(UTC),
    )
    async with httpx.AsyncClient(transport=rig.router) as client:
        return await client.post(inbox, content=raw, headers=headers)


async def test_an_undo_naming_only_the_like_takes_it_back(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    post = await rig.services("a.test").publisher.post(alice, "Likeable")
    await rig.drain()
    at_b = await rig.status("b.test", post.uri)
    assert at_b is not None
    like = await rig.services("b.test").publisher.like(bob, at_b)
    await rig.drain()
    assert like is not None and (await rig.status("a.test", post.uri)).favourites_count == 1  # type: ignore[union-attr]
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{like['id']}/undo",
        "type": "Undo",
        "actor": bob.uri,
        "object": like["id"],
    }
    response = await post_signed(rig, "b.test", "bob", "http://a.test/inbox", undo)
    assert response.status_code == 202
    await rig.drain()
    assert (await rig.status("a.test", post.uri)).favourites_count == 0  # type: ignore[union-attr]


async def test_a_follow_of_the_profile_url_is_accepted(rig: Rig) -> None:
    # Some servers send a Follow whose object is /@name rather than the actor id.
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    b = rig.services("b.test")
    alice_at_b = await b.actors.get(alice.uri)
    assert alice_at_b is not None
    follow_uri = "http://b.test/users/bob#follows/1"
    body = activities.follow(
        follow_uri, bob.uri, "http://a.test/@alice", published=datetime.now(UTC)
    )
    response = await post_signed(rig, "b.test", "bob", "http://a.test/users/alice/inbox", body)
    assert response.status_code == 202
    await rig.drain()
    bob_at_a = await rig.account("a.test", bob.uri)
    assert bob_at_a is not None
    async with rig.services("a.test").db.read() as conn:
        assert await follows.is_following(conn, bob_at_a.id, alice.id)


async def test_authorized_fetch_needs_a_peer_signature(make_config: MakeConfig) -> None:
    configs = [
        make_config("a.test", peers=("b.test",), authorized_fetch=True),
        make_config("b.test", peers=("a.test",)),
    ]
    async with Rig(configs) as rig:
        alice = await rig.user("a.test", "alice")
        post = await rig.services("a.test").publisher.post(alice, "Public, but only to peers")
        async with rig.client("a.test") as client:
            for path in (post.uri, f"{alice.uri}/outbox", f"{alice.uri}/followers"):
                unsigned = await client.get(path, headers={"Accept": "application/activity+json"})
                assert unsigned.status_code == 401, path
        b = rig.services("b.test")
        assert (await b.fetcher.fetch_json(post.uri))["id"] == post.uri
        assert (await b.fetcher.fetch_json(f"{alice.uri}/outbox"))["totalItems"] == 1


async def test_the_status_url_serves_peers_and_browsers(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    a = rig.services("a.test")
    public = await a.publisher.post(alice, "Open <b>house</b> on Friday", spoiler_text="event")
    private = await a.publisher.post(alice, "Only followers", visibility="private")
    async with rig.client("a.test") as client:
        as_json = await client.get(
            public.url or "", headers={"Accept": "application/activity+json"}
        )
        assert as_json.json()["id"] == public.uri
        page = await client.get(public.url or "")
        assert page.status_code == 200 and "Open &lt;b&gt;house&lt;/b&gt;" in page.text
        assert "<b>house</b>" not in page.text and "event" in page.text
        assert (await client.get(private.url or "")).status_code == 404
        redirect = await client.get(public.uri)
        assert redirect.status_code == 302 and redirect.headers["location"] == public.url
