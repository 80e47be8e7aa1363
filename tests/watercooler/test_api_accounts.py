"""The accounts API over HTTP, as apps drive it: profiles, one's own profile, search and lookup,
a profile's posts with Mastodon's paging, follow lists, relationships, follow / block / mute,
follow requests, the block and mute lists, the directory; scopes on each; and a follow across
two instances of the rig, from search to the Accept."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError

from federation.uris import Uris
from store import accounts, follows
from store.records import AccountRecord
from tests.conftest import MakeConfig, running
from tests.live import free_port
from tests.rig import Rig
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.services import Services, open_database

PASSWORD = "password123"
LOCAL_ACCOUNT_KEYS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "indexable",
    "group", "created_at", "note", "url", "uri", "avatar", "avatar_static", "header",
    "header_static", "followers_count", "following_count", "statuses_count", "last_status_at",
    "hide_collections", "noindex", "emojis", "roles", "fields",
}  # fmt: skip
SOURCE_KEYS = {
    "privacy", "sensitive", "language", "note", "fields", "follow_requests_count",
    "hide_collections", "discoverable", "indexable",
}  # fmt: skip
LINK = re.compile(r'<([^>]+)>; rel="(next|prev)"')


@dataclass
class Site:
    svc: Services
    client: httpx.AsyncClient
    users: dict[str, AccountRecord]
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def token(self, name: str, *scopes: str) -> dict[str, str]:
        secret = await create_token(self.svc.db, name, scopes, datetime.now(UTC))
        return {"Authorization": f"Bearer {secret}"}

    async def get(self, path: str, as_: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = self.auth(as_) if as_ else {}
        return await self.client.get(path, headers=headers, **kwargs)

    async def post(self, path: str, as_: str, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers=self.auth(as_), **kwargs)

    def id(self, name: str) -> str:
        return str(self.users[name].id)


async def make_site(svc: Services, client: httpx.AsyncClient, names: tuple[str, ...]) -> Site:
    site = Site(svc, client, {}, {})
    for name in names:
        created = await create_user(
            svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, admin=name == "admin"
        )
        site.users[name] = created.account
        site.tokens[name] = await create_token(
            svc.db, name, ("read", "write", "follow"), datetime.now(UTC)
        )
    return site


@pytest.fixture
async def site(make_config: MakeConfig) -> AsyncIterator[Site]:
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        yield await make_site(app.state.services, client, ("alice", "bob", "carol"))


def links(response: httpx.Response) -> dict[str, str]:
    return {rel: url for url, rel in LINK.findall(response.headers.get("link", ""))}


async def relationship(site: Site, as_: str, target: str) -> dict[str, Any]:
    response = await site.get(f"/api/v1/accounts/relationships?id[]={site.id(target)}", as_)
    assert response.status_code == 200, response.text
    [found] = response.json()
    return found  # type: ignore[no-any-return]


# ----- one's own profile -------------------------------------------------------------------------


async def test_verify_credentials(site: Site) -> None:
    assert (await site.get("/api/v1/accounts/verify_credentials")).status_code == 401
    write_only = await site.token("alice", "write")
    refused = await site.client.get("/api/v1/accounts/verify_credentials", headers=write_only)
    assert refused.status_code == 403
    assert refused.json() == {"error": "This action is outside the authorized scopes"}

    response = await site.get("/api/v1/accounts/verify_credentials", "alice")

    assert response.status_code == 200
    me = response.json()
    assert set(me) == LOCAL_ACCOUNT_KEYS | {"source", "role"}
    assert me["id"] == site.id("alice") and me["acct"] == "alice"
    assert set(me["source"]) == SOURCE_KEYS
    assert me["source"]["privacy"] == "public" and me["source"]["follow_requests_count"] == 0
    assert me["role"]["id"] == "-99" and me["role"]["highlighted"] is False
    granular = await site.token("alice", "read:accounts")
    assert (
        await site.client.get("/api/v1/accounts/verify_credentials", headers=granular)
    ).status_code == 200


async def test_update_credentials_with_a_form(site: Site) -> None:
    response = await site.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=site.auth("alice"),
        data={
            "display_name": "Alice A.",
            "note": "Infra & <tools>\n\nOn call Mondays",
            "locked": "true",
            "discoverable": "false",
            "bot": "true",
            "fields_attributes[0][name]": "Team",
            "fields_attributes[0][value]": "Platform",
            "fields_attributes[1][name]": "Wiki",
            "fields_attributes[1][value]": "https://wiki.example/alice",
        },
    )

    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "Alice A."
    assert me["note"] == "<p>Infra &amp; &lt;tools&gt;</p><p>On call Mondays</p>"
    assert me["source"]["note"] == "Infra & <tools>\n\nOn call Mondays"
    assert me["locked"] is True and me["discoverable"] is False and me["bot"] is True
    assert me["fields"][0] == {"name": "Team", "value": "Platform", "verified_at": None}
    assert me["fields"][1]["name"] == "Wiki"
    assert 'href="https://wiki.example/alice"' in me["fields"][1]["value"]
    assert me["source"]["fields"][1]["value"] == "https://wiki.example/alice"
    # Others see it too, and the actor document follows the account row.
    seen = (await site.get(f"/api/v1/accounts/{site.id('alice')}")).json()
    assert seen["display_name"] == "Alice A." and seen["locked"] is True
    actor = await site.client.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert actor.json()["name"] == "Alice A." and actor.json()["manuallyApprovesFollowers"]


@pytest.mark.parametrize("encoding", ["json", "multipart"])
async def test_update_credentials_with_json_or_multipart(site: Site, encoding: str) -> None:
    if encoding == "json":
        kwargs: dict[str, Any] = {
            "json": {
                "display_name": "Bob",
                "locked": False,
                "fields_attributes": [{"name": "Desk", "value": "3.14"}, {"name": "", "value": ""}],
            }
        }
    else:
        kwargs = {
            "data": {"display_name": "Bob", "fields_attributes[0][name]": "Desk",
                     "fields_attributes[0][value]": "3.14"},
            "files": {"unused": ("x.txt", b"x", "text/plain")},
        }  # fmt: skip
    response = await site.client.patch(
        "/api/v1/accounts/update_credentials", headers=site.auth("bob"), **kwargs
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Bob"
    assert response.json()["fields"] == [{"name": "Desk", "value": "3.14", "verified_at": None}]


async def test_update_credentials_refuses_bad_input_and_changes_nothing(site: Site) -> None:
    path = "/api/v1/accounts/update_credentials"
    too_long = await site.client.patch(path, headers=site.auth("alice"), data={"note": "x" * 501})
    assert too_long.status_code == 422 and "note" in too_long.json()["error"]
    five = {f"fields_attributes[{i}][name]": f"f{i}" for i in range(5)}
    assert (await site.client.patch(path, headers=site.auth("alice"), data=five)).status_code == 422
    upload = await site.client.patch(
        path, headers=site.auth("alice"), files={"avatar": ("a.png", b"\x89PNG", "image/png")}
    )
    assert upload.status_code == 422 and "avatar" in upload.json()["error"].lower()
    read_only = await site.token("alice", "read")
    assert (await site.client.patch(path, headers=read_only, data={})).status_code == 403
    me = (await site.get("/api/v1/accounts/verify_credentials", "alice")).json()
    assert me["display_name"] == "alice" and me["note"] == "" and me["fields"] == []


# ----- looking accounts up -----------------------------------------------------------------------


async def test_get_account_without_a_token_and_404s(site: Site) -> None:
    response = await site.get(f"/api/v1/accounts/{site.id('bob')}")
    assert response.status_code == 200
    assert set(response.json()) == LOCAL_ACCOUNT_KEYS
    assert response.json()["username"] == "bob"
    async with site.svc.db.read() as conn:
        instance_actor = await accounts.get_instance_actor(conn)
    assert instance_actor is not None
    for missing in ("12345", "not-an-id", "99999999999999999999999", str(instance_actor.id)):
        response = await site.get(f"/api/v1/accounts/{missing}")
        assert response.status_code == 404
        assert response.json() == {"error": "Record not found"}
    bad_token = {"Authorization": "Bearer nope"}
    response = await site.client.get(f"/api/v1/accounts/{site.id('bob')}", headers=bad_token)
    assert response.status_code == 401


async def test_lookup(site: Site) -> None:
    for acct in ("bob", "@bob", "bob@a.test", "BOB"):
        response = await site.get(f"/api/v1/accounts/lookup?acct={acct}")
        assert response.status_code == 200, acct
        assert response.json()["id"] == site.id("bob")
    assert (await site.get("/api/v1/accounts/lookup?acct=nobody")).status_code == 404
    assert (await site.get("/api/v1/accounts/lookup")).status_code == 400
    # A domain we may not federate with (allowlist, no peers) resolves to nothing.
    assert (await site.get("/api/v1/accounts/lookup?acct=eve@elsewhere.test")).status_code == 404


async def test_search_by_name_and_display_name(site: Site) -> None:
    await site.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=site.auth("carol"),
        data={"display_name": "Carol Bobbins"},
    )
    assert (await site.get("/api/v1/accounts/search?q=bo")).status_code == 401

    found = (await site.get("/api/v1/accounts/search?q=bo", "alice")).json()
    assert [a["username"] for a in found] == ["bob", "carol"]
    exact = (await site.get("/api/v1/accounts/search?q=@carol@a.test", "alice")).json()
    assert [a["username"] for a in exact] == ["carol"]
    assert (await site.get("/api/v1/accounts/search?q=zz", "alice")).json() == []
    await site.post(f"/api/v1/accounts/{site.id('carol')}/follow", "alice")
    mine = (await site.get("/api/v1/accounts/search?q=bo&following=true", "alice")).json()
    assert [a["username"] for a in mine] == ["carol"]
    one = (await site.get("/api/v1/accounts/search?q=bo&limit=1&offset=1", "alice")).json()
    assert [a["username"] for a in one] == ["carol"]
    assert (await site.get("/api/v1/accounts/search?q=", "alice")).status_code == 400
    assert (await site.get("/api/v1/accounts/search?q=b&limit=x", "alice")).status_code == 400


async def test_directory(site: Site) -> None:
    await site.client.patch(
        "/api/v1/accounts/update_credentials",
        headers=site.auth("carol"),
        data={"discoverable": "false"},
    )
    bob = site.users["bob"]
    await site.svc.publisher.post(bob, "I am active")

    active = (await site.get("/api/v1/directory?local=true")).json()
    assert [a["username"] for a in active] == ["bob", "alice"]
    newest = (await site.get("/api/v1/directory?order=new&limit=1")).json()
    assert [a["username"] for a in newest] == ["bob"]
    second = (await site.get("/api/v1/directory?order=new&limit=1&offset=1")).json()
    assert [a["username"] for a in second] == ["alice"]
    assert (await site.get("/api/v1/directory?order=best")).status_code == 400


# ----- a profile's posts -------------------------------------------------------------------------


async def test_account_statuses_by_visibility(site: Site) -> None:
    alice, bob = site.users["alice"], site.users["bob"]
    await site.post(f"/api/v1/accounts/{alice.id}/follow", "bob")
    public = await site.svc.publisher.post(alice, "public #news")
    private = await site.svc.publisher.post(alice, "followers only", visibility="private")
    direct = await site.svc.publisher.post(alice, "@bob psst", visibility="direct")
    path = f"/api/v1/accounts/{alice.id}/statuses"

    def ids(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()]

    assert ids(await site.get(path)) == [str(public.id)]
    assert ids(await site.get(path, "carol")) == [str(public.id)]
    # bob follows alice and is mentioned in the direct post: Mastodon lists it to him too
    assert ids(await site.get(path, "bob")) == [str(d) for d in (direct.id, private.id, public.id)]
    assert ids(await site.get(path, "alice")) == [
        str(d) for d in (direct.id, private.id, public.id)
    ]
    assert ids(await site.get(f"{path}?tagged=news")) == [str(public.id)]
    assert ids(await site.get(f"{path}?pinned=true")) == []
    assert ids(await site.get(f"{path}?only_media=true")) == []
    anonymous = (await site.get(path)).json()[0]
    assert "favourited" not in anonymous and anonymous["account"]["id"] == str(alice.id)
    assert (await site.get(path, "carol")).json()[0]["favourited"] is False
    # bob's own boosts and replies, and their filters
    reply = await site.svc.publisher.post(bob, "@alice agreed", in_reply_to=public)
    boost = await site.svc.publisher.boost(bob, public)
    thread = await site.svc.publisher.post(bob, "my thread")
    self_reply = await site.svc.publisher.post(bob, "part two", in_reply_to=thread)
    bob_path = f"/api/v1/accounts/{bob.id}/statuses"
    all_of_bob = [str(s.id) for s in (self_reply, thread, boost, reply)]
    assert ids(await site.get(bob_path)) == all_of_bob
    assert ids(await site.get(f"{bob_path}?exclude_replies=true")) == [
        str(self_reply.id), str(thread.id), str(boost.id)
    ]  # fmt: skip
    assert ids(await site.get(f"{bob_path}?exclude_reblogs=1")) == [
        str(self_reply.id), str(thread.id), str(reply.id)
    ]  # fmt: skip
    boosted = (await site.get(bob_path)).json()[2]
    assert boosted["reblog"]["id"] == str(public.id) and boosted["content"] == ""


async def test_account_statuses_are_paged_with_link_headers(site: Site) -> None:
    alice = site.users["alice"]
    posts = [await site.svc.publisher.post(alice, f"post {i}") for i in range(5)]
    newest_first = [str(p.id) for p in reversed(posts)]
    path = f"/api/v1/accounts/{alice.id}/statuses"

    first = await site.get(f"{path}?limit=2&exclude_replies=true")

    assert [s["id"] for s in first.json()] == newest_first[:2]
    page_links = links(first)
    assert page_links["next"] == (
        f"http://a.test{path}?limit=2&exclude_replies=true&max_id={newest_first[1]}"
    )
    assert page_links["prev"] == (
        f"http://a.test{path}?limit=2&exclude_replies=true&min_id={newest_first[0]}"
    )
    second = await site.get(page_links["next"].removeprefix("http://a.test"))
    assert [s["id"] for s in second.json()] == newest_first[2:4]
    last = await site.get(links(second)["next"].removeprefix("http://a.test"))
    assert [s["id"] for s in last.json()] == newest_first[4:]
    assert "next" not in links(last) and "prev" in links(last)
    # min_id: the oldest after it, answered newest first; since_id: the newest after it.
    after_oldest = await site.get(f"{path}?limit=2&min_id={posts[0].id}")
    assert [s["id"] for s in after_oldest.json()] == [str(posts[2].id), str(posts[1].id)]
    since_oldest = await site.get(f"{path}?limit=2&since_id={posts[0].id}")
    assert [s["id"] for s in since_oldest.json()] == newest_first[:2]
    empty = await site.get(f"{path}?min_id={posts[-1].id}")
    assert empty.json() == [] and "link" not in empty.headers
    for bad in ("limit=abc", "limit=0", "max_id=x", "since_id=-1"):
        response = await site.get(f"{path}?{bad}")
        assert response.status_code == 400 and "error" in response.json(), bad
    capped = await site.get(f"{path}?limit=1000")
    assert len(capped.json()) == 5


# ----- follows and relationships -----------------------------------------------------------------


async def test_follow_unfollow_and_relationships(site: Site) -> None:
    bob_id = site.id("bob")

    followed = await site.post(f"/api/v1/accounts/{bob_id}/follow", "alice")

    assert followed.status_code == 200
    assert followed.json()["following"] is True and followed.json()["requested"] is False
    assert followed.json()["showing_reblogs"] is True
    assert (await relationship(site, "bob", "alice"))["followed_by"] is True
    both = await site.get(
        f"/api/v1/accounts/relationships?id[]={bob_id}&id[]={site.id('carol')}&id[]=42", "alice"
    )
    assert [(r["id"], r["following"]) for r in both.json()] == [
        (bob_id, True), (site.id("carol"), False)
    ]  # fmt: skip
    bob = (await site.get(f"/api/v1/accounts/{bob_id}")).json()
    assert bob["followers_count"] == 1
    again = await site.post(f"/api/v1/accounts/{bob_id}/follow", "alice")
    assert again.json()["following"] is True
    unfollowed = await site.post(f"/api/v1/accounts/{bob_id}/unfollow", "alice")
    assert unfollowed.json()["following"] is False
    myself = await site.post(f"/api/v1/accounts/{site.id('alice')}/follow", "alice")
    assert myself.status_code == 403
    missing = await site.post("/api/v1/accounts/1/follow", "alice")
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}


async def test_follow_scopes(site: Site) -> None:
    path = f"/api/v1/accounts/{site.id('bob')}/follow"
    assert (await site.client.post(path)).status_code == 401
    read = await site.token("alice", "read")
    assert (await site.client.post(path, headers=read)).status_code == 403
    for scopes in (("follow",), ("write:follows",), ("write",)):
        token = await site.token("alice", *scopes)
        assert (await site.client.post(path, headers=token)).status_code == 200, scopes
    relationships = f"/api/v1/accounts/relationships?id[]={site.id('bob')}"
    write = await site.token("alice", "write")
    assert (await site.client.get(relationships, headers=write)).status_code == 403
    follow_scope = await site.token("alice", "follow")
    assert (await site.client.get(relationships, headers=follow_scope)).status_code == 200


async def test_followers_and_following_are_paged(site: Site) -> None:
    more = await make_site(site.svc, site.client, ("dave", "erin"))
    site.users.update(more.users)
    site.tokens.update(more.tokens)
    for name in ("bob", "carol", "dave", "erin"):
        await site.post(f"/api/v1/accounts/{site.id('alice')}/follow", name)
    await site.post(f"/api/v1/accounts/{site.id('bob')}/follow", "alice")
    path = f"/api/v1/accounts/{site.id('alice')}/followers"

    first = await site.get(f"{path}?limit=3")

    assert [a["username"] for a in first.json()] == ["erin", "dave", "carol"]
    assert "max_id=" in links(first)["next"] and "min_id=" in links(first)["prev"]
    rest = await site.get(links(first)["next"].removeprefix("http://a.test"))
    assert [a["username"] for a in rest.json()] == ["bob"]
    following = await site.get(f"/api/v1/accounts/{site.id('alice')}/following")
    assert [a["username"] for a in following.json()] == ["bob"]
    familiar = await site.get(
        f"/api/v1/accounts/familiar_followers?id[]={site.id('alice')}&id={site.id('carol')}",
        "bob",
    )
    # bob follows alice; alice follows bob only. Of alice's followers bob follows none.
    assert familiar.json() == [
        {"id": site.id("alice"), "accounts": []},
        {"id": site.id("carol"), "accounts": []},
    ]
    await site.post(f"/api/v1/accounts/{site.id('carol')}/follow", "bob")
    familiar = await site.get(f"/api/v1/accounts/familiar_followers?id[]={site.id('alice')}", "bob")
    assert [a["username"] for a in familiar.json()[0]["accounts"]] == ["carol"]


async def test_follow_requests_of_a_locked_account(site: Site) -> None:
    await site.client.patch(
        "/api/v1/accounts/update_credentials", headers=site.auth("alice"), data={"locked": "1"}
    )
    alice_id = site.id("alice")

    asked = await site.post(f"/api/v1/accounts/{alice_id}/follow", "bob")
    await site.post(f"/api/v1/accounts/{alice_id}/follow", "carol")

    assert asked.json()["requested"] is True and asked.json()["following"] is False
    assert (await relationship(site, "alice", "bob"))["requested_by"] is True
    pending = await site.get("/api/v1/follow_requests", "alice")
    assert [a["username"] for a in pending.json()] == ["carol", "bob"]
    me = (await site.get("/api/v1/accounts/verify_credentials", "alice")).json()
    assert me["source"]["follow_requests_count"] == 2

    authorized = await site.post(f"/api/v1/follow_requests/{site.id('bob')}/authorize", "alice")
    rejected = await site.post(f"/api/v1/follow_requests/{site.id('carol')}/reject", "alice")

    assert authorized.status_code == 200 and authorized.json()["followed_by"] is True
    assert rejected.json()["followed_by"] is False and rejected.json()["requested_by"] is False
    assert (await relationship(site, "bob", "alice"))["following"] is True
    assert (await relationship(site, "carol", "alice"))["requested"] is False
    assert (await site.get("/api/v1/follow_requests", "alice")).json() == []
    again = await site.post(f"/api/v1/follow_requests/{site.id('carol')}/authorize", "alice")
    assert again.status_code == 404


async def test_block_and_unblock(site: Site) -> None:
    bob_id = site.id("bob")
    await site.post(f"/api/v1/accounts/{bob_id}/follow", "alice")
    await site.post(f"/api/v1/accounts/{site.id('alice')}/follow", "bob")

    blocked = await site.post(f"/api/v1/accounts/{bob_id}/block", "alice")

    assert blocked.json()["blocking"] is True and blocked.json()["following"] is False
    assert blocked.json()["followed_by"] is False
    assert (await relationship(site, "bob", "alice"))["blocked_by"] is True
    assert (
        await site.post(f"/api/v1/accounts/{site.id('alice')}/follow", "bob")
    ).status_code == 403
    listed = await site.get("/api/v1/blocks", "alice")
    assert [a["username"] for a in listed.json()] == ["bob"]
    assert (await site.get(f"/api/v1/accounts/{site.id('alice')}/statuses", "bob")).json() == []
    assert (await site.client.get("/api/v1/blocks", headers=await site.token("alice", "write"))
            ).status_code == 403  # fmt: skip
    unblocked = await site.post(f"/api/v1/accounts/{bob_id}/unblock", "alice")
    assert unblocked.json()["blocking"] is False
    assert (await site.get("/api/v1/blocks", "alice")).json() == []


async def test_mute_and_unmute(site: Site) -> None:
    bob_id, carol_id = site.id("bob"), site.id("carol")

    muted = await site.post(f"/api/v1/accounts/{bob_id}/mute", "alice")
    timed = await site.post(
        f"/api/v1/accounts/{carol_id}/mute",
        "alice",
        json={"notifications": False, "duration": 3600},
    )

    assert muted.json()["muting"] is True and muted.json()["muting_notifications"] is True
    assert timed.json()["muting"] is True and timed.json()["muting_notifications"] is False
    listed = (await site.get("/api/v1/mutes", "alice")).json()
    assert [a["username"] for a in listed] == ["carol", "bob"]
    assert listed[1]["mute_expires_at"] is None
    assert re.match(r"^\d{4}-.*\.\d{3}Z$", listed[0]["mute_expires_at"])
    assert (await relationship(site, "bob", "alice"))["muting"] is False  # one-way
    unmuted = await site.post(f"/api/v1/accounts/{bob_id}/unmute", "alice")
    assert unmuted.json()["muting"] is False
    assert [a["username"] for a in (await site.get("/api/v1/mutes", "alice")).json()] == ["carol"]
    bad = await site.post(f"/api/v1/accounts/{bob_id}/mute", "alice", data={"duration": "soon"})
    assert bad.status_code == 422
    assert (await site.client.get("/api/v1/mutes")).status_code == 401


# ----- across instances --------------------------------------------------------------------------


async def rig_site(rig: Rig, domain: str, name: str) -> Site:
    svc = rig.services(domain)
    return await make_site(svc, rig.client(domain), (name,))


async def test_follow_a_remote_account_found_by_search(rig: Rig) -> None:
    a = await rig_site(rig, "a.test", "alice")
    b = await rig_site(rig, "b.test", "bob")

    found = await a.get("/api/v1/accounts/search?q=@bob@b.test&resolve=true", "alice")

    assert found.status_code == 200
    [bob] = found.json()
    assert bob["acct"] == "bob@b.test" and bob["uri"] == "http://b.test/users/bob"
    assert "noindex" not in bob and "roles" not in bob
    assert (await a.get("/api/v1/accounts/lookup?acct=bob@b.test")).json()["id"] == bob["id"]
    asked = await a.post(f"/api/v1/accounts/{bob['id']}/follow", "alice")
    assert asked.json()["requested"] is True and asked.json()["following"] is False

    await rig.drain()

    now = await a.get(f"/api/v1/accounts/relationships?id[]={bob['id']}", "alice")
    assert now.json()[0]["following"] is True and now.json()[0]["requested"] is False
    followers = (await b.get(f"/api/v1/accounts/{b.id('bob')}/followers")).json()
    assert [f["acct"] for f in followers] == ["alice@a.test"]
    # A post of bob's reaches alice; his profile on a.test lists it.
    await b.svc.publisher.post(b.users["bob"], "hello a.test")
    await rig.drain()
    posts = (await a.get(f"/api/v1/accounts/{bob['id']}/statuses", "alice")).json()
    assert [p["content"] for p in posts] == ["<p>hello a.test</p>"]
    assert "application" not in posts[0]
    unfollowed = await a.post(f"/api/v1/accounts/{bob['id']}/unfollow", "alice")
    assert unfollowed.json()["following"] is False
    await rig.drain()
    assert (await b.get(f"/api/v1/accounts/{b.id('bob')}/followers")).json() == []


async def test_a_locked_remote_account_authorizes_or_rejects(rig: Rig) -> None:
    a = await rig_site(rig, "a.test", "alice")
    more = await make_site(a.svc, a.client, ("amy",))
    b = await rig_site(rig, "b.test", "bob")
    await b.client.patch(
        "/api/v1/accounts/update_credentials", headers=b.auth("bob"), data={"locked": "true"}
    )
    [bob] = (await a.get("/api/v1/accounts/search?q=bob@b.test&resolve=1", "alice")).json()
    await a.post(f"/api/v1/accounts/{bob['id']}/follow", "alice")
    await more.post(f"/api/v1/accounts/{bob['id']}/follow", "amy")
    await rig.drain()
    still = await a.get(f"/api/v1/accounts/relationships?id[]={bob['id']}", "alice")
    assert still.json()[0]["requested"] is True

    requests = (await b.get("/api/v1/follow_requests", "bob")).json()
    assert sorted(r["acct"] for r in requests) == ["alice@a.test", "amy@a.test"]
    by_acct = {r["acct"]: r["id"] for r in requests}
    await b.post(f"/api/v1/follow_requests/{by_acct['alice@a.test']}/authorize", "bob")
    await b.post(f"/api/v1/follow_requests/{by_acct['amy@a.test']}/reject", "bob")
    await rig.drain()

    alice_now = await a.get(f"/api/v1/accounts/relationships?id[]={bob['id']}", "alice")
    amy_now = await more.get(f"/api/v1/accounts/relationships?id[]={bob['id']}", "amy")
    assert alice_now.json()[0]["following"] is True
    assert amy_now.json()[0]["following"] is False and amy_now.json()[0]["requested"] is False
    async with a.svc.db.read() as conn:
        assert await follows.get(conn, more.users["amy"].id, int(bob["id"])) is None


# ----- a real client -----------------------------------------------------------------------------


@pytest.fixture
def live_server(make_config: MakeConfig) -> Iterator[tuple[str, str]]:
    """A real HTTP server (uvicorn in a thread) with users admin and bob; (base URL, admin's
    token)."""
    port = free_port()
    config = make_config(f"127.0.0.1:{port}")

    async def seed() -> str:
        db = await open_database(config)
        uris = Uris(config.instance.base_url)
        now = datetime.now(UTC)
        try:
            await create_user(db, uris, "admin", now=now, password=PASSWORD, admin=True)
            await create_user(db, uris, "bob", now=now, password=PASSWORD)
            return await create_token(db, "admin", ("read", "write", "follow"), now)
        finally:
            await db.close()

    token = asyncio.run(seed())
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield config.instance.base_url, token
    finally:
        server.should_exit = True
        thread.join(10)


def test_mastodon_py_drives_the_accounts_and_instance_api(live_server: tuple[str, str]) -> None:
    base_url, token = live_server
    client = Mastodon(access_token=token, api_base_url=base_url, version_check_mode="created")

    assert client.retrieve_mastodon_version().startswith("4.3.0")
    assert client.instance_v2().configuration.statuses.max_characters == 5000
    assert client.instance_v1().contact_account.acct == "admin"
    me = client.account_verify_credentials()
    assert me.acct == "admin" and me.source.privacy == "public"
    updated = client.account_update_credentials(display_name="IT desk", fields=[("Room", "B12")])
    assert updated.display_name == "IT desk" and updated.fields[0].name == "Room"
    bob = client.account_lookup("bob")
    assert [a.acct for a in client.account_search("bo")] == ["bob"]
    assert client.account_follow(bob.id).following is True
    assert client.account_relationships(bob.id)[0].following is True
    assert [a.acct for a in client.account_followers(bob.id)] == ["admin"]
    assert client.account_mute(bob.id, duration=60).muting is True
    assert [a.acct for a in client.mutes()] == ["bob"]
    assert client.account_unmute(bob.id).muting is False
    assert client.account_block(bob.id).blocking is True
    assert [a.acct for a in client.blocks()] == ["bob"]
    assert client.account_unblock(bob.id).blocking is False
    assert client.preferences()["posting:default:visibility"] == "public"
    assert client.filters_v2() == [] and client.announcements() == []
    client.markers_set(["home"], [123])
    assert client.markers_get(["home"]).home.last_read_id == "123"
    assert len(client.instance_activity()) == 12
    assert {a.acct for a in client.directory()} == {"admin", "bob"}
    with pytest.raises(MastodonNotFoundError):
        client.account(999)
