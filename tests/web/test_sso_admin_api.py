"""IT links and unlinks single sign-on identities through the admin API (issue 10: each tool
has an admin API), as `watercooler sso link/unlink` does: same rows, same audit entries, origin
'api'. In process (tests/rig.py); linking needs no provider running, only the `[oidc]` issuer
of the config, which every identity belongs to."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from store import audit, oidc, users
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.config import OidcConfig

from .signing import csrf_token, sign_in

DOMAIN = "a.test"
ISSUER = "https://id.corp.example"
PATH = "/api/v1/admin/sso/identities"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    config = replace(
        make_config(DOMAIN),
        oidc=OidcConfig(issuer=f"{ISSUER}/", client_id="watercooler", client_secret="s3cret"),
    )
    async with Rig([config]) as rig:
        yield rig


async def _user_ids(rig: Rig, name: str) -> tuple[int, int]:
    """(account id, user id) of a local user, made if new."""
    account = await rig.user(DOMAIN, name)
    async with rig.services(DOMAIN).db.read() as conn:
        user = await users.get_by_account_id(conn, account.id)
    assert user is not None
    return account.id, user.id


async def test_an_admin_lists_links_and_unlinks_identities(rig: Rig) -> None:
    asmith, asmith_user = await _user_ids(rig, "asmith")
    bjones, _ = await _user_ids(rig, "bjones")
    svc = rig.services(DOMAIN)
    async with await rig.admin_client(DOMAIN) as admin:
        assert (await admin.get(PATH)).json() == []
        # link: the configured issuer (without its trailing slash), the subject as given
        linked = await admin.post(PATH, data={"account_id": str(asmith), "subject": "u-Alice"})
        assert linked.status_code == 200, linked.text
        assert linked.json()["account_id"] == str(asmith)
        assert (linked.json()["username"], linked.json()["issuer"]) == ("asmith", ISSUER)
        assert linked.json()["subject"] == "u-Alice"
        assert linked.json()["last_sign_in_at"] is None
        async with svc.db.read() as conn:
            found = await oidc.find_identity(conn, ISSUER, "u-Alice")
        assert found is not None and found.user_id == asmith_user
        # a JSON body too; the list, and one account's
        second = await admin.post(PATH, json={"account_id": bjones, "subject": "u-bob"})
        assert second.status_code == 200, second.text
        everyone = (await admin.get(PATH)).json()
        assert [(i["username"], i["subject"]) for i in everyone] == [
            ("asmith", "u-Alice"),
            ("bjones", "u-bob"),
        ]
        only = (await admin.get(PATH, params={"account_id": str(bjones)})).json()
        assert [i["subject"] for i in only] == ["u-bob"]
        # an identity is one person's
        taken = await admin.post(PATH, data={"account_id": str(bjones), "subject": "u-Alice"})
        assert taken.status_code == 422 and "linked already" in taken.json()["error"]
        # unlink, by account and subject as the CLI names it; not someone else's
        wrong = await admin.request(
            "DELETE", PATH, params={"account_id": str(bjones), "subject": "u-Alice"}
        )
        assert wrong.status_code == 404
        gone = await admin.request(
            "DELETE", PATH, params={"account_id": str(asmith), "subject": "u-Alice"}
        )
        assert gone.status_code == 200, gone.text
        assert [i["subject"] for i in (await admin.get(PATH)).json()] == ["u-bob"]
    async with svc.db.read() as conn:
        assert await oidc.find_identity(conn, ISSUER, "u-Alice") is None
        rows = await audit.page(conn, action="user.link_identity") + await audit.page(
            conn, action="user.unlink_identity"
        )
    summary = sorted(
        (r.action, r.origin, r.actor_name, r.target, r.details["subject"]) for r in rows
    )
    assert summary == [
        ("user.link_identity", "api", "admin", "asmith", "u-Alice"),
        ("user.link_identity", "api", "admin", "bjones", "u-bob"),
        ("user.unlink_identity", "api", "admin", "asmith", "u-Alice"),
    ]
    assert all(
        r.details == {"method": "oidc", "issuer": ISSUER, "subject": r.details["subject"]}
        for r in rows
    )


async def test_non_admins_and_bad_input_change_nothing(rig: Rig) -> None:
    asmith, _ = await _user_ids(rig, "asmith")
    svc = rig.services(DOMAIN)
    instance_actor = await rig.account(DOMAIN, svc.uris.instance_actor)
    assert instance_actor is not None
    async with await rig.api_client(
        DOMAIN, "mallory", scopes="read write admin:read admin:write"
    ) as mallory:
        assert (await mallory.get(PATH)).status_code == 403
        refused = await mallory.post(PATH, data={"account_id": str(asmith), "subject": "u-m"})
        assert refused.status_code == 403
    async with await rig.admin_client(DOMAIN) as admin:
        for params in (
            {"account_id": "999999", "subject": "u-x"},  # no such account
            {"account_id": str(instance_actor.id), "subject": "u-x"},  # no user behind it
            {"account_id": "nope", "subject": "u-x"},
            {"subject": "u-x"},
            {"account_id": str(asmith)},
            {"account_id": str(asmith), "subject": "x" * 256},  # OIDC Core: at most 255
            {"account_id": str(asmith), "subject": "ünïcode"},  # ASCII only
        ):
            answer = await admin.post(PATH, data=params)
            assert answer.status_code == 422, (params, answer.text)
        listing = await admin.get(PATH, params={"account_id": "999999"})
        assert listing.status_code == 422
    async with svc.db.read() as conn:
        assert await oidc.list_identities(conn) == []
        assert await audit.page(conn, action="user.link_identity") == []


async def test_the_admin_page_links_and_unlinks(rig: Rig) -> None:
    await _user_ids(rig, "asmith")
    await (await rig.admin_client(DOMAIN)).aclose()  # the admin, with its password
    await _user_ids(rig, "bob")
    svc = rig.services(DOMAIN)
    async with rig.client(DOMAIN) as bobs:
        assert (await sign_in(bobs, "bob", "password123")).status_code == 303
        assert (await bobs.get("/web/admin/sso")).status_code == 403
    async with rig.client(DOMAIN) as browser:
        assert (await sign_in(browser, "admin", "password123")).status_code == 303
        page = await browser.get("/web/admin/sso")
        assert page.status_code == 200 and "No identity is linked yet" in page.text
        forged = await browser.post(
            "/web/admin/sso/link",
            data={"csrf_token": "forged", "username": "asmith", "subject": "u-x"},
        )
        assert forged.status_code == 403
        hostile = "<script>alert(1)</script>"
        linked = await browser.post(
            "/web/admin/sso/link",
            data={"csrf_token": csrf_token(page), "username": "asmith", "subject": hostile},
        )
        assert linked.status_code == 303, linked.text
        page = await browser.get("/web/admin/sso")
        assert hostile not in page.text and html.escape(hostile) in page.text
        refused = await browser.post(
            "/web/admin/sso/link",
            data={"csrf_token": csrf_token(page), "username": "nobody", "subject": "u-y"},
        )
        assert refused.status_code == 422 and "no user" in refused.text
        unlinked = await browser.post(
            "/web/admin/sso/unlink",
            data={
                "csrf_token": csrf_token(page),
                "username": "asmith",
                "issuer": ISSUER,
                "subject": hostile,
            },
        )
        assert unlinked.status_code == 303, unlinked.text
        assert "No identity is linked yet" in (await browser.get("/web/admin/sso")).text
    async with svc.db.read() as conn:
        rows = await audit.page(conn, action="user.link_identity") + await audit.page(
            conn, action="user.unlink_identity"
        )
    assert sorted((r.action, r.origin, r.target) for r in rows) == [
        ("user.link_identity", "web", "asmith"),
        ("user.unlink_identity", "web", "asmith"),
    ]
