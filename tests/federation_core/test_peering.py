"""Peering that IT runs: the instance actors' link, the organisation timeline it carries,
peers added and removed at run time through the admin API, and what the policy counts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation import vocab
from federation.keys import load_private_key
from federation.policy import PolicyRejected
from federation.signatures import sign_request
from store import deliveries, peers
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.keyresolver import StoreKeyResolver
from watercooler.peering import peer_statuses

AS_JSON = "application/activity+json"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    domains = ("a.test", "b.test", "c.test")
    configs = [make_config(d, peers=tuple(p for p in domains if p != d)) for d in domains]
    async with Rig(configs) as rig:
        yield rig


async def links(rig: Rig, domain: str) -> dict[str, tuple[str | None, str | None]]:
    """Per peer of `domain`: (our instance actor's follow of theirs, theirs of ours)."""
    found = await peer_statuses(rig.services(domain).db)
    return {s.peer.domain: (s.link.outgoing, s.link.incoming) for s in found}


async def public_timeline(rig: Rig, domain: str, reader: str) -> list[dict[str, Any]]:
    async with await rig.api_client(domain, reader, "read") as client:
        response = await client.get("/api/v1/timelines/public", params={"remote": "true"})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_listed_peers_instance_actors_follow_each_other(rig: Rig) -> None:
    for domain in ("a.test", "b.test", "c.test"):
        others = {d for d in ("a.test", "b.test", "c.test") if d != domain}
        assert await links(rig, domain) == dict.fromkeys(others, ("accepted", "accepted"))
    async with await rig.admin_client("a.test") as admin:
        listed = (await admin.get("/api/v1/admin/peers")).json()
        allows = (await admin.get("/api/v1/admin/domain_allows")).json()
    assert [(p["domain"], p["following"], p["followed_by"], p["source"]) for p in listed] == [
        ("b.test", "accepted", "accepted", "config"),
        ("c.test", "accepted", "accepted", "config"),
    ]
    assert listed[0]["instance_actor"] == "http://b.test/actor"
    assert listed[0]["last_success_at"] is not None and listed[0]["queued"] == 0
    assert [a["domain"] for a in allows] == ["b.test", "c.test"]


async def test_the_org_timeline_carries_posts_boosts_edits_and_deletes(rig: Rig) -> None:
    """Nobody follows anybody: the instance actors' link alone brings every division's
    public posts to the others."""
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    a, b = rig.services("a.test"), rig.services("b.test")
    post = await a.publisher.post(alice, "Quarterly all-hands on Friday")
    quiet = await a.publisher.post(alice, "Just for my followers, really", visibility="unlisted")
    await rig.drain()
    seen = await public_timeline(rig, "c.test", "carol")
    assert [s["uri"] for s in seen] == [post.uri]  # unlisted posts are not relayed
    assert seen[0]["account"]["acct"] == "alice@a.test"
    assert await rig.status("c.test", quiet.uri) is None

    at_b = await rig.status("b.test", post.uri)
    assert at_b is not None
    await b.publisher.boost(bob, at_b)
    await a.publisher.edit(alice, post, "Quarterly all-hands moved to Monday")
    await rig.drain()
    at_c = await rig.status("c.test", post.uri)
    assert at_c is not None and "moved to Monday" in at_c.content
    assert at_c.reblogs_count == 1  # bob's boost reached c through b's instance actor

    await a.publisher.delete(alice, post)
    await rig.drain()
    assert [s["uri"] for s in await public_timeline(rig, "c.test", "carol")] == []
    gone = await rig.status("c.test", post.uri)
    assert gone is not None and gone.deleted_at is not None


async def test_a_link_needs_both_sides_and_a_peer_added_at_run_time_joins(
    make_config: MakeConfig,
) -> None:
    configs = [
        make_config("a.test", peers=("b.test", "c.test")),
        make_config("b.test", peers=("a.test",)),  # does not list c yet
        make_config("c.test", peers=("a.test", "b.test")),
    ]
    async with Rig(configs) as rig:
        assert await links(rig, "c.test") == {
            "a.test": ("accepted", "accepted"),
            "b.test": ("pending", None),  # b refused c's follow: c is not its peer
        }
        carol = await rig.user("c.test", "carol")
        c = rig.services("c.test")
        early = await c.publisher.post(carol, "Hello from the c division")
        await rig.drain()
        assert await rig.status("b.test", early.uri) is None

        async with await rig.admin_client("b.test") as admin:
            response = await admin.post("/api/v1/admin/domain_allows", json={"domain": "c.test"})
            assert response.status_code == 200, response.text
            assert response.json()["domain"] == "c.test"
        await rig.drain()
        assert await links(rig, "b.test") == {
            "a.test": ("accepted", "accepted"),
            "c.test": ("accepted", "accepted"),
        }
        # c's first Follow, refused by b then, no longer shows as a dead delivery
        statuses_at_c = {s.peer.domain: s for s in await peer_statuses(c.db)}
        assert statuses_at_c["b.test"].dead == 0
        later = await c.publisher.post(carol, "Now everyone hears us")
        await rig.drain()
        seen = await public_timeline(rig, "b.test", "bob")
        assert later.uri in [s["uri"] for s in seen]


async def test_removing_a_peer_stops_everything_at_once(make_config: MakeConfig) -> None:
    configs = [
        make_config("a.test", peers=("b.test",)),
        make_config("c.test", peers=("a.test",)),
    ]
    async with Rig(configs) as rig:
        async with await rig.admin_client("a.test") as admin:
            await admin.post("/api/v1/admin/domain_allows", json={"domain": "c.test"})
            await rig.drain()
            assert (await links(rig, "a.test"))["c.test"] == ("accepted", "accepted")

            alice = await rig.user("a.test", "alice")
            carol = await rig.user("c.test", "carol")
            a, c = rig.services("a.test"), rig.services("c.test")
            alice_at_c = await c.actors.get(alice.uri)
            assert alice_at_c is not None
            await c.publisher.follow(carol, alice_at_c)
            await rig.drain()
            queued = await a.publisher.post(alice, "Queued for c, never sent")

            refused = await admin.delete("/api/v1/admin/domain_allows/b.test")
            assert refused.status_code == 422  # listed in the config file
            assert "config" in refused.json()["error"]
            removed = await admin.delete("/api/v1/admin/domain_allows/c.test")
            assert removed.status_code == 200, removed.text

            # Deliveries: what was queued is cancelled; what comes later is never sent.
            async with a.db.read() as conn:
                jobs = await deliveries.list_for_activity(conn, queued.activity_uri or "")
            assert [(j.host, j.state) for j in jobs] == [("c.test", "cancelled")]
            later = await a.publisher.post(alice, "After the removal")
            await rig.drain()
            assert await rig.status("c.test", queued.uri) is None
            assert await rig.status("c.test", later.uri) is None
            # Fetches: refused before any request.
            with pytest.raises(PolicyRejected):
                await a.fetcher.fetch_json(carol.uri)
            # Inbound: c's post is refused with 403 and counted.
            await c.publisher.post(carol, "Anyone there?")
            await rig.drain()
            assert await links(rig, "a.test") == {"b.test": (None, None)}  # b.test is down
            counted = (await admin.get("/api/v1/admin/refusals")).json()
            assert {"domain": "c.test", "kind": "refused"}.items() <= counted[0].items()
            assert counted[0]["count"] >= 1
            assert [p["domain"] for p in (await admin.get("/api/v1/admin/peers")).json()] == [
                "b.test"
            ]


async def test_signature_failures_are_counted_per_peer(rig: Rig) -> None:
    bob = await rig.user("b.test", "bob")
    body = (
        b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Create",'
        b'"id":"http://b.test/users/bob/statuses/1/activity","actor":"' + bob.uri.encode() + b'",'
        b'"object":{"id":"http://b.test/users/bob/statuses/1","type":"Note","content":"hi",'
        b'"attributedTo":"' + bob.uri.encode() + b'"}}'
    )
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {"Content-Type": AS_JSON}
    headers |= sign_request(
        "POST",
        "http://a.test/inbox",
        headers,
        body,
        key_id=f"{bob.uri}#main-key",
        private_key=stranger_key,
        now=datetime.now(UTC),
    )
    async with rig.client("a.test") as client:
        for _ in range(3):
            response = await client.post("/inbox", content=body, headers=headers)
            assert response.status_code == 401
    async with await rig.admin_client("a.test") as admin:
        listed = {p["domain"]: p for p in (await admin.get("/api/v1/admin/peers")).json()}
    assert listed["b.test"]["signature_failures"] == 3
    assert listed["c.test"]["signature_failures"] == 0


async def test_only_admins_see_or_change_peers(rig: Rig) -> None:
    async with await rig.api_client("a.test", "mallory", "read write admin:read") as client:
        assert (await client.get("/api/v1/admin/peers")).status_code == 403
        assert (await client.get("/api/v1/admin/domain_allows")).status_code == 403
    async with await rig.admin_client("a.test") as admin:
        bad = await admin.post("/api/v1/admin/domain_allows", json={"domain": "not a domain"})
        assert bad.status_code == 422
        assert (await admin.get("/api/v1/admin/domain_allows/x.test")).status_code == 404


async def test_avatars_from_outside_the_organisation_are_not_kept(rig: Rig) -> None:
    """Apps load avatars from their URL: one on a domain that is not a peer is dropped, so
    nothing is fetched from outside in allowlist mode."""
    a = rig.services("a.test")
    document = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "http://b.test/users/erin",
        "type": "Person",
        "preferredUsername": "erin",
        "inbox": "http://b.test/users/erin/inbox",
        "icon": {"type": "Image", "url": "https://tracker.example/erin.png"},
        "image": {"type": "Image", "url": "http://b.test/media/header.png"},
    }
    stored = await a.actors.store(vocab.parse_actor(document))
    assert stored.avatar_remote_url is None
    assert stored.header_remote_url == "http://b.test/media/header.png"


