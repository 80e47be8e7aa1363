"""The Mastodon statuses and timelines API over HTTP, across two in-process instances."""

from __future__ import annotations

from tests.rig import Rig


async def test_post_read_edit_delete(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        made = await alice.post(
            "/api/v1/statuses",
            data={"status": "Hello #team", "visibility": "unlisted", "spoiler_text": "hi"},
        )
        assert made.status_code == 200, made.text
        status = made.json()
        assert status["visibility"] == "unlisted" and status["spoiler_text"] == "hi"
        assert status["sensitive"] is True and status["tags"][0]["name"] == "team"
        assert status["account"]["acct"] == "alice" and isinstance(status["id"], str)
        assert status["created_at"].endswith("Z") and "." in status["created_at"]
        got = (await alice.get(f"/api/v1/statuses/{status['id']}")).json()
        assert got["content"] == status["content"]
        source = (await alice.get(f"/api/v1/statuses/{status['id']}/source")).json()
        assert source == {"id": status["id"], "text": "Hello #team", "spoiler_text": "hi"}
        edited = await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Hello again"})
        assert edited.status_code == 200 and "Hello again" in edited.json()["content"]
        assert edited.json()["edited_at"] is not None
        again = await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Hello again!"})
        assert again.status_code == 200  # two edits within one second are two Updates
        history = (await alice.get(f"/api/v1/statuses/{status['id']}/history")).json()
        assert ["Hello" in v["content"] for v in history] == [True, True, True]
        assert ["again!" in v["content"] for v in history] == [False, False, True]
        assert all(v["account"]["acct"] == "alice" for v in history)
        deleted = await alice.delete(f"/api/v1/statuses/{status['id']}")
        assert deleted.status_code == 200 and deleted.json()["text"] == "Hello again!"
        assert (await alice.get(f"/api/v1/statuses/{status['id']}")).status_code == 404


async def test_idempotency_key_posts_once(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        first = await alice.post(
            "/api/v1/statuses", json={"status": "once"}, headers={"Idempotency-Key": "k1"}
        )
        again = await alice.post(
            "/api/v1/statuses", json={"status": "once"}, headers={"Idempotency-Key": "k1"}
        )
        assert first.json()["id"] == again.json()["id"]
        timeline = (await alice.get("/api/v1/timelines/home")).json()
        assert [s["id"] for s in timeline] == [first.json()["id"]]


async def test_refusals(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice", scopes="read")
    async with alice:
        assert (await alice.post("/api/v1/statuses", json={"status": "x"})).status_code == 403
        no_token = await alice.post(
            "/api/v1/statuses", json={"status": "x"}, headers={"Authorization": ""}
        )
        assert no_token.status_code == 401
    writer = await rig.api_client("a.test", "dora")
    async with writer:
        for body in (
            {"status": ""},
            {"status": "x", "visibility": "secret"},
            {"status": "x" * 6000},
        ):
            response = await writer.post("/api/v1/statuses", json=body)
            assert response.status_code == 422, body
            assert "error" in response.json()
        assert (await writer.get("/api/v1/statuses/123")).status_code == 404
        assert (await writer.get("/api/v1/statuses/abc")).status_code in (404, 422)


async def test_followers_only_is_hidden_from_others(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    eve = await rig.api_client("a.test", "eve")
    async with alice, eve:
        secret = (
            await alice.post("/api/v1/statuses", json={"status": "inner", "visibility": "private"})
        ).json()
        assert (await eve.get(f"/api/v1/statuses/{secret['id']}")).status_code == 404
        assert (await eve.get(f"/api/v1/statuses/{secret['id']}/context")).status_code == 404


async def test_thread_boost_favourite_bookmark_across_instances(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        # bob follows alice through the account API of b.test
        found = (
            await bob.get(
                "/api/v1/accounts/search", params={"q": "@alice@a.test", "resolve": "true"}
            )
        ).json()
        assert found and found[0]["acct"] == "alice@a.test"
        assert (await bob.post(f"/api/v1/accounts/{found[0]['id']}/follow")).status_code == 200
        await rig.drain()
        question = (await alice.post("/api/v1/statuses", json={"status": "Any ideas?"})).json()
        await rig.drain()
        home = (await bob.get("/api/v1/timelines/home")).json()
        assert [s["uri"] for s in home] == [question["uri"]]
        remote_id = home[0]["id"]
        reply = (
            await bob.post(
                "/api/v1/statuses",
                json={"status": "@alice@a.test yes", "in_reply_to_id": remote_id},
            )
        ).json()
        assert reply["in_reply_to_id"] == remote_id
        for action in ("favourite", "reblog", "bookmark"):
            response = await bob.post(f"/api/v1/statuses/{remote_id}/{action}")
            assert response.status_code == 200, action
        state = (await bob.get(f"/api/v1/statuses/{remote_id}")).json()
        assert (state["favourited"], state["reblogged"], state["bookmarked"]) == (True, True, True)
        assert [s["id"] for s in (await bob.get("/api/v1/bookmarks")).json()] == [remote_id]
        assert [s["id"] for s in (await bob.get("/api/v1/favourites")).json()] == [remote_id]
        await rig.drain()
        mine = (await alice.get(f"/api/v1/statuses/{question['id']}")).json()
        assert (mine["favourites_count"], mine["reblogs_count"], mine["replies_count"]) == (1, 1, 1)
        context = (await alice.get(f"/api/v1/statuses/{question['id']}/context")).json()
        assert [s["uri"] for s in context["descendants"]] == [reply["uri"]]
        reply_at_a = context["descendants"][0]["id"]
        up = (await alice.get(f"/api/v1/statuses/{reply_at_a}/context")).json()
        assert [s["id"] for s in up["ancestors"]] == [question["id"]]
        favouriters = (await alice.get(f"/api/v1/statuses/{question['id']}/favourited_by")).json()
        assert [a["acct"] for a in favouriters] == ["bob@b.test"]
        for action in ("unfavourite", "unreblog", "unbookmark"):
            assert (await bob.post(f"/api/v1/statuses/{remote_id}/{action}")).status_code == 200
        await rig.drain()
        mine = (await alice.get(f"/api/v1/statuses/{question['id']}")).json()
        assert (mine["favourites_count"], mine["reblogs_count"]) == (0, 0)
        # boosting again after taking the boost back (the old row stays as a tombstone)
        again = await bob.post(f"/api/v1/statuses/{remote_id}/reblog")
        assert again.status_code == 200, again.text
        await rig.drain()
        mine = (await alice.get(f"/api/v1/statuses/{question['id']}")).json()
        assert mine["reblogs_count"] == 1


async def test_timelines_page_like_mastodon(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        ids = []
        for n in range(5):
            made = await alice.post("/api/v1/statuses", json={"status": f"post {n} #paging"})
            ids.append(made.json()["id"])
        first = await alice.get("/api/v1/timelines/home", params={"limit": 2})
        assert [s["id"] for s in first.json()] == ids[:-3:-1]
        link = first.headers["link"]
        assert f"max_id={ids[3]}" in link and 'rel="next"' in link and 'rel="prev"' in link
        older = (
            await alice.get("/api/v1/timelines/home", params={"max_id": ids[3], "limit": 2})
        ).json()
        assert [s["id"] for s in older] == [ids[2], ids[1]]
        newer = (
            await alice.get("/api/v1/timelines/home", params={"min_id": ids[1], "limit": 2})
        ).json()
        assert [s["id"] for s in newer] == [ids[3], ids[2]]
        since = (
            await alice.get("/api/v1/timelines/home", params={"since_id": ids[1], "limit": 2})
        ).json()
        assert [s["id"] for s in since] == [ids[4], ids[3]]
        local = (await alice.get("/api/v1/timelines/public", params={"local": "true"})).json()
        assert len(local) == 5
        tagged = (await alice.get("/api/v1/timelines/tag/paging")).json()
        assert len(tagged) == 5
        assert (await alice.get("/api/v1/timelines/home", params={"limit": "x"})).status_code == 400
        anonymous = await alice.get("/api/v1/timelines/public", headers={"Authorization": ""})
        assert anonymous.status_code == 401


async def test_muted_accounts_leave_the_home_timeline(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    dora = await rig.api_client("a.test", "dora")
    async with alice, dora:
        me = (await dora.get("/api/v1/accounts/verify_credentials")).json()
        her = (await alice.get("/api/v1/accounts/verify_credentials")).json()
        assert (await dora.post(f"/api/v1/accounts/{her['id']}/follow")).status_code == 200
        post = (await alice.post("/api/v1/statuses", json={"status": "lunch?"})).json()
        assert [s["id"] for s in (await dora.get("/api/v1/timelines/home")).json()] == [post["id"]]
        assert (await dora.post(f"/api/v1/accounts/{her['id']}/mute")).status_code == 200
        assert (await dora.get("/api/v1/timelines/home")).json() == []
        assert (await dora.post(f"/api/v1/accounts/{her['id']}/unmute")).status_code == 200
        assert [s["id"] for s in (await dora.get("/api/v1/timelines/home")).json()] == [post["id"]]
        assert me["acct"] == "dora"
