"""The admin pages over HTTP, in process, as a browser without JavaScript uses them: only
admins get in, every form needs its CSRF token, and what they do shows in the audit log."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from store import audit, deliveries, users
from store.audit import AuditEntry
from tests.watercooler.test_admin import PASSWORD, _dead_delivery
from tests.web.signing import csrf_token, sign_in
from watercooler.accounts import create_user
from watercooler.admin import Actor, AdminActions
from watercooler.peering import peer_statuses
from watercooler.services import Services

Instance = tuple[Services, httpx.AsyncClient]
PAGES = (
    "/web/admin",
    "/web/admin/users",
    "/web/admin/peers",
    "/web/admin/queue",
    "/web/admin/domain_blocks",
    "/web/admin/settings",
    "/web/admin/audit",
)
FORMS = (
    ("/web/admin/users", {"username": "mallory"}),
    ("/web/admin/users/root/disable", {}),
    ("/web/admin/users/root/enable", {}),
    ("/web/admin/users/root/reset_password", {}),
    ("/web/admin/users/bob/admin", {"admin": "1"}),
    ("/web/admin/peers", {"domain": "evil.test"}),
    ("/web/admin/queue/retry", {}),
    ("/web/admin/domain_blocks", {"domain": "eng.test"}),
    ("/web/admin/settings", {"name": "Pwned"}),
)


async def _user(svc: Services, name: str, *, admin: bool = False) -> None:
    await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, admin=admin)


@pytest.fixture
async def root(instance: Instance) -> httpx.AsyncClient:
    """The instance's client signed in as root, an admin; bob is an employee."""
    svc, client = instance
    await _user(svc, "root", admin=True)
    await _user(svc, "bob")
    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    return client


async def _submit(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    """GET `page`, then POST its form fields to `action` with the page's CSRF token."""
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_token(shown), **fields})


def _admin_rows(rows: list[AuditEntry]) -> list[AuditEntry]:
    """The admin actions among the log's rows: without the sign-ins, which are rows too."""
    return [row for row in rows if not row.action.startswith("auth.")]


async def _nothing_changed(svc: Services) -> None:
    async with svc.db.read() as conn:
        assert _admin_rows(await audit.page(conn)) == []
        root = await users.get_by_username(conn, "root")
        assert await users.get_by_username(conn, "mallory") is None
    assert root is not None and not root.disabled and not root.must_change_password
    assert not svc.policy.is_peer("evil.test")
    assert svc.config.instance.name == "a.test"


async def test_anonymous_visitors_go_to_sign_in(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "root", admin=True)
    for path in PAGES:
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/web/sign_in?next=%2Fweb%2Fadmin")
    for path, fields in FORMS:
        answer = await client.post(path, data=fields)
        assert answer.status_code == 303, path
    await _nothing_changed(svc)


async def test_employees_who_are_not_admins_get_403(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "root", admin=True)
    await _user(svc, "bob")
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    home = await client.get("/web/home")
    assert 'href="/web/admin"' not in home.text  # no Admin link for bob
    for path in PAGES:
        answer = await client.get(path)
        assert answer.status_code == 403, path
        assert "administrators" in answer.text
    token = csrf_token(home)  # a valid token of bob's own session does not help
    for path, fields in FORMS:
        answer = await client.post(path, data={"csrf_token": token, **fields})
        assert answer.status_code == 403, path
    await _nothing_changed(svc)


async def test_every_form_needs_its_csrf_token(instance: Instance, root: httpx.AsyncClient) -> None:
    svc, _ = instance
    for token in (None, "forged"):
        for path, fields in FORMS:
            data = {**fields, **({"csrf_token": token} if token else {})}
            answer = await root.post(path, data=data)
            assert answer.status_code == 403, (path, token)
            assert "expired" in answer.text
    await _nothing_changed(svc)


async def test_every_page_shows_for_an_admin(instance: Instance, root: httpx.AsyncClient) -> None:
    for path in PAGES:
        answer = await root.get(path)
        assert answer.status_code == 200, path
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert f'href="{path}" aria-current="page"' in answer.text, path
        assert "<small>a.test · Watercooler</small>" in answer.text, path  # the shared context


