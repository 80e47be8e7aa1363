"""Moving between divisions (issue 10, point 5): alice@sales moves to alice2@eng with `Move`
and `alsoKnownAs` on both sides; her followers on sales, eng and a third division (ops)
follow the new account automatically, and the old profile points to the new one. Real apps,
real signed HTTP between them (tests/rig.py), real SQLite files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation import activities
from federation.keys import load_private_key
from federation.signatures import sign_request
from store import accounts, audit, follows, inbox_items, notifications
from store import moves as stored_moves
from store.api_timelines import Page
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler import moves
from watercooler.admin import Actor
from watercooler.keyresolver import StoreKeyResolver

SALES, ENG, OPS = "sales.test", "eng.test", "ops.test"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "activitypub" / "gotosocial"
ACTIVITY_JSON = "application/activity+json"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    domains = (SALES, ENG, OPS)
    configs = [make_config(d, peers=tuple(p for p in domains if p != d)) for d in domains]
    async with Rig(configs) as rig:
        yield rig


def employee(account: AccountRecord) -> Actor:
    return Actor(account.id, account.username, "web")


async def follow(
    rig: Rig, domain: str, follower: AccountRecord, target_uri: str, **options: Any
) -> None:
    svc = rig.services(domain)
    target = await svc.actors.get(target_uri)
    assert target is not None
    await svc.publisher.follow(follower, target, **options)
    await rig.drain()


async def follow_state(rig: Rig, domain: str, follower_uri: str, target_uri: str) -> str | None:
    follower = await rig.account(domain, follower_uri)
    target = await rig.account(domain, target_uri)
    if follower is None or target is None:
        return None
    async with rig.services(domain).db.read() as conn:
        record = await follows.get(conn, follower.id, target.id)
    return record.state if record else None


async def actor_document(rig: Rig, domain: str, name: str) -> dict[str, Any]:
    async with rig.client(domain) as client:
        answer = await client.get(f"/users/{name}", headers={"Accept": ACTIVITY_JSON})
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


async def notification_types(rig: Rig, domain: str, account: AccountRecord) -> list[str]:
    async with rig.services(domain).db.read() as conn:
        found = await notifications.page(
            conn,
            account.id,
            _bounds(),
            notifications.Filter(),
            now=datetime.now(UTC),
        )
    return [n.type for n in found]


def _bounds() -> Page:
    return Page(limit=40)


async def move_alice(rig: Rig) -> AccountRecord:
    """bob@ops follows alice@sales; alice2@eng lists her as an alias; she moves to alice2."""
    known = await rig.account(SALES, rig.services(SALES).uris.actor("alice"))
    alice = known or await rig.user(SALES, "alice")
    alice2 = await rig.user(ENG, "alice2")
    bob = await rig.user(OPS, "bob")
    await follow(rig, OPS, bob, alice.uri)
    await moves.add_alias(rig.services(ENG), alice2, "@alice@sales.test", employee(alice2))
    await rig.drain()
    await moves.move_account(rig.services(SALES), alice, "@alice2@eng.test", employee(alice))
    await rig.drain()
    return alice


async def test_followers_on_three_divisions_follow_the_new_account(rig: Rig) -> None:
    # Given alice on sales, followed by bob on ops (with notifications, without boosts),
    # carol on sales itself and dave on eng, where alice's new account alice2 will be.
    alice = await rig.user(SALES, "alice")
    alice2 = await rig.user(ENG, "alice2")
    bob = await rig.user(OPS, "bob")
    carol = await rig.user(SALES, "carol")
    dave = await rig.user(ENG, "dave")
    await follow(rig, OPS, bob, alice.uri, notify=True, reblogs=False)
    await follow(rig, SALES, carol, alice.uri)
    await follow(rig, ENG, dave, alice.uri)
    assert await follow_state(rig, SALES, bob.uri, alice.uri) == follows.ACCEPTED
    assert await follow_state(rig, SALES, dave.uri, alice.uri) == follows.ACCEPTED

    # When alice2 lists alice as an alias (the first step, on the new account)
    old = await moves.add_alias(rig.services(ENG), alice2, "@alice@sales.test", employee(alice2))
    await rig.drain()
    assert old.uri == alice.uri
    assert (await actor_document(rig, ENG, "alice2"))["alsoKnownAs"] == [alice.uri]

    # and alice moves to alice2 (on the old account)
    moved = await moves.move_account(
        rig.services(SALES), alice, "@alice2@eng.test", employee(alice)
    )
    assert moved.target.uri == alice2.uri and moved.followers_queued == 1  # carol, on sales
    await rig.drain()

    # Then the old actor says where it went
    document = await actor_document(rig, SALES, "alice")
    assert document["movedTo"] == alice2.uri
    assert alice2.uri in document["alsoKnownAs"]
    # bob@ops follows alice2@eng (accepted on both sides) and no longer follows alice@sales,
    # with the choices he had made
    assert await follow_state(rig, OPS, bob.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, ENG, bob.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, OPS, bob.uri, alice.uri) is None
    assert await follow_state(rig, SALES, bob.uri, alice.uri) is None
    ops = rig.services(OPS)
    alice2_at_ops = await rig.account(OPS, alice2.uri)
    assert alice2_at_ops is not None
    async with ops.db.read() as conn:
        assert await follows.options(conn, bob.id, alice2_at_ops.id) == (True, False)
    # carol, on sales itself, and dave, on eng itself, moved too
    assert await follow_state(rig, SALES, carol.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, ENG, carol.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, SALES, carol.uri, alice.uri) is None
    assert await follow_state(rig, ENG, dave.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, ENG, dave.uri, alice.uri) is None
    assert await follow_state(rig, SALES, dave.uri, alice.uri) is None
    # each of them was told
    assert "move" in await notification_types(rig, OPS, bob)
    assert "move" in await notification_types(rig, SALES, carol)
    assert "move" in await notification_types(rig, ENG, dave)
    # every division recorded where alice went
    for domain in (SALES, ENG, OPS):
        at = await rig.account(domain, alice.uri)
        target = await rig.account(domain, alice2.uri)
        assert at is not None and target is not None
        assert at.moved_to_account_id == target.id, domain
    # and audited it: the move on sales (by alice, on the web), as a federation event elsewhere
    async with rig.services(SALES).db.read() as conn:
        (own,) = await audit.page(conn, action="account.move")
    assert (own.origin, own.actor_name, own.details["to"]) == ("web", "alice", alice2.uri)
    async with rig.services(ENG).db.read() as conn:
        (alias,) = await audit.page(conn, action="account.alias")
        (at_eng,) = await audit.page(conn, action="account.move")
    assert alias.details == {"add": alice.uri}
    assert (at_eng.origin, at_eng.target) == ("federation", alice.uri)
    async with ops.db.read() as conn:
        (at_ops,) = await audit.page(conn, action="account.move")
    assert at_ops.origin == "federation"


async def directory_accts(rig: Rig, domain: str) -> list[str]:
    async with await rig.api_client(domain, "reader") as reader:
        answer = await reader.get("/api/v1/directory", params={"local": "true"})
    assert answer.status_code == 200, answer.text
    return [account["acct"] for account in answer.json()]


async def test_the_old_profile_points_to_the_new_one_and_cannot_post(rig: Rig) -> None:
    await rig.user(SALES, "alice")
    assert "alice" in await directory_accts(rig, SALES)
    await move_alice(rig)
    # The directory lists her under her new account only, as Mastodon's does
    assert "alice" not in await directory_accts(rig, SALES)
    assert "alice2" in await directory_accts(rig, ENG)
    # The client API's Account entity has Mastodon's `moved`, on every division
    bob_api = await rig.api_client(OPS, "bob")
    async with bob_api:
        answer = await bob_api.get("/api/v1/accounts/lookup", params={"acct": "alice@sales.test"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["moved"]["acct"] == "alice2@eng.test"
        assert "moved" not in answer.json()["moved"]  # not nested, as Mastodon
    alice_api = await rig.api_client(SALES, "alice")
    async with alice_api:
        me = (await alice_api.get("/api/v1/accounts/verify_credentials")).json()
        assert me["moved"]["url"] == "http://eng.test/@alice2"
        # The moved account can no longer post, with a clear message
        refused = await alice_api.post("/api/v1/statuses", data={"status": "still here?"})
        assert refused.status_code == 422
        assert "has moved" in refused.json()["error"]
    # The public profile page says so and links to the new profile
    async with rig.client(SALES) as browser:
        page = await browser.get("/@alice", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "has moved to" in page.text and 'href="http://eng.test/@alice2"' in page.text


async def test_a_move_without_the_alias_is_refused(rig: Rig) -> None:
    alice = await rig.user(SALES, "alice")
    await rig.user(ENG, "alice2")
    with pytest.raises(moves.MoveError, match="does not list"):
        await moves.move_account(rig.services(SALES), alice, "@alice2@eng.test", employee(alice))
    async with rig.services(SALES).db.read() as conn:
        fresh = await accounts.get_by_id(conn, alice.id)
        assert await audit.page(conn, action="account.move") == []
    assert fresh is not None and fresh.moved_to_account_id is None
    assert "movedTo" not in await actor_document(rig, SALES, "alice")


# ----- Moves that must change nothing ----------------------------------------------------------


async def deliver(rig: Rig, domain: str, signer: AccountRecord, body: dict[str, Any]) -> int:
    """POST `body` to `domain`'s shared inbox, signed with the key of `signer` (a local
    account of its division, as a compromised or buggy peer would send it); then drain."""
    svc = rig.services(signer.domain or SALES)
    for name in rig.apps:  # the signer's own division
        found = await rig.account(name, signer.uri)
        if found is not None and found.is_local:
            svc = rig.services(name)
    pem = await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(signer.username))
    raw = json.dumps(body).encode()
    inbox = f"http://{domain}/inbox"
    headers = {"Content-Type": ACTIVITY_JSON}
    headers |= sign_request(
        "POST",
        inbox,
        headers,
        raw,
        key_id=svc.uris.key_id(signer.username),
        private_key=load_private_key(pem),
        now=datetime.now(UTC),
    )
    async with httpx.AsyncClient(transport=rig.router) as client:
        answer = await client.post(inbox, content=raw, headers=headers)
    await rig.drain()
    return answer.status_code


async def test_forged_moves_change_nothing(rig: Rig) -> None:
    alice = await rig.user(SALES, "alice")
    mallory = await rig.user(SALES, "mallory")
    alice2 = await rig.user(ENG, "alice2")
    bob = await rig.user(OPS, "bob")
    await follow(rig, OPS, bob, alice.uri)
    await follow(rig, OPS, bob, mallory.uri)
    now = datetime.now(UTC)

    def move(actor: str, object_: str, target: str | None, n: int) -> dict[str, Any]:
        document = activities.move(
            f"{actor}#moves/forged{n}", actor, target or "", published=now, to=[PUBLIC_FOLLOWERS]
        )
        document["object"] = object_
        if target is None:
            del document["target"]
        return document

    # alice2 does not list alice: a Move of alice to alice2, signed by alice, is refused
    assert await deliver(rig, OPS, alice, move(alice.uri, alice.uri, alice2.uri, 1)) == 202
    # mallory moves alice (actor != object)
    await moves.add_alias(rig.services(ENG), alice2, alice.uri, employee(alice2))
    await rig.drain()
    assert await deliver(rig, OPS, mallory, move(mallory.uri, alice.uri, alice2.uri, 2)) == 202
    # mallory moves herself to alice2, who lists alice, not her
    assert await deliver(rig, OPS, mallory, move(mallory.uri, mallory.uri, alice2.uri, 3)) == 202
    # a Move with no target, and one to an account no one has
    assert await deliver(rig, OPS, alice, move(alice.uri, alice.uri, None, 4)) == 202
    missing = f"http://{ENG}/users/nobody"
    assert await deliver(rig, OPS, alice, move(alice.uri, alice.uri, missing, 5)) == 202
    # a Move claiming an account of another host (eng's dave), signed by alice of sales
    dave = await rig.user(ENG, "dave")
    forged = move(dave.uri, dave.uri, alice2.uri, 6)
    assert await deliver(rig, OPS, alice, forged) == 401  # the signer is not the actor

    ops = rig.services(OPS)
    for uri in (alice.uri, mallory.uri):
        at_ops = await rig.account(OPS, uri)
        assert at_ops is not None and at_ops.moved_to_account_id is None
        assert await follow_state(rig, OPS, bob.uri, uri) == follows.ACCEPTED
    assert await follow_state(rig, OPS, bob.uri, alice2.uri) is None
    async with ops.db.read() as conn:
        assert await audit.page(conn, action="account.move") == []
        assert (await inbox_items.counts(conn)).get("failed") == 5  # dropped, with their reason


PUBLIC_FOLLOWERS = "https://www.w3.org/ns/activitystreams#Public"


async def test_gotosocial_move_is_accepted(rig: Rig) -> None:
    """GoToSocial's Move (tests/fixtures/activitypub/gotosocial/move.json), re-homed to the
    rig: its actor, object and target point at sales and eng (the fixture's hosts do not
    exist here); its shape is kept as GoToSocial sends it (`to` a single string, no
    `published`, a `/moves/ID` id)."""
    fixture = json.loads((FIXTURES / "move.json").read_text())
    alice = await rig.user(SALES, "foss_satan")
    alice2 = await rig.user(ENG, "turniplover6969")
    bob = await rig.user(OPS, "bob")
    await follow(rig, OPS, bob, alice.uri)
    await moves.add_alias(rig.services(ENG), alice2, alice.uri, employee(alice2))
    await rig.drain()
    rehomed = json.loads(
        json.dumps(fixture)
        .replace("http://fossbros-anonymous.io", f"http://{SALES}")
        .replace("https://turnip.farm", f"http://{ENG}")
    )
    assert set(rehomed) == set(fixture) and "published" not in rehomed
    assert await deliver(rig, OPS, alice, rehomed) == 202
    await rig.drain()
    assert await follow_state(rig, OPS, bob.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, OPS, bob.uri, alice.uri) is None
    # The same Move again has no further effect
    assert await deliver(rig, OPS, alice, rehomed) == 202
    async with rig.services(OPS).db.read() as conn:
        assert len(await audit.page(conn, action="account.move")) == 1
        old = await accounts.get_by_uri(conn, alice.uri)
        assert old is not None and await stored_moves.pending_count(conn, old.id) == 0


def test_gotosocial_actor_with_alias_and_moved_parses() -> None:
    from federation.vocab import parse_actor

    actor = parse_actor(json.loads((FIXTURES / "actor-aliased-and-moved.json").read_text()))
    assert actor.also_known_as == ("http://localhost:8080/users/1happyturtle",)
    assert actor.moved_to == "http://localhost:8080/users/1happyturtle"
