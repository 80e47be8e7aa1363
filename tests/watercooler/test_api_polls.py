"""The polls API as Mastodon has it: `poll[...]` on `POST /api/v1/statuses` (form and JSON)
with Mastodon's limits and messages, the Poll entity on statuses and at
`GET /api/v1/polls/:id`, voting at `POST /api/v1/polls/:id/votes` with every refusal (422),
and a poll seen exactly by who may see its status (404 otherwise)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import MakeConfig
from tests.federation_core.test_polls_rig import ClockRig
from tests.watercooler.conftest import post

OPTIONS = ["Lisbon", "Oslo", "Remote"]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[ClockRig]:
    """a.test and b.test, peered, on one fake clock."""
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with ClockRig(configs) as rig:
        yield rig


async def poll_post(client: httpx.AsyncClient, **poll: Any) -> dict[str, Any]:
    return await post(client, "Where to?", poll={"options": OPTIONS, "expires_in": 3600, **poll})


async def refused(answer: httpx.Response, message: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == f"Validation failed: {message}"


async def test_a_poll_is_made_with_the_form_or_json_and_shown_as_mastodon_shows_it(
    rig: ClockRig,
) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        form = await alice.post(
            "/api/v1/statuses",
            data={
                "status": "Where to?",
                "poll[options][]": OPTIONS,
                "poll[expires_in]": "600",
                "poll[multiple]": "true",
                "poll[hide_totals]": "true",
            },
        )
        assert form.status_code == 200, form.text
        poll = form.json()["poll"]
        assert list(poll) == [
            "id", "expires_at", "expired", "multiple", "votes_count", "voters_count", "voted",
            "own_votes", "options", "emojis",
        ]  # fmt: skip
        assert poll["multiple"] is True and poll["expired"] is False
        assert poll["voted"] is True and poll["own_votes"] == []  # the author, as in Mastodon
        assert poll["options"] == [{"title": t, "votes_count": None} for t in OPTIONS]  # hidden
        assert poll["expires_at"].endswith("Z") and poll["votes_count"] == 0

        made = await poll_post(alice)
        assert made["poll"]["multiple"] is False
        assert [o["votes_count"] for o in made["poll"]["options"]] == [0, 0, 0]
        again = await alice.get(f"/api/v1/polls/{made['poll']['id']}")
        assert again.status_code == 200 and again.json() == made["poll"]
        # without a token: the public poll, without the viewer's keys
        async with httpx.AsyncClient(transport=rig.router, base_url="http://a.test") as anyone:
            seen = (await anyone.get(f"/api/v1/polls/{made['poll']['id']}")).json()
        assert "voted" not in seen and seen["id"] == made["poll"]["id"]
        plain = await post(alice, "no poll here")
        assert plain["poll"] is None


async def test_every_refused_poll(rig: ClockRig) -> None:
    alice = await rig.api_client("a.test", "alice")
    cases = {
        "Poll options must have more than one item": {"options": ["alone"]},
        "Poll options can't contain more than 4 items": {"options": list("abcde")},
        "Poll options cannot be longer than 50 characters each": {"options": ["a" * 51, "b"]},
        "Poll options contain duplicate items": {"options": ["same", "same"]},
        "Poll options can't be blank": {"options": ["yes", " "]},
        "Poll expires at is too soon": {"expires_in": 299},
        "Poll expires at is too far into the future": {"expires_in": 2_629_747},
        "Poll expires at can't be blank": {"expires_in": None},
    }
    async with alice:
        for message, change in cases.items():
            poll = {"options": OPTIONS, "expires_in": 3600} | change
            poll = {k: v for k, v in poll.items() if v is not None}
            answer = await alice.post("/api/v1/statuses", json={"status": "?", "poll": poll})
            await refused(answer, message)
        # the limits themselves are accepted
        await poll_post(alice, options=["a" * 50, "b", "c", "d"], expires_in=300)
        await poll_post(alice, expires_in=2_629_746)

        # a poll and media together
        buffer = io.BytesIO()
        Image.new("RGB", (40, 30), (200, 0, 0)).save(buffer, "PNG")
        upload = await alice.post(
            "/api/v2/media", files={"file": ("red.png", buffer.getvalue(), "image/png")}
        )
        assert upload.status_code in (200, 202), upload.text
        with_media = await alice.post(
            "/api/v1/statuses",
            json={
                "status": "?",
                "media_ids": [upload.json()["id"]],
                "poll": {"options": OPTIONS, "expires_in": 3600},
            },
        )
        await refused(with_media, "Cannot attach files to a post with a poll")
    # nothing of the refused posts was kept
    async with rig.services("a.test").db.read() as conn:
        found = await conn.execute_fetchall("SELECT count(*) FROM polls")
    assert found[0][0] == 2


async def test_every_refused_vote(rig: ClockRig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        single = (await poll_post(alice))["poll"]["id"]
        several = (await poll_post(alice, multiple=True))["poll"]["id"]
        votes = f"/api/v1/polls/{single}/votes"

        # the author may not vote; no choice; an option that does not exist; two on one
        await refused(
            await alice.post(votes, json={"choices": [0]}), "You cannot vote in your own polls"
        )
        await refused(
            await bob.post(votes, json={"choices": []}), "You must choose at least one option"
        )
        await refused(
            await bob.post(votes, json={"choices": [3]}),
            "The chosen vote option does not exist",
        )
        await refused(
            await bob.post(votes, json={"choices": [0, 1]}), "You have already voted on this poll"
        )
        bad = await bob.post(votes, json={"choices": ["first"]})
        assert bad.status_code == 422

        # a vote, then a second one
        first = await bob.post(votes, data={"choices[]": "2"})
        assert first.status_code == 200, first.text
        assert first.json()["own_votes"] == [2] and first.json()["votes_count"] == 1
        await refused(
            await bob.post(votes, json={"choices": [1]}), "You have already voted on this poll"
        )
        # several choices on a multiple-choice poll
        many = await bob.post(f"/api/v1/polls/{several}/votes", json={"choices": [0, 2]})
        assert many.status_code == 200, many.text
        assert [o["votes_count"] for o in many.json()["options"]] == [1, 0, 1]
        assert many.json()["voters_count"] == 1 and many.json()["votes_count"] == 2

        # after its end
        late = (await poll_post(alice, options=["x", "y"], expires_in=300))["poll"]["id"]
        rig.clock.advance(seconds=301)
        await refused(
            await bob.post(f"/api/v1/polls/{late}/votes", json={"choices": [0]}),
            "The poll has already ended",
        )
        # the entity says so before the worker ran (the time is known here)...
        assert (await bob.get(f"/api/v1/polls/{late}")).json()["expired"] is True
        await rig.drain()
        # ...and on the status once the end was handled
        status = (await alice.get("/api/v1/timelines/home")).json()[0]
        assert status["poll"]["id"] == late and status["poll"]["expired"] is True


async def test_a_poll_is_seen_by_who_may_see_its_status(rig: ClockRig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        poll = {"options": OPTIONS, "expires_in": 600}
        private = (await post(alice, "Ours", visibility="private", poll=poll))["poll"]["id"]
        direct = await post(
            alice,
            "@bob only you",
            visibility="direct",
            poll={"options": OPTIONS, "expires_in": 600},
        )
        for path in (f"/api/v1/polls/{private}", "/api/v1/polls/123456"):
            assert (await bob.get(path)).status_code == 404
        hidden = await bob.post(f"/api/v1/polls/{private}/votes", json={"choices": [0]})
        assert hidden.status_code == 404
        async with httpx.AsyncClient(transport=rig.router, base_url="http://a.test") as anyone:
            assert (await anyone.get(f"/api/v1/polls/{private}")).status_code == 404
        # the mentioned may see and vote
        shown = await bob.post(f"/api/v1/polls/{direct['poll']['id']}/votes", json={"choices": [1]})
        assert shown.status_code == 200, shown.text
        # when bob follows alice, her followers-only poll is his to see
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
        assert (await bob.post(f"/api/v1/accounts/{me}/follow")).status_code == 200
        assert (await bob.get(f"/api/v1/polls/{private}")).status_code == 200
