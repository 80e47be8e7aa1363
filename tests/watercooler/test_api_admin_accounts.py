"""Mastodon's admin accounts API (`/api/v1/admin/accounts`, `/api/v2/admin/accounts`):
who may call it, the Admin::Account entity, the filters and paging, the actions and their
undoing, a report resolved by an action, and deleting a suspended account's data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from store import audit, moderation, reports, roles, users
from store.records import AccountRecord
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.accounts import create_token

ADMIN_ACCOUNT_KEYS = [
    "id",
    "username",
    "domain",
    "created_at",
    "email",
    "ip",
    "ips",
    "locale",
    "invite_request",
    "role",
    "confirmed",
    "approved",
    "disabled",
    "silenced",
    "sensitized",
    "suspended",
    "account",
]


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config("a.test", peers=("b.test",)), make_config("b.test", peers=("a.test",))]
    async with Rig(configs) as rig:
        yield rig


async def moderator_client(
    rig: Rig, name: str = "mia", scopes: str = "admin:read admin:write"
) -> httpx.AsyncClient:
    """A client of a.test as `name`, who holds the moderator role (not admin)."""
    svc = rig.services("a.test")
    if await rig.account("a.test", svc.uris.actor(name)) is None:
        await rig.user("a.test", name)
        async with svc.db.transaction() as conn:
            user = await users.get_by_username(conn, name)
            assert user is not None
            await roles.grant(conn, user.id, roles.MODERATOR, datetime.now(UTC))
    token = await create_token(svc.db, name, tuple(scopes.split()), datetime.now(UTC))
    return httpx.AsyncClient(
        transport=rig.router, base_url="http://a.test", headers={"Authorization": f"Bearer {token}"}
    )


async def remote(rig: Rig, name: str) -> AccountRecord:
    """A person of b.test as a.test knows them."""
    person = await rig.user("b.test", name)
    known = await rig.services("a.test").actors.get(person.uri)
    assert known is not None
    return known


async def listed(client: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return [entry["username"] for entry in answer.json()]


async def test_the_admin_account_entity(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    erin = await remote(rig, "erin")
    async with await rig.admin_client("a.test") as admin:
        local = (await admin.get(f"/api/v1/admin/accounts/{dave.id}")).json()
        other = (await admin.get(f"/api/v1/admin/accounts/{erin.id}")).json()
        missing = await admin.get("/api/v1/admin/accounts/12345")
    assert list(local) == ADMIN_ACCOUNT_KEYS
    assert (local["id"], local["username"], local["domain"]) == (str(dave.id), "dave", None)
    assert (local["confirmed"], local["approved"], local["ips"], local["ip"]) == (
        True,
        True,
        [],
        None,
    )
    assert local["role"]["name"] == "" or local["role"]["id"] == "-99"
    assert (local["disabled"], local["silenced"], local["suspended"], local["sensitized"]) == (
        False,
        False,
        False,
        False,
    )
    assert local["account"]["acct"] == "dave"
    assert (other["domain"], other["email"], other["role"], other["confirmed"]) == (
        "b.test",
        None,
        None,
        False,
    )
    assert missing.status_code == 404


async def test_who_may_call_it(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    root = await rig.user("a.test", "root")
    async with rig.services("a.test").db.transaction() as conn:
        user = await users.get_by_username(conn, "root")
        assert user is not None
        await users.set_admin(conn, user.id, True)
    # an employee, even with the admin scopes, is refused
    async with await rig.api_client("a.test", "bob", "admin:read admin:write") as bob:
        assert (await bob.get("/api/v1/admin/accounts")).status_code == 403
        refused = await bob.post(
            f"/api/v1/admin/accounts/{dave.id}/action", data={"type": "suspend"}
        )
        assert refused.status_code == 403
    # a moderator without the admin scopes is refused too
    async with await moderator_client(rig, scopes="read write") as mia:
        assert (await mia.get("/api/v1/admin/accounts")).status_code == 403
    async with await moderator_client(rig) as mia:
        assert (await mia.get("/api/v1/admin/accounts")).status_code == 200
        # a moderator may not act on an admin, nor on themselves
        on_admin = await mia.post(
            f"/api/v1/admin/accounts/{root.id}/action", data={"type": "silence"}
        )
        assert on_admin.status_code == 403
        me = await rig.account("a.test", rig.services("a.test").uris.actor("mia"))
        assert me is not None
        on_self = await mia.post(f"/api/v1/admin/accounts/{me.id}/action", data={"type": "silence"})
        assert on_self.status_code == 403
        # but on an employee, yes
        fine = await mia.post(f"/api/v1/admin/accounts/{dave.id}/action", json={"type": "silence"})
        assert (fine.status_code, fine.json()) == (200, {})
        # a moderator may not delete data (Mastodon's delete_user_data is the admin's)
        await mia.post(f"/api/v1/admin/accounts/{dave.id}/action", data={"type": "suspend"})
        assert (await mia.delete(f"/api/v1/admin/accounts/{dave.id}")).status_code == 403
    async with rig.services("a.test").db.read() as conn:
        assert not (await moderation.get(conn, root.id)).limited
        entries = await audit.page(conn, action="account.")
    assert [(e.action, e.actor_name, e.origin) for e in reversed(entries)] == [
        ("account.limit", "mia", "api"),
        ("account.suspend", "mia", "api"),
    ]


async def test_filters_of_both_versions_and_paging(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    await rig.user("a.test", "dora")
    erin = await remote(rig, "erin")
    async with await rig.admin_client("a.test") as admin:
        await admin.post(f"/api/v1/admin/accounts/{dave.id}/action", data={"type": "silence"})
        await admin.post(f"/api/v1/admin/accounts/{erin.id}/action", data={"type": "suspend"})
        await admin.post(f"/api/v1/admin/accounts/{dave.id}/action", data={"type": "sensitive"})
        v1, v2 = "/api/v1/admin/accounts", "/api/v2/admin/accounts"
        assert await listed(admin, v1, local="true") == ["admin", "dora", "dave"]
        assert await listed(admin, v1, remote="true") == ["erin"]
        assert await listed(admin, v1, silenced="true") == ["dave"]
        assert await listed(admin, v1, suspended="true") == ["erin"]
        assert await listed(admin, v1, sensitized="true") == ["dave"]
        assert await listed(admin, v1, active="true", local="true") == ["admin", "dora", "dave"]
        assert await listed(admin, v1, username="DO") == ["dora"]
        assert await listed(admin, v1, by_domain="b.test") == ["erin"]
        assert await listed(admin, v1, staff="true") == ["admin"]
        assert await listed(admin, v1, pending="true") == []
        assert await listed(admin, v2, origin="remote") == ["erin"]
        assert await listed(admin, v2, status="silenced") == ["dave"]
        assert await listed(admin, v2, origin="local", permissions="staff") == ["admin"]
        assert (await admin.get(v2, params={"origin": "mars"})).status_code == 422
        first = await admin.get(v1, params={"local": "true", "limit": "2"})
        assert [a["username"] for a in first.json()] == ["admin", "dora"]
        assert 'rel="next"' in first.headers["link"] and "local=true" in first.headers["link"]
        following = first.links["next"]["url"]
        assert [a["username"] for a in (await admin.get(following)).json()] == ["dave"]
        shown = (await admin.get(f"{v1}/{dave.id}")).json()
    assert (shown["silenced"], shown["sensitized"], shown["account"]["limited"]) == (
        True,
        True,
        True,
    )


async def test_actions_and_their_undoing(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    async with await rig.admin_client("a.test") as admin:
        base = f"/api/v1/admin/accounts/{dave.id}"
        bad = await admin.post(f"{base}/action", data={"type": "explode"})
        assert bad.status_code == 422
        for kind, undo, key in (
            ("disable", "enable", "disabled"),
            ("silence", "unsilence", "silenced"),
            ("sensitive", "unsensitive", "sensitized"),
            ("suspend", "unsuspend", "suspended"),
        ):
            assert (await admin.post(f"{base}/action", data={"type": kind})).json() == {}
            assert (await admin.get(base)).json()[key] is True, kind
            undone = await admin.post(f"{base}/{undo}")
            assert undone.status_code == 200 and undone.json()[key] is False, undo
    async with rig.services("a.test").db.read() as conn:
        kinds = [w.action for w in await moderation.warnings_of(conn, dave.id)]
        entries = [e.action for e in reversed(await audit.page(conn, action="account."))]
    assert kinds == ["suspend", "sensitive", "silence", "disable"]  # each action told to dave
    assert entries == [
        "account.disable",
        "account.enable",
        "account.limit",
        "account.unlimit",
        "account.sensitive",
        "account.unsensitive",
        "account.suspend",
        "account.unsuspend",
    ]


async def test_an_action_with_a_report_resolves_it(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    bob = await rig.user("a.test", "bob")
    svc = rig.services("a.test")
    async with svc.db.transaction() as conn:
        report = await reports.create(
            conn,
            svc.db.new_id(),
            account_id=bob.id,
            target_account_id=dave.id,
            status_ids=[],
            comment="rude",
            category="other",
            now=svc.clock(),
        )
    assert report is not None
    async with await rig.admin_client("a.test") as admin:
        answer = await admin.post(
            f"/api/v1/admin/accounts/{dave.id}/action",
            json={"type": "silence", "report_id": str(report.id), "text": "Be nice"},
        )
    assert answer.status_code == 200, answer.text
    async with svc.db.read() as conn:
        resolved = await reports.get(conn, report.id)
        [warning] = await moderation.warnings_of(conn, dave.id)
    assert resolved is not None and resolved.action_taken_at is not None
    assert resolved.action_taken == "silence"
    assert (warning.action, warning.text, warning.report_id) == ("silence", "Be nice", report.id)


async def test_deleting_a_suspended_accounts_data(rig: Rig) -> None:
    dave = await rig.user("a.test", "dave")
    svc = rig.services("a.test")
    post = await svc.publisher.post(dave, "to be removed")
    async with await rig.admin_client("a.test") as admin:
        base = f"/api/v1/admin/accounts/{dave.id}"
        assert (await admin.delete(base)).status_code == 403  # not suspended
        await admin.post(f"{base}/action", data={"type": "suspend"})
        answer = await admin.delete(base)
    assert answer.status_code == 200, answer.text
    entity: dict[str, Any] = answer.json()
    assert (entity["id"], entity["suspended"]) == (str(dave.id), True)
    gone = await rig.status("a.test", post.uri)
    assert gone is not None and gone.deleted_at is not None
