"""OAuth 2 as Mastodon clients use it: apps, the sign-in and consent pages, every grant, PKCE,
refresh rotation, revocation and the RFC 8414 metadata, against an in-process instance whose
clock the tests turn."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import MakeConfig, running
from watercooler.accounts import create_token, create_user, disable_user
from watercooler.app import create_app
from watercooler.config import Config, DatabaseConfig, InstanceConfig, MediaConfig
from watercooler.oauth import (
    OOB,
    InvalidApplication,
    OAuthServer,
    SignInLimiter,
    check_redirect_uri,
    parse_scope_list,
    scopes_within,
)
from watercooler.services import Services

PASSWORD = "correct horse battery"
IVORY = "com.tapbots.Ivory.123:/request_token"
WEB = "https://app.example/callback"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Harness:
    app: Starlette
    client: httpx.AsyncClient
    clock: Clock
    base_url: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    def browser(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        """Another browser (own cookies), optionally from another address."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        browser = httpx.AsyncClient(transport=transport, base_url=self.base_url)
        self.clients.append(browser)
        return browser


async def _harness(config: Config) -> AsyncIterator[Harness]:
    clock = Clock()
    app = create_app(config, clock=clock, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        harness = Harness(app, client, clock, config.instance.base_url)
        svc = harness.services
        await create_user(
            svc.db, svc.uris, "alice", now=clock(), password=PASSWORD, email="alice@corp.example"
        )
        try:
            yield harness
        finally:
            for browser in harness.clients:
                await browser.aclose()


@pytest.fixture
async def h(make_config: MakeConfig) -> AsyncIterator[Harness]:
    async for harness in _harness(make_config("a.test")):
        yield harness


# -- helpers ---------------------------------------------------------------------------------


async def register(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    data = {"client_name": "Test App", "redirect_uris": OOB, "scopes": "read write follow push"}
    data.update(fields)
    response = await client.post("/api/v1/apps", data=data)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def hidden_fields(page: str) -> dict[str, str]:
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(app: dict[str, Any], **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": OOB,
        "scope": "read write",
    }
    params.update(extra)
    return "/oauth/authorize?" + urlencode(params)


async def sign_in(
    browser: httpx.AsyncClient, query: str, login: str = "alice", password: str = PASSWORD
) -> httpx.Response:
    """Open the authorization URL and submit the sign-in form; the answer to that POST."""
    page = await browser.get(query)
    assert page.status_code == 200, page.text
    assert 'name="password"' in page.text
    fields = hidden_fields(page.text)
    return await browser.post(
        "/oauth/sign_in", data={**fields, "username": login, "password": password}
    )


async def consent(browser: httpx.AsyncClient, query: str, decision: str = "authorize") -> str:
    """Sign in if needed, then answer the consent page; the code or the redirect location."""
    page = await browser.get(query)
    if 'name="password"' in page.text:
        signed_in = await sign_in(browser, query)
        assert signed_in.status_code == 303, signed_in.text
        page = await browser.get(signed_in.headers["location"])
    assert page.status_code == 200, page.text
    assert "Authorize" in page.text
    fields = hidden_fields(page.text)
    answer = await browser.post("/oauth/authorize", data={**fields, "decision": decision})
    if answer.status_code == 302:
        return answer.headers["location"]
    assert answer.status_code == 200, answer.text
    match = re.search(r'id="authorization-code" type="text" readonly value="([^"]+)"', answer.text)
    assert match, answer.text
    return match.group(1)


async def token(client: httpx.AsyncClient, app: dict[str, Any], **fields: str) -> httpx.Response:
    data = {"client_id": app["client_id"], "client_secret": app["client_secret"], **fields}
    return await client.post("/oauth/token", data=data)


async def exchange(
    client: httpx.AsyncClient, app: dict[str, Any], code: str, **fields: str
) -> httpx.Response:
    fields.setdefault("redirect_uri", OOB)
    return await token(client, app, grant_type="authorization_code", code=code, **fields)


async def verify(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get(
        "/api/v1/apps/verify_credentials", headers={"Authorization": f"Bearer {access_token}"}
    )


def location_params(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


# -- apps ------------------------------------------------------------------------------------


async def test_register_answers_a_credential_application(h: Harness) -> None:
    app = await register(
        h.client, redirect_uris=f"{OOB}\n{WEB}", website="https://app.example", scopes="read"
    )
    assert app["id"].isdigit()
    assert app["name"] == "Test App"
    assert app["website"] == "https://app.example"
    assert app["scopes"] == ["read"]
    assert app["redirect_uris"] == [OOB, WEB]
    assert app["redirect_uri"] == f"{OOB}\n{WEB}"
    assert app["client_secret_expires_at"] == 0
    assert len(app["client_id"]) >= 43 and len(app["client_secret"]) >= 43
    # Only a digest of the secret is kept.
    with sqlite3.connect(h.services.config.database.path) as conn:
        stored = conn.execute("SELECT client_secret_hash FROM oauth_applications").fetchone()[0]
    assert app["client_secret"] not in stored


async def test_register_takes_json_multipart_lists_and_defaults(h: Harness) -> None:
    by_json = await h.client.post(
        "/api/v1/apps",
        json={"client_name": "J", "redirect_uris": [OOB, IVORY], "scopes": "read write"},
    )
    assert by_json.status_code == 200
    assert by_json.json()["redirect_uris"] == [OOB, IVORY]
    multipart = await h.client.post(
        "/api/v1/apps",
        files={"client_name": (None, "M"), "redirect_uris": (None, f"{WEB} {IVORY}")},
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["redirect_uris"] == [WEB, IVORY]
    assert multipart.json()["scopes"] == ["read"]  # Mastodon's default
    arrays = await h.client.post(
        "/api/v1/apps",
        content=urlencode(
            [("client_name", "A"), ("redirect_uris[]", WEB), ("redirect_uris[]", OOB)]
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert arrays.json()["redirect_uris"] == [WEB, OOB]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"client_name": ""}, "name can't be blank"),
        ({"redirect_uris": ""}, "Redirect URI can't be blank"),
        ({"redirect_uris": "javascript:alert(1)"}, "javascript"),
        ({"redirect_uris": "https://app.example/cb#frag"}, "fragment"),
        ({"redirect_uris": "/relative/path"}, "absolute URI"),
        ({"scopes": "read bogus"}, "bogus"),
        ({"website": "not a url"}, "Website"),
        ({"client_name": "x" * 61}, "too long"),
    ],
)
async def test_register_refuses_bad_input_with_422(
    h: Harness, fields: dict[str, str], message: str
) -> None:
    data = {"client_name": "Test", "redirect_uris": OOB, **fields}
    response = await h.client.post("/api/v1/apps", data=data)
    assert response.status_code == 422
    assert response.json()["error"].startswith("Validation failed: ")
    assert message in response.json()["error"]


def test_redirect_uri_rules() -> None:
    for good in (
        OOB,
        WEB,
        IVORY,
        "http://127.0.0.1:8000/cb",
        "http://localhost/cb",
        "http://[::1]/",
    ):
        assert check_redirect_uri(good, allow_any_http=False) == good
    with pytest.raises(InvalidApplication, match="https"):
        check_redirect_uri("http://app.example/cb", allow_any_http=False)
    assert check_redirect_uri("http://app.example/cb", allow_any_http=True)
    for bad in ("data:text/html,x", "vbscript:x", "com.example.app:", "https:///x"):
        with pytest.raises(InvalidApplication):
            check_redirect_uri(bad, allow_any_http=True)


def test_scope_inclusion() -> None:
    assert parse_scope_list(None) == ("read",)
    assert parse_scope_list("read read:statuses  write") == ("read", "read:statuses", "write")
    assert scopes_within(("read", "write"), ("read:statuses", "write:media"))
    assert scopes_within(("admin:read",), ("admin:read:accounts",))
    assert scopes_within(("follow",), ("write:follows",))
    assert not scopes_within(("read:statuses",), ("read",))
    assert not scopes_within(("read",), ("admin:read",))
    assert not scopes_within(("read",), ("write",))
    with pytest.raises(ValueError, match="read:nothing"):
        parse_scope_list("read:nothing")


# -- the authorization code flow -------------------------------------------------------------


async def test_code_flow_with_oob_gives_a_working_token(h: Harness) -> None:
    app = await register(h.client)
    code = await consent(h.browser(), authorize_query(app))
    answer = await exchange(h.client, app, code)
    assert answer.status_code == 200, answer.text
    grant = answer.json()
    assert grant["token_type"] == "Bearer"
    assert grant["scope"] == "read write"
    assert grant["created_at"] == int(h.clock().timestamp())
    assert grant["refresh_token"] and grant["refresh_token"] != grant["access_token"]
    assert answer.headers["cache-control"] == "no-store"
    me = await verify(h.client, grant["access_token"])
    assert me.status_code == 200
    assert me.json()["name"] == "Test App"
    assert me.json()["scopes"] == ["read", "write", "follow", "push"]
    assert me.json()["redirect_uris"] == [OOB]
    assert "client_secret" not in me.json()


async def test_consent_page_names_the_app_the_account_and_the_scopes(h: Harness) -> None:
    app = await register(h.client, client_name="Ivory <for> Mastodon", website="https://x.example")
    browser = h.browser()
    signed_in = await sign_in(browser, authorize_query(app, scope="read write:statuses"))
    page = await browser.get(signed_in.headers["location"])
    assert "Ivory &lt;for&gt; Mastodon" in page.text
    assert "@alice@a.test" in page.text
    assert "<code>read</code>" in page.text and "<code>write:statuses</code>" in page.text
    assert "Deny" in page.text
    assert "<script" not in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_custom_scheme_redirect_gets_code_and_state(h: Harness) -> None:
    app = await register(h.client, redirect_uris=IVORY)
    location = await consent(h.browser(), authorize_query(app, redirect_uri=IVORY, state="xyz 1/2"))
    assert location.startswith(f"{IVORY}?code=")
    params = location_params(location)
    assert params["state"] == "xyz 1/2"
    answer = await exchange(h.client, app, params["code"], redirect_uri=IVORY)
    assert answer.status_code == 200, answer.text


async def test_deny_redirects_with_access_denied(h: Harness) -> None:
    app = await register(h.client, redirect_uris=WEB)
    location = await consent(
        h.browser(), authorize_query(app, redirect_uri=WEB, state="s1"), decision="deny"
    )
    assert location_params(location) == {"error": "access_denied", "state": "s1"}
    assert location.startswith(WEB + "?")


async def test_a_signed_in_browser_goes_straight_to_consent_unless_forced(h: Harness) -> None:
    app = await register(h.client)
    browser = h.browser()
    await consent(browser, authorize_query(app))
    again = await browser.get(authorize_query(app))
    assert "Authorize" in again.text and 'name="password"' not in again.text
    forced = await browser.get(authorize_query(app, force_login="true"))
    assert 'name="password"' in forced.text
    not_forced = await browser.get(authorize_query(app, force_login="False"))  # Mastodon.py
    assert 'name="password"' not in not_forced.text


async def test_pkce_s256_verified(h: Harness) -> None:
    app = await register(h.client)
    verifier, challenge = pkce_pair()
    query = authorize_query(app, code_challenge=challenge, code_challenge_method="S256")
    code = await consent(h.browser(), query)
    # Required once a challenge was sent; a wrong verifier fails; neither uses up the code.
    missing = await exchange(h.client, app, code)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_grant")
    wrong = await exchange(h.client, app, code, code_verifier=pkce_pair()[0])
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert "code_verifier" in wrong.json()["error_description"]
    right = await exchange(h.client, app, code, code_verifier=verifier)
    assert right.status_code == 200, right.text


async def test_pkce_plain_is_refused_and_a_verifier_without_challenge_too(h: Harness) -> None:
    app = await register(h.client, redirect_uris=WEB)
    plain = await h.browser().get(
        authorize_query(
            app, redirect_uri=WEB, code_challenge="x" * 43, code_challenge_method="plain"
        )
    )
    assert plain.status_code == 302
    assert location_params(plain.headers["location"])["error"] == "invalid_request"
    code = location_params(await consent(h.browser(), authorize_query(app, redirect_uri=WEB)))
    sneaky = await exchange(
        h.client, app, code["code"], redirect_uri=WEB, code_verifier=pkce_pair()[0]
    )
    assert sneaky.json()["error"] == "invalid_grant"


async def test_a_code_works_once_and_a_replay_revokes_its_token(h: Harness) -> None:
    app = await register(h.client)
    code = await consent(h.browser(), authorize_query(app))
    first = await exchange(h.client, app, code)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert (await verify(h.client, access)).status_code == 200
    replay = await exchange(h.client, app, code)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")
    assert (await verify(h.client, access)).status_code == 401


async def test_a_code_expires_after_ten_minutes(h: Harness) -> None:
    app = await register(h.client)
    browser = h.browser()
    fresh = await consent(browser, authorize_query(app))
    stale = await consent(browser, authorize_query(app))
    h.clock.advance(minutes=9, seconds=59)
    assert (await exchange(h.client, app, fresh)).status_code == 200
    h.clock.advance(seconds=2)
    expired = await exchange(h.client, app, stale)
    assert (expired.status_code, expired.json()["error"]) == (400, "invalid_grant")
    assert "expired" in expired.json()["error_description"]


async def test_a_code_belongs_to_its_app(h: Harness) -> None:
    app, other = await register(h.client), await register(h.client)
    code = await consent(h.browser(), authorize_query(app))
    stolen = await exchange(h.client, other, code)
    assert stolen.json()["error"] == "invalid_grant"


async def test_unregistered_redirect_uri_shows_an_error_page_and_never_redirects(
    h: Harness,
) -> None:
    app = await register(h.client, redirect_uris=WEB)
    for uri in ("https://evil.example/cb", WEB + "/more", WEB + "?x=1"):
        page = await h.browser().get(authorize_query(app, redirect_uri=uri))
        assert page.status_code == 400
        assert "location" not in page.headers
        assert "not one this application registered" in page.text
    unknown = await h.browser().get(authorize_query({"client_id": "nope"}, redirect_uri=WEB))
    assert unknown.status_code == 400 and "location" not in unknown.headers


async def test_token_redirect_uri_must_equal_the_authorization_one(h: Harness) -> None:
    app = await register(h.client, redirect_uris=f"{OOB} {WEB}")
    code = await consent(h.browser(), authorize_query(app))
    mismatch = await exchange(h.client, app, code, redirect_uri=WEB)
    assert (mismatch.status_code, mismatch.json()["error"]) == (400, "invalid_grant")
    assert (await exchange(h.client, app, code)).status_code == 200


async def test_scopes_beyond_the_app_are_refused(h: Harness) -> None:
    app = await register(h.client, scopes="read", redirect_uris=f"{WEB} {OOB}")
    refused = await h.browser().get(
        authorize_query(app, redirect_uri=WEB, scope="read write", state="st")
    )
    assert refused.status_code == 302
    params = location_params(refused.headers["location"])
    assert (params["error"], params["state"]) == ("invalid_scope", "st")
    oob = await h.browser().get(authorize_query(app, scope="admin:read"))
    assert oob.status_code == 400 and "invalid_scope" in oob.text
    for grant in (
        {"grant_type": "password", "username": "alice", "password": PASSWORD},
        {"grant_type": "client_credentials"},
    ):
        answer = await token(h.client, app, scope="read write", **grant)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_scope")
    narrower = await token(h.client, app, grant_type="client_credentials", scope="read:statuses")
    assert narrower.json()["scope"] == "read:statuses"


# -- the other grants ------------------------------------------------------------------------


async def test_password_grant_with_username_or_email(h: Harness) -> None:
    app = await register(h.client)
    for login in ("alice", "ALICE", "@alice@a.test", "alice@corp.example", "Alice@Corp.Example"):
        answer = await token(
            h.client, app, grant_type="password", username=login, password=PASSWORD, scope="read"
        )
        assert answer.status_code == 200, (login, answer.text)
        assert answer.json()["scope"] == "read"
        assert "refresh_token" in answer.json()
    wrong = await token(h.client, app, grant_type="password", username="alice", password="nope")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    nobody = await token(h.client, app, grant_type="password", username="bob", password=PASSWORD)
    assert nobody.json()["error"] == "invalid_grant"


async def test_password_grant_can_be_turned_off(h: Harness) -> None:
    h.app.state.oauth = OAuthServer(h.services, password_grant=False)
    app = await register(h.client)
    answer = await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    assert (answer.status_code, answer.json()["error"]) == (400, "unsupported_grant_type")
    metadata = (await h.client.get("/.well-known/oauth-authorization-server")).json()
    assert "password" not in metadata["grant_types_supported"]


async def test_password_grant_follows_the_config(make_config: MakeConfig) -> None:
    config = make_config("a.test")
    off = dataclasses.replace(config, oauth=dataclasses.replace(config.oauth, password_grant=False))
    async for harness in _harness(off):
        app = await register(harness.client)
        answer = await token(
            harness.client, app, grant_type="password", username="alice", password=PASSWORD
        )
        assert answer.json()["error"] == "unsupported_grant_type"


async def test_client_credentials_gives_an_app_token_without_a_user(h: Harness) -> None:
    app = await register(h.client)
    answer = await token(h.client, app, grant_type="client_credentials", scope="read write")
    assert answer.status_code == 200
    grant = answer.json()
    assert grant["scope"] == "read write" and "refresh_token" not in grant
    assert (await verify(h.client, grant["access_token"])).json()["name"] == "Test App"
    # It is not a user: endpoints that need one refuse it.
    outbox = await h.client.post(
        "/users/alice/outbox",
        json={"type": "Note", "content": "hi"},
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    assert outbox.status_code == 401
    default = await token(h.client, app, grant_type="client_credentials")
    assert default.json()["scope"] == "read"


async def test_client_authentication(h: Harness) -> None:
    app = await register(h.client)
    basic = httpx.BasicAuth(app["client_id"], app["client_secret"])
    by_basic = await h.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic
    )
    assert by_basic.status_code == 200, by_basic.text
    by_json = await h.client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert by_json.status_code == 200
    bad_basic = await h.client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=httpx.BasicAuth(app["client_id"], "wrong"),
    )
    assert (bad_basic.status_code, bad_basic.json()["error"]) == (401, "invalid_client")
    assert bad_basic.headers["www-authenticate"].startswith("Basic")
    for secret in ("wrong", ""):
        bad = await token(
            h.client, {**app, "client_secret": secret}, grant_type="client_credentials"
        )
        assert (bad.status_code, bad.json()["error"]) == (401, "invalid_client")
    unknown = await token(h.client, app, grant_type="magic")
    assert unknown.json()["error"] == "unsupported_grant_type"


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_chain(h: Harness) -> None:
    app = await register(h.client)
    first = (
        await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    ).json()
    h.clock.advance(hours=1)
    second = await token(
        h.client, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["scope"] == first["scope"]
    assert rotated["created_at"] == first["created_at"] + 3600
    assert (await verify(h.client, first["access_token"])).status_code == 401
    assert (await verify(h.client, rotated["access_token"])).status_code == 200
    narrowed = await token(
        h.client,
        app,
        grant_type="refresh_token",
        refresh_token=rotated["refresh_token"],
        scope="read",
    )
    assert narrowed.json()["scope"] == "read"
    latest = narrowed.json()
    # The old refresh token again: somebody copied it. Everything of the chain stops.
    reuse = await token(
        h.client, app, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    assert (await verify(h.client, latest["access_token"])).status_code == 401
    dead = await token(
        h.client, app, grant_type="refresh_token", refresh_token=latest["refresh_token"]
    )
    assert dead.json()["error"] == "invalid_grant"


# -- revocation ------------------------------------------------------------------------------


async def test_revoke_stops_a_token(h: Harness) -> None:
    app, other = await register(h.client), await register(h.client)
    grant = (
        await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    ).json()
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    foreign = await h.client.post(
        "/oauth/revoke",
        data={
            "token": grant["access_token"],
            "client_id": other["client_id"],
            "client_secret": other["client_secret"],
        },
    )
    assert (foreign.status_code, foreign.json()["error"]) == (403, "unauthorized_client")
    bad_client = await h.client.post(
        "/oauth/revoke", data={**creds, "client_secret": "x", "token": grant["access_token"]}
    )
    assert bad_client.status_code == 401
    assert (await verify(h.client, grant["access_token"])).status_code == 200
    revoked = await h.client.post("/oauth/revoke", data={**creds, "token": grant["access_token"]})
    assert (revoked.status_code, revoked.json()) == (200, {})
    assert (await verify(h.client, grant["access_token"])).status_code == 401
    again = await h.client.post("/oauth/revoke", data={**creds, "token": grant["access_token"]})
    assert again.status_code == 200  # idempotent
    unknown = await h.client.post("/oauth/revoke", data={**creds, "token": "never-issued"})
    assert unknown.status_code == 200
    refresh = await token(
        h.client, app, grant_type="refresh_token", refresh_token=grant["refresh_token"]
    )
    assert refresh.json()["error"] == "invalid_grant"  # the refresh token died with it


async def test_revoking_an_app_token_or_a_refresh_token(h: Harness) -> None:
    app = await register(h.client)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    app_token = (await token(h.client, app, grant_type="client_credentials")).json()
    await h.client.post("/oauth/revoke", data={**creds, "token": app_token["access_token"]})
    assert (await verify(h.client, app_token["access_token"])).status_code == 401
    grant = (
        await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    ).json()
    await h.client.post("/oauth/revoke", data={**creds, "token": grant["refresh_token"]})
    assert (await verify(h.client, grant["access_token"])).status_code == 401


async def test_verify_credentials_needs_a_live_token(h: Harness) -> None:
    assert (await h.client.get("/api/v1/apps/verify_credentials")).status_code == 401
    assert (await verify(h.client, "garbage")).json() == {"error": "The access token is invalid"}
    cli_token = await create_token(h.services.db, "alice", ("read",), h.clock())
    cli = await verify(h.client, cli_token)
    assert cli.status_code == 200 and cli.json()["scopes"] == ["read"]


# -- the pages: CSRF, disabled users, rate limit, cookies ------------------------------------


async def test_forms_without_the_right_csrf_token_are_refused(h: Harness) -> None:
    app = await register(h.client)
    browser = h.browser()
    query = authorize_query(app)
    page = await browser.get(query)
    fields = hidden_fields(page.text)
    credentials = {"username": "alice", "password": PASSWORD}
    for token_value in (None, "wrong", fields["csrf_token"][:-2] + "xx"):
        form = {**fields, **credentials}
        if token_value is None:
            del form["csrf_token"]
        else:
            form["csrf_token"] = token_value
        refused = await browser.post("/oauth/sign_in", data=form)
        assert refused.status_code == 403, token_value
    # A token without its cookie (another browser, a cross-site form) is refused too.
    stranger = h.browser()
    cross_site = await stranger.post("/oauth/sign_in", data={**fields, **credentials})
    assert cross_site.status_code == 403
    # The consent form likewise.
    signed_in = await browser.post("/oauth/sign_in", data={**fields, **credentials})
    assert signed_in.status_code == 303
    consent_page = await browser.get(signed_in.headers["location"])
    consent_fields = hidden_fields(consent_page.text)
    forged = await browser.post(
        "/oauth/authorize", data={**consent_fields, "csrf_token": "x", "decision": "authorize"}
    )
    assert forged.status_code == 403
    # The sign-in form's token is bound to no session and does not pass for the consent form.
    stale = await browser.post(
        "/oauth/authorize",
        data={**consent_fields, "csrf_token": fields["csrf_token"], "decision": "authorize"},
    )
    assert stale.status_code == 403
    # And the cookie expires.
    h.clock.advance(hours=2)
    late = await browser.post("/oauth/authorize", data={**consent_fields, "decision": "authorize"})
    assert late.status_code == 403


async def test_wrong_password_shows_the_form_again(h: Harness) -> None:
    app = await register(h.client)
    answer = await sign_in(h.browser(), authorize_query(app), password="wrong password")
    assert answer.status_code == 401
    assert "Invalid username, e-mail or password." in answer.text
    assert 'value="alice"' in answer.text
    assert "wrong password" not in answer.text


async def test_disabled_user_cannot_sign_in(h: Harness) -> None:
    app = await register(h.client)
    browser = h.browser()
    await consent(browser, authorize_query(app))  # a session exists
    await disable_user(h.services.db, "alice", h.clock())
    page = await browser.get(authorize_query(app))
    assert 'name="password"' in page.text  # the session ended with the account
    answer = await sign_in(h.browser(), authorize_query(app))
    assert answer.status_code == 403
    assert "disabled" in answer.text
    grant = await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    assert (grant.status_code, grant.json()["error"]) == (400, "invalid_grant")


async def test_failed_sign_ins_are_rate_limited_per_name_and_address(h: Harness) -> None:
    app = await register(h.client)
    query = authorize_query(app)
    browser = h.browser("10.1.1.1")
    for _ in range(10):
        assert (await sign_in(browser, query, password="guess")).status_code == 401
    blocked = await sign_in(browser, query)  # even the right password now waits
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.text
    assert "15 minutes" in blocked.text
    grant = await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    assert grant.status_code == 200  # another address is not affected
    elsewhere = await sign_in(h.browser("10.2.2.2"), query)
    assert elsewhere.status_code == 303
    h.clock.advance(minutes=15)
    assert (await sign_in(browser, query)).status_code == 303


def test_limiter_memory_is_bounded() -> None:
    clock = Clock()
    limiter = SignInLimiter(clock, max_keys=3)
    for number in range(10):
        limiter.failed((f"user{number}", "ip"))
    assert len(limiter._failures) <= 3


async def test_cookies_are_http_only_and_same_site(h: Harness) -> None:
    app = await register(h.client)
    browser = h.browser()
    page = await browser.get(authorize_query(app))
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("wc_csrf=")
    assert "HttpOnly" in csrf_cookie and "SameSite=lax" in csrf_cookie
    assert "Secure" not in csrf_cookie  # a plain-http instance
    signed_in = await sign_in(browser, authorize_query(app))
    session_cookie = signed_in.headers["set-cookie"]
    assert session_cookie.startswith("wc_session=")
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie


async def test_on_https_cookies_are_secure_host_cookies(tmp_path: Any) -> None:
    config = Config(
        instance=InstanceConfig(domain="s.test", base_url="https://s.test"),
        database=DatabaseConfig(path=str(tmp_path / "s.sqlite3")),
        media=MediaConfig(path=str(tmp_path / "media")),
    )
    async for harness in _harness(config):
        app = await register(harness.client)
        browser = harness.browser()
        page = await browser.get(authorize_query(app))
        assert page.headers["set-cookie"].startswith("__Host-wc_csrf=")
        assert "Secure" in page.headers["set-cookie"]
        signed_in = await sign_in(browser, authorize_query(app))
        assert signed_in.status_code == 303
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith("__Host-wc_session=") and "Secure" in cookie
        assert "Path=/" in cookie
        # http redirect URIs are for loopback only here.
        refused = await harness.client.post(
            "/api/v1/apps", data={"client_name": "x", "redirect_uris": "http://app.example/cb"}
        )
        assert refused.status_code == 422


# -- discovery -------------------------------------------------------------------------------


async def test_authorization_server_metadata(h: Harness) -> None:
    response = await h.client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    metadata = response.json()
    assert metadata["issuer"] == "http://a.test/"
    assert metadata["authorization_endpoint"] == "http://a.test/oauth/authorize"
    assert metadata["token_endpoint"] == "http://a.test/oauth/token"
    assert metadata["revocation_endpoint"] == "http://a.test/oauth/revoke"
    assert metadata["app_registration_endpoint"] == "http://a.test/api/v1/apps"
    assert metadata["service_documentation"] == "https://docs.joinmastodon.org/"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "password",
        "client_credentials",
        "refresh_token",
    }
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    assert {"read", "write", "follow", "push", "admin:read", "admin:write"} <= set(
        metadata["scopes_supported"]
    )
    assert "read:statuses" in metadata["scopes_supported"]
    assert "query" in metadata["response_modes_supported"]


async def test_cors_preflight_for_browser_clients(h: Harness) -> None:
    for path in ("/api/v1/apps", "/oauth/token", "/oauth/revoke"):
        response = await h.client.options(
            path,
            headers={"Origin": "https://elk.zone", "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "*"