async def test_open_mode_federates_with_anyone_but_blocked_domains(
    make_config: MakeConfig,
) -> None:
    configs = [make_config("a.test", mode="open"), make_config("d.test", mode="open")]
    async with Rig(configs) as rig:
        alice = await rig.user("a.test", "alice")
        dave = await rig.user("d.test", "dave")
        a, d = rig.services("a.test"), rig.services("d.test")
        alice_at_d = await d.actors.get(alice.uri)
        assert alice_at_d is not None
        await d.publisher.follow(dave, alice_at_d)
        await rig.drain()
        before = await a.publisher.post(alice, "Open to the fediverse")
        await rig.drain()
        assert await rig.status("d.test", before.uri) is not None  # no block: it arrives

        async with await rig.admin_client("a.test") as admin:
            response = await admin.post(
                "/api/v1/admin/domain_blocks",
                json={"domain": "d.test", "severity": "suspend", "private_comment": "spam"},
            )
            assert response.status_code == 200, response.text
            assert response.json()["severity"] == "suspend"
            blocked = await a.publisher.post(alice, "Not for d")
            from_d = await d.publisher.post(dave, "Hello a?")
            await rig.drain()
            assert await rig.status("d.test", blocked.uri) is None
            assert await rig.status("a.test", from_d.uri) is None
            counted = (await admin.get("/api/v1/admin/refusals")).json()
            assert any(c["domain"] == "d.test" and c["kind"] == "refused" for c in counted)
            with pytest.raises(PolicyRejected):
                await a.fetcher.fetch_json(dave.uri)

            assert (await admin.delete("/api/v1/admin/domain_blocks/d.test")).status_code == 200
            after = await a.publisher.post(alice, "Friends again")
            await rig.drain()
            assert await rig.status("d.test", after.uri) is not None


