"""Communities (FEP-1b12 groups) across three divisions, through the client API: a community
on a.test, members on b.test and c.test who join by following it as a stock app does, posts
to it announced to every member, the approval flow, a moderator removing a post and a member,
pins in the community, and what must not leak (followers-only and direct posts, org posts to
a member outside the organisation, an approval-needing community to non-members)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.conftest import MakeConfig
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post

DOMAINS = ("a.test", "b.test", "c.test")
AS_JSON = {"Accept": "application/activity+json"}


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with Rig(configs) as rig:
        yield rig


def rows(rig: Rig, domain: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        return conn.execute(sql, params).fetchall()


async def create(client: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    made = await client.post("/api/v1/communities", json={"name": name, **fields})
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


async def join(rig: Rig, client: httpx.AsyncClient, handle: str) -> str:
    """Follow the community `handle` with the accounts API, as a stock app's Follow button;
    returns its id on the client's instance."""
    group_id = await account_id(client, handle)
    followed = await client.post(f"/api/v1/accounts/{group_id}/follow")
    assert followed.status_code == 200, followed.text
    await rig.drain()
    return group_id


async def community_timeline(client: httpx.AsyncClient, group_id: str, **params: str) -> Any:
    response = await client.get(f"/api/v1/timelines/community/{group_id}", params=params)
    return response


async def texts(client: httpx.AsyncClient, group_id: str) -> list[str]:
    response = await community_timeline(client, group_id)
    assert response.status_code == 200, response.text
    return [status["content"] for status in response.json()]


async def home(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/timelines/home")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_members_on_three_divisions_see_a_post_to_the_community(rig: Rig) -> None:
    # Given alice's community on a.test, and bob (b.test) and carol (c.test) who join it
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "guild", display_name="Python guild", description="All things py")
    assert guild["account"]["group"] is True and guild["moderator"] is True
    assert guild["membership"] == "member"  # the creator moderates and is a member
    bob_guild = await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    shown = await bob.get(f"/api/v1/communities/{bob_guild}")
    assert shown.status_code == 200 and shown.json()["membership"] == "member"
    assert shown.json()["account"]["group"] is True
    # When bob posts to it from b.test, mentioning it as any app can
    note = await post(bob, "@guild@a.test who is at PyCon?")
    await rig.drain()
    # Then every member on every division has it: in the community timeline...
    assert "PyCon" in (await texts(carol, carol_guild))[0]
    assert "PyCon" in (await texts(alice, guild["id"]))[0]
    assert "PyCon" in (await texts(bob, bob_guild))[0]
    # ...and in home timelines as the community's boost (as Mastodon shows a Lemmy group)
    carol_home = await home(carol)
    assert carol_home[0]["reblog"]["uri"] == note["uri"]
    assert carol_home[0]["account"]["acct"] == "guild@a.test"
    alice_home = await home(alice)
    assert alice_home[0]["reblog"]["uri"] == note["uri"]
    # ...and the community's own statuses, the boosts, on its profile
    statuses = await carol.get(f"/api/v1/accounts/{carol_guild}/statuses")
    assert [s["reblog"]["uri"] for s in statuses.json()] == [note["uri"]]
    # The group is a Group actor with FEP-1b12's collections
    async with rig.client("a.test") as client:
        actor = (await client.get("/users/guild", headers=AS_JSON)).json()
        mods = (await client.get("/users/guild/moderators", headers=AS_JSON)).json()
    assert actor["type"] == "Group" and actor["manuallyApprovesFollowers"] is False
    assert actor["attributedTo"] == "http://a.test/users/guild/moderators"
    assert actor["featured"] == "http://a.test/users/guild/collections/featured"
    assert actor["endpoints"]["sharedInbox"] == "http://a.test/inbox"
    assert mods["orderedItems"] == ["http://a.test/users/alice"]


