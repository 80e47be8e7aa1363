"""A colleague's pinned posts reach a division when it starts following them: their
`featured` collection is read on the Accept (inbox.featured_sync), as Mastodon reads it on
discovery, so pins made before anyone there knew them show on their profile at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import MakeConfig
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post

DOMAINS = ("a.test", "b.test", "c.test")


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with Rig(configs) as rig:
        yield rig


async def pinned_texts(client: httpx.AsyncClient, account: str) -> list[str]:
    response = await client.get(f"/api/v1/accounts/{account}/statuses", params={"pinned": "true"})
    assert response.status_code == 200, response.text
    return [status["content"] for status in response.json()]


async def test_pins_made_before_a_division_knew_her_show_once_it_follows(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    async with alice, bob, carol:
        # alice pins two posts (the older one first) while no one elsewhere follows her
        handbook = await post(alice, "The team handbook", visibility="unlisted")
        roadmap = await post(alice, "Our roadmap for the year")
        await post(alice, "Lunch today?")
        for status in (handbook, roadmap):
            pinned = await alice.post(f"/api/v1/statuses/{status['id']}/pin")
            assert pinned.status_code == 200, pinned.text
        await rig.drain()

        # bob (b.test) and carol (c.test) follow her: their divisions read the collection
        for client in (bob, carol):
            alice_there = await account_id(client, "@alice@a.test")
            assert await pinned_texts(client, alice_there) == []
            followed = await client.post(f"/api/v1/accounts/{alice_there}/follow")
            assert followed.status_code == 200, followed.text
            await rig.drain()
            shown = await pinned_texts(client, alice_there)
            assert ["roadmap" in t for t in shown] == [True, False]  # latest pin first
            assert "team handbook" in shown[1]

        # later changes still arrive as Add / Remove
        await alice.post(f"/api/v1/statuses/{roadmap['id']}/unpin")
        await rig.drain()
        alice_at_c = await account_id(carol, "@alice@a.test")
        assert [("handbook" in t) for t in await pinned_texts(carol, alice_at_c)] == [True]
