"""Polls across three divisions (issue 9, point 4), in process on one fake clock.

Alice on a.test asks; bob on b.test and carol on c.test vote through the client API. Their
votes go to a.test as Mastodon's vote Notes (never statuses), a.test counts them and sends
one coalesced `Update` of the Question, so every division shows the same counts; at the end
a.test sends the final `Update` with `closed`, and the author and every voter get one `poll`
notification, on every division. Then the payloads of other servers: Mastodon's Questions
(`create-question.json`, `question-docs.json`) and GoToSocial's vote shape
(`create-poll-vote.json`), and the bad inputs (a forged vote, a vote for no option, after
the end, on a poll the voter may not see, on someone else's poll, a huge poll).
"""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.keys import load_private_key
from federation.signatures import sign_request
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.app import create_app
from watercooler.keyresolver import StoreKeyResolver

DOMAINS = ("a.test", "b.test", "c.test")
FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"


class FakeClock:
    """The one clock every part of every instance reads (signatures, queues, polls)."""

    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class ClockRig(Rig):
    """The rig with every instance on `clock`."""

    clock: FakeClock = field(default_factory=FakeClock)

    async def __aenter__(self) -> ClockRig:
        for config in self.configs:
            app = create_app(config, clock=self.clock.now, transport=self.router, run_workers=False)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self.apps[config.instance.domain] = app
            self.router.apps[config.instance.domain] = httpx.ASGITransport(app=app)
        await self.drain()
        return self

    async def later(self, **delta: float) -> None:
        """Let time pass, then run every queue until nothing is left."""
        self.clock.advance(**delta)
        await self.drain()


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[ClockRig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with ClockRig(configs) as rig:
        yield rig


def rows(rig: Rig, domain: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services(domain).db.path)) as conn:
        return conn.execute(sql, params).fetchall()


async def local_id(client: httpx.AsyncClient, uri: str) -> str:
    """The id of the status `uri` on the client's instance (resolved if need be)."""
    found = await client.get("/api/v2/search", params={"q": uri, "resolve": "true"})
    assert found.status_code == 200, found.text
    (status,) = found.json()["statuses"]
    return str(status["id"])


async def poll_of(client: httpx.AsyncClient, status_id: str) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/statuses/{status_id}")
    assert answer.status_code == 200, answer.text
    poll = answer.json()["poll"]
    assert poll is not None
    return poll  # type: ignore[no-any-return]


def counts(poll: dict[str, Any]) -> list[int | None]:
    return [option["votes_count"] for option in poll["options"]]


