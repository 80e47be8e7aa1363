"""Questions on the web pages, in process: the compose box's "This is a question" box, the
Question badge, the asker's Accept button on the thread page (a CSRF-checked form, no
JavaScript), the accepted answer marked, and `/web/questions` before and after."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx

from store import accounts, statuses
from store.records import AccountRecord, StatusRecord
from watercooler.accounts import create_user
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str) -> AccountRecord:
    await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD)
    async with svc.db.read() as conn:
        found = await accounts.get_local(conn, name)
    assert found is not None
    return found


def _text(page: httpx.Response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def _form_token(page: httpx.Response, action: str) -> str:
    """The CSRF token of the form posting to `action`."""
    found = re.search(
        rf'<form[^>]*action="{re.escape(action)}"[^>]*>\s*<input type="hidden" '
        r'name="csrf_token" value="([^"]+)"',
        page.text,
    )
    assert found is not None, f"no form to {action} on {page.url}"
    return html.unescape(found.group(1))


async def _latest(svc: Services, account: AccountRecord) -> StatusRecord:
    async with svc.db.read() as conn:
        (found,) = await statuses.list_by_account(
            conn, account.id, visibilities=("public",), limit=1
        )
    return found


async def test_ask_answer_accept_and_list_on_the_pages(instance: Instance) -> None:
    svc, client = instance
    alice = await _user(svc, "alice")
    bob = await _user(svc, "bob")
    assert (await sign_in(client, "alice", PASSWORD)).status_code == 303

    # Given alice ticks "This is a question" in the compose box
    home = await client.get("/web/home")
    assert 'name="question"' in home.text and "This is a question" in home.text
    posted = await client.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(home),
            "status": "Where is the #onboarding checklist?",
            "visibility": "public",
            "question": "true",
            "next": "/web/home",
        },
    )
    assert posted.status_code == 303, posted.text
    question = await _latest(svc, alice)

    # Then /web/questions lists it, with the Question badge and a link to its thread
    listed = await client.get("/web/questions")
    assert listed.status_code == 200
    assert f'href="/web/statuses/{question.id}"' in listed.text
    assert 'class="badge question"' in listed.text and "onboarding checklist" in _text(listed)
    other_tag = await client.get("/web/questions", params={"tag": "payroll"})
    assert "onboarding checklist" not in _text(other_tag)

    # When bob answers, alice sees an Accept button on his reply (not on her own question)
    answer = await svc.publisher.post(bob, "@alice on the wiki", in_reply_to=question)
    thread = await client.get(f"/web/statuses/{question.id}")
    assert thread.status_code == 200
    action = f"/web/statuses/{question.id}/accept"
    assert thread.text.count(f'action="{action}"') == 1
    assert f'name="answer_id" value="{answer.id}"' in thread.text

    # and a forged form (no CSRF token) changes nothing
    refused = await client.post(action, data={"answer_id": str(answer.id)})
    assert refused.status_code == 403
    assert "Accepted answer" not in _text(await client.get(f"/web/statuses/{question.id}"))

    # When she presses Accept
    done = await client.post(
        action,
        data={
            "csrf_token": _form_token(thread, action),
            "answer_id": str(answer.id),
            "next": f"/web/statuses/{question.id}",
        },
    )
    assert done.status_code == 303, done.text
    thread = await client.get(done.headers["location"])

    # Then the thread marks bob's reply as the accepted answer, with an Unaccept button
    assert "✓ Accepted answer" in _text(thread) and "Answered" in _text(thread)
    assert f'action="/web/statuses/{question.id}/unaccept"' in thread.text

    # and /web/questions lists it as answered, no longer as unanswered
    assert "onboarding checklist" not in _text(await client.get("/web/questions"))
    answered = await client.get("/web/questions", params={"state": "answered", "tag": "onboarding"})
    assert "onboarding checklist" in _text(answered)

    # and bob is told on his notifications page
    client.cookies.clear()
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    told = await client.get("/web/notifications")
    assert "accepted your answer" in _text(told)

    # and bob, not the asker, gets no Accept button and a 403 when he tries anyway
    thread = await client.get(f"/web/statuses/{question.id}")
    assert f'action="{action}"' not in thread.text
    tried = await client.post(
        f"/web/statuses/{question.id}/unaccept",
        data={"csrf_token": csrf_token(thread), "next": "/web/home"},
    )
    assert tried.status_code == 403
