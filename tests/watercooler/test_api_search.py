"""Search and hashtags over HTTP, across two in-process instances."""

from __future__ import annotations

import httpx

from tests.rig import Rig


async def search(client: httpx.AsyncClient, **params: str) -> dict:
    response = await client.get("/api/v2/search", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accounts", "statuses", "hashtags"}
    return body


async def test_accounts_local_and_remote(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        await rig.user("a.test", "alfred")
        local = await search(alice, q="alf", type="accounts")
        assert [a["acct"] for a in local["accounts"]] == ["alfred"]
        assert local["statuses"] == [] and local["hashtags"] == []
        unknown = await search(bob, q="@alice@a.test", type="accounts")
        assert unknown["accounts"] == []
        by_handle = await search(bob, q="@alice@a.test", resolve="true")
        assert [a["acct"] for a in by_handle["accounts"]] == ["alice@a.test"]
        by_url = await search(bob, q="http://a.test/users/alfred", resolve="true")
        assert [a["acct"] for a in by_url["accounts"]] == ["alfred@a.test"]


async def test_remote_status_by_url_only_with_resolve(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    async with alice, bob:
        post = (await alice.post("/api/v1/statuses", json={"status": "Findable"})).json()
        for url in (post["uri"], post["url"]):
            unresolved = await search(bob, q=url)
            assert unresolved["statuses"] == [] and unresolved["accounts"] == []
        found = await search(bob, q=post["uri"], resolve="true", type="statuses")
        assert [s["uri"] for s in found["statuses"]] == [post["uri"]]
        assert found["statuses"][0]["account"]["acct"] == "alice@a.test"
        for url in (post["uri"], post["url"]):  # stored now: found without resolve
            again = await search(bob, q=url)
            assert [s["uri"] for s in again["statuses"]] == [post["uri"]]


async def test_statuses_by_words_respect_visibility(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    eve = await rig.api_client("a.test", "eve")
    async with alice, eve:
        public = (await alice.post("/api/v1/statuses", json={"status": "Lunch at Noon"})).json()
        hidden = await alice.post(
            "/api/v1/statuses", json={"status": "secret lunch plans", "visibility": "private"}
        )
        assert hidden.status_code == 200
        await rig.drain()  # the search indexer
        mine = await search(alice, q="LUNCH", type="statuses")
        assert len(mine["statuses"]) == 2
        theirs = await search(eve, q="lunch", type="statuses")
        assert [s["id"] for s in theirs["statuses"]] == [public["id"]]
        assert (await search(eve, q="lunch noon"))["statuses"][0]["id"] == public["id"]
        assert (await search(eve, q="lunch secret"))["statuses"] == []
        eve_id = (await eve.get("/api/v1/accounts/verify_credentials")).json()["id"]
        by_eve = await search(alice, q="lunch", type="statuses", account_id=eve_id)
        assert by_eve["statuses"] == []


async def test_hashtags_and_following(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        for text in ("#teamwork rocks", "#teamwork again", "#teal color", "#other"):
            await alice.post("/api/v1/statuses", json={"status": text})
        found = await search(alice, q="#tea", type="hashtags")
        assert [t["name"] for t in found["hashtags"]] == ["teamwork", "teal"]
        assert found["hashtags"][0] == {
            "name": "teamwork",
            "url": "http://a.test/tags/teamwork",
            "history": [],
            "following": False,
        }
        tag = (await alice.get("/api/v1/tags/Teamwork")).json()
        assert tag["name"] == "teamwork" and tag["following"] is False
        followed = await alice.post("/api/v1/tags/teamwork/follow")
        assert followed.status_code == 200 and followed.json()["following"] is True
        await alice.post("/api/v1/tags/teal/follow")
        assert (await alice.get("/api/v1/tags/teamwork")).json()["following"] is True
        assert (await search(alice, q="team", type="hashtags"))["hashtags"][0]["following"]
        page = await alice.get("/api/v1/followed_tags", params={"limit": 1})
        assert [t["name"] for t in page.json()] == ["teal"] and 'rel="next"' in page.headers["link"]
        listed = (await alice.get("/api/v1/followed_tags")).json()
        assert [t["name"] for t in listed] == ["teal", "teamwork"]
        unfollowed = await alice.post("/api/v1/tags/teamwork/unfollow")
        assert unfollowed.json()["following"] is False
        assert [t["name"] for t in (await alice.get("/api/v1/followed_tags")).json()] == ["teal"]


async def test_refusals(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice", scopes="read:accounts")
    async with alice:
        assert (await alice.get("/api/v2/search", params={"q": "x"})).status_code == 403
        assert (await alice.post("/api/v1/tags/x/follow")).status_code == 403
        assert (await alice.get("/api/v1/followed_tags")).status_code == 403
        anonymous = await alice.get(
            "/api/v2/search", params={"q": "x"}, headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401
        no_token = await alice.post("/api/v1/tags/x/follow", headers={"Authorization": ""})
        assert no_token.status_code == 401
    reader = await rig.api_client("a.test", "rita")
    async with reader:
        for params in ({"q": "x", "limit": "many"}, {"q": "x", "limit": "0"}, {"q": ""}):
            response = await reader.get("/api/v2/search", params=params)
            assert response.status_code == 400, params
            assert "error" in response.json()
        bad_type = await reader.get("/api/v2/search", params={"q": "x", "type": "places"})
        assert bad_type.status_code == 400
        assert (await reader.get("/api/v1/tags/no%20such")).status_code == 404
