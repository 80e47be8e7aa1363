"""Moderation of accounts across divisions (issue 10, point 1): limit and suspend remote
accounts locally, suspend a local one, delete posts with a federated Delete, warn a user.

Three peered divisions on the in-process rig; moderators act through the admin API
(`/api/v1/admin/accounts/:id/action`) or `watercooler.moderation`, and the tests look at
what readers on each division see.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from store import audit, follows, roles, users
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.admin import Actor, AdminActions, AdminError
from watercooler.moderation import ModerationActions, Moderator

DOMAINS = ("a.test", "b.test", "c.test")


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with Rig(configs) as rig:
        yield rig


async def org_timeline(rig: Rig, domain: str, reader: str) -> list[str]:
    """The uris on `reader`'s organisation timeline (every division's public and org posts)."""
    async with await rig.api_client(domain, reader, "read") as client:
        answer = await client.get("/api/v1/timelines/public")
    assert answer.status_code == 200, answer.text
    return [s["uri"] for s in answer.json()]


async def moderate(
    rig: Rig, domain: str, account: AccountRecord, path: str, **data: str
) -> httpx.Response:
    """An admin of `domain` acts on `account` (as that division knows it) through the API."""
    local = await rig.account(domain, account.uri)
    assert local is not None
    async with await rig.admin_client(domain) as admin:
        return await admin.post(f"/api/v1/admin/accounts/{local.id}/{path}", data=data)


async def local_id(rig: Rig, domain: str, account: AccountRecord) -> int:
    found = await rig.account(domain, account.uri)
    assert found is not None
    return found.id


async def follow(rig: Rig, domain: str, follower: AccountRecord, target: AccountRecord) -> None:
    svc = rig.services(domain)
    there = (
        await svc.actors.get(target.uri)
        if not target.uri.startswith(f"http://{domain}/")
        else target
    )
    assert there is not None
    await svc.publisher.follow(follower, there)
    await rig.drain()


async def api_get(rig: Rig, domain: str, reader: str, path: str) -> httpx.Response:
    async with await rig.api_client(domain, reader, "read") as client:
        return await client.get(path)


async def actions(rig: Rig, domain: str) -> list[str]:
    async with rig.services(domain).db.read() as conn:
        entries = reversed(await audit.page(conn, action="account.", limit=200))
    return [entry.action for entry in entries]


async def test_a_limited_remote_account_reaches_only_its_followers(rig: Rig) -> None:
    # Given alice on a, followed on b by bob but not by carol
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await rig.user("b.test", "carol")
    await follow(rig, "b.test", bob, alice)
    a = rig.services("a.test")
    before = await a.publisher.post(alice, "Buy my course!")
    await rig.drain()
    assert before.uri in await org_timeline(rig, "b.test", "carol")

    # When b's admin limits alice (Mastodon's "silence")
    answer = await moderate(rig, "b.test", alice, "action", type="silence")
    assert (answer.status_code, answer.json()) == (200, {})
    after = await a.publisher.post(alice, "Buy it now!")
    await rig.drain()

    # Then her posts leave carol's organisation timeline, bob still sees them, c is untouched
    assert not {before.uri, after.uri} & set(await org_timeline(rig, "b.test", "carol"))
    assert {before.uri, after.uri} <= set(await org_timeline(rig, "b.test", "bob"))
    assert {before.uri, after.uri} <= set(await org_timeline(rig, "c.test", "carol"))
    shown = await api_get(
        rig, "b.test", "carol", f"/api/v1/accounts/{await local_id(rig, 'b.test', alice)}"
    )
    assert shown.json()["limited"] is True
    elsewhere = await api_get(
        rig, "c.test", "carol", f"/api/v1/accounts/{await local_id(rig, 'c.test', alice)}"
    )
    assert "limited" not in elsewhere.json()

    # Her mentions notify only those who follow her there
    await a.publisher.post(alice, "@bob@b.test @carol@b.test join my webinar")
    await rig.drain()
    for reader, expected in (("bob", ["mention"]), ("carol", [])):
        notes = (await api_get(rig, "b.test", reader, "/api/v1/notifications")).json()
        assert [n["type"] for n in notes if n["account"]["username"] == "alice"] == expected

    # and her posts are found in search by them only
    for reader, count in (("bob", 1), ("carol", 0)):
        found = await api_get(rig, "b.test", reader, "/api/v2/search?q=webinar&type=statuses")
        assert len(found.json()["statuses"]) == count, reader

    # And lifting the limit brings them back
    assert (await moderate(rig, "b.test", alice, "unsilence")).json()["silenced"] is False
    assert {before.uri, after.uri} <= set(await org_timeline(rig, "b.test", "carol"))
    assert await actions(rig, "b.test") == ["account.limit", "account.unlimit"]


async def test_a_suspended_remote_account_is_dropped_hidden_and_cut_off(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    # Given alice on a and bob on b following each other, and a post of hers on b
    alice = await rig.user("a.test", "alice")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, alice)
    await follow(rig, "a.test", alice, bob)
    a = rig.services("a.test")
    old = await a.publisher.post(alice, "Before")
    await rig.drain()
    stored = await rig.status("b.test", old.uri)
    assert stored is not None
    alice_id = await local_id(rig, "b.test", alice)
    assert (await api_get(rig, "b.test", "bob", f"/api/v1/statuses/{stored.id}")).status_code == 200
    async with await rig.api_client("a.test", "alice", "write") as client:
        changed = await client.patch(
            "/api/v1/accounts/update_credentials",
            data={
                "display_name": "Alice A.",
                "note": "Payroll",
                "fields_attributes[0][name]": "Team",
                "fields_attributes[0][value]": "HR",
            },
        )
        assert changed.status_code == 200, changed.text
    await rig.drain()
    profile = f"/api/v1/accounts/{alice_id}"
    before = (await api_get(rig, "b.test", "bob", profile)).json()
    assert "suspended" not in before
    assert (before["display_name"], len(before["fields"])) == ("Alice A.", 1)
    assert "Payroll" in before["note"]

    # When b's admin suspends alice there
    answer = await moderate(rig, "b.test", alice, "action", type="suspend")
    assert answer.status_code == 200, answer.text
    await rig.drain()

    # Then the follows are gone both ways, on b and on a (a Reject and an Undo went there)
    for domain in ("a.test", "b.test"):
        there_alice, there_bob = (
            await rig.account(domain, alice.uri),
            await rig.account(domain, bob.uri),
        )
        assert there_alice is not None and there_bob is not None
        async with rig.services(domain).db.read() as conn:
            assert await follows.get(conn, there_alice.id, there_bob.id) is None, domain
            assert await follows.get(conn, there_bob.id, there_alice.id) is None, domain
    # her profile shows as Mastodon shows a suspended account (blanked, `suspended: true`),
    # her posts are hidden on b, her new post is dropped on arrival
    shown = (await api_get(rig, "b.test", "bob", profile)).json()
    assert (shown["id"], shown["acct"], shown["suspended"]) == (str(alice_id), "alice@a.test", True)
    assert (shown["display_name"], shown["note"], shown["fields"]) == ("", "", [])
    assert shown["avatar"].endswith("/avatars/original/missing.png")
    looked_up = await api_get(rig, "b.test", "bob", "/api/v1/accounts/lookup?acct=alice@a.test")
    assert looked_up.json() == shown
    assert (await api_get(rig, "b.test", "bob", f"{profile}/statuses")).json() == []
    assert (await api_get(rig, "b.test", "bob", f"/api/v1/statuses/{stored.id}")).status_code == 404
    assert old.uri not in await org_timeline(rig, "b.test", "bob")
    with caplog.at_level(logging.INFO, logger="inbox.worker"):
        new = await a.publisher.post(alice, "After")
        await rig.drain()
    assert await rig.status("b.test", new.uri) is None
    assert await rig.status("c.test", new.uri) is not None  # only b suspended her
    assert any(
        "reason=suspended" in r.getMessage() and alice.uri in r.getMessage() for r in caplog.records
    )
    async with await rig.api_client("b.test", "bob", "read") as client:
        found = (
            await client.get("/api/v2/search", params={"q": alice.uri, "resolve": "true"})
        ).json()
    assert found["accounts"] == []

    # When she is unsuspended, what was kept shows again (the follows stay severed)
    assert (await moderate(rig, "b.test", alice, "unsuspend")).json()["suspended"] is False
    assert (await api_get(rig, "b.test", "bob", f"/api/v1/statuses/{stored.id}")).status_code == 200
    again = (await api_get(rig, "b.test", "bob", profile)).json()
    assert "suspended" not in again and again["display_name"] == "Alice A."
    assert [s["uri"] for s in (await api_get(rig, "b.test", "bob", f"{profile}/statuses")).json()]
    later = await a.publisher.post(alice, "Back")
    await rig.drain()
    assert await rig.status("b.test", later.uri) is not None
    assert await actions(rig, "b.test") == ["account.suspend", "account.unsuspend"]


async def test_a_suspended_local_account_cannot_sign_in_and_its_actor_is_gone(
    rig: Rig,
) -> None:
    # Given dave on a with a token and a post that b follows
    dave = await rig.user("a.test", "dave")
    async with await rig.api_client("a.test", "dave") as client:
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 200
        post = (await client.post("/api/v1/statuses", data={"status": "hi"})).json()
        # When an admin suspends him
        answer = await moderate(rig, "a.test", dave, "action", type="suspend")
        assert answer.status_code == 200, answer.text
        # Then the token stops, the actor answers 410, the post is gone from reading
        assert (await client.get("/api/v1/accounts/verify_credentials")).status_code == 401
    async with rig.client("a.test") as anonymous:
        assert (
            await anonymous.get("/users/dave", headers={"Accept": "application/activity+json"})
        ).status_code == 410
        app = (
            await anonymous.post(
                "/api/v1/apps",
                data={
                    "client_name": "t",
                    "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                    "scopes": "read",
                },
            )
        ).json()
        grant = {
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "grant_type": "password",
            "username": "dave",
            "password": "password123",
            "scope": "read",
        }
        assert (await anonymous.post("/oauth/token", data=grant)).status_code != 200
    assert (
        await api_get(rig, "a.test", "erin", f"/api/v1/statuses/{post['id']}")
    ).status_code == 404
    shown = (await api_get(rig, "a.test", "erin", f"/api/v1/accounts/{dave.id}")).json()
    assert (shown["acct"], shown["suspended"], shown["roles"]) == ("dave", True, [])
    assert (
        await api_get(rig, "a.test", "erin", "/api/v1/accounts/lookup?acct=dave")
    ).json() == shown
    statuses = await api_get(rig, "a.test", "erin", f"/api/v1/accounts/{dave.id}/statuses")
    assert (statuses.status_code, statuses.json()) == (200, [])
    async with await rig.admin_client("a.test") as admin:
        shown = (await admin.get(f"/api/v1/admin/accounts/{dave.id}")).json()
    assert (shown["suspended"], shown["disabled"], shown["account"]["suspended"]) == (
        True,
        False,
        True,
    )

    # the users page's "enable" does not lift a suspension behind the moderators' backs
    with pytest.raises(AdminError, match="suspended"):
        await AdminActions.of(rig.services("a.test")).enable_user(Actor.operator(), "dave")

    # When unsuspended, he may sign in again and his post is back
    await moderate(rig, "a.test", dave, "unsuspend")
    async with rig.client("a.test") as anonymous:
        assert (await anonymous.post("/oauth/token", data=grant)).status_code == 200
        assert (
            await anonymous.get("/users/dave", headers={"Accept": "application/activity+json"})
        ).status_code == 200
    assert (
        await api_get(rig, "a.test", "erin", f"/api/v1/statuses/{post['id']}")
    ).status_code == 200


async def test_an_admin_disabled_before_stays_disabled_after_unsuspending(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    svc = rig.services("a.test")
    async with svc.db.transaction() as conn:
        user = await users.get_by_username(conn, "dave")
        assert user is not None
        await users.disable(conn, user.id, svc.clock())
    by = Moderator.operator()
    mod = ModerationActions.of(svc)
    assert await mod.suspend(by, dave.id)
    assert await mod.unsuspend(by, dave.id)
    async with svc.db.read() as conn:
        user = await users.get_by_username(conn, "dave")
    assert user is not None and user.disabled


async def test_deleting_a_users_posts_federates_the_delete(rig: Rig) -> None:
    # Given dave on a, followed by bob on b, with two posts b has
    dave = await rig.user("a.test", "dave")
    bob = await rig.user("b.test", "bob")
    await follow(rig, "b.test", bob, dave)
    a = rig.services("a.test")
    bad = await a.publisher.post(dave, "Something that breaks the rules")
    fine = await a.publisher.post(dave, "Lunch?")
    await rig.drain()
    assert await rig.status("b.test", bad.uri) is not None

    # When a moderator on a deletes the first one
    mia = await rig.user("a.test", "mia")
    async with a.db.transaction() as conn:
        user = await users.get_by_username(conn, "mia")
        assert user is not None
        await roles.grant(conn, user.id, roles.MODERATOR, a.clock())
    by = Moderator(Actor(mia.id, "mia", "web"), admin=False)
    deleted = await ModerationActions.of(a).delete_statuses(by, dave.id, [bad.id, fine.id + 10**6])
    await rig.drain()

    # Then it is deleted on a and, by the federated Delete, on b; the other stays
    assert deleted == [bad.id]
    for domain in ("a.test", "b.test"):
        gone = await rig.status(domain, bad.uri)
        assert gone is not None and gone.deleted_at is not None, domain
        kept = await rig.status(domain, fine.uri)
        assert kept is not None and kept.deleted_at is None, domain
    async with a.db.read() as conn:
        [entry] = await audit.page(conn, action="status.delete")
    assert (entry.actor_name, entry.target, entry.details["uri"]) == ("mia", "dave", bad.uri)
    # and dave is told, without naming the moderator
    notes = (await api_get(rig, "a.test", "dave", "/api/v1/notifications")).json()
    [warning] = [n for n in notes if n["type"] == "moderation_warning"]
    assert warning["moderation_warning"]["action"] == "delete_statuses"
    assert warning["moderation_warning"]["status_ids"] == [str(bad.id)]
    assert warning["account"]["username"] != "mia"


async def test_a_warning_reaches_the_users_notifications(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    answer = await moderate(
        rig, "a.test", dave, "action", type="none", text="Please keep it civil."
    )
    assert answer.status_code == 200, answer.text
    notes = (await api_get(rig, "a.test", "dave", "/api/v1/notifications")).json()
    [note] = notes
    assert note["type"] == "moderation_warning"
    warning: dict[str, Any] = note["moderation_warning"]
    assert set(warning) == {
        "id",
        "action",
        "text",
        "status_ids",
        "target_account",
        "appeal",
        "created_at",
    }
    assert (warning["action"], warning["text"], warning["status_ids"]) == (
        "none",
        "Please keep it civil.",
        None,
    )
    assert warning["target_account"]["id"] == str(dave.id)
    assert await actions(rig, "a.test") == ["account.warn"]


async def test_domain_blocks_in_open_mode_are_for_admins_and_can_be_lifted(
    make_config: MakeConfig,
) -> None:
    """Open mode: b blocks a.test, a's posts are refused; a moderator may not change domain
    blocks (Mastodon's manage_federation is the admins'); unblocking lets a's posts in again.
    (tests/federation_core/test_peering.py shows the block refusing both ways.)"""
    configs = [make_config("a.test", mode="open"), make_config("b.test", mode="open")]
    async with Rig(configs) as rig:
        alice = await rig.user("a.test", "alice")
        bob = await rig.user("b.test", "bob")
        await follow(rig, "b.test", bob, alice)
        a = rig.services("a.test")
        b = rig.services("b.test")
        await rig.user("b.test", "mia")
        async with b.db.transaction() as conn:
            user = await users.get_by_username(conn, "mia")
            assert user is not None
            await roles.grant(conn, user.id, roles.MODERATOR, b.clock())
        async with await rig.api_client("b.test", "mia", "admin:read admin:write") as mia:
            refused = await mia.post("/api/v1/admin/domain_blocks", data={"domain": "a.test"})
            assert refused.status_code == 403
        async with await rig.admin_client("b.test") as admin:
            blocked = await admin.post("/api/v1/admin/domain_blocks", data={"domain": "a.test"})
            assert blocked.status_code == 200, blocked.text
            during = await a.publisher.post(alice, "Anyone?")
            await rig.drain()
            assert await rig.status("b.test", during.uri) is None
            assert (await admin.delete("/api/v1/admin/domain_blocks/a.test")).status_code == 200
        after = await a.publisher.post(alice, "Hello again")
        await rig.drain()
        assert await rig.status("b.test", after.uri) is not None


async def test_a_remote_accounts_post_is_deleted_here_only(rig: Rig) -> None:
    alice = await rig.user("a.test", "alice")
    post = await rig.services("a.test").publisher.post(alice, "Off-topic")
    await rig.drain()
    copy = await rig.status("b.test", post.uri)
    assert copy is not None
    b = rig.services("b.test")
    alice_at_b = await local_id(rig, "b.test", alice)
    deleted = await ModerationActions.of(b).delete_statuses(
        Moderator.operator(), alice_at_b, [copy.id]
    )
    await rig.drain()
    assert deleted == [copy.id]
    gone = await rig.status("b.test", post.uri)
    assert gone is not None and gone.deleted_at is not None
    for domain in ("a.test", "c.test"):  # nothing was sent: the post is alice's division's
        kept = await rig.status(domain, post.uri)
        assert kept is not None and kept.deleted_at is None, domain
