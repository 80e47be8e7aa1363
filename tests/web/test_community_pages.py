"""The community pages over HTTP, in process, across two divisions as a browser without
JavaScript uses them: alice starts a community on a.test, bob on b.test finds it, joins it,
writes to it from its page, and both read the post there; a moderator's buttons (pin,
remove, let in) work and are refused to a member; every form is CSRF-checked."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import MakeConfig
from tests.rig import Rig

from .signing import csrf_token, sign_in

PASSWORD = "password123"  # what tests.rig.Rig.user gives


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        yield rig


async def browser(rig: Rig, domain: str, name: str) -> httpx.AsyncClient:
    """A client signed in to `domain`'s pages as `name` (created here)."""
    await rig.user(domain, name)
    client = rig.client(domain)
    answer = await sign_in(client, name, PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


def text(page: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


async def submit(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """Send the form whose action is `action` on `page`, as the browser would."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    assert f'action="{action}"' in shown.text, (page, action)
    return await client.post(action, data={"csrf_token": csrf_token(shown), **fields})


async def test_create_join_post_and_read_a_community_across_divisions(rig: Rig) -> None:
    alice = await browser(rig, "a.test", "alice")
    bob = await browser(rig, "b.test", "bob")
    # alice starts a community from the list page
    made = await submit(
        alice,
        "/web/communities",
        "/web/communities",
        name="newhires",
        display_name="New hires",
        description="Welcome aboard <b>everyone</b>",
    )
    assert made.status_code == 303
    page_a = made.headers["location"]
    shown = await alice.get(page_a)
    assert shown.status_code == 200
    assert "<h1" in shown.text and "New hires" in text(shown)
    assert "Welcome aboard <b>everyone</b>" in text(shown)  # escaped, shown as text
    assert "<b>everyone</b>" not in shown.text
    assert "you moderate it" in text(shown)
    listed = await alice.get("/web/communities")
    assert "New hires" in text(listed) and 'href="/web/communities' in listed.text
    # bob, on b.test, finds it by its handle and joins from its page
    found = await bob.get("/web/@newhires@a.test")
    assert found.status_code in (302, 303, 307), found.text
    group_at_b = found.headers["location"].rsplit("/", 1)[1]
    page_b = f"/web/communities/{group_at_b}"
    joined = await submit(bob, page_b, f"{page_b}/join")
    assert joined.status_code == 303
    await rig.drain()
    assert "you are a member" in text(await bob.get(page_b))
    # bob writes to it from its page; both divisions show the post there
    posted = await submit(
        bob, page_b, f"{page_b}/post", status="Hi all, I start Monday", visibility="public"
    )
    assert posted.status_code == 303
    await rig.drain()
    assert "I start Monday" in text(await alice.get(page_a))
    assert "I start Monday" in text(await bob.get(page_b))
    # bob is no moderator: no moderation buttons, and a forged moderation form is refused
    bob_page = await bob.get(page_b)
    assert "Remove from the community" not in bob_page.text
    (status_id,) = re.findall(r'id="status-(\d+)"', (await alice.get(page_a)).text)[:1]
    refused = await bob.post(
        f"{page_b}/settings", data={"csrf_token": csrf_token(bob_page), "moderators": "bob"}
    )
    assert refused.status_code == 403
    # alice pins it: it heads the page; then removes it: it is gone on both divisions
    pinned = await submit(alice, page_a, f"{page_a}/statuses/{status_id}/pin")
    assert pinned.status_code == 303
    await rig.drain()
    shown = await alice.get(page_a)
    assert "Unpin from the community" in shown.text and 'id="pinned-heading"' in shown.text
    assert 'id="pinned-heading"' in (await bob.get(page_b)).text
    removed = await submit(alice, page_a, f"{page_a}/statuses/{status_id}/remove")
    assert removed.status_code == 303
    await rig.drain()
    assert "I start Monday" not in text(await alice.get(page_a))
    assert "I start Monday" not in text(await bob.get(page_b))
    # a form without its CSRF token does nothing
    forged = await alice.post(f"{page_a}/settings", data={"moderators": "alice"})
    assert forged.status_code == 403


async def test_approval_from_the_moderation_section(rig: Rig) -> None:
    alice = await browser(rig, "a.test", "alice")
    bob = await browser(rig, "b.test", "bob")
    made = await submit(
        alice, "/web/communities", "/web/communities", name="leads", approval_required="true"
    )
    page_a = made.headers["location"]
    group_at_b = (await bob.get("/web/@leads@a.test")).headers["location"].rsplit("/", 1)[1]
    page_b = f"/web/communities/{group_at_b}"
    asked = await submit(bob, page_b, f"{page_b}/join")
    assert asked.status_code == 303
    await rig.drain()
    waiting = await bob.get(page_b)
    assert "waiting for a moderator" in text(waiting)
    assert "Only members read this community" in text(waiting)
    shown = await alice.get(page_a)
    assert "bob@b.test" in text(shown)
    (bob_at_a,) = re.findall(r'/accounts/(\d+)/authorize"', shown.text)
    let_in = await submit(alice, page_a, f"{page_a}/accounts/{bob_at_a}/authorize")
    assert let_in.status_code == 303
    await rig.drain()
    assert "you are a member" in text(await bob.get(page_b))