async def test_a_local_post_and_a_reply_reach_remote_members(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    guild = await create(alice, "guild")
    bob_guild = await join(rig, bob, "guild@a.test")
    # When alice, on the community's own division, posts to it
    await post(alice, "@guild kickoff on Monday")
    await rig.drain()
    # Then bob on b.test sees it in the community
    assert "kickoff" in (await texts(bob, bob_guild))[0]
    assert "kickoff" in (await texts(alice, guild["id"]))[0]


async def test_what_is_not_announced(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    dave = await rig.api_client("c.test", "dave")
    guild = await create(alice, "guild")
    await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    # Followers-only and direct posts to it are never passed on
    await post(bob, "@guild@a.test secret plans", visibility="private")
    await post(bob, "@guild@a.test a direct word", visibility="direct")
    # A non-member's post is not either
    await post(dave, "@guild@a.test buy my stuff")
    await rig.drain()
    assert await texts(carol, carol_guild) == []
    assert await texts(alice, guild["id"]) == []
    assert all(s["reblog"] is None for s in await home(carol))


async def test_approval_flow_and_closed_timeline(rig: Rig) -> None:
    # Given a community that needs approval
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "hiring", approval_required=True)
    await post(alice, "@hiring the shortlist is ready")
    await rig.drain()
    # When bob asks to join
    bob_guild = await join(rig, bob, "hiring@a.test")
    assert (await bob.get(f"/api/v1/communities/{bob_guild}")).json()["membership"] == "requested"
    # Then he cannot read it yet, nor can carol who never asked
    assert (await community_timeline(bob, bob_guild)).status_code == 404
    carol_guild = await account_id(carol, "hiring@a.test")
    assert (await community_timeline(carol, carol_guild)).status_code == 404
    # and a non-moderator cannot see or answer the requests
    assert (await bob.get(f"/api/v1/communities/{bob_guild}/requests")).status_code == 403
    # When the moderator authorises him
    asked = await alice.get(f"/api/v1/communities/{guild['id']}/requests")
    assert [a["acct"] for a in asked.json()] == ["bob@b.test"]
    bob_at_a = asked.json()[0]["id"]
    answered = await alice.post(f"/api/v1/communities/{guild['id']}/requests/{bob_at_a}/authorize")
    assert answered.status_code == 200, answered.text
    await rig.drain()
    # Then he is a member and his posts are announced
    assert (await bob.get(f"/api/v1/communities/{bob_guild}")).json()["membership"] == "member"
    await post(bob, "@hiring@a.test I can interview on Tuesday")
    await rig.drain()
    assert "Tuesday" in (await texts(bob, bob_guild))[0]
    assert "Tuesday" in (await texts(alice, guild["id"]))[0]
    # When he leaves (Undo Follow), he is no longer a member
    left = await bob.post(f"/api/v1/communities/{bob_guild}/leave")
    assert left.json()["membership"] == "none"
    await rig.drain()
    members = await alice.get(f"/api/v1/communities/{guild['id']}/members")
    assert [a["acct"] for a in members.json()] == ["alice"]


async def test_moderators_remove_a_post_and_a_member(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "guild")
    bob_guild = await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    await post(bob, "@guild@a.test off-topic rant")
    await rig.drain()
    (shared,) = (await community_timeline(alice, guild["id"])).json()
    # carol, not a moderator, may not remove it
    carol_copy = (await community_timeline(carol, carol_guild)).json()[0]
    refused = await carol.post(
        f"/api/v1/communities/{carol_guild}/statuses/{carol_copy['id']}/remove"
    )
    assert refused.status_code == 403
    # When alice removes the post from the community
    removed = await alice.post(f"/api/v1/communities/{guild['id']}/statuses/{shared['id']}/remove")
    assert removed.status_code == 200, removed.text
    await rig.drain()
    # Then it is gone from the community on every division, and from home timelines
    assert await texts(alice, guild["id"]) == []
    assert await texts(carol, carol_guild) == []
    assert all(s["reblog"] is None for s in await home(carol))
    # When alice removes bob himself
    bob_at_a = await account_id(alice, "bob@b.test")
    banned = await alice.post(f"/api/v1/communities/{guild['id']}/members/{bob_at_a}/remove")
    assert banned.status_code == 200, banned.text
    await rig.drain()
    # Then he is no longer a member, his new posts are not announced, he cannot rejoin
    members = await alice.get(f"/api/v1/communities/{guild['id']}/members")
    assert "bob@b.test" not in [a["acct"] for a in members.json()]
    assert (await bob.get(f"/api/v1/communities/{bob_guild}")).json()["membership"] != "member"
    await post(bob, "@guild@a.test I am back")
    await bob.post(f"/api/v1/accounts/{bob_guild}/follow")
    await rig.drain()
    assert await texts(carol, carol_guild) == []
    members = await alice.get(f"/api/v1/communities/{guild['id']}/members")
    assert "bob@b.test" not in [a["acct"] for a in members.json()]


async def test_pins_in_a_community(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "guild")
    bob_guild = await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    await post(bob, "@guild@a.test read the rules first")
    await post(carol, "@guild@a.test hello all")
    await rig.drain()
    shared = (await community_timeline(alice, guild["id"])).json()
    rules = next(s for s in shared if "rules" in s["content"])
    # bob, a member but no moderator, may not pin
    bob_rules = (await community_timeline(bob, bob_guild)).json()
    bob_rules_id = next(s["id"] for s in bob_rules if "rules" in s["content"])
    assert (
        await bob.post(f"/api/v1/communities/{bob_guild}/statuses/{bob_rules_id}/pin")
    ).status_code == 403
    # When alice pins bob's rules post
    pinned = await alice.post(f"/api/v1/communities/{guild['id']}/statuses/{rules['id']}/pin")
    assert pinned.status_code == 200, pinned.text
    await rig.drain()
    # Then it is first among the pins on every division, and in the featured collection
    for client, group_id in ((alice, guild["id"]), (carol, carol_guild)):
        pins = await community_timeline(client, group_id, pinned="true")
        assert ["rules" in s["content"] for s in pins.json()] == [True]
    async with rig.client("a.test") as client:
        featured = (await client.get("/users/guild/collections/featured", headers=AS_JSON)).json()
    assert featured["orderedItems"] == [rules["uri"]]
    # When she unpins it, it is no pin anywhere
    await alice.post(f"/api/v1/communities/{guild['id']}/statuses/{rules['id']}/unpin")
    await rig.drain()
    assert (await community_timeline(carol, carol_guild, pinned="true")).json() == []


@pytest.fixture
async def open_rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    """a.test and b.test peered, both federating openly; d.test outside the organisation."""
    configs = [
        make_config("a.test", peers=("b.test",), mode="open"),
        make_config("b.test", peers=("a.test",), mode="open"),
        make_config("d.test", mode="open"),
    ]
    async with Rig(configs) as rig:
        yield rig


async def test_org_posts_never_reach_a_member_outside_the_organisation(open_rig: Rig) -> None:
    rig = open_rig
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    dave = await rig.api_client("d.test", "dave")
    await create(alice, "guild")
    bob_guild = await join(rig, bob, "guild@a.test")
    dave_guild = await join(rig, dave, "guild@a.test")
    assert (await dave.get(f"/api/v1/communities/{dave_guild}")).json()["membership"] == "member"
    # When bob posts to it for the organisation only, then publicly
    org_post = await post(bob, "@guild@a.test the Q3 numbers", visibility="org")
    await post(bob, "@guild@a.test the conference talk is online")
    await rig.drain()
    # Then the peer member sees both, the member outside only the public one
    assert len(await texts(bob, bob_guild)) == 2
    outside = await texts(dave, dave_guild)
    assert len(outside) == 1 and "conference" in outside[0]
    assert await rig.status("d.test", org_post["uri"]) is None
    # and a.test never even queued the community's announce of it for d.test
    sent = rows(
        rig,
        "a.test",
        "SELECT d.host, b.body FROM deliveries d JOIN delivery_bodies b"
        " ON b.activity_uri = d.activity_uri WHERE d.actor_account_id ="
        " (SELECT id FROM accounts WHERE uri = ?) AND b.body LIKE ?",
        "http://a.test/users/guild",
        "%Q3%",
    )
    assert sent and {host for host, _ in sent} == {"b.test"}
    assert all("Q3" not in s["content"] for s in await home(dave))


async def test_a_deleted_post_leaves_every_member(rig: Rig) -> None:
    """The community passes its members' Deletes on (FEP-1b12), so a member who does not follow
    the author loses the post too; the Delete is believed once the origin says it is gone."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "guild")
    await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    # unlisted: not relayed to every division, so only the community brings them to carol
    remote = await post(bob, "@guild@a.test draft, please ignore", visibility="unlisted")
    local = await post(alice, "@guild wrong channel, sorry", visibility="unlisted")
    await rig.drain()
    assert len(await texts(carol, carol_guild)) == 2
    # When both authors delete their posts
    assert (await bob.delete(f"/api/v1/statuses/{remote['id']}")).status_code == 200
    assert (await alice.delete(f"/api/v1/statuses/{local['id']}")).status_code == 200
    await rig.drain()
    # Then carol, who follows neither, no longer has them, nor does the community
    assert await texts(carol, carol_guild) == []
    assert await texts(alice, guild["id"]) == []
    for uri in (remote["uri"], local["uri"]):
        at_c = await rig.status("c.test", uri)
        assert at_c is not None and at_c.deleted_at is not None


async def test_bad_requests_change_nothing(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    reader = await rig.api_client("a.test", "reader", scopes="read")
    # bad names, a name a person has, an unknown moderator: 422
    for fields in (
        {"name": "no spaces"},
        {"name": ""},
        {"name": "x" * 31},
        {"name": "bob"},
        {"name": "guild", "moderators": ["nobody@c.test"]},
        {"name": "guild", "description": 7},
    ):
        made = await alice.post("/api/v1/communities", json=fields)
        assert made.status_code == 422, (fields, made.text)
    # no token: 401; a read-only token: 403
    async with rig.client("a.test") as anonymous:
        assert (await anonymous.post("/api/v1/communities", json={"name": "g"})).status_code == 401
    assert (await reader.post("/api/v1/communities", json={"name": "g"})).status_code == 403
    listed = await alice.get("/api/v1/communities")
    assert listed.status_code == 200 and listed.json() == []
    # with bob as a second moderator, by name
    guild = await create(alice, "guild", moderators=["bob"], approval_required=True)
    assert [m["acct"] for m in guild["moderators"]] == ["alice", "bob"]
    assert guild["approval_required"] is True
    carol = await rig.api_client("a.test", "carol")
    # carol is no moderator: she may not change it; a community without moderators is refused
    changed = await carol.patch(f"/api/v1/communities/{guild['id']}", json={"description": "x"})
    assert changed.status_code == 403
    emptied = await alice.patch(f"/api/v1/communities/{guild['id']}", json={"moderators": []})
    assert emptied.status_code == 422
    # a moderator cannot be removed as a member; a person is no community
    bob_id = guild["moderators"][1]["id"]
    refused = await alice.post(f"/api/v1/communities/{guild['id']}/members/{bob_id}/remove")
    assert refused.status_code == 422
    assert (await alice.get(f"/api/v1/communities/{bob_id}")).status_code == 404
    assert (await alice.get("/api/v1/communities/999999")).status_code == 404
    # the moderator changes the settings: peers would get an Update of the Group
    changed = await bob.patch(
        f"/api/v1/communities/{guild['id']}",
        json={"description": "Leads only", "approval_required": False},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "Leads only"
    assert changed.json()["approval_required"] is False
    # the people directory lists people, not communities
    directory = await alice.get("/api/v1/directory", params={"local": "true"})
    assert "guild" not in [a["acct"] for a in directory.json()]
    assert "bob" in [a["acct"] for a in directory.json()]
    # nor do communities count as users
    instance = (await alice.get("/api/v1/instance")).json()
    assert instance["stats"]["user_count"] == 4


async def test_an_edit_reaches_every_member(rig: Rig) -> None:
    """The community passes its members' Updates on, so a member who does not follow the
    author sees the edit; the edit is taken from the post's origin."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    guild = await create(alice, "guild")
    await join(rig, bob, "guild@a.test")
    carol_guild = await join(rig, carol, "guild@a.test")
    remote = await post(bob, "@guild@a.test standup at 9", visibility="unlisted")
    local = await post(alice, "@guild retro at 4", visibility="unlisted")
    await rig.drain()
    for mine, client, text in ((remote, bob, "standup at 10"), (local, alice, "retro at 5")):
        edited = await client.put(
            f"/api/v1/statuses/{mine['id']}", json={"status": f"@guild@a.test {text}"}
        )
        assert edited.status_code == 200, edited.text
    await rig.drain()
    shown = " ".join(await texts(carol, carol_guild))
    assert "standup at 10" in shown and "retro at 5" in shown
    assert "standup at 9" not in shown and "retro at 4" not in shown
    assert "standup at 10" in " ".join(await texts(alice, guild["id"]))