async def test_a_poll_across_three_divisions(rig: ClockRig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")
    async with alice, bob, carol:
        # Given alice's poll on a.test (public: it reaches every division's org timeline)
        made = await alice.post(
            "/api/v1/statuses",
            json={
                "status": "Where should the offsite be?",
                "poll": {"options": ["Lisbon", "Oslo", "Remote"], "expires_in": 3600},
            },
        )
        assert made.status_code == 200, made.text
        question = made.json()
        uri = question["uri"]
        await rig.drain()
        # The Question peers were sent and can fetch, as Mastodon's
        served = await alice.get(uri, headers={"Accept": "application/activity+json"})
        document = served.json()
        assert document["type"] == "Question"
        assert [o["name"] for o in document["oneOf"]] == ["Lisbon", "Oslo", "Remote"]
        assert document["votersCount"] == 0 and "closed" not in document
        assert document["endTime"].startswith(question["poll"]["expires_at"][:19])

        # When bob (b.test) and carol (c.test) vote through their own division's API
        at_b, at_c = await local_id(bob, uri), await local_id(carol, uri)
        seen_at_b = await poll_of(bob, at_b)
        assert seen_at_b["voted"] is False and counts(seen_at_b) == [0, 0, 0]
        voted = await bob.post(f"/api/v1/polls/{seen_at_b['id']}/votes", json={"choices": [1]})
        assert voted.status_code == 200, voted.text
        assert voted.json()["voted"] is True and voted.json()["own_votes"] == [1]
        poll_at_c = (await poll_of(carol, at_c))["id"]
        form = await carol.post(f"/api/v1/polls/{poll_at_c}/votes", data={"choices[]": "1"})
        assert form.status_code == 200, form.text
        await rig.drain()

        # Then a.test counted both, and no vote became a status anywhere
        own = await poll_of(alice, question["id"])
        assert counts(own) == [0, 2, 0] and own["voters_count"] == 2
        assert own["voted"] is True and own["own_votes"] == []  # the author, as Mastodon
        for domain in DOMAINS:
            assert rows(rig, domain, "SELECT count(*) FROM statuses WHERE name = 'Oslo'") == [(0,)]

        # And after the coalescing delay one Update carries the counts to every division
        await rig.later(seconds=11)
        assert counts(await poll_of(bob, at_b)) == [0, 2, 0]
        assert counts(await poll_of(carol, at_c)) == [0, 2, 0]
        assert (await poll_of(carol, at_c))["own_votes"] == [1]
        sql = "SELECT count(*) FROM activities WHERE type = 'Update' AND object_uri = ?"
        updates = rows(rig, "a.test", sql, uri)
        assert updates == [(1,)]  # two votes, one Update
        # no edit was recorded for new counts
        assert rows(rig, "b.test", "SELECT edited_at FROM statuses WHERE uri = ?", uri) == [(None,)]

        # When the hour is over, a.test closes the poll
        await rig.later(minutes=60)
        for client, status_id in ((alice, question["id"]), (bob, at_b), (carol, at_c)):
            ended = await poll_of(client, status_id)
            assert ended["expired"] is True and counts(ended) == [0, 2, 0]
        closed = (await alice.get(uri, headers={"Accept": "application/activity+json"})).json()
        assert "closed" in closed
        # A vote after the end is refused
        late = await bob.post(f"/api/v1/polls/{seen_at_b['id']}/votes", json={"choices": [0]})
        assert late.status_code == 422
        assert late.json()["error"] == "Validation failed: The poll has already ended"

        # And each of alice, bob and carol got one `poll` notification, however often the
        # workers run
        await rig.later(minutes=5)
        for client in (alice, bob, carol):
            found = await client.get("/api/v1/notifications", params={"types[]": "poll"})
            assert found.status_code == 200, found.text
            assert [n["type"] for n in found.json()] == ["poll"], found.json()
            assert found.json()[0]["status"]["uri"] == uri


# ----- payloads as other servers send them ----------------------------------------------------


async def signed_post(rig: Rig, signer: str, name: str, url: str, body: dict[str, Any]) -> int:
    """POST an activity to `url` signed with `name`'s key on `signer`, as its server signs."""
    svc = rig.services(signer)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, svc.uris.key_id(name)))
    assert isinstance(key, rsa.RSAPrivateKey)
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST", url, headers, content, key_id=svc.uris.key_id(name), private_key=key,
        now=rig.services(signer).clock(),
    )  # fmt: skip
    async with httpx.AsyncClient(transport=rig.router) as client:
        answer = await client.post(url, content=content, headers=headers)
    return answer.status_code


def rehome(document: Any, old: str, new: str) -> Any:
    """The document with every string's `old` host part replaced by `new`."""
    return json.loads(json.dumps(document).replace(old, new))


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


async def test_mastodon_questions_are_polls_here(rig: ClockRig) -> None:
    # Mastodon's Create of a Question, as mastodon.sdf.org sent it, moved to b.test: our
    # inbox takes posts only from peers that sign with the actor's key, so the ids are
    # rehomed to a rig peer's user (rinpatch there); nothing else is changed.
    rinpatch = await rig.user("b.test", "rinpatch")
    alice = await rig.api_client("a.test", "alice")
    create = rehome(
        fixture("mastodon/create-question.json"), "https://mastodon.sdf.org", "http://b.test"
    )
    create["object"]["endTime"] = (rig.clock.now() + timedelta(days=1)).isoformat()
    assert create["actor"] == rinpatch.uri
    assert await signed_post(rig, "b.test", "rinpatch", "http://a.test/inbox", create) == 202
    await rig.drain()
    async with alice:
        status_id = await local_id(alice, create["object"]["id"])
        poll = await poll_of(alice, status_id)
        assert [o["title"] for o in poll["options"]] == [
            "Dunno", "Everyone knows that!", "25 char limit is dumb", "I can't even fit a funny",
        ]  # fmt: skip
        assert counts(poll) == [0, 1, 0, 1] and poll["votes_count"] == 2
        assert poll["multiple"] is False and poll["voters_count"] is None
        # A local vote on it goes to b.test as Mastodon's vote Note, to rinpatch only
        voted = await alice.post(f"/api/v1/polls/{poll['id']}/votes", json={"choices": [2]})
        assert voted.status_code == 200, voted.text
        assert counts(voted.json()) == [0, 1, 1, 1]
        (body,) = rows(
            rig, "a.test", "SELECT body FROM activities WHERE type = 'Create' AND object_uri = ?",
            create["object"]["id"],
        )[0:1]  # fmt: skip
        vote = json.loads(body[0])
        assert vote["to"] == [rinpatch.uri] and vote["cc"] == []
        assert vote["object"]["name"] == "25 char limit is dumb"
        assert vote["object"]["inReplyTo"] == create["object"]["id"]
        assert "content" not in vote["object"]


