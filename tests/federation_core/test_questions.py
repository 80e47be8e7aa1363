"""Questions with an accepted answer across divisions (issue 9, point 2; docs/federation.md).

Three peered divisions: alice asks on a.test, bob answers from b.test, carol reads on c.test.
The acceptance travels as an `Update` of the question carrying `schema:acceptedAnswer`, its
content unchanged; every division shows it, bob is notified on his own division, and the
open-questions list of c.test changes. Then payloads as other implementations send them: a
Mastodon `Create(Note)` tagged `#question`, Updates with the property compacted and
expanded, and forged acceptances (from another host, of a post that is not a reply), which
change nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation import activities
from federation.keys import load_private_key
from federation.objects import Note, note_to_json, parse_object
from federation.signatures import sign_request
from store import questions as stored_questions
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.keyresolver import StoreKeyResolver

DOMAINS = ("a.test", "b.test", "c.test")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_JSON = {"Accept": "application/activity+json"}
FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"
SCHEMA = "http://schema.org#"
WC = "https://w3id.org/watercooler/ns#"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(d, peers=tuple(p for p in DOMAINS if p != d)) for d in DOMAINS]
    async with Rig(configs) as rig:
        yield rig


async def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def open_questions(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    return await ok(await client.get("/api/v1/questions", params=params))  # type: ignore[no-any-return]


async def local_id(rig: Rig, domain: str, uri: str) -> str:
    status = await rig.status(domain, uri)
    assert status is not None, f"{uri} is not on {domain}"
    return str(status.id)


async def deliver(rig: Rig, domain: str, name: str, to: str, document: dict[str, Any]) -> None:
    """POST `document` to `to`'s shared inbox signed by `name` of `domain`, as any server
    signs (draft-cavage), then let every queue run."""
    svc = rig.services(domain)
    key_id = svc.uris.key_id(name)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, key_id))
    body = json.dumps(document).encode()
    inbox = f"http://{to}/inbox"
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST", inbox, headers, body, key_id=key_id, private_key=key, now=datetime.now(UTC)
    )  # type: ignore[arg-type]
    async with rig.client(to) as client:
        response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await rig.drain()


async def test_asked_answered_accepted_across_three_divisions(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    carol = await rig.api_client("c.test", "carol")

    # Given alice asks on a.test with the API's flag (no #question in the text)
    asked = await ok(
        await alice.post(
            "/api/v1/statuses",
            json={"status": "How do we pin #python dependencies?", "question": True},
        )
    )
    assert asked["watercooler"] == {"question": True, "accepted_answer_id": None}
    assert "question" in [tag["name"] for tag in asked["tags"]]
    await rig.drain()
    note = await ok(await rig.client("a.test").get(asked["uri"], headers=AS_JSON))
    assert note["isQuestion"] is True and "acceptedAnswer" not in note
    assert {"name": "#question", "type": "Hashtag"}.items() <= next(
        t for t in note["tag"] if t["name"] == "#question"
    ).items()

    # Then c.test lists it among the open questions of the week tagged python
    shown = await open_questions(carol, state="unanswered", since="7d", tag="python")
    assert [s["uri"] for s in shown] == [asked["uri"]]
    assert await open_questions(carol, tag="golang") == []

    # When bob answers from b.test (replies are answers)
    question_on_b = await local_id(rig, "b.test", asked["uri"])
    reply = await ok(
        await bob.post(
            "/api/v1/statuses",
            json={"status": "@alice@a.test use a lock file", "in_reply_to_id": question_on_b},
        )
    )
    await rig.drain()
    answer_on_a = await local_id(rig, "a.test", reply["uri"])

    # and alice accepts it
    before = await ok(await rig.client("a.test").get(asked["uri"], headers=AS_JSON))
    accepted = await ok(
        await alice.post(f"/api/v1/statuses/{asked['id']}/accept", data={"answer_id": answer_on_a})
    )
    assert accepted["watercooler"] == {"question": True, "accepted_answer_id": answer_on_a}
    await rig.drain()

    # Then the served Note names the answer, its text unchanged (no visible edit)
    after = await ok(await rig.client("a.test").get(asked["uri"], headers=AS_JSON))
    assert after["acceptedAnswer"] == reply["uri"]
    assert after["content"] == before["content"] and "updated" not in after
    assert after["@context"][1]["acceptedAnswer"] == {
        "@id": "schema:acceptedAnswer",
        "@type": "@id",
    }

    # and the third division shows the accepted answer, with no edit recorded
    question_on_c = await local_id(rig, "c.test", asked["uri"])
    answer_on_c = await local_id(rig, "c.test", reply["uri"])
    seen = await ok(await carol.get(f"/api/v1/statuses/{question_on_c}"))
    assert seen["watercooler"] == {"question": True, "accepted_answer_id": answer_on_c}
    assert seen["edited_at"] is None
    assert await open_questions(carol, tag="python") == []
    answered = await open_questions(carol, state="answered", since="7d")
    assert [s["uri"] for s in answered] == [asked["uri"]]

    # and bob is notified on his own division, of his answer, by alice
    kinds = ["watercooler.answer_accepted"]
    got = await ok(await bob.get("/api/v1/notifications", params={"types[]": kinds}))
    assert [(n["type"], n["status"]["uri"], n["account"]["acct"]) for n in got] == [
        ("watercooler.answer_accepted", reply["uri"], "alice@a.test")
    ]
    on_b = await ok(await bob.get(f"/api/v1/statuses/{question_on_b}"))
    assert on_b["watercooler"]["accepted_answer_id"] == await local_id(rig, "b.test", reply["uri"])

    # When alice takes it back, every division shows the question open again
    undone = await ok(await alice.post(f"/api/v1/statuses/{asked['id']}/unaccept"))
    assert undone["watercooler"]["accepted_answer_id"] is None
    await rig.drain()
    shown = await open_questions(carol, tag="python")
    assert [s["uri"] for s in shown] == [asked["uri"]]
    for client in (alice, bob, carol):
        await client.aclose()


async def test_the_answerer_s_division_gets_the_update_when_nothing_else_sends_it(
    rig: Rig,
) -> None:
    # Given an unlisted question (not relayed to the peers), which bob on b.test found by its
    # URL (no one on b.test follows alice)
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    asked = await ok(
        await alice.post(
            "/api/v1/statuses",
            json={"status": "Anyone used the new VPN? #question", "visibility": "unlisted"},
        )
    )
    await rig.drain()
    assert await rig.status("b.test", asked["uri"]) is None
    found = await ok(await bob.get("/api/v2/search", params={"q": asked["uri"], "resolve": "true"}))
    (question_on_b,) = [s["id"] for s in found["statuses"]]
    reply = await ok(
        await bob.post(
            "/api/v1/statuses",
            json={"status": "@alice@a.test yes, it works", "in_reply_to_id": question_on_b},
        )
    )
    await rig.drain()

    # When alice accepts bob's answer
    answer_on_a = await local_id(rig, "a.test", reply["uri"])
    await ok(
        await alice.post(f"/api/v1/statuses/{asked['id']}/accept", data={"answer_id": answer_on_a})
    )
    await rig.drain()

    # Then b.test got the Update, shows the answer accepted and tells bob
    on_b = await ok(await bob.get(f"/api/v1/statuses/{question_on_b}"))
    assert on_b["watercooler"]["accepted_answer_id"] == await local_id(rig, "b.test", reply["uri"])
    got = await ok(await bob.get("/api/v1/notifications"))
    assert [n["type"] for n in got] == ["watercooler.answer_accepted"]
    for client in (alice, bob):
        await client.aclose()


async def test_mastodon_create_with_question_hashtag_is_a_question(rig: Rig) -> None:
    # Given a Note as Mastodon sends it (its fixture's shape), from b.test's dave, tagged
    # #question and public, delivered to a.test
    await rig.user("b.test", "dave")
    document = json.loads((FIXTURES / "mastodon" / "create-note.json").read_text())
    dave = "http://b.test/users/dave"
    create = copy.deepcopy(document)
    note = create["object"]
    note_id = f"{dave}/statuses/107224289116410645"
    create.update(id=f"{note_id}/activity", actor=dave, to=[PUBLIC], cc=[f"{dave}/followers"])
    note.update(
        id=note_id,
        url="http://b.test/@dave/107224289116410645",
        attributedTo=dave,
        inReplyTo=None,
        inReplyToAtomUri=None,
        to=[PUBLIC],
        cc=[f"{dave}/followers"],
        content='<p>Which laptop for the new hires? <a href="http://b.test/tags/question" '
        'class="mention hashtag" rel="tag">#<span>question</span></a></p>',
        tag=[{"type": "Hashtag", "href": "http://b.test/tags/question", "name": "#Question"}],
    )
    note.pop("contentMap")
    await deliver(rig, "b.test", "dave", "a.test", create)

    # Then a.test keeps it as a question, listed open
    stored = await rig.status("a.test", note_id)
    assert stored is not None
    async with rig.services("a.test").db.read() as conn:
        assert await stored_questions.get(conn, stored.id) is not None
    async with await rig.api_client("a.test", "reader") as reader:
        assert [s["uri"] for s in await open_questions(reader)] == [note_id]


async def test_a_peer_s_is_question_marks_a_question_without_the_hashtag(rig: Rig) -> None:
    # Given a Watercooler peer's Note with `isQuestion` and no #question tag, and one without
    dave = (await rig.user("b.test", "dave")).uri
    marked, plain = (
        note_to_json(
            Note(
                id=f"{dave}/statuses/{n}",
                type="Note",
                attributed_to=dave,
                content="<p>Is the canteen open on Friday?</p>",
                published=datetime.now(UTC),
                to=(PUBLIC,),
                cc=(f"{dave}/followers",),
                is_question=is_question,
            )
        )
        for n, is_question in ((1, True), (2, False))
    )
    for note in (marked, plain):
        await deliver(rig, "b.test", "dave", "a.test", activities.create(dave, note))

    # Then only the marked one is a question on a.test
    async with await rig.api_client("a.test", "reader") as reader:
        assert [s["uri"] for s in await open_questions(reader)] == [marked["id"]]


async def _question_and_answer(rig: Rig) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A question by bob on b.test, delivered to a.test, with erin's reply from a.test; the
    question's Note and the answer's entity on a.test, and the question's id there."""
    bob = await rig.user("b.test", "bob")
    question = await rig.services("b.test").publisher.post(
        bob, "Who owns the build farm?", question=True
    )
    await rig.drain()
    on_a = await rig.status("a.test", question.uri)
    assert on_a is not None
    async with await rig.api_client("a.test", "erin") as erin:
        reply = await ok(
            await erin.post(
                "/api/v1/statuses",
                json={"status": "@bob@b.test the infra team", "in_reply_to_id": str(on_a.id)},
            )
        )
    await rig.drain()
    note = await ok(await rig.client("b.test").get(question.uri, headers=AS_JSON))
    return note, reply, str(on_a.id)