async def test_attachments_from_outside_the_organisation_are_not_kept(rig: Rig) -> None:
    bob = await rig.user("b.test", "bob")
    b = rig.services("b.test")
    key = load_private_key(await StoreKeyResolver.signing_key(b.db, b.uris.key_id("bob")))
    note = {
        "id": f"{bob.uri}/statuses/1",
        "type": "Note",
        "attributedTo": bob.uri,
        "content": "<p>two pictures</p>",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "attachment": [
            {"type": "Image", "mediaType": "image/png", "url": "https://tracker.example/1.png"},
            {"type": "Image", "mediaType": "image/png", "url": "http://b.test/media/2.png"},
        ],
    }
    document = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bob.uri}/statuses/1/activity",
        "type": "Create",
        "actor": bob.uri,
        "object": note,
    }
    body = json.dumps(document).encode()
    headers = {"Content-Type": AS_JSON}
    headers |= sign_request(
        "POST", "http://a.test/inbox", headers, body, key_id=b.uris.key_id("bob"),
        private_key=key, now=datetime.now(UTC),
    )  # fmt: skip
    async with rig.client("a.test") as client:
        assert (await client.post("/inbox", content=body, headers=headers)).status_code == 202
    await rig.drain()
    stored = await rig.status("a.test", note["id"])
    assert stored is not None
    async with await rig.api_client("a.test", "reader", "read") as reader:
        shown = (await reader.get(f"/api/v1/statuses/{stored.id}")).json()
    assert [m["remote_url"] for m in shown["media_attachments"]] == ["http://b.test/media/2.png"]


