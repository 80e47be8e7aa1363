"""The people directory across divisions: three peered instances publish their people to each
other through the directory feed; an employee on one finds a colleague on another by name,
department or title through the Mastodon API, follows them at once, and sees changes and
departures arrive incrementally. The feed is for peers only.

Spec: issue 6, point 5 (people directory across divisions).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from federation.errors import FetchError
from store import directory
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.accounts import disable_user

DIVISIONS = ("a.test", "b.test", "c.test")
OUTSIDER = "d.test"
GONE = "gone.test"
"""A peer a.test lists that does not answer: it must not hold up the others."""


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    # c.test federates openly, so a non-peer's signature verifies there and only the
    # peers-only rule of the feed refuses it; d.test is outside, in open mode too.
    configs = [
        make_config("a.test", peers=("b.test", "c.test", GONE)),
        make_config("b.test", peers=("a.test", "c.test")),
        make_config("c.test", peers=("a.test", "b.test"), mode="open"),
        make_config(OUTSIDER, mode="open"),
    ]
    async with Rig(configs) as rig:
        yield rig


async def sync(rig: Rig) -> None:
    """Make every division's directory sync due now (as its period would) and run it."""
    for domain in DIVISIONS:
        await rig.services(domain).workers.directory.request()
    await rig.drain()


async def set_profile(client: httpx.AsyncClient, name: str, fields: dict[str, str]) -> None:
    body = {
        "display_name": name,
        "fields_attributes": [{"name": k, "value": v} for k, v in fields.items()],
    }
    answer = await client.patch("/api/v1/accounts/update_credentials", json=body)
    assert answer.status_code == 200, answer.text


