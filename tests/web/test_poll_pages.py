"""Polls on the web pages over HTTP, in process, as a browser without JavaScript uses them:
alice adds a poll in the compose box ("Add a poll"), bob sees its options on the post's card
and votes through the form (CSRF-checked; without the token nothing is counted), then sees
the results with his choice marked; the author sees results, never a form."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from store import polls as stored_polls
from store import statuses
from tests.conftest import MakeConfig, running
from watercooler.accounts import create_user
from watercooler.app import create_app
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
People = tuple[Services, httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def people(make_config: MakeConfig) -> AsyncIterator[People]:
    """One instance with alice and bob each signed in to the web pages in their own client."""
    config = make_config("a.test")
    app = create_app(config)
    async with running(app, config.instance.base_url) as alice:
        svc: Services = app.state.services
        for name in ("alice", "bob"):
            await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD)
        assert (await sign_in(alice, "alice", PASSWORD)).status_code == 303
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=config.instance.base_url) as bob:
            assert (await sign_in(bob, "bob", PASSWORD)).status_code == 303
            yield svc, alice, bob


async def test_a_poll_from_the_compose_box_voted_through_its_card(people: People) -> None:
    svc, alice, bob = people
    # Given the compose box with "Add a poll"
    home = await alice.get("/web/home")
    assert "<summary>Add a poll</summary>" in home.text
    assert 'name="poll[options][]"' in home.text and 'name="poll[expires_in]"' in home.text

    # When alice posts with two options filled in (the others left empty)
    made = await alice.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(home),
            "next": "/web/home",
            "status": "Pizza or sushi on Friday?",
            "poll[options][]": ["Pizza", "Sushi", "", ""],
            "poll[expires_in]": "3600",
        },
    )
    assert made.status_code == 303, made.text
    async with svc.db.read() as conn:
        (row,) = await conn.execute_fetchall("SELECT status_id FROM polls")
        status = await statuses.get_by_id(conn, row[0])
        poll = await stored_polls.for_status(conn, row[0])
    assert status is not None and poll is not None
    assert poll.options == ("Pizza", "Sushi") and not poll.multiple
    card = f"/web/statuses/{status.id}"

    # Then alice (the author) sees results, and bob a form with one radio button an option
    own = await alice.get(card)
    assert f'action="/web/polls/{poll.id}/votes"' not in own.text
    assert "Pizza:" in own.text and "0 votes" in own.text
    page = await bob.get(card)
    assert f'action="/web/polls/{poll.id}/votes"' in page.text
    radios = re.findall(r'<input type="radio" id="poll-\d+-(\d)" name="choices\[\]"', page.text)
    assert radios == ["0", "1"]
    assert '<label for="poll-' in page.text

    # A vote without the form's token is refused and counts nothing
    forged = await bob.post(f"/web/polls/{poll.id}/votes", data={"choices[]": "1"})
    assert forged.status_code == 403
    async with svc.db.read() as conn:
        assert (await stored_polls.for_status(conn, status.id)).tallies == (0, 0)  # type: ignore[union-attr]

    # When bob votes through the form
    voted = await bob.post(
        f"/web/polls/{poll.id}/votes",
        data={
            "csrf_token": csrf_token(page),
            "next": f"{card}#status-{status.id}",
            "choices[]": "1",
        },
    )
    assert voted.status_code == 303
    assert voted.headers["location"] == f"{card}#status-{status.id}"

    # Then the card shows the results with his choice, and no form
    after = await bob.get(card)
    assert f'action="/web/polls/{poll.id}/votes"' not in after.text
    assert re.search(r"Sushi:\s*1 vote \(100%\)\s*<span class=\"badge\">your choice", after.text)
    # And voting twice is refused with the reason
    again = await bob.post(
        f"/web/polls/{poll.id}/votes",
        data={"csrf_token": csrf_token(after), "choices[]": "0"},
    )
    assert again.status_code == 422
    assert "You have already voted on this poll" in again.text


async def test_a_multiple_choice_poll_has_checkboxes_and_bad_polls_are_explained(
    people: People,
) -> None:
    svc, alice, bob = people
    home = await alice.get("/web/home")
    one = await alice.post(
        "/web/statuses",
        data={"csrf_token": csrf_token(home), "status": "Only one?", "poll[options][]": ["x"]},
    )
    assert one.status_code == 422
    assert "Poll options must have more than one item" in one.text
    made = await alice.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(home),
            "status": "Which days?",
            "poll[options][]": ["Mon", "Tue", "Wed"],
            "poll[expires_in]": "86400",
            "poll[multiple]": "true",
        },
    )
    assert made.status_code == 303, made.text
    async with svc.db.read() as conn:
        (row,) = await conn.execute_fetchall("SELECT id, status_id FROM polls")
    page = await bob.get(f"/web/statuses/{row[1]}")
    boxes = re.findall(r'<input type="checkbox" id="poll-\d+-(\d)" name="choices\[\]"', page.text)
    assert boxes == ["0", "1", "2"]
    voted = await bob.post(
        f"/web/polls/{row[0]}/votes",
        data={"csrf_token": csrf_token(page), "choices[]": ["0", "2"]},
    )
    assert voted.status_code == 303
    async with svc.db.read() as conn:
        poll = await stored_polls.get(conn, row[0])
    assert poll is not None and poll.tallies == (1, 0, 1) and poll.voters_count == 1
