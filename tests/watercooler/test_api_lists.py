"""Mastodon's lists over HTTP: CRUD, who may be a member, the list timeline (paged with
`Link` like the home timeline, reply policies, members' posts from another instance),
exclusive lists leaving the home timeline, unfollowing taking an account out, scopes, and
other people's lists answering 404."""

from __future__ import annotations

from typing import Any

import httpx

from tests.rig import Rig
from tests.watercooler.conftest import account_id


async def me(client: httpx.AsyncClient) -> str:
    return str((await client.get("/api/v1/accounts/verify_credentials")).json()["id"])


async def follow(client: httpx.AsyncClient, account: str) -> None:
    response = await client.post(f"/api/v1/accounts/{account}/follow")
    assert response.status_code == 200, response.text


async def post(client: httpx.AsyncClient, text: str, **fields: Any) -> str:
    made = await client.post("/api/v1/statuses", json={"status": text, **fields})
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


async def make_list(client: httpx.AsyncClient, title: str = "Team", **fields: Any) -> str:
    made = await client.post("/api/v1/lists", json={"title": title, **fields})
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


async def add(client: httpx.AsyncClient, list_id: str, *account_ids: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": list(account_ids)}
    )


async def timeline(client: httpx.AsyncClient, list_id: str, **params: Any) -> list[str]:
    response = await client.get(f"/api/v1/timelines/list/{list_id}", params=params)
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


async def home(client: httpx.AsyncClient) -> list[str]:
    return [status["id"] for status in (await client.get("/api/v1/timelines/home")).json()]


async def members(client: httpx.AsyncClient, list_id: str) -> list[str]:
    response = await client.get(f"/api/v1/lists/{list_id}/accounts")
    assert response.status_code == 200, response.text
    return [account["id"] for account in response.json()]


# ----- the lists themselves --------------------------------------------------------------------