async def accts(client: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    found = body["accounts"] if isinstance(body, dict) else body
    return [account["acct"] for account in found]


async def find(client: httpx.AsyncClient, q: str) -> list[str]:
    """The accounts `q` finds through both search endpoints (which must agree)."""
    v1 = await accts(client, "/api/v1/accounts/search", q=q)
    v2 = await accts(client, "/api/v2/search", q=q, type="accounts")
    assert v1 == v2, (v1, v2)
    return v1


async def test_find_a_colleague_in_another_division_and_follow_at_once(rig: Rig) -> None:
    # Given people with their department and title on each division
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    async with alice, bob, carol:
        await set_profile(alice, "Alice Ames", {"Department": "Sales", "Title": "Account Lead"})
        await set_profile(bob, "Bob Burns", {"Department": "Legal", "Title": "Counsel"})
        await set_profile(
            carol,
            "Carol Diaz",
            {"Department": "Site Reliability", "Title": "Staff Engineer", "Location": "Lisbon"},
        )
        # When the divisions sync their directories
        await sync(rig)
        # Then alice finds carol by department, by title, by name, in one query each
        assert await find(alice, "reliab") == ["carol@c.test"]
        assert await find(alice, "staff eng") == ["carol@c.test"]
        assert await find(alice, "diaz") == ["carol@c.test"]
        assert await find(alice, "counsel") == ["bob@b.test"]
        assert await find(bob, "sales") == ["alice@a.test"]
        # and the directory lists everyone, or one department, as Account entities
        everyone = await accts(alice, "/api/v1/directory", order="new")
        assert sorted(everyone) == ["alice", "bob@b.test", "carol@c.test"]
        assert await accts(alice, "/api/v1/directory", local="true") == ["alice"]
        sre = (
            await alice.get("/api/v1/directory", params={"department": "site reliability"})
        ).json()
        assert [a["acct"] for a in sre] == ["carol@c.test"]
        assert [(f["name"], f["value"]) for f in sre[0]["fields"]] == [
            ("Department", "Site Reliability"),
            ("Title", "Staff Engineer"),
            ("Location", "Lisbon"),
        ]
        assert sre[0]["display_name"] == "Carol Diaz"
        # When alice follows carol straight from the result
        followed = await alice.post(f"/api/v1/accounts/{sre[0]['id']}/follow")
        assert followed.status_code == 200, followed.text
        await rig.drain()
        # Then carol's division accepts, and carol's next post reaches alice's home
        relation = await alice.get("/api/v1/accounts/relationships", params={"id[]": sre[0]["id"]})
        assert relation.json()[0]["following"] is True
        posted = await carol.post("/api/v1/statuses", json={"status": "Pager handover at 5"})
        assert posted.status_code == 200
        await rig.drain()
        home = (await alice.get("/api/v1/timelines/home")).json()
        assert [s["uri"] for s in home] == [posted.json()["uri"]]


async def test_peers_are_read_at_start_and_a_failing_one_holds_up_no_one(rig: Rig) -> None:
    a = rig.services("a.test")
    async with a.db.read() as conn:
        started = {s.domain: s for s in await directory.peer_syncs(conn)}
    # Every peer was read as soon as the instance started (the rig's first drain)
    assert set(started) == {"b.test", "c.test", GONE}
    assert all(s.last_started_at is not None for s in started.values())
    # When b.test gets a new person and a.test reads its peers again
    await rig.user("b.test", "bob")
    await sync(rig)
    # Then the peer that does not answer failed again, and did not stop the others
    reports = a.workers.directory.reports
    assert reports[GONE].error is not None
    assert reports["b.test"].error is None and reports["b.test"].people == 1
    async with a.db.read() as conn:
        states = {s.domain: s for s in await directory.peer_syncs(conn)}
    gone, b = states[GONE], states["b.test"]
    assert gone.failures == 2 and gone.last_finished_at is not None
    assert gone.next_sync_at - gone.last_finished_at == timedelta(seconds=60)  # 30 s, doubled
    assert b.failures == 0 and b.last_finished_at is not None
    assert b.next_sync_at - b.last_finished_at == timedelta(minutes=5)


async def test_changes_sync_incrementally(rig: Rig) -> None:
    carol = await rig.api_client("c.test", "carol")
    async with carol:
        for name in ("cy", "cyd", "cyril"):
            await rig.user("c.test", name)
        await set_profile(carol, "Carol", {"Department": "Support", "Title": "Agent"})
        await sync(rig)
        first = rig.services("a.test").workers.directory.reports["c.test"]
        assert first.people == 4
        # When carol changes her title and the divisions sync again
        await set_profile(carol, "Carol", {"Department": "Support", "Title": "Team Lead"})
        await sync(rig)
    # Then a.test read only what changed since its last reading: carol, once
    again = rig.services("a.test").workers.directory.reports["c.test"]
    assert again.urls[0].endswith(f"/actor/directory?since={first.cursor}")
    assert (again.people, again.left) == (1, 0)
    assert again.cursor > first.cursor
    # and b.test, with nothing new from a.test, fetched one empty page
    quiet = rig.services("b.test").workers.directory.reports["a.test"]
    assert len(quiet.urls) == 1 and quiet.items == 0
    observer = await rig.api_client("a.test", "alice")
    async with observer:
        assert await find(observer, "team lead") == ["carol@c.test"]
        assert await find(observer, "agent") == []


async def test_people_who_leave_disappear_everywhere(rig: Rig) -> None:
    for name in ("carol", "cleo"):
        await rig.user("c.test", name)
    dana = await rig.api_client("c.test", "dana")
    at_a = await rig.api_client("a.test", "viewer")
    at_b = await rig.api_client("b.test", "viewer")
    async with dana, at_a, at_b:
        await set_profile(dana, "Dana", {"Department": "Finance"})
        await sync(rig)
        for client in (at_a, at_b):
            assert await find(client, "carol") == ["carol@c.test"]
            assert await find(client, "finance") == ["dana@c.test"]
        carol_at_a = await at_a.get("/api/v1/accounts/lookup?acct=carol@c.test")
        assert carol_at_a.status_code == 200
        # When carol leaves (IT disables her) and dana leaves the directory
        await disable_user(rig.services("c.test").db, "carol", datetime.now(UTC))
        answer = await dana.patch(
            "/api/v1/accounts/update_credentials", data={"discoverable": "false"}
        )
        assert answer.status_code == 200
        await sync(rig)
        # Then carol is gone from every division's search, directory and API
        for client in (at_a, at_b, dana):
            assert await find(client, "carol") == [], client.base_url
            listed = await accts(client, "/api/v1/directory", order="new")
            assert not {"carol", "carol@c.test", "dana", "dana@c.test"} & set(listed), listed
            assert {"cleo", "cleo@c.test"} & set(listed), listed
            # dana is still a colleague, found by name but no longer by department
            assert len(await find(client, "dana")) == 1, client.base_url
            assert await find(client, "finance") == [], client.base_url
        gone = await at_a.get(f"/api/v1/accounts/{carol_at_a.json()['id']}")
        assert gone.status_code == 404
    assert rig.services("a.test").workers.directory.reports["c.test"].left == 1


async def test_the_feed_is_for_peers_only(rig: Rig) -> None:
    await rig.user("c.test", "carol")
    feed = "http://c.test/actor/directory"
    # A peer's signed GET reads it
    collection = await rig.services("a.test").fetcher.fetch_json(feed)
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 1
    page: dict[str, Any] = await rig.services("b.test").fetcher.fetch_json(f"{feed}?since=0")
    assert [item["preferredUsername"] for item in page["orderedItems"]] == ["carol"]
    # Unsigned: 401
    async with rig.client("c.test") as anyone:
        unsigned = await anyone.get(
            "/actor/directory?since=0", headers={"Accept": "application/activity+json"}
        )
    assert unsigned.status_code == 401
    # Signed by an instance that is not a peer: 403, whether the target federates openly
    # (c.test: the signature verifies, the feed still refuses) or only with peers (a.test)
    outsider = rig.services(OUTSIDER).fetcher
    for url in (f"{feed}?since=0", "http://a.test/actor/directory?since=0"):
        with pytest.raises(FetchError, match="403"):
            await outsider.fetch_json(url)
    assert rig.services("c.test").policy.refusals[OUTSIDER] >= 1
    # A bad cursor is a clear 400
    with pytest.raises(FetchError, match="400"):
        await rig.services("a.test").fetcher.fetch_json(f"{feed}?since=soon")


async def test_people_of_a_removed_division_leave_the_directory(make_config: MakeConfig) -> None:
    configs = [make_config("a.test"), make_config("c.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        async with await rig.admin_client("a.test") as admin:
            await admin.post("/api/v1/admin/domain_allows", json={"domain": "c.test"})
            alice = await rig.api_client("a.test", "alice")
            carol = await rig.api_client("c.test", "carol")
            async with alice, carol:
                await set_profile(carol, "Carol Diaz", {"Department": "Site Reliability"})
                for domain in ("a.test", "c.test"):
                    await rig.services(domain).workers.directory.request()
                await rig.drain()
                assert await find(alice, "reliab") == ["carol@c.test"]
                assert "carol@c.test" in await accts(alice, "/api/v1/directory")
                await admin.delete("/api/v1/admin/domain_allows/c.test")
                assert await find(alice, "reliab") == []
                assert "carol@c.test" not in await accts(alice, "/api/v1/directory")