async def test_a_new_user_gets_a_one_time_password_shown_once(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, client = instance
    answer = await _submit(root, "/web/admin/users", "/web/admin/users", username="carol")
    assert answer.status_code == 200
    shown = re.search(r'<code class="password">([^<]+)</code>', answer.text)
    assert shown is not None
    password = shown.group(1)
    assert "carol" in answer.text
    again = await root.get("/web/admin/users")
    assert password not in again.text
    assert "one-time password" in again.text  # carol's state in the table
    async with svc.db.read() as conn:
        carol = await users.get_by_username(conn, "carol")
    assert carol is not None and carol.must_change_password and not carol.admin
    client.cookies.clear()
    assert (await sign_in(client, "carol", password)).status_code == 303


async def test_reset_disable_and_admin_role_from_the_users_page(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, _ = instance
    reset = await _submit(root, "/web/admin/users", "/web/admin/users/bob/reset_password")
    assert reset.status_code == 200 and '<code class="password">' in reset.text
    made = await _submit(root, "/web/admin/users", "/web/admin/users/bob/admin", admin="1")
    assert made.status_code == 303
    assert "bob is now an admin" in (await root.get(made.headers["location"])).text
    disabled = await _submit(root, "/web/admin/users", "/web/admin/users/bob/disable")
    assert disabled.status_code == 303
    refused = await _submit(root, "/web/admin/users", "/web/admin/users/root/disable")
    assert refused.status_code == 422 and "only admin" in refused.text
    async with svc.db.read() as conn:
        bob = await users.get_by_username(conn, "bob")
        rows = _admin_rows(await audit.page(conn))
    assert bob is not None and bob.admin and bob.disabled and bob.must_change_password
    assert [(r.action, r.target, r.origin) for r in reversed(rows)] == [
        ("user.reset_password", "bob", "web"),
        ("user.make_admin", "bob", "web"),
        ("user.disable", "bob", "web"),
    ]


async def test_a_disabled_user_is_enabled_again_and_signs_in_afresh(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    """Enabling lets the person sign in again, but nothing issued before the disabling (the
    browser session they had) comes back to life."""
    svc, _ = instance
    async with httpx.AsyncClient(
        transport=root._transport, base_url=str(root.base_url)
    ) as bobs_browser:
        assert (await sign_in(bobs_browser, "bob", PASSWORD)).status_code == 303
        assert (await bobs_browser.get("/web/home")).status_code == 200
        disabled = await _submit(root, "/web/admin/users", "/web/admin/users/bob/disable")
        assert disabled.status_code == 303
        assert (await bobs_browser.get("/web/home")).status_code == 303
        listed = await root.get("/web/admin/users")
        assert 'action="/web/admin/users/bob/enable"' in listed.text
        enabled = await _submit(root, "/web/admin/users", "/web/admin/users/bob/enable")
        assert enabled.status_code == 303
        assert "bob is enabled again" in (await root.get(enabled.headers["location"])).text
        assert (await bobs_browser.get("/web/home")).status_code == 303  # the old session
        bobs_browser.cookies.clear()
        assert (await sign_in(bobs_browser, "bob", PASSWORD)).status_code == 303
        assert (await bobs_browser.get("/web/home")).status_code == 200
    async with svc.db.read() as conn:
        bob = await users.get_by_username(conn, "bob")
        rows = _admin_rows(await audit.page(conn))
    assert bob is not None and not bob.disabled
    assert [(r.action, r.target) for r in reversed(rows)] == [
        ("user.disable", "bob"),
        ("user.enable", "bob"),
    ]


async def test_a_peer_added_on_the_page_is_in_peer_status(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, _ = instance
    added = await _submit(
        root, "/web/admin/peers", "/web/admin/peers", domain="Eng.Test", name="Engineering"
    )
    assert added.status_code == 303
    page = await root.get(added.headers["location"])
    assert "eng.test added" in page.text
    assert "Engineering" in page.text and "no/no" in page.text
    [status] = await peer_statuses(svc.db)  # what `watercooler peer status` prints
    assert (status.peer.domain, status.peer.name, status.peer.source) == (
        "eng.test",
        "Engineering",
        "admin",
    )
    assert svc.policy.is_peer("eng.test")  # at once, not at the next poll
    bad = await _submit(root, "/web/admin/peers", "/web/admin/peers", domain="not a domain")
    assert bad.status_code == 422 and "Not a domain name" in bad.text
    removed = await _submit(root, "/web/admin/peers", "/web/admin/peers/eng.test/remove")
    assert removed.status_code == 303
    assert await peer_statuses(svc.db) == []
    assert not svc.policy.is_peer("eng.test")


async def test_dead_deliveries_are_listed_and_retried(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _dead_delivery(svc, "eng.test")
    page = await root.get("/web/admin/queue")
    assert "http://eng.test/inbox" in page.text and "HTTP 500" in page.text
    retried = await _submit(root, "/web/admin/queue", "/web/admin/queue/retry", host="eng.test")
    assert retried.status_code == 303
    assert "1 dead deliveries queued again" in (await root.get(retried.headers["location"])).text
    async with svc.db.read() as conn:
        assert (await deliveries.counts(conn))["dead"] == 0


async def test_domain_blocks_and_settings_from_their_pages(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, client = instance
    blocked = await _submit(
        root,
        "/web/admin/domain_blocks",
        "/web/admin/domain_blocks",
        domain="spam.example",
        severity="silence",
        reason="<script>alert(1)</script>",
    )
    assert blocked.status_code == 303
    page = await root.get("/web/admin/domain_blocks")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert" not in page.text
    assert svc.policy.is_silenced("spam.example")
    saved = await _submit(
        root,
        "/web/admin/settings",
        "/web/admin/settings",
        name="Sales",
        description="The sales division",
        default_visibility="org",
    )
    assert saved.status_code == 303
    shown = (await root.get("/web/admin/settings")).text
    assert "<title>Instance settings — Sales</title>" in shown  # the pages use it at once
    assert "The sales division</textarea>" in shown
    document = (await client.get("/api/v1/instance")).json()
    assert (document["title"], document["description"]) == ("Sales", "The sales division")
    bad = await _submit(
        root, "/web/admin/settings", "/web/admin/settings", default_visibility="everyone"
    )
    assert bad.status_code == 422 and "must be one of" in bad.text


async def test_the_audit_page_lists_filters_and_pages_the_actions(
    instance: Instance, root: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _submit(root, "/web/admin/peers", "/web/admin/peers", domain="eng.test")
    ops = Actor(None, "ops", "cli")
    admin = AdminActions.of(svc)
    for number in range(55):
        await admin.block_domain(ops, f"d{number}.example")
    page = await root.get("/web/admin/audit")
    assert page.status_code == 200
    assert "d54.example" in page.text and "d5.example" in page.text
    assert "d4.example" not in page.text  # 56 entries, 50 a page
    older = re.search(r'href="(/web/admin/audit\?[^"]*before=\d+)"', page.text)
    assert older is not None
    second = await root.get(older.group(1).replace("&amp;", "&"))
    assert "d4.example" in second.text and "d54.example" not in second.text
    assert "eng.test" in second.text
    only_peers = await root.get("/web/admin/audit", params={"action": "peer.add"})
    assert "eng.test" in only_peers.text and "d1.example" not in only_peers.text
    only_root = await root.get("/web/admin/audit", params={"actor": "root"})
    assert "<code>peer.add</code>" in only_root.text
    assert "<code>domain.block</code>" not in only_root.text
    overview = await root.get("/web/admin")
    assert "d54.example" in overview.text  # the latest actions
    # read-only: no form on the audit page posts anywhere
    assert 'method="post" action="/web/admin/audit' not in page.text
    assert (await root.post("/web/admin/audit", data={})).status_code == 405
