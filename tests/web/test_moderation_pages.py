"""The account moderation pages (/web/admin/accounts) over HTTP, in process, as a browser
without JavaScript uses them: admins and moderators get in, others get 403, every form needs
its CSRF token, a moderator cannot act on an admin, and each action leaves its audit row."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from store import accounts, audit, moderation, roles, statuses, users
from tests.web.signing import csrf_token, sign_in
from watercooler.accounts import create_user
from watercooler.services import Services

Instance = tuple[Services, httpx.AsyncClient]
PASSWORD = "correct horse battery"


async def _user(svc: Services, name: str, *, admin: bool = False, moderator: bool = False) -> int:
    created = await create_user(
        svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, admin=admin
    )
    if moderator:
        async with svc.db.transaction() as conn:
            await roles.grant(conn, created.user.id, roles.MODERATOR, datetime.now(UTC))
    return created.account.id


@pytest.fixture
async def people(instance: Instance) -> dict[str, int]:
    """root (admin), mia (moderator), bob and dave (employees): their account ids."""
    svc, _ = instance
    return {
        "root": await _user(svc, "root", admin=True),
        "mia": await _user(svc, "mia", moderator=True),
        "bob": await _user(svc, "bob"),
        "dave": await _user(svc, "dave"),
    }


async def _actions(svc: Services) -> list[tuple[str, str, str]]:
    async with svc.db.read() as conn:
        entries = await audit.page(conn, action="account.")
    return [(e.action, e.actor_name, e.target) for e in reversed(entries)]


async def _submit(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    shown = await client.get(page)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_token(shown), **fields})


async def test_a_moderator_warns_limits_and_suspends_from_the_account_page(
    instance: Instance, people: dict[str, int]
) -> None:
    svc, client = instance
    assert (await sign_in(client, "mia", PASSWORD)).status_code == 303
    page = f"/web/admin/accounts/{people['dave']}"

    # the users page is for admins, but the accounts search and page are for moderators too
    found = await client.get("/web/admin/accounts", params={"q": "da"})
    assert found.status_code == 200 and f'href="{page}"' in found.text
    shown = await client.get(page)
    assert shown.status_code == 200 and "Moderate dave" in shown.text

    warned = await _submit(client, page, f"{page}/warn", text="<b>Please</b> stop.")
    assert warned.status_code == 303
    after = await client.get(warned.headers["location"])
    assert "dave was warned" in after.text
    assert "&lt;b&gt;Please&lt;/b&gt; stop." in after.text  # escaped
    assert (await _submit(client, page, f"{page}/limit")).status_code == 303
    assert (await _submit(client, page, f"{page}/suspend")).status_code == 303
    assert (await _submit(client, page, f"{page}/unsuspend")).status_code == 303
    assert (await _submit(client, page, f"{page}/unlimit")).status_code == 303
    assert await _actions(svc) == [
        ("account.warn", "mia", "dave"),
        ("account.limit", "mia", "dave"),
        ("account.suspend", "mia", "dave"),
        ("account.unsuspend", "mia", "dave"),
        ("account.unlimit", "mia", "dave"),
    ]


async def test_the_warning_shows_on_the_users_notifications_page(
    instance: Instance, people: dict[str, int]
) -> None:
    _, client = instance
    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    page = f"/web/admin/accounts/{people['bob']}"
    assert (await _submit(client, page, f"{page}/warn", text="Mind the tone")).status_code == 303
    client.cookies.clear()
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    notes = await client.get("/web/notifications")
    assert "moderation warning" in notes.text and "Mind the tone" in notes.text


async def test_forms_without_the_csrf_token_change_nothing(
    instance: Instance, people: dict[str, int]
) -> None:
    svc, client = instance
    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    page = f"/web/admin/accounts/{people['dave']}"
    for action in ("warn", "limit", "suspend", "delete_statuses"):
        answer = await client.post(f"{page}/{action}", data={"text": "x", "csrf_token": "forged"})
        assert answer.status_code == 403, action
    async with svc.db.read() as conn:
        assert not (await moderation.get(conn, people["dave"])).suspended
    assert await _actions(svc) == []


async def test_employees_get_403_and_moderators_cannot_touch_admins(
    instance: Instance, people: dict[str, int]
) -> None:
    svc, client = instance
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    assert (await client.get("/web/admin/accounts")).status_code == 403
    assert (await client.get(f"/web/admin/accounts/{people['dave']}")).status_code == 403
    client.cookies.clear()
    assert (await sign_in(client, "mia", PASSWORD)).status_code == 303
    page = f"/web/admin/accounts/{people['root']}"
    shown = await client.get(page)
    assert "only another admin may moderate them" in shown.text
    assert 'action="/web/admin/accounts/' not in shown.text
    refused = await _submit(client, page, f"{page}/suspend")
    assert refused.status_code == 403
    async with svc.db.read() as conn:
        root = await users.get_by_username(conn, "root")
    assert root is not None and not root.disabled
    assert await _actions(svc) == []


async def test_deleting_selected_posts(instance: Instance, people: dict[str, int]) -> None:
    svc, client = instance
    async with svc.db.read() as conn:
        dave = await accounts.get_by_id(conn, people["dave"])
    assert dave is not None
    first = await svc.publisher.post(dave, "first")
    second = await svc.publisher.post(dave, "second")
    assert (await sign_in(client, "mia", PASSWORD)).status_code == 303
    page = f"/web/admin/accounts/{people['dave']}"
    answer = await _submit(
        client, page, f"{page}/delete_statuses", **{"status_id[]": str(first.id)}
    )
    assert answer.status_code == 303
    async with svc.db.read() as conn:
        [entry] = await audit.page(conn, action="status.delete")
        gone, kept = (
            await statuses.get_by_id(conn, first.id),
            await statuses.get_by_id(conn, second.id),
        )
    assert gone is not None and gone.deleted_at is not None
    assert kept is not None and kept.deleted_at is None
    assert (entry.actor_name, entry.target, entry.origin) == ("mia", "dave", "web")
