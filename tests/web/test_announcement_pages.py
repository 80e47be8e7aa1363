"""Announcements on the web pages, over HTTP in process: the banner on every signed-in page
with its Dismiss form (CSRF, no JavaScript), the management page for admins and announcers
only (publish, edit, withdraw), and the announcer toggle on the admin users page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx

from store import announcements as stored
from store import audit
from watercooler.accounts import create_user
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
Instance = tuple[Services, httpx.AsyncClient]
NAV_LINK = '<a href="/web/announcements"'


def browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser (its own cookies) on the same instance."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url)


async def person(client: httpx.AsyncClient, svc: Services, name: str, **kw: bool) -> None:
    await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, **kw)
    assert (await sign_in(client, name, PASSWORD)).status_code == 303


async def form_post(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    token = csrf_token(await client.get(page))
    return await client.post(action, data={"csrf_token": token, **fields})


def banner(page: httpx.Response) -> str:
    found = re.search(r'<section class="announcements".*?</section>', page.text, re.S)
    return found.group(0) if found else ""


async def test_an_announcer_manages_and_everyone_sees_the_banner(instance: Instance) -> None:
    svc, root = instance
    await person(root, svc, "root", admin=True)
    alice, carol = browser(root), browser(root)
    await person(alice, svc, "alice")
    await person(carol, svc, "carol")

    # alice is no announcer: no link, no page, no publishing
    home = await alice.get("/web/home")
    assert NAV_LINK not in home.text and banner(home) == ""
    assert (await alice.get("/web/announcements")).status_code == 403
    refused = await form_post(alice, "/web/home", "/web/announcements", text="Hi all")
    assert refused.status_code == 403

    # the admin makes her an announcer on the users page
    made = await form_post(
        root, "/web/admin/users", "/web/admin/users/alice/role", role="announcer", granted="1"
    )
    assert made.status_code == 303
    users_page = await root.get("/web/admin/users")
    assert "Remove announcer" in users_page.text
    assert NAV_LINK in (await alice.get("/web/home")).text

    # she publishes: bad input is refused with the reason, a forged form does nothing
    page = "/web/announcements"
    empty = await form_post(alice, page, page, text="  ")
    assert empty.status_code == 422 and "needs text" in empty.text
    backwards = await form_post(
        alice, page, page, text="x", starts_at="2026-02-02T10:00", ends_at="2026-02-01T10:00"
    )
    assert backwards.status_code == 422 and "end after it starts" in backwards.text
    forged = await alice.post(page, data={"csrf_token": "nope", "text": "Forged"})
    assert forged.status_code == 403
    sent = await form_post(alice, page, page, text="Fire drill at 3 <script>alert(1)</script>")
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=published")
    async with svc.db.read() as conn:
        [record] = await stored.managed(conn)
    listed = await alice.get(page)
    assert "Fire drill at 3" in listed.text and "<script>alert" not in listed.text

    # every signed-in page shows it to carol, until she dismisses it
    for path in ("/web/home", "/web/org", "/web/search"):
        assert "Fire drill at 3" in banner(await carol.get(path)), path
    dismissed = await form_post(
        carol, "/web/org", f"/web/announcements/{record.id}/dismiss", next="/web/org"
    )
    assert dismissed.status_code == 303 and dismissed.headers["location"] == "/web/org"
    assert banner(await carol.get("/web/org")) == ""
    assert "Fire drill at 3" in banner(await root.get("/web/home"))  # root did not dismiss

    # edited, then withdrawn
    edit_form = await alice.get(f"{page}?edit={record.id}")
    assert "Fire drill at 3" in edit_form.text and "Save and send the change" in edit_form.text
    edited = await form_post(alice, page, f"{page}/{record.id}", text="Fire drill moved to 4")
    assert edited.status_code == 303
    assert "Fire drill moved to 4" in banner(await root.get("/web/home"))
    withdrawn = await form_post(alice, page, f"{page}/{record.id}/withdraw")
    assert withdrawn.status_code == 303
    assert banner(await root.get("/web/home")) == ""
    assert "None yet" in (await alice.get(page)).text

    async with svc.db.read() as conn:
        actions = [(e.action, e.origin) for e in await audit.chain(conn)]
    assert ("user.grant_role", "web") in actions
    assert ("announcement.publish", "web") in actions and (
        "announcement.withdraw",
        "web",
    ) in actions

    # taking the role back closes the page again
    await form_post(
        root, "/web/admin/users", "/web/admin/users/alice/role", role="announcer", granted="0"
    )
    assert (await alice.get(page)).status_code == 403