async def test_create_show_update_delete(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        made = await alice.post("/api/v1/lists", data={"title": "Project X"})
        assert made.status_code == 200, made.text
        entity = made.json()
        assert entity == {
            "id": entity["id"],
            "title": "Project X",
            "replies_policy": "list",
            "exclusive": False,
        }
        assert isinstance(entity["id"], str)
        other = await make_list(alice, "Guild", replies_policy="none", exclusive=True)
        listed = (await alice.get("/api/v1/lists")).json()
        assert [(x["title"], x["replies_policy"], x["exclusive"]) for x in listed] == [
            ("Project X", "list", False),
            ("Guild", "none", True),
        ]
        assert (await alice.get(f"/api/v1/lists/{other}")).json()["title"] == "Guild"

        # PUT changes what is sent and keeps the rest.
        renamed = await alice.put(f"/api/v1/lists/{other}", json={"title": "Guild of makers"})
        assert renamed.json() == {
            "id": other,
            "title": "Guild of makers",
            "replies_policy": "none",
            "exclusive": True,
        }
        changed = await alice.put(
            f"/api/v1/lists/{other}", data={"replies_policy": "followed", "exclusive": "false"}
        )
        assert (changed.json()["replies_policy"], changed.json()["exclusive"]) == (
            "followed",
            False,
        )
        assert changed.json()["title"] == "Guild of makers"

        deleted = await alice.delete(f"/api/v1/lists/{other}")
        assert (deleted.status_code, deleted.json()) == (200, {})
        gone = await alice.get(f"/api/v1/lists/{other}")
        assert (gone.status_code, gone.json()) == (404, {"error": "Record not found"})
        assert [x["id"] for x in (await alice.get("/api/v1/lists")).json()] == [entity["id"]]


async def test_bad_input_is_refused(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        for body in ({}, {"title": "  "}, {"title": "x" * 300}):
            refused = await alice.post("/api/v1/lists", json=body)
            assert refused.status_code == 422 and "Title" in refused.json()["error"], body
        policy = await alice.post("/api/v1/lists", json={"title": "x", "replies_policy": "all"})
        assert policy.status_code == 422 and "replies_policy" in policy.json()["error"]
        list_id = await make_list(alice)
        blank = await alice.put(f"/api/v1/lists/{list_id}", json={"title": ""})
        assert blank.status_code == 422
        assert (await alice.get(f"/api/v1/lists/{list_id}")).json()["title"] == "Team"
        for bad in ("nope", "99999999", "-1"):
            assert (await alice.get(f"/api/v1/lists/{bad}")).status_code == 404
        missing = await alice.post(f"/api/v1/lists/{list_id}/accounts", json={})
        assert missing.status_code == 422
        assert (await alice.get("/api/v1/accounts/12345/lists")).status_code == 404
        # Mastodon's limit: 50 lists per account.
        for n in range(49):
            await make_list(alice, f"list {n}")
        over = await alice.post("/api/v1/lists", json={"title": "one too many"})
        assert over.status_code == 422 and "maximum" in over.json()["error"]
        assert len((await alice.get("/api/v1/lists")).json()) == 50


async def test_other_peoples_lists_are_not_found(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    mallory = await rig.api_client("a.test", "mallory")
    async with alice, mallory:
        list_id = await make_list(alice, "Private")
        alice_id = await me(alice)
        assert (await mallory.get("/api/v1/lists")).json() == []
        for method, path in (
            ("GET", f"/api/v1/lists/{list_id}"),
            ("PUT", f"/api/v1/lists/{list_id}"),
            ("DELETE", f"/api/v1/lists/{list_id}"),
            ("GET", f"/api/v1/lists/{list_id}/accounts"),
            ("POST", f"/api/v1/lists/{list_id}/accounts"),
            ("DELETE", f"/api/v1/lists/{list_id}/accounts"),
            ("GET", f"/api/v1/timelines/list/{list_id}"),
        ):
            response = await mallory.request(
                method, path, data={"title": "mine now", "account_ids[]": [alice_id]}
            )
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == {"error": "Record not found"}
        assert (await alice.get(f"/api/v1/lists/{list_id}")).json()["title"] == "Private"
        assert (await mallory.get(f"/api/v1/accounts/{alice_id}/lists")).json() == []


async def test_scopes(rig: Rig) -> None:
    reader = await rig.api_client("a.test", "alice", scopes="read:lists")
    writer = await rig.api_client("a.test", "alice", scopes="write:lists")
    statuses_only = await rig.api_client("a.test", "alice", scopes="read:statuses write:statuses")
    broad = await rig.api_client("a.test", "alice", scopes="read write")
    async with reader, writer, statuses_only, broad:
        assert (await reader.post("/api/v1/lists", json={"title": "x"})).status_code == 403
        list_id = await make_list(writer)
        assert (await writer.get("/api/v1/lists")).status_code == 403
        assert (await reader.get(f"/api/v1/lists/{list_id}")).status_code == 200
        assert (await reader.get(f"/api/v1/timelines/list/{list_id}")).status_code == 200
        assert (await reader.delete(f"/api/v1/lists/{list_id}")).status_code == 403
        for path in ("/api/v1/lists", f"/api/v1/timelines/list/{list_id}"):
            assert (await statuses_only.get(path)).status_code == 403
        assert (await broad.get(f"/api/v1/lists/{list_id}/accounts")).status_code == 200
        no_token = await broad.get("/api/v1/lists", headers={"Authorization": ""})
        assert no_token.status_code == 401


# ----- members ---------------------------------------------------------------------------------


async def test_members_are_accounts_the_owner_follows(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        alice_id, bob_id, carol_id = await me(alice), await me(bob), await me(carol)
        list_id = await make_list(alice)
        not_followed = await add(alice, list_id, bob_id)
        assert (not_followed.status_code, not_followed.json()) == (
            404,
            {"error": "Record not found"},
        )
        await follow(alice, bob_id)
        # All or nothing: one account not followed refuses the whole request.
        assert (await add(alice, list_id, bob_id, carol_id)).status_code == 404
        assert await members(alice, list_id) == []
        added = await add(alice, list_id, bob_id, alice_id)  # oneself needs no follow
        assert (added.status_code, added.json()) == (200, {})
        assert sorted(await members(alice, list_id)) == sorted([bob_id, alice_id])
        again = await add(alice, list_id, bob_id)
        assert again.status_code == 422 and "taken" in again.json()["error"]
        assert (await add(alice, list_id, "424242")).status_code == 404
        assert (await add(alice, list_id, "not-an-id")).status_code == 404

        held = (await alice.get(f"/api/v1/accounts/{bob_id}/lists")).json()
        assert [x["id"] for x in held] == [list_id]
        assert (await alice.get(f"/api/v1/accounts/{carol_id}/lists")).json() == []

        removed = await alice.request(
            "DELETE", f"/api/v1/lists/{list_id}/accounts", data={"account_ids[]": [bob_id]}
        )
        assert (removed.status_code, removed.json()) == (200, {})
        assert await members(alice, list_id) == [alice_id]
        assert (await alice.get(f"/api/v1/accounts/{bob_id}/lists")).json() == []


async def test_members_page_by_account_id(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        list_id = await make_list(alice)
        ids = []
        for name in ("m1", "m2", "m3"):
            client = await rig.api_client("a.test", name)
            async with client:
                ids.append(await me(client))
            await follow(alice, ids[-1])
        assert (await add(alice, list_id, *ids)).status_code == 200
        newest_first = sorted(ids, key=int, reverse=True)
        first = await alice.get(f"/api/v1/lists/{list_id}/accounts", params={"limit": 2})
        assert [a["id"] for a in first.json()] == newest_first[:2]
        assert f"max_id={newest_first[1]}" in first.headers["link"]
        rest = await alice.get(
            f"/api/v1/lists/{list_id}/accounts", params={"limit": 2, "max_id": newest_first[1]}
        )
        assert [a["id"] for a in rest.json()] == newest_first[2:]
        everyone = await alice.get(f"/api/v1/lists/{list_id}/accounts", params={"limit": 0})
        assert [a["id"] for a in everyone.json()] == newest_first
        assert "link" not in everyone.headers


async def test_unfollow_and_block_take_the_account_out_of_lists(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        bob_id, carol_id = await me(bob), await me(carol)
        await follow(alice, bob_id)
        await follow(alice, carol_id)
        first, second = await make_list(alice, "one"), await make_list(alice, "two")
        for list_id in (first, second):
            assert (await add(alice, list_id, bob_id, carol_id)).status_code == 200
        bobs = await post(bob, "from bob")
        assert await timeline(alice, first) == [bobs]

        assert (await alice.post(f"/api/v1/accounts/{bob_id}/unfollow")).status_code == 200
        assert await members(alice, first) == [carol_id]
        assert await members(alice, second) == [carol_id]
        assert await timeline(alice, first) == []
        assert (await alice.get(f"/api/v1/accounts/{bob_id}/lists")).json() == []

        # Carol blocking alice ends alice's follow, and with it the membership.
        assert (await carol.post(f"/api/v1/accounts/{await me(alice)}/block")).status_code == 200
        assert await members(alice, first) == []


# ----- the list timeline -----------------------------------------------------------------------


async def test_list_timeline_pages_like_the_home_timeline(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        bob_id, carol_id = await me(bob), await me(carol)
        await follow(alice, bob_id)
        await follow(alice, carol_id)
        before = [await post(bob, f"early {n}") for n in range(2)]
        list_id = await make_list(alice)
        assert (await add(alice, list_id, bob_id)).status_code == 200
        after = [await post(bob, f"late {n}") for n in range(3)]
        await post(carol, "not in the list")
        await post(bob, "a secret", visibility="direct")  # direct messages stay out of lists
        ids = before + after  # a new member's recent posts come with them
        assert await timeline(alice, list_id) == ids[::-1]

        path = f"/api/v1/timelines/list/{list_id}"
        first = await alice.get(path, params={"limit": 2})
        assert [s["id"] for s in first.json()] == [ids[4], ids[3]]
        link = first.headers["link"]
        assert link == (
            f'<http://a.test{path}?limit=2&max_id={ids[3]}>; rel="next", '
            f'<http://a.test{path}?limit=2&min_id={ids[4]}>; rel="prev"'
        )
        assert await timeline(alice, list_id, limit=2, max_id=ids[3]) == [ids[2], ids[1]]
        assert await timeline(alice, list_id, limit=2, min_id=ids[1]) == [ids[3], ids[2]]
        assert await timeline(alice, list_id, limit=2, since_id=ids[1]) == [ids[4], ids[3]]
        last = await alice.get(path, params={"limit": 2, "max_id": ids[1]})
        assert [s["id"] for s in last.json()] == [ids[0]]
        assert 'rel="next"' not in last.headers["link"]
        empty = await alice.get(path, params={"max_id": ids[0]})
        assert empty.json() == [] and "link" not in empty.headers
        assert (await alice.get(path, params={"limit": "x"})).status_code == 400

        # Deleted posts and muted members leave the list.
        assert (await bob.delete(f"/api/v1/statuses/{ids[4]}")).status_code == 200
        assert await timeline(alice, list_id) == ids[3::-1]
        assert (await alice.post(f"/api/v1/accounts/{bob_id}/mute")).status_code == 200
        assert await timeline(alice, list_id) == []


async def test_replies_policy(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    erin = await rig.api_client("a.test", "erin")
    carol = await rig.api_client("a.test", "carol")
    dave = await rig.api_client("a.test", "dave")
    async with alice, bob, erin, carol, dave:
        bob_id, erin_id = await me(bob), await me(erin)
        for account in (bob_id, erin_id, await me(carol)):
            await follow(alice, account)
        list_id = await make_list(alice)
        assert (await add(alice, list_id, bob_id, erin_id)).status_code == 200
        alices, erins = await post(alice, "owner's post"), await post(erin, "erin's post")
        carols, daves = await post(carol, "carol's post"), await post(dave, "dave's post")
        top = await post(bob, "a thread")
        shown = {
            "self": await post(bob, "more", in_reply_to_id=top),
            "owner": await post(bob, "@alice hi", in_reply_to_id=alices),
            "member": await post(bob, "@erin hi", in_reply_to_id=erins),
            "followed": await post(bob, "@carol hi", in_reply_to_id=carols),
            "stranger": await post(bob, "@dave hi", in_reply_to_id=daves),
        }
        always = {erins, top, shown["self"], shown["owner"]}
        expected = {
            "list": always | {shown["member"]},
            "followed": always | {shown["member"], shown["followed"]},
            "none": always,
        }
        for policy, ids in expected.items():
            changed = await alice.put(f"/api/v1/lists/{list_id}", json={"replies_policy": policy})
            assert changed.status_code == 200
            assert set(await timeline(alice, list_id)) == ids, policy


async def test_exclusive_lists_leave_the_home_timeline(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        bob_id = await me(bob)
        await follow(alice, bob_id)
        await follow(alice, await me(carol))
        list_id = await make_list(alice, "Bob only", exclusive=True)
        assert (await add(alice, list_id, bob_id)).status_code == 200
        bobs, carols = await post(bob, "in the list"), await post(carol, "at home")
        boost = (await bob.post(f"/api/v1/statuses/{carols}/reblog")).json()["id"]
        assert await home(alice) == [carols]
        assert await timeline(alice, list_id) == [boost, bobs]
        opened = await alice.put(f"/api/v1/lists/{list_id}", json={"exclusive": False})
        assert opened.json()["exclusive"] is False
        assert await home(alice) == [boost, carols, bobs]


async def test_members_on_another_instance(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    eve = await rig.api_client("b.test", "eve")
    async with alice, bob, eve:
        bob_id = await account_id(alice, "@bob@b.test")
        await follow(alice, bob_id)  # pending until b.test accepts: already allowed in a list
        list_id = await make_list(alice)
        assert (await add(alice, list_id, bob_id)).status_code == 200
        await rig.drain()
        bobs = await post(bob, "hello from b")
        eves = await post(eve, "eve's news")
        assert (await bob.post(f"/api/v1/statuses/{eves}/reblog")).status_code == 200
        await rig.drain()
        got = (await alice.get(f"/api/v1/timelines/list/{list_id}")).json()
        assert [s["account"]["acct"] for s in got] == ["bob@b.test", "bob@b.test"]
        # The two deliveries may be handled in either order: find each by what it is.
        [boost] = [s for s in got if s["reblog"] is not None]
        [own] = [s for s in got if s["reblog"] is None]
        assert boost["reblog"]["account"]["acct"] == "eve@b.test"
        assert "hello from b" in own["content"] and own["uri"].endswith(bobs)