async def accepted_on_a(rig: Rig, question_id: str) -> str | None:
    async with await rig.api_client("a.test", "viewer") as viewer:
        seen = await ok(await viewer.get(f"/api/v1/statuses/{question_id}"))
    assert seen["edited_at"] is None
    return seen["watercooler"]["accepted_answer_id"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "form",
    [
        {"acceptedAnswer": "{answer}"},
        {"schema:acceptedAnswer": {"id": "{answer}"}},
        {f"{SCHEMA}acceptedAnswer": [{"@id": "{answer}"}]},
        {"https://schema.org/acceptedAnswer": "{answer}"},
    ],
    ids=["compacted", "prefixed-object", "expanded", "schema.org-iri"],
)
async def test_an_update_with_accepted_answer_in_any_form(rig: Rig, form: dict[str, Any]) -> None:
    # Given bob's question on b.test and erin's answer on a.test
    note, reply, question_id = await _question_and_answer(rig)
    assert await accepted_on_a(rig, question_id) is None

    # When b.test sends an Update carrying the property as another implementation writes it
    # (the wc marker expanded too), content unchanged
    body = {k: v for k, v in note.items() if k not in ("isQuestion", "acceptedAnswer")}
    body[f"{WC}isQuestion"] = [{"@value": True}]
    for key, value in form.items():
        body[key] = json.loads(json.dumps(value).replace("{answer}", reply["uri"]))
    update = activities.update(
        note["attributedTo"], body, id=f"{note['id']}#updates/1", published=datetime.now(UTC)
    )
    await deliver(rig, "b.test", "bob", "a.test", update)

    # Then a.test shows the answer accepted (no edit) and erin is notified
    assert await accepted_on_a(rig, question_id) == reply["id"]
    async with await rig.api_client("a.test", "erin") as erin:
        got = await ok(await erin.get("/api/v1/notifications"))
    assert [(n["type"], n["status"]["id"]) for n in got] == [
        ("watercooler.answer_accepted", reply["id"])
    ]