async def test_mastodons_documented_question_and_its_update(rig: ClockRig) -> None:
    # Mastodon's documented Question (anyOf, votersCount), rehomed to a rig peer's user; the
    # documentation's example has no `attributedTo` or addressing (it shows the poll part
    # only), so those are added as Mastodon sends them. Sent in a Create, then in an Update
    # from its author with new counts.
    author = await rig.user("b.test", "alice")
    question = rehome(
        fixture("mastodon/question-docs.json"), "https://mastodon.example", "http://b.test"
    )
    question |= {"attributedTo": author.uri, "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    question["endTime"] = (rig.clock.now() + timedelta(days=1)).isoformat()
    envelope = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "actor": author.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    create = {**envelope, "id": f"{question['id']}/activity", "type": "Create", "object": question}
    assert await signed_post(rig, "b.test", "alice", "http://a.test/inbox", create) == 202
    await rig.drain()
    reader = await rig.api_client("a.test", "dave")
    async with reader:
        status_id = await local_id(reader, question["id"])
        poll = await poll_of(reader, status_id)
        assert [o["title"] for o in poll["options"]] == ["apple", "orange", "banana"]
        assert poll["multiple"] is True and counts(poll) == [3, 7, 6]
        assert poll["voters_count"] == 7 and poll["votes_count"] == 16
        voted = await reader.post(f"/api/v1/polls/{poll['id']}/votes", json={"choices": [0, 2]})
        assert voted.status_code == 200, voted.text
        assert counts(voted.json()) == [4, 7, 7] and voted.json()["voters_count"] == 8
        await rig.drain()

        # Then the author's Update with its own counts is what shows, and is no edit
        question["anyOf"][0]["replies"]["totalItems"] = 5
        question["votersCount"] = 9
        update = {
            **envelope,
            "id": f"{question['id']}#updates/1",
            "type": "Update",
            "object": question,
        }
        assert await signed_post(rig, "b.test", "alice", "http://a.test/inbox", update) == 202
        await rig.drain()
        poll = await poll_of(reader, status_id)
        assert counts(poll) == [5, 7, 6] and poll["voters_count"] == 9
        assert poll["own_votes"] == [0, 2]
        shown = (await reader.get(f"/api/v1/statuses/{status_id}")).json()
        assert shown["edited_at"] is None


async def test_gotosocial_votes_and_bad_votes(rig: ClockRig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        made = await alice.post(
            "/api/v1/statuses",
            data={
                "status": "Tea or coffee?",
                "poll[options][]": ["tea", "coffee", "tissues"],
                "poll[expires_in]": "600",
            },
        )
        assert made.status_code == 200, made.text
        question = made.json()
        poll_id = question["poll"]["id"]
        private = await alice.post(
            "/api/v1/statuses",
            json={"status": "Followers only", "visibility": "private",
                  "poll": {"options": ["yes", "no"], "expires_in": 600}},
        )  # fmt: skip
        assert private.status_code == 200, private.text
    zork = await rig.user("b.test", "the_mighty_zork")
    mallory = await rig.user("c.test", "mallory")

    def gts_vote(voter: str, name: str, poll_uri: str, n: int) -> dict[str, Any]:
        """GoToSocial's vote (create-poll-vote.json), for `voter` on `poll_uri`."""
        doc = fixture("gotosocial/create-poll-vote.json")
        doc = rehome(doc, "http://localhost:8080/users/the_mighty_zork", voter)
        doc = rehome(
            doc,
            "http://fossbros-anonymous.io/users/foss_satan/statuses/01HEN2QRFA8H3C6QPN7RD4KSR6",
            poll_uri,
        )
        doc = rehome(doc, "http://fossbros-anonymous.io/users/foss_satan", alice_uri)
        doc["id"] = f"{doc['id']}/{n}"
        doc["object"]["id"] = f"{doc['object']['id']}/{n}"
        doc["object"]["name"] = name
        return doc

    alice_uri = rig.services("a.test").uris.actor("alice")
    inbox = "http://a.test/users/alice/inbox"
    # GoToSocial's vote shape counts, once however often it is sent
    for _ in range(2):
        sent = gts_vote(zork.uri, "tissues", question["uri"], 1)
        assert await signed_post(rig, "b.test", "the_mighty_zork", inbox, sent) == 202
    # A second option on a single-choice poll, a name that is no option: dropped
    assert (
        await signed_post(
            rig, "b.test", "the_mighty_zork", inbox, gts_vote(zork.uri, "tea", question["uri"], 2)
        )
        == 202
    )
    assert (
        await signed_post(
            rig, "c.test", "mallory", inbox, gts_vote(mallory.uri, "beer", question["uri"], 3)
        )
        == 202
    )
    # A forged vote: mallory signs a vote of zork's
    forged = gts_vote(zork.uri, "coffee", question["uri"], 4)
    forged["actor"] = mallory.uri
    assert await signed_post(rig, "c.test", "mallory", inbox, forged) == 400  # refused at once
    forged["id"] = f"{mallory.uri}#votes/4/activity"  # on mallory's host: stored, then dropped
    assert await signed_post(rig, "c.test", "mallory", inbox, forged) == 202
    # A vote on a followers-only poll mallory may not see
    hidden = gts_vote(mallory.uri, "yes", private.json()["uri"], 5)
    assert await signed_post(rig, "c.test", "mallory", inbox, hidden) == 202
    await rig.drain()
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        poll = (await alice.get(f"/api/v1/polls/{poll_id}")).json()
        assert counts(poll) == [0, 0, 1] and poll["voters_count"] == 1
        assert counts(
            (await alice.get(f"/api/v1/polls/{private.json()['poll']['id']}")).json()
        ) == [0, 0]
    assert rows(rig, "a.test", "SELECT count(*) FROM statuses WHERE name IS NOT NULL") == [(0,)]
    # After the end, a vote is dropped
    await rig.later(minutes=11)
    assert (
        await signed_post(
            rig, "c.test", "mallory", inbox, gts_vote(mallory.uri, "tea", question["uri"], 6)
        )
        == 202
    )
    await rig.drain()
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        assert counts((await alice.get(f"/api/v1/polls/{poll_id}")).json()) == [0, 0, 1]
    # A vote on a poll that is not b.test's own, sent to b.test, is dropped there (it is
    # a.test's to count) and is no status
    carol = await rig.user("c.test", "carol")
    bob_inbox = "http://b.test/inbox"
    at_b = await rig.status("b.test", question["uri"])
    assert at_b is not None
    other = gts_vote(carol.uri, "tea", question["uri"], 7)
    assert await signed_post(rig, "c.test", "carol", bob_inbox, other) == 202
    await rig.drain()
    assert rows(rig, "b.test", "SELECT count(*) FROM poll_votes") == [(0,)]
    assert rows(rig, "b.test", "SELECT count(*) FROM statuses WHERE name IS NOT NULL") == [(0,)]


async def test_a_huge_remote_poll_is_not_kept(rig: ClockRig) -> None:
    bob = await rig.user("b.test", "bob")
    alice = await rig.api_client("a.test", "alice")
    note_id = f"{bob.uri}/statuses/9001"
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": bob.uri,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": note_id,
            "type": "Question",
            "attributedTo": bob.uri,
            "content": "<p>Pick one</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "endTime": (rig.clock.now() + timedelta(days=1)).isoformat(),
            "anyOf": [{"type": "Note", "name": f"option {i}"} for i in range(500)],
        },
    }
    assert await signed_post(rig, "b.test", "bob", "http://a.test/inbox", create) == 202
    # and one whose option is a whole essay
    long_id = f"{bob.uri}/statuses/9002"
    essay = copy.deepcopy(create)
    essay["id"], essay["object"]["id"] = f"{long_id}/activity", long_id
    essay["object"]["anyOf"] = [{"type": "Note", "name": "x" * 501}, {"type": "Note", "name": "y"}]
    assert await signed_post(rig, "b.test", "bob", "http://a.test/inbox", essay) == 202
    await rig.drain()
    async with alice:
        for uri in (note_id, long_id):
            status_id = await local_id(alice, uri)
            shown = (await alice.get(f"/api/v1/statuses/{status_id}")).json()
            assert shown["poll"] is None  # the post is kept, its poll is not
    assert rows(rig, "a.test", "SELECT count(*) FROM polls") == [(0,)]