async def test_silenced_domains_stay_out_of_public_timelines(make_config: MakeConfig) -> None:
    configs = [make_config("a.test", mode="open"), make_config("d.test", mode="open")]
    async with Rig(configs) as rig:
        alice = await rig.user("a.test", "alice")
        dave = await rig.user("d.test", "dave")
        a, d = rig.services("a.test"), rig.services("d.test")
        dave_at_a = await a.actors.get(dave.uri)
        assert dave_at_a is not None
        await a.publisher.follow(alice, dave_at_a)
        await rig.drain()
        loud = await d.publisher.post(dave, "Buy now!")
        await rig.drain()
        assert loud.uri in [s["uri"] for s in await public_timeline(rig, "a.test", "carol")]
        async with await rig.admin_client("a.test") as admin:
            response = await admin.post(
                "/api/v1/admin/domain_blocks", json={"domain": "d.test", "severity": "silence"}
            )
            assert response.json()["severity"] == "silence"
        later = await d.publisher.post(dave, "Still here")
        await rig.drain()
        assert [s["uri"] for s in await public_timeline(rig, "a.test", "carol")] == []
        assert [s.uri for s in await rig.home("a.test", alice)][:2] == [later.uri, loud.uri]


async def test_a_peer_not_up_yet_is_tried_again_within_seconds_then_less_often(
    make_config: MakeConfig,
) -> None:
    """Two divisions started together each try the other before it listens: the next tries
    come after 2, 4, 8… seconds (up to a minute), so they link within seconds of both being
    up, while a peer down for hours costs one WebFinger a minute."""
    async with Rig([make_config("a.test", peers=("b.test",))]) as rig:  # b.test not running
        peering = rig.services("a.test").peering
        # the rig's start failed at the real time; the controlled clock starts well after
        start = datetime.now(UTC) + timedelta(minutes=5)
        now = start
        peering.clock = lambda: now
        # The rig's start was the first failure; this is the second, so 4 s to the next.
        assert await peering.run_once() == 1
        attempts = []
        for second in range(200):
            now = start + timedelta(seconds=second)
            if await peering.run_once():
                attempts.append(second)
        assert attempts == [4, 12, 28, 60, 120, 180]
        [status] = await peer_statuses(rig.services("a.test").db)
        assert status.peer.last_error == "instance actor not found"


async def test_a_peer_listed_by_another_process_is_heard_before_the_next_poll(
    make_config: MakeConfig,
) -> None:
    """`watercooler peer add` or a separate `watercooler worker` writes the peer list and
    may link at once; the server reads the list afresh before refusing that peer, so its
    Follow or Accept is not refused (and dead) for arriving before the server's next poll."""
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=())]
    async with Rig(configs) as rig:
        alice = await rig.user("a.test", "alice")
        a, b = rig.services("a.test"), rig.services("b.test")
        key = load_private_key(await StoreKeyResolver.signing_key(a.db, a.uris.key_id("alice")))

        def signed(number: int) -> tuple[bytes, dict[str, str]]:
            body = json.dumps(
                {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{alice.uri}/statuses/{number}/activity",
                    "type": "Create",
                    "actor": alice.uri,
                    "object": {
                        "id": f"{alice.uri}/statuses/{number}",
                        "type": "Note",
                        "attributedTo": alice.uri,
                        "content": "<p>hello b</p>",
                        "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    },
                }
            ).encode()
            headers = {"Content-Type": AS_JSON}
            headers |= sign_request(
                "POST",
                "http://b.test/inbox",
                headers,
                body,
                key_id=f"{alice.uri}#main-key",
                private_key=key,
                now=datetime.now(UTC),
            )
            return body, headers

        async with rig.client("b.test") as client:
            body, headers = signed(1)
            assert (await client.post("/inbox", content=body, headers=headers)).status_code == 403
            async with b.db.transaction() as conn:  # as another process does it
                await peers.add(conn, "a.test", source="admin", now=datetime.now(UTC))
            assert not b.policy.is_peer("a.test")  # this server has not polled since
            body, headers = signed(2)
            assert (await client.post("/inbox", content=body, headers=headers)).status_code == 202
        assert b.policy.is_peer("a.test")