async def test_forged_acceptances_change_nothing(rig: Rig) -> None:
    note, reply, question_id = await _question_and_answer(rig)
    mallory = await rig.user("c.test", "mallory")
    bob = await rig.account("b.test", "http://b.test/users/bob")
    assert bob is not None
    bystander = await rig.services("b.test").publisher.post(bob, "An unrelated post")
    await rig.drain()

    # An Update of bob's question from another host (c.test's mallory), signed by her
    forged = note | {"acceptedAnswer": reply["uri"]}
    update = activities.update(
        mallory.uri, forged, id=f"{mallory.uri}#updates/1", published=datetime.now(UTC)
    )
    await deliver(rig, "c.test", "mallory", "a.test", update)
    await rig.drain()
    assert await accepted_on_a(rig, question_id) is None

    # bob's own Update naming a post that is not a reply to the question
    not_a_reply = note | {"acceptedAnswer": bystander.uri}
    update = activities.update(
        bob.uri, not_a_reply, id=f"{note['id']}#updates/2", published=datetime.now(UTC)
    )
    await deliver(rig, "b.test", "bob", "a.test", update)
    assert await accepted_on_a(rig, question_id) is None

    # and naming a post that does not exist at all
    missing = note | {"acceptedAnswer": "http://b.test/users/bob/statuses/1"}
    update = activities.update(
        bob.uri, missing, id=f"{note['id']}#updates/3", published=datetime.now(UTC)
    )
    await deliver(rig, "b.test", "bob", "a.test", update)
    assert await accepted_on_a(rig, question_id) is None
    async with await rig.api_client("a.test", "erin") as erin:
        got = await ok(await erin.get("/api/v1/notifications"))
    assert [n for n in got if n["type"] == "watercooler.answer_accepted"] == []


def test_note_round_trip_keeps_the_question_terms() -> None:
    note = Note(
        id="https://a.test/users/alice/statuses/1",
        type="Note",
        attributed_to="https://a.test/users/alice",
        content="<p>Where is the style guide?</p>",
        is_question=True,
        accepted_answer="https://b.test/users/bob/statuses/2",
    )
    document = note_to_json(note)
    assert document["isQuestion"] is True
    assert document["acceptedAnswer"] == "https://b.test/users/bob/statuses/2"
    assert parse_object(document) == note
