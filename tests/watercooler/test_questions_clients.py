"""Mastodon.py against a real `watercooler serve` process: a question marked the way a stock
app can (`#question` in the text), answered, accepted through the endpoint Mastodon.py does
not know (its generic request), and what the library makes of our additions: the
`watercooler` key on a Status and the `watercooler.answer_accepted` notification type."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live import LiveInstance, one_instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("questions-live"), ("alice", "bob")) as live:
        yield live


def test_mastodon_py_asks_accepts_and_reads_the_notification(server: LiveInstance) -> None:
    alice, bob = server.mastodon("alice"), server.mastodon("bob")
    question = alice.status_post("Where is the coffee machine manual? #question")
    assert question["watercooler"] == {"question": True, "accepted_answer_id": None}
    assert [tag.name for tag in question.tags] == ["question"]

    answer = bob.status_post("@alice in the kitchen drawer", in_reply_to_id=question.id)
    accepted = alice._Mastodon__api_request(  # type: ignore[attr-defined]
        "POST", f"/api/v1/statuses/{question.id}/accept", {"answer_id": answer.id}
    )
    assert accepted["watercooler"]["accepted_answer_id"] == str(answer.id)
    assert alice.status(question.id)["watercooler"]["accepted_answer_id"] == str(answer.id)

    # Mastodon.py lists every notification, ours among them, with its status
    kinds = {n.type: n for n in bob.notifications()}
    assert kinds["watercooler.answer_accepted"].status.id == answer.id
    assert kinds["watercooler.answer_accepted"].account.acct == "alice"
    # and the open questions are a plain list of statuses
    listed = alice._Mastodon__api_request(  # type: ignore[attr-defined]
        "GET", "/api/v1/questions", {"state": "answered"}
    )
    assert [s["id"] for s in listed] == [question.id]
