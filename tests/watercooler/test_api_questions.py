"""Questions in the client API: marking one (`question` flag, `#question`), accepting and
taking back an answer (`POST /api/v1/statuses/:id/accept` and `/unaccept`) with every
refusal, and `GET /api/v1/questions` (states, since, tag, paging with `Link`, visibility).
One instance; the rig across divisions is tests/federation_core/test_questions.py."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from tests.conftest import MakeConfig
from tests.rig import Rig
from tests.watercooler.conftest import post


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    async with Rig([make_config("a.test")]) as rig:
        yield rig


@pytest.fixture
async def alice(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    async with await rig.api_client("a.test", "alice") as client:
        yield client


@pytest.fixture
async def bob(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    async with await rig.api_client("a.test", "bob") as client:
        yield client


def updates_sent(rig: Rig, status_uri: str) -> int:
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM activities WHERE type = 'Update' AND object_uri = ?",
            (status_uri,),
        ).fetchone()
    return int(count)


async def accept(client: httpx.AsyncClient, question: str, answer: Any) -> httpx.Response:
    return await client.post(f"/api/v1/statuses/{question}/accept", json={"answer_id": answer})


async def test_marking_a_question(alice: httpx.AsyncClient) -> None:
    flagged = await post(alice, "Flagged", question="true")
    tagged = await post(alice, "Who knows the VPN setup? #Question")
    plain = await post(alice, "Just a note")
    for made in (flagged, tagged):
        assert made["watercooler"] == {"question": True, "accepted_answer_id": None}
        assert [t["name"] for t in made["tags"]] == ["question"]
    assert "watercooler" not in plain  # other statuses stay exactly Mastodon's
    form = await alice.post("/api/v1/statuses", data={"status": "Form", "question": "1"})
    assert form.json()["watercooler"]["question"] is True

    # An edit keeps a question one (and its tag); adding #question makes one
    kept = await alice.put(f"/api/v1/statuses/{flagged['id']}", data={"status": "Flagged, edited"})
    assert kept.json()["watercooler"]["question"] is True
    assert [t["name"] for t in kept.json()["tags"]] == ["question"]
    became = await alice.put(f"/api/v1/statuses/{plain['id']}", data={"status": "Now? #question"})
    assert became.json()["watercooler"] == {"question": True, "accepted_answer_id": None}


async def test_accept_and_every_refusal(
    rig: Rig, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    question = await post(alice, "Which printer is on floor 3? #question")
    answer = await post(bob, "@alice the HP one", in_reply_to_id=question["id"])
    deeper = await post(alice, "@bob thanks, and the toner?", in_reply_to_id=answer["id"])
    elsewhere = await post(bob, "Unrelated")
    not_a_question = await post(alice, "Statement")
    own_reply = await post(bob, "@alice me", in_reply_to_id=not_a_question["id"])
    hidden = await post(bob, "Followers only question #question", visibility="private")
    gone = await post(bob, "@alice wrong answer", in_reply_to_id=question["id"])
    assert (await bob.delete(f"/api/v1/statuses/{gone['id']}")).status_code == 200

    # no token, a token without write:statuses
    anonymous = rig.client("a.test")
    assert (await accept(anonymous, question["id"], answer["id"])).status_code == 401
    async with await rig.api_client("a.test", "alice", scopes="read") as reader:
        assert (await accept(reader, question["id"], answer["id"])).status_code == 403
    # a question the caller cannot see, an unknown one, a malformed id: 404 / 422
    assert (await accept(alice, hidden["id"], answer["id"])).status_code == 404
    assert (await accept(alice, "12345", answer["id"])).status_code == 404
    assert (await accept(alice, "nope", answer["id"])).status_code == 422
    # someone else's question
    refused = await accept(bob, question["id"], answer["id"])
    assert refused.status_code == 403 and "asker" in refused.json()["error"]
    # a post that is not a question
    assert (await accept(alice, not_a_question["id"], own_reply["id"])).status_code == 422
    # no answer, not a reply, a reply to a reply, a deleted reply, the question itself
    assert (await alice.post(f"/api/v1/statuses/{question['id']}/accept")).status_code == 422
    for wrong in (elsewhere, deeper, gone, question):
        answered = await accept(alice, question["id"], wrong["id"])
        assert answered.status_code == 422, (wrong["content"], answered.text)
    assert updates_sent(rig, question["uri"]) == 0  # nothing of it changed anything

    # The asker accepts a direct reply: the question answers it, once
    accepted = await accept(alice, question["id"], answer["id"])
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["watercooler"]["accepted_answer_id"] == answer["id"]
    assert accepted.json()["id"] == question["id"] and accepted.json()["edited_at"] is None
    assert (await accept(alice, question["id"], answer["id"])).status_code == 200
    assert updates_sent(rig, question["uri"]) == 1  # accepting it again sends nothing

    # and bob is notified, of his answer, by alice
    kinds = {"types[]": "watercooler.answer_accepted"}
    got = (await bob.get("/api/v1/notifications", params=kinds)).json()
    assert [(n["type"], n["status"]["id"], n["account"]["username"]) for n in got] == [
        ("watercooler.answer_accepted", answer["id"], "alice")
    ]
    # the notification is one Mastodon's `types[]` can ask for, and exclude
    only = await bob.get(
        "/api/v1/notifications", params={"exclude_types[]": "watercooler.answer_accepted"}
    )
    assert [n["type"] for n in only.json()] == ["mention"]  # alice's "and the toner?"

    # Taking it back, then again: the same answer, no accepted answer
    undone = await alice.post(f"/api/v1/statuses/{question['id']}/unaccept")
    assert undone.status_code == 200 and undone.json()["watercooler"]["accepted_answer_id"] is None
    assert (await alice.post(f"/api/v1/statuses/{question['id']}/unaccept")).status_code == 200
    assert updates_sent(rig, question["uri"]) == 2
    assert (await bob.post(f"/api/v1/statuses/{question['id']}/unaccept")).status_code == 403


async def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [status["id"] for status in response.json()]


async def test_questions_list_pages_and_keeps_visibility(
    rig: Rig, alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    first = await post(alice, "First #question #python")
    second = await post(alice, "Second #question #python")
    third = await post(alice, "Third #question about #golang")
    private = await post(bob, "Only for followers #question", visibility="private")
    direct = await post(bob, "@alice just you #question", visibility="direct")
    await post(alice, "Not a question #python")
    answer = await post(bob, "@alice yes", in_reply_to_id=first["id"])
    assert (await accept(alice, first["id"], answer["id"])).status_code == 200

    # alice sees the open ones she may see: the direct one to her, not bob's followers-only one
    assert await ids(await alice.get("/api/v1/questions")) == [
        direct["id"],
        third["id"],
        second["id"],
    ]
    assert private["id"] in await ids(await bob.get("/api/v1/questions"))
    assert await ids(await alice.get("/api/v1/questions", params={"tag": "#Python"})) == [
        second["id"]
    ]
    assert await ids(await alice.get("/api/v1/questions", params={"state": "answered"})) == [
        first["id"]
    ]
    every = await ids(await alice.get("/api/v1/questions", params={"state": "all", "since": "7d"}))
    assert every == [direct["id"], third["id"], second["id"], first["id"]]
    future = await alice.get("/api/v1/questions", params={"since": "2999-01-01T00:00:00Z"})
    assert await ids(future) == []

    # paging: Mastodon's Link header, keeping the other parameters
    page = await alice.get("/api/v1/questions", params={"state": "all", "limit": "2"})
    assert await ids(page) == [direct["id"], third["id"]]
    links = page.headers["link"]
    assert 'rel="next"' in links and "state=all" in links
    next_url = links.split(";")[0].strip("<>")
    assert await ids(await alice.get(next_url)) == [second["id"], first["id"]]

    # bad parameters and no token
    for params in ({"state": "open-ish"}, {"since": "yesterday"}, {"since": "2026-01-01T00:00:00"}):
        assert (await alice.get("/api/v1/questions", params=params)).status_code == 400
    assert (await rig.client("a.test").get("/api/v1/questions")).status_code == 401
