"""The settings pages over HTTP, in process: profile (saved by update_credentials' own code and
shown by the API), avatar, default visibility, password change, authorised apps with revoke,
the forced change of a one-time password (web and OAuth sign-in), and the OAuth pages on the
web pages' templates and CSP."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from PIL import Image

from store import users
from watercooler.accounts import create_token, create_user
from watercooler.passwords import verify_password
from watercooler.services import Services

from ..watercooler.test_oauth import OOB, authorize_query, hidden_fields, register
from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple gun lighthouse"
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str, password: str | None = PASSWORD) -> str | None:
    """Create `name`; the one-time password when none is given."""
    created = await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=password)
    return created.generated_password


def _browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser (its own cookies) on the same instance."""
    return httpx.AsyncClient(transport=client._transport, base_url=client.base_url)


@pytest.fixture
async def alice(instance: Instance) -> httpx.AsyncClient:
    svc, client = instance
    await _user(svc, "alice")
    answer = await sign_in(client, "alice", PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


async def _token(svc: Services, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
    token = await create_token(svc.db, "alice", scopes, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def _submit(
    client: httpx.AsyncClient,
    page: str,
    action: str,
    data: dict[str, str],
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    """Open `page`, then post its form to `action` with the page's CSRF token."""
    form = await client.get(page)
    assert form.status_code == 200, form.text
    fields = {"csrf_token": csrf_token(form), **data}
    if files is not None:
        return await client.post(action, data=fields, files=files)
    return await client.post(action, data=fields)


def _png(color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "PNG")
    return buffer.getvalue()


PROFILE = {
    "display_name": "Alice Liddell",
    "note": "Finance & <b>reports</b>",
    "fields_attributes[0][name]": "Department",
    "fields_attributes[0][value]": "Sales",
    "fields_attributes[1][name]": "Pronouns",
    "fields_attributes[1][value]": "she/her",
    "fields_attributes[2][name]": "",
    "fields_attributes[2][value]": "",
    "fields_attributes[3][name]": "",
    "fields_attributes[3][value]": "",
    "discoverable": "1",
}


# ----- access --------------------------------------------------------------------------------


async def test_settings_need_a_session(instance: Instance) -> None:
    _, client = instance
    for path in (
        "/web/settings",
        "/web/settings/preferences",
        "/web/settings/password",
        "/web/settings/apps",
    ):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == f"/web/sign_in?next={quote(path, safe='')}"


async def test_settings_pages_share_a_navigation(alice: httpx.AsyncClient) -> None:
    page = await alice.get("/web/settings/preferences")
    assert page.status_code == 200
    nav = re.search(
        r'<nav class="settings-sections" aria-label="Settings">(.*?)</nav>', page.text, re.S
    )
    assert nav is not None
    assert '<a href="/web/settings/preferences" aria-current="page">Preferences</a>' in nav.group(1)
    for href in ("/web/settings", "/web/settings/password", "/web/settings/apps"):
        assert f'href="{href}"' in nav.group(1)
    assert "settings.css" in page.text and "style=" not in page.text


# ----- profile -------------------------------------------------------------------------------


async def test_the_profile_is_saved_as_the_api_saves_it(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    answer = await _submit(alice, "/web/settings", "/web/settings", PROFILE, files={})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/web/settings?done=profile"

    me = await _me(alice, headers)
    assert me["display_name"] == "Alice Liddell"
    assert me["source"]["note"] == "Finance & <b>reports</b>"
    assert "<b>" not in me["note"]  # the bio is text, escaped as the API escapes it
    assert [(f["name"], f["value"]) for f in me["source"]["fields"]] == [
        ("Department", "Sales"),
        ("Pronouns", "she/her"),
    ]
    assert me["discoverable"] is True and me["locked"] is False

    page = await alice.get("/web/settings?done=profile")
    assert "Your profile is saved." in page.text
    assert 'value="Alice Liddell"' in page.text
    assert "Finance &amp; &lt;b&gt;reports&lt;/b&gt;</textarea>" in page.text
    assert 'value="Department"' in page.text and 'value="Sales"' in page.text

    # the directory lists her under her department (the field the directory filters on)
    listed = await alice.get(
        "/api/v1/directory", params={"local": "true", "department": "Sales"}, headers=headers
    )
    assert [a["username"] for a in listed.json()] == ["alice"]

    # unticked boxes are not sent by a browser: they still switch the setting off
    again = {**PROFILE, "locked": "1"}
    del again["discoverable"]
    assert (
        await _submit(alice, "/web/settings", "/web/settings", again, files={})
    ).status_code == 303
    me = await _me(alice, headers)
    assert me["locked"] is True and me["discoverable"] is False


async def test_an_avatar_is_processed_stored_and_served(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    before = (await _me(alice, headers))["avatar"]
    assert before.endswith("/avatars/original/missing.png")
    answer = await _submit(
        alice,
        "/web/settings",
        "/web/settings",
        PROFILE,
        files={"avatar": ("me.png", _png(), "image/png")},
    )
    assert answer.status_code == 303, answer.text
    avatar = (await _me(alice, headers))["avatar"]
    assert avatar != before and avatar.startswith("http://a.test/media/")
    served = await alice.get(avatar)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/")
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.width == image.height  # cropped square as update_credentials' avatar
    page = await alice.get("/web/settings")
    assert f'src="{avatar}"' in page.text

    # a form sent again without a file keeps the avatar
    await _submit(
        alice,
        "/web/settings",
        "/web/settings",
        PROFILE,
        files={"avatar": ("", b"", "application/octet-stream")},
    )
    assert (await _me(alice, headers))["avatar"] == avatar


async def test_a_refused_profile_says_why_and_changes_nothing(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    too_long = {**PROFILE, "display_name": "x" * 31}
    answer = await _submit(alice, "/web/settings", "/web/settings", too_long, files={})
    assert answer.status_code == 422
    assert "display_name is longer than 30 characters" in answer.text
    assert 'value="' + "x" * 31 + '"' in answer.text  # what was typed is kept
    not_an_image = await _submit(
        alice,
        "/web/settings",
        "/web/settings",
        PROFILE,
        files={"avatar": ("me.png", b"not a picture", "image/png")},
    )
    assert not_an_image.status_code == 422
    me = await _me(alice, headers)
    assert me["display_name"] == "alice" and me["source"]["fields"] == []


# ----- preferences ---------------------------------------------------------------------------


async def test_the_default_visibility_is_the_compose_boxs(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    page = await alice.get("/web/settings/preferences")
    assert 'value="public" checked' in page.text
    answer = await _submit(
        alice, "/web/settings/preferences", "/web/settings/preferences", {"privacy": "org"}
    )
    assert answer.status_code == 303
    assert (await _me(alice, headers))["source"]["privacy"] == "org"
    page = await alice.get("/web/settings/preferences?done=preferences")
    assert 'value="org" checked' in page.text and "Your preferences are saved." in page.text
    home = await alice.get("/web/home")
    assert '<option value="org" selected>' in home.text

    bad = await _submit(
        alice, "/web/settings/preferences", "/web/settings/preferences", {"privacy": "everyone"}
    )
    assert bad.status_code == 422
    assert (await _me(alice, headers))["source"]["privacy"] == "org"


# ----- password ------------------------------------------------------------------------------


async def _change(
    client: httpx.AsyncClient, current: str, new: str, again: str | None = None, **extra: str
) -> httpx.Response:
    data = {
        "current_password": current,
        "new_password": new,
        "confirm_password": new if again is None else again,
        **extra,
    }
    return await _submit(client, "/web/settings/password", "/web/settings/password", data)


async def test_a_password_change(instance: Instance, alice: httpx.AsyncClient) -> None:
    svc, client = instance
    headers = await _token(svc)
    elsewhere = _browser(client)
    async with elsewhere:
        assert (await sign_in(elsewhere, "alice", PASSWORD)).status_code == 303

        wrong = await _change(alice, "not my password", NEW_PASSWORD)
        assert wrong.status_code == 401 and "current password is not right" in wrong.text
        differ = await _change(alice, PASSWORD, NEW_PASSWORD, again="staple gun lighthous")
        assert differ.status_code == 422 and "differ" in differ.text
        short = await _change(alice, PASSWORD, "short")
        assert short.status_code == 422 and "at least 8 characters" in short.text
        same = await _change(alice, PASSWORD, PASSWORD)
        assert same.status_code == 422
        async with svc.db.read() as conn:
            user = await users.get_by_username(conn, "alice")
        assert user is not None and verify_password(PASSWORD, user.password_hash)

        changed = await _change(alice, PASSWORD, NEW_PASSWORD)
        assert changed.status_code == 303
        assert changed.headers["location"] == "/web/settings/password?done=password"

        # this browser stays signed in, the other one is signed out, apps keep working
        assert (await alice.get("/web/home")).status_code == 200
        assert (await elsewhere.get("/web/home")).status_code == 303
        assert (
            await alice.get("/api/v1/accounts/verify_credentials", headers=headers)
        ).status_code == 200

        # the old password is refused, the new one works
        assert (await sign_in(elsewhere, "alice", PASSWORD)).status_code == 401
        assert (await sign_in(elsewhere, "alice", NEW_PASSWORD)).status_code == 303


async def test_a_password_change_may_sign_every_app_out(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    changed = await _change(alice, PASSWORD, NEW_PASSWORD, end_app_tokens="1")
    assert changed.headers["location"] == "/web/settings/password?done=password_apps"
    answer = await alice.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert answer.status_code == 401


async def test_forms_without_csrf_token_change_nothing(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    headers = await _token(svc)
    await alice.get("/web/settings")  # the CSRF cookie is there; the token is not sent
    posts = {
        "/web/settings": {"display_name": "Mallory", "discoverable": "1"},
        "/web/settings/preferences": {"privacy": "private"},
        "/web/settings/password": {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        "/web/settings/apps/cli/revoke": {},
    }
    for action, data in posts.items():
        refused = await alice.post(action, data=data)
        assert refused.status_code == 403, action
        forged = await alice.post(action, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, action
    me = await _me(alice, headers)  # the token still works: no revoke happened
    assert me["display_name"] == "alice" and me["source"]["privacy"] == "public"
    async with svc.db.read() as conn:
        user = await users.get_by_username(conn, "alice")
    assert user is not None and verify_password(PASSWORD, user.password_hash)


# ----- authorised apps -----------------------------------------------------------------------


async def _authorize_app(client: httpx.AsyncClient, app: dict[str, Any]) -> dict[str, Any]:
    """The signed-in browser authorizes `app` (OOB) and the app exchanges the code."""
    consent = await client.get(authorize_query(app))
    assert consent.status_code == 200 and "Authorize" in consent.text
    answer = await client.post(
        "/oauth/authorize", data={**hidden_fields(consent.text), "decision": "authorize"}
    )
    code = re.search(r'id="authorization-code" type="text" readonly value="([^"]+)"', answer.text)
    assert code is not None, answer.text
    grant = await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code.group(1),
            "redirect_uri": OOB,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert grant.status_code == 200, grant.text
    return grant.json()  # type: ignore[no-any-return]


async def test_revoking_an_app_ends_its_tokens_at_once(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, client = instance
    app = await register(client, client_name="Tusky <beta>", website="https://tusky.example")
    other = await register(client, client_name="Ivory")
    grant = await _authorize_app(alice, app)
    kept = await _authorize_app(alice, other)
    await _token(svc, ("read",))  # a CLI token: listed too
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert (
        await alice.get("/api/v1/accounts/verify_credentials", headers=bearer)
    ).status_code == 200

    page = await alice.get("/web/settings/apps")
    assert page.status_code == 200
    assert "Tusky &lt;beta&gt;" in page.text and "Ivory" in page.text
    assert 'href="https://tusky.example"' in page.text
    assert "<code>read</code> <code>write</code>" in page.text
    assert "Command-line token" in page.text
    revoke = re.search(r'action="(/web/settings/apps/(\d+)/revoke)"', page.text)
    assert revoke is not None
    tusky_action = f"/web/settings/apps/{app['id']}/revoke"
    assert f'action="{tusky_action}"' in page.text

    answer = await alice.post(tusky_action, data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/settings/apps?done=revoked"

    assert (
        await alice.get("/api/v1/accounts/verify_credentials", headers=bearer)
    ).status_code == 401
    refreshed = await client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": grant["refresh_token"],
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    other_bearer = {"Authorization": f"Bearer {kept['access_token']}"}
    assert (
        await alice.get("/api/v1/accounts/verify_credentials", headers=other_bearer)
    ).status_code == 200

    page = await alice.get("/web/settings/apps?done=revoked")
    assert "signed out" in page.text
    assert "Tusky" not in page.text and "Ivory" in page.text

    unknown = await alice.post(
        "/web/settings/apps/nothing/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert unknown.status_code == 404


# ----- the forced change of a one-time password ----------------------------------------------


async def test_a_one_time_password_must_be_changed_first(instance: Instance) -> None:
    svc, client = instance
    one_time = await _user(svc, "carol", password=None)
    assert one_time
    answer = await sign_in(client, "carol", one_time)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/settings/password?next=%2Fweb%2Fhome"

    for path in ("/web/home", "/web/settings", "/web/settings/apps", "/web/org?max_id=5"):
        redirected = await client.get(path)
        assert redirected.status_code == 303, path
        assert (
            redirected.headers["location"] == f"/web/settings/password?next={quote(path, safe='')}"
        )
    page = await client.get("/web/settings/password?next=%2Fweb%2Fhome")
    assert page.status_code == 200
    assert "one-time password" in page.text and "Choose password" in page.text
    posted = await client.post(
        "/web/statuses", data={"csrf_token": csrf_token(page), "status": "hi"}
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith(
        "/web/settings/password"
    )
    # nor is anything read outside the pages: the live cards and the event stream
    assert (await client.get("/web/statuses/1/card")).status_code == 401
    stream = await asyncio.wait_for(client.get("/api/v1/streaming/public"), 5)
    assert stream.status_code == 401

    changed = await _submit(
        client,
        "/web/settings/password?next=%2Fweb%2Forg",
        "/web/settings/password",
        {
            "current_password": one_time,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "next": "/web/org",
        },
    )
    assert changed.status_code == 303
    assert changed.headers["location"] == "/web/org"
    assert (await client.get("/web/home")).status_code == 200
    async with svc.db.read() as conn:
        carol = await users.get_by_username(conn, "carol")
        statuses = await conn.execute_fetchall("SELECT count(*) FROM statuses")
    assert carol is not None and not carol.must_change_password
    assert statuses[0][0] == 0  # the post made before the change was not published


async def test_oauth_sign_in_with_a_one_time_password_goes_by_the_password_form(
    instance: Instance,
) -> None:
    svc, client = instance
    one_time = await _user(svc, "carol", password=None)
    assert one_time
    app = await register(client)
    password_grant = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "carol",
            "password": one_time,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )
    assert password_grant.status_code == 400
    assert "one-time password" in password_grant.json()["error_description"]

    query = authorize_query(app)
    form = await client.get(query)
    signed_in = await client.post(
        "/oauth/sign_in",
        data={**hidden_fields(form.text), "username": "carol", "password": one_time},
    )
    assert signed_in.status_code == 303
    location = signed_in.headers["location"]
    assert location.startswith("/web/settings/password?next=")
    back = parse_qs(urlsplit(location).query)["next"][0]
    assert back.startswith("/oauth/authorize?") and app["client_id"] in back
    again = await client.get(query)
    assert again.status_code == 303 and again.headers["location"] == location
    fresh = csrf_token(await client.get(location))  # a token of the signed-in browser
    refused = await client.post(
        "/oauth/authorize",
        data={**hidden_fields(form.text), "csrf_token": fresh, "decision": "authorize"},
    )
    assert refused.status_code == 303 and refused.headers["location"] == location

    changed = await _submit(
        client,
        location,
        "/web/settings/password",
        {
            "current_password": one_time,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "next": back,
        },
    )
    assert changed.status_code == 303 and changed.headers["location"] == back
    grant = await _authorize_app(client, app)
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer)
    assert me.status_code == 200 and me.json()["username"] == "carol"


# ----- the OAuth pages on the web pages' templates -------------------------------------------


def _assert_page(answer: httpx.Response) -> None:
    """An OAuth page: the web layout and stylesheet, no inline style, the pages' CSP."""
    text = answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "<style" not in text and "style=" not in text and "<script" not in text
    assert "watercooler.css" in text and 'class="site"' in text
    assert '<meta name="referrer" content="no-referrer">' in text
    csp = answer.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "style-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"


async def test_the_oauth_pages_are_web_pages(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "alice")
    app = await register(client, website="https://app.example")
    query = authorize_query(app)

    sign_in_page = await client.get(query)
    _assert_page(sign_in_page)
    wrong = await client.post(
        "/oauth/sign_in",
        data={**hidden_fields(sign_in_page.text), "username": "alice", "password": "nope"},
    )
    assert wrong.status_code == 401
    _assert_page(wrong)
    signed_in = await client.post(
        "/oauth/sign_in",
        data={**hidden_fields(sign_in_page.text), "username": "alice", "password": PASSWORD},
    )
    consent = await client.get(signed_in.headers["location"])
    _assert_page(consent)
    assert "@alice@a.test" in consent.text and "https://app.example" in consent.text
    # no form-action on the consent page: it redirects to the app's own (custom) scheme
    assert "form-action" not in consent.headers["content-security-policy"]

    fields = hidden_fields(consent.text)
    code = await client.post("/oauth/authorize", data={**fields, "decision": "authorize"})
    _assert_page(code)
    assert 'id="authorization-code"' in code.text
    denied = await client.post("/oauth/authorize", data={**fields, "decision": "deny"})
    _assert_page(denied)
    assert "Access denied" in denied.text
    neither = await client.post("/oauth/authorize", data={**fields, "decision": "maybe"})
    assert neither.status_code == 400
    _assert_page(neither)
    expired = await client.post("/oauth/authorize", data={**fields, "csrf_token": "stale"})
    assert expired.status_code == 403
    _assert_page(expired)
    assert "This form has expired" in expired.text
    failed = await client.get(authorize_query(app, redirect_uri="https://elsewhere.example/cb"))
    assert failed.status_code == 400
    _assert_page(failed)
    assert "Authorization failed" in failed.text
