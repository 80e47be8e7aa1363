"""A follow's options, as Mastodon has them: `notify=true` brings a `status` notification
for each new post of the followed account (not its boosts, nor its replies to others, nor a
direct post: that one is a mention) — locally and across instances; `reblogs=false` keeps its
boosts out of the home timeline; the relationship's `notifying` and `showing_reblogs` tell
the truth, and following again changes only the options sent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.rig import Rig
from tests.watercooler.conftest import post


async def me(client: httpx.AsyncClient) -> str:
    return str((await client.get("/api/v1/accounts/verify_credentials")).json()["id"])


async def follow(client: httpx.AsyncClient, account: str, **options: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/accounts/{account}/follow", data=options)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def status_notes(client: httpx.AsyncClient) -> list[str]:
    """Texts of the `status` notifications, oldest first."""
    response = await client.get("/api/v1/notifications", params={"types[]": "status"})
    assert response.status_code == 200, response.text
    assert all(note["type"] == "status" for note in response.json())
    return [note["status"]["content"] for note in reversed(response.json())]


async def home(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/timelines/home")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_notify_brings_a_status_notification_for_each_new_post(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        alice_id = await me(alice)

        # Given bob follows alice asking to be notified, and carol follows her plainly
        relationship = await follow(bob, alice_id, notify="true")
        assert relationship["following"] is True and relationship["notifying"] is True
        assert relationship["showing_reblogs"] is True
        assert (await follow(carol, alice_id))["notifying"] is False

        # When alice posts, replies to herself, to carol, boosts, and writes to bob directly
        first = await post(alice, "first post")
        await post(alice, "a thread goes on", in_reply_to_id=first["id"])
        await post(alice, "followers hear this", visibility="private")
        carols = await post(carol, "carol asks")
        await post(alice, "@carol an answer", in_reply_to_id=carols["id"])
        assert (await alice.post(f"/api/v1/statuses/{carols['id']}/reblog")).status_code == 200
        await post(alice, "@bob just you", visibility="direct")

        # Then bob is notified of her own posts only: the reply to carol, the boost and the
        # direct post (a mention) bring no `status` notification
        assert await status_notes(bob) == [
            "<p>first post</p>",
            "<p>a thread goes on</p>",
            "<p>followers hear this</p>",
        ]
        mentions = (await bob.get("/api/v1/notifications", params={"types[]": "mention"})).json()
        assert len(mentions) == 1
        assert await status_notes(carol) == []

        # When bob follows again with notify=false, later posts no longer notify him
        assert (await follow(bob, alice_id, notify="false"))["notifying"] is False
        await post(alice, "unheard")
        assert len(await status_notes(bob)) == 3


async def test_following_again_changes_only_the_options_sent(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        alice_id = await me(alice)
        first = await follow(bob, alice_id, notify="1", reblogs="0")
        assert (first["notifying"], first["showing_reblogs"]) == (True, False)
        again = await follow(bob, alice_id)
        assert (again["notifying"], again["showing_reblogs"]) == (True, False)
        listed = await bob.get("/api/v1/accounts/relationships", params={"id[]": alice_id})
        assert (listed.json()[0]["notifying"], listed.json()[0]["showing_reblogs"]) == (True, False)
        assert (await bob.post(f"/api/v1/accounts/{alice_id}/unfollow")).status_code == 200
        gone = (await bob.get("/api/v1/accounts/relationships", params={"id[]": alice_id})).json()
        assert (gone[0]["notifying"], gone[0]["showing_reblogs"]) == (False, False)
        # a new follow starts from Mastodon's defaults
        fresh = await follow(bob, alice_id)
        assert (fresh["notifying"], fresh["showing_reblogs"]) == (False, True)


async def test_notify_across_instances(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        found = await bob.get(
            "/api/v1/accounts/search", params={"q": "@alice@a.test", "resolve": "true"}
        )
        alice_at_b = found.json()[0]["id"]
        requested = await follow(bob, alice_at_b, notify="true")
        assert requested["requested"] is True and requested["notifying"] is True
        await rig.drain()

        await post(alice, "news from a.test")
        await post(alice, "only for followers", visibility="private")
        await rig.drain()
        assert len(await status_notes(bob)) == 2
        notes = (await bob.get("/api/v1/notifications", params={"types[]": "status"})).json()
        assert {note["account"]["acct"] for note in notes} == {"alice@a.test"}
        assert sorted(note["status"]["visibility"] for note in notes) == ["private", "public"]

        # Delivered again (a retry), the post still notifies once
        await rig.drain()
        assert len(await status_notes(bob)) == 2


async def test_reblogs_false_keeps_boosts_out_of_home(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    remote = await rig.api_client("b.test", "dave")
    async with alice, bob, carol, remote:
        alice_id = await me(alice)
        assert (await follow(bob, alice_id, reblogs="false"))["showing_reblogs"] is False
        # dave on b.test follows alice too, hiding her boosts
        found = await remote.get(
            "/api/v1/accounts/search", params={"q": "@alice@a.test", "resolve": "true"}
        )
        await follow(remote, found.json()[0]["id"], reblogs="false")
        await rig.drain()

        carols = await post(carol, "worth a boost")
        boost = await alice.post(f"/api/v1/statuses/{carols['id']}/reblog")
        assert boost.status_code == 200
        own = await post(alice, "alice's own words")
        await rig.drain()

        # Then bob's home has alice's post and not her boost
        assert [s["id"] for s in await home(bob)] == [own["id"]]
        assert [s["reblog"] is None for s in await home(remote)] == [True]

        # When he turns boosts back on, the boost shows (the choice is read at read time)
        assert (await follow(bob, alice_id, reblogs="true"))["showing_reblogs"] is True
        assert [s["id"] for s in await home(bob)] == [own["id"], boost.json()["id"]]
