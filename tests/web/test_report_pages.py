"""The report pages over HTTP, in process, as a browser without JavaScript uses them.

Bob on b.test reports alice of a.test from her post's card: the form offers "Also send to
a.test"; sent with it, the report is in b.test's queue and, as a Flag, in a.test's. A.test's
moderator works the queue page: sees the report (reporter division, target, post, comment,
category), assigns it, adds a note, resolves and reopens it; each step is in the audit log.
An employee who is not a moderator gets 403; a form without its CSRF token changes nothing.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from store import roles, users
from tests.conftest import MakeConfig
from tests.rig import Rig

from .signing import csrf_token, sign_in

PASSWORD = "password123"  # what tests.rig.Rig.user gives
QUEUE = "/web/admin/reports"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        yield rig


async def browser(
    rig: Rig, domain: str, name: str, *, moderator: bool = False
) -> httpx.AsyncClient:
    """A client signed in to `domain`'s pages as `name` (created here)."""
    await rig.user(domain, name)
    if moderator:
        async with rig.services(domain).db.transaction() as conn:
            user = await users.get_by_username(conn, name)
            assert user is not None
            await roles.grant(conn, user.id, roles.MODERATOR, datetime.now(UTC))
    client = rig.client(domain)
    answer = await sign_in(client, name, PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


def text(page: httpx.Response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def rows(rig: Rig, domain: str, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(rig.services(domain).config.database.path)) as conn:
        return conn.execute(sql).fetchall()


async def alices_post_on_b(rig: Rig) -> tuple[str, str]:
    """alice posts on a.test; (her account id, her post's id) as b.test knows them."""
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        posted = await alice.post("/api/v1/statuses", json={"status": "Reply-all storm, sorry"})
    assert posted.status_code == 200, posted.text
    await rig.drain()
    found = await rig.status("b.test", posted.json()["uri"])
    assert found is not None
    return str(found.account_id), str(found.id)


async def test_report_a_post_and_work_the_queue(rig: Rig) -> None:
    alice_id, post_id = await alices_post_on_b(rig)
    bob = await browser(rig, "b.test", "bob")
    moderator = await browser(rig, "a.test", "mod", moderator=True)
    carol = await browser(rig, "a.test", "carol")

    # Bob finds the Report link on alice's post and on her profile
    card = await bob.get(f"/web/statuses/{post_id}")
    form_path = f"/web/accounts/{alice_id}/report"
    assert f'href="{form_path}?status_id={post_id}"' in card.text
    profile = await bob.get(f"/web/accounts/{alice_id}")
    assert f'href="{form_path}"' in profile.text
    form = await bob.get(f"{form_path}?status_id={post_id}")
    assert form.status_code == 200, form.text
    assert "Also send to a.test" in text(form) and "Reply-all storm" in text(form)

    # Without the form's token nothing is filed
    fields = {"status_id": post_id, "comment": "Please stop", "category": "spam", "forward": "1"}
    refused = await bob.post(form_path, data=fields)
    assert refused.status_code == 403
    assert rows(rig, "b.test", "SELECT count(*) FROM reports") == [(0,)]

    # With it, the report is filed, on b.test and (forwarded) on a.test
    sent = await bob.post(form_path, data={"csrf_token": csrf_token(form), **fields})
    assert sent.status_code == 303 and sent.headers["location"] == f"{form_path}?sent=1"
    assert "Thank you" in text(await bob.get(sent.headers["location"]))
    assert rows(rig, "b.test", "SELECT category, comment, forwarded FROM reports") == [
        ("spam", "Please stop", 1)
    ]
    await rig.drain()

    # The moderator's queue on a.test shows it; carol, an employee, may not see it
    assert (await carol.get(QUEUE)).status_code == 403
    assert f'href="{QUEUE}"' in (await moderator.get("/web/home")).text  # the nav's Reports
    assert f'href="{QUEUE}"' not in (await carol.get("/web/home")).text
    queue = await moderator.get(QUEUE)
    assert queue.status_code == 200, queue.text
    shown = text(queue)
    assert "Reported by b.test (forwarded from that division)" in shown
    assert "Reply-all storm, sorry" in shown and "Please stop" in shown
    assert "Assigned to nobody" in shown
    (report_id,) = [row[0] for row in rows(rig, "a.test", "SELECT id FROM reports")]
    # and the moderator's notifications point at it
    notified = await moderator.get("/web/notifications")
    assert "filed a report" in text(notified) and "About @alice@a.test: Please stop" in text(
        notified
    )
    assert f'href="{QUEUE}#report-{report_id}"' in notified.text

    async def act(action: str, **extra: str) -> httpx.Response:
        page = await moderator.get(QUEUE)
        path = f"{QUEUE}/{report_id}/{action}"
        assert f'action="{path}"' in page.text, action
        # without the token: refused, nothing done
        assert (await moderator.post(path, data=extra)).status_code == 403
        return await moderator.post(path, data={"csrf_token": csrf_token(page), **extra})

    # carol's own valid token does not let her act
    carol_token = csrf_token(await carol.get("/web/home"))
    assert (
        await carol.post(f"{QUEUE}/{report_id}/resolve", data={"csrf_token": carol_token})
    ).status_code == 403
    assert rows(rig, "a.test", "SELECT count(*) FROM audit_log WHERE action LIKE 'report.%'") == [
        (1,)
    ]  # only 'report.received'

    assert (await act("assign")).status_code == 303
    assert "Assigned to @mod@a.test" in text(await moderator.get(QUEUE))
    assert (await act("note", content="Talked to <alice>; she will stop")).status_code == 303
    page = await moderator.get(QUEUE)
    assert "Talked to &lt;alice&gt;; she will stop" in page.text  # escaped
    assert re.search(r"mod, <time", page.text)
    assert (await act("resolve")).status_code == 303
    assert "No open reports." in text(await moderator.get(QUEUE))
    assert "Please stop" in text(await moderator.get(f"{QUEUE}?resolved=1"))
    page = await moderator.get(f"{QUEUE}?resolved=1")
    path = f"{QUEUE}/{report_id}/reopen"
    assert (await moderator.post(path, data={"csrf_token": csrf_token(page)})).status_code == 303
    assert "Please stop" in text(await moderator.get(QUEUE))

    actions = rows(
        rig, "a.test", "SELECT action, actor_name, origin FROM audit_log"
        " WHERE action LIKE 'report.%' ORDER BY id",
    )  # fmt: skip
    assert actions == [
        ("report.received", "b.test", "federation"),
        ("report.assign", "mod", "web"),
        ("report.note", "mod", "web"),
        ("report.resolve", "mod", "web"),
        ("report.reopen", "mod", "web"),
    ]
    assert rows(
        rig, "b.test", "SELECT action, origin FROM audit_log WHERE action LIKE 'report.%'"
    ) == [("report.create", "web")]

    # alice deletes her post: the report still names it, the queue says it is gone
    alice = await rig.api_client("a.test", "alice")
    (on_a,) = [row[0] for row in rows(rig, "a.test", "SELECT status_id FROM report_statuses")]
    async with alice:
        assert (await alice.delete(f"/api/v1/statuses/{on_a}")).status_code == 200
    shown = text(await moderator.get(QUEUE))
    assert "1 post(s) no longer here" in shown and "Reply-all storm" not in shown


async def test_report_form_of_a_colleague_has_no_forward_box(rig: Rig) -> None:
    await rig.user("b.test", "dave")
    dave = await rig.account("b.test", rig.services("b.test").uris.actor("dave"))
    assert dave is not None
    bob = await browser(rig, "b.test", "bob")
    form = await bob.get(f"/web/accounts/{dave.id}/report")
    assert form.status_code == 200
    assert "Also send to" not in form.text and 'name="forward"' not in form.text
    # a post id that is not dave's is not put on the report
    sent = await bob.post(
        f"/web/accounts/{dave.id}/report",
        data={"csrf_token": csrf_token(form), "comment": "x" * 1001, "category": "other"},
    )
    assert sent.status_code == 422 and "too long" in sent.text
    assert rows(rig, "b.test", "SELECT count(*) FROM reports") == [(0,)]
    # one cannot report oneself
    me = await rig.account("b.test", rig.services("b.test").uris.actor("bob"))
    assert me is not None
    assert (await bob.get(f"/web/accounts/{me.id}/report")).status_code == 422
