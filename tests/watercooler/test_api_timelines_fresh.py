"""A timeline page is read in one trip and rendered from parts kept between requests
(store.memo, api.entities): whatever changes shows on the very next request, and what is
kept never carries one reader's marks to another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from store import oauth
from tests.conftest import MakeConfig
from tests.rig import Rig
from tests.watercooler.conftest import account_id, post
from watercooler.accounts import hash_token
from watercooler.api import entities

HOME = "/api/v1/timelines/home"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    async with Rig([make_config("a.test")]) as rig:
        yield rig


async def home(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await client.get(HOME)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def follow(client: httpx.AsyncClient, handle: str) -> None:
    followed = await client.post(f"/api/v1/accounts/{await account_id(client, handle)}/follow")
    assert followed.status_code == 200 and followed.json()["following"], followed.text


async def test_counts_marks_edits_profiles_and_deletions_show_at_once(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        await follow(bob, "alice")
        await follow(carol, "alice")
        status = await post(alice, "Quarterly numbers")
        for _ in range(2):  # the second page is rendered from what the first one kept
            (seen,) = await home(bob)
            assert seen["id"] == status["id"] and seen["favourites_count"] == 0
            assert seen["favourited"] is False and seen["bookmarked"] is False

        assert (await bob.post(f"/api/v1/statuses/{status['id']}/favourite")).status_code == 200
        assert (await bob.post(f"/api/v1/statuses/{status['id']}/bookmark")).status_code == 200
        (seen,) = await home(bob)
        assert seen["favourites_count"] == 1
        assert seen["favourited"] is True and seen["bookmarked"] is True
        (theirs,) = await home(carol)  # the same kept parts, carol's own marks
        assert theirs["favourites_count"] == 1
        assert theirs["favourited"] is False and theirs["bookmarked"] is False

        edited = await alice.put(f"/api/v1/statuses/{status['id']}", json={"status": "Revised"})
        assert edited.status_code == 200, edited.text
        (seen,) = await home(bob)
        assert "Revised" in seen["content"] and seen["edited_at"] is not None

        profile = await alice.patch(
            "/api/v1/accounts/update_credentials", data={"display_name": "Alice Q."}
        )
        assert profile.status_code == 200, profile.text
        (seen,) = await home(bob)
        assert seen["account"]["display_name"] == "Alice Q."
        assert seen["account"]["statuses_count"] == 1

        assert (await alice.delete(f"/api/v1/statuses/{status['id']}")).status_code == 200
        assert await home(bob) == []


async def test_a_kept_page_is_the_page_made_afresh(rig: Rig) -> None:
    """Boosts, replies, mentions, hashtags, content warnings: the entities rendered from
    kept parts equal those made from nothing."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    carol = await rig.api_client("a.test", "carol")
    async with alice, bob, carol:
        await follow(bob, "alice")
        first = await post(carol, "Who has the #numbers?")
        await post(alice, "@carol here they are #numbers", in_reply_to_id=first["id"])
        assert (await alice.post(f"/api/v1/statuses/{first['id']}/reblog")).status_code == 200
        await post(alice, "Unlisted aside", visibility="unlisted", spoiler_text="aside")
        kept = await home(bob)
        again = await home(bob)
        entities._STATUS_PARTS.clear()
        entities._ACCOUNT_ENTITIES.clear()
        afresh = await home(bob)
    assert kept == again == afresh
    assert [s["reblog"] is not None for s in kept] == [False, True, False]
    assert kept[1]["reblog"]["account"]["acct"] == "carol"
    assert kept[2]["mentions"][0]["acct"] == "carol" and kept[2]["tags"][0]["name"] == "numbers"
    assert kept[0]["spoiler_text"] == "aside" and kept[0]["visibility"] == "unlisted"


async def test_a_revoked_token_fails_at_once(rig: Rig) -> None:
    bob = await rig.api_client("a.test", "bob")
    async with bob:
        assert (await bob.get(HOME)).status_code == 200
        token = bob.headers["authorization"].removeprefix("Bearer ")
        db = rig.services("a.test").db
        async with db.transaction() as conn:
            found = await oauth.find_user_token(conn, hash_token(token))
            assert found is not None
            await oauth.revoke_user_token(conn, found.id, datetime.now(UTC))
        assert (await bob.get(HOME)).status_code == 401
        assert (await bob.get("/api/v1/accounts/verify_credentials")).status_code == 401
