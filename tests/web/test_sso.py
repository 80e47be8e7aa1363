"""Single sign-on with OpenID Connect against a real provider on loopback (tests/oidc_provider.py:
oidc-provider-mock, with PKCE enforced): a browser (httpx, following the redirects itself)
goes from our sign-in page to the provider, signs in there and comes back signed in.

The instance runs in process; its OIDC client reaches the provider over real HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import re
import secrets
import tomllib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from store import api_queries, audit, oidc, users
from store.audit import AuditEntry
from watercooler.accounts import create_user
from watercooler.admin import AdminError
from watercooler.app import create_app
from watercooler.cli_sso import cmd_sso_link, cmd_sso_list, cmd_sso_unlink
from watercooler.config import AuthConfig, ConfigError, OidcConfig, parse_config
from watercooler.oauth import OAuthServer, SignInFailed
from watercooler.passwords import verify_password
from watercooler.services import Services
from watercooler.sso import claim_matches, merged_fields, username_from

from ..conftest import MakeConfig
from ..oidc_provider import Provider, running_provider, s256
from .signing import csrf_token

pytestmark = [
    # authlib (inside the provider, on its server thread) warns about its own deprecations
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

BASE = "http://a.test"
CALLBACK = f"{BASE}/web/sso/callback"
PASSWORD = "correct horse battery"
ALICE = {
    "preferred_username": "alice.smith@corp.example",
    "name": "Alice Smith",
    "email": "alice@corp.example",
    "email_verified": True,
    "department": "R&D",
    "title": "Staff Engineer",
    "groups": ["everyone", "watercooler"],
}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider on plain http
    with running_provider() as running:
        running.set_user("u-alice", ALICE)
        yield running


@dataclass
class Division:
    svc: Services
    provider: Provider

    def browser(self) -> httpx.AsyncClient:
        """A new browser: our instance in process, the provider over the network."""
        return httpx.AsyncClient(
            mounts={BASE: httpx.ASGITransport(app=self.app)}, trust_env=False, timeout=20
        )

    app: Any = None


@asynccontextmanager
async def division(
    make_config: MakeConfig,
    provider: Provider,
    *,
    auth: AuthConfig | None = None,
    auth_method: str = "client_secret_basic",
    clock: Callable[[], datetime] | None = None,
    **oidc_options: Any,
) -> AsyncIterator[Division]:
    client_id, secret = provider.register_client(CALLBACK, auth_method)
    config = replace(
        make_config("a.test"),
        oidc=OidcConfig(
            issuer=provider.issuer,
            client_id=client_id,
            client_secret=secret,
            display_name="Corp ID",
            **oidc_options,
        ),
        auth=auth or AuthConfig(),
    )
    app = create_app(config, run_workers=False, clock=clock or (lambda: datetime.now(UTC)))
    async with app.router.lifespan_context(app):
        yield Division(app.state.services, provider, app)


async def start(browser: httpx.AsyncClient, next_url: str = "/web/home") -> str:
    """Our start page: the provider's authorization URL it redirects to."""
    answer = await browser.get(f"{BASE}/web/sso/start?next={quote(next_url, safe='')}")
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    return location


async def at_provider(browser: httpx.AsyncClient, authorize_url: str, sub: str) -> str:
    """The person signs in at the provider (its form); the callback URL it sends them to."""
    page = await browser.get(authorize_url)
    assert page.status_code == 200, page.text
    answer = await browser.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    callback = answer.headers["location"]
    assert callback.startswith(CALLBACK)
    return callback


async def sso_sign_in(
    browser: httpx.AsyncClient,
    sub: str = "u-alice",
    next_url: str = "/web/home",
    tamper: Callable[[dict[str, str]], None] | None = None,
) -> httpx.Response:
    """The whole round trip; `tamper` changes the authorization request's parameters on the
    way (what an attacker in the middle of the front channel could do)."""
    url = await start(browser, next_url)
    if tamper is not None:
        parts = urlsplit(url)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        tamper(params)
        url = urlunsplit(parts._replace(query=urlencode(params)))
    callback = await at_provider(browser, url, sub)
    return await browser.get(callback)


async def audit_rows(svc: Services, action: str) -> list[AuditEntry]:
    async with svc.db.read() as conn:
        entries = await audit.chain(conn)
    return [entry for entry in entries if entry.action == action]


async def home_user(browser: httpx.AsyncClient) -> str | None:
    page = await browser.get(f"{BASE}/web/home")
    if page.status_code != 200:
        return None
    found = re.search(r"@([A-Za-z0-9_]+)", page.text)
    return found.group(1) if found else None


# -- the flow ---------------------------------------------------------------------------------


async def test_first_sign_in_creates_the_account_with_the_idp_profile(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc, wc.browser() as browser:
        # Given a person who has never been here, When they sign in through the IdP
        answer = await sso_sign_in(browser, next_url="/web/org")
        # Then they land where they were going, signed in, with an account made for them
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/web/org"
        assert "httponly" in answer.headers["set-cookie"].lower()
        page = await browser.get(f"{BASE}/web/org")
        assert page.status_code == 200
        assert "@alice_smith" in page.text
        async with wc.svc.db.read() as conn:
            user = await users.get_by_username(conn, "alice_smith")
            assert user is not None
            fields = await api_queries.profile_fields(conn, user.account_id)
            identity = await oidc.find_identity(conn, provider.issuer, "u-alice")
            account = await conn.execute(
                "SELECT display_name FROM accounts WHERE id = ?", (user.account_id,)
            )
            display_name = (await account.fetchone())[0]
        assert identity is not None and identity.user_id == user.id
        assert user.email == "alice@corp.example"
        assert not user.must_change_password
        assert not verify_password("", user.password_hash)  # no usable password
        assert ("Department", "R&D") in fields and ("Title", "Staff Engineer") in fields
        assert display_name == "Alice Smith"
        # the directory finds her by department (its index reads these fields)
        async with wc.svc.db.read() as conn:
            cursor = await conn.execute(
                "SELECT rowid FROM account_search WHERE account_search MATCH ?",
                ('department:"R&D"',),
            )
            assert (user.account_id,) in [tuple(row) for row in await cursor.fetchall()]
        # PKCE: the verifier was sent and matches the challenge of the authorization request
        exchange = provider.tweaks.token_requests[-1]
        assert exchange["authorization"].startswith("Basic ")  # client_secret_basic
        assert "client_secret" not in exchange
        code = exchange["code"]
        assert provider.tweaks.challenges[code] == s256(exchange["code_verifier"])
        # audited: the account made and the sign-in, both by method oidc
        created = await audit_rows(wc.svc, "user.create")
        signed = await audit_rows(wc.svc, "auth.sign_in")
        assert created[-1].target == "alice_smith"
        assert created[-1].details["method"] == "oidc"
        assert signed[-1].details["method"] == "oidc"
        assert signed[-1].details["subject"] == "u-alice"
        assert signed[-1].details["created"] is True


async def test_the_next_sign_in_is_the_same_account_and_follows_the_idp(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc:
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
        async with wc.svc.db.read() as conn:
            first = await users.get_by_username(conn, "alice_smith")
        assert first is not None
        # the person renames themselves and adds a field of their own
        async with wc.svc.db.transaction() as conn:
            await conn.execute(
                "UPDATE accounts SET display_name = 'Ally' WHERE id = ?", (first.account_id,)
            )
            await api_queries.replace_profile_fields(
                conn,
                first.account_id,
                [("Department", "R&D"), ("Title", "Staff Engineer"), ("Pronouns", "she/her")],
            )
        # HR moves her to Sales, and her username at the IdP changes
        provider.set_user(
            "u-alice", {**ALICE, "department": "Sales", "preferred_username": "asmith"}
        )
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
            assert await home_user(browser) == "alice_smith"
        async with wc.svc.db.read() as conn:
            again = await users.get_by_username(conn, "alice_smith")
            assert await users.get_by_username(conn, "asmith") is None
            assert again is not None and again.id == first.id
            fields = await api_queries.profile_fields(conn, first.account_id)
            cursor = await conn.execute(
                "SELECT display_name FROM accounts WHERE id = ?", (first.account_id,)
            )
            display_name = (await cursor.fetchone())[0]
        assert fields == [
            ("Department", "Sales"),
            ("Title", "Staff Engineer"),
            ("Pronouns", "she/her"),
        ]
        assert display_name == "Ally"  # her own choice stays
        signed = await audit_rows(wc.svc, "auth.sign_in")
        assert [entry.details["created"] for entry in signed] == [True, False]


# -- what is refused --------------------------------------------------------------------------


async def assert_refused(wc: Division, answer: httpx.Response, status: int, browser: Any) -> None:
    assert answer.status_code == status, answer.text
    assert 'role="alert"' in answer.text or "<h1" in answer.text
    assert "set-cookie" not in answer.headers or "wc_session" not in answer.headers["set-cookie"]
    assert await home_user(browser) is None
    async with wc.svc.db.read() as conn:
        assert await users.get_by_username(conn, "alice_smith") is None


async def test_a_challenge_changed_on_the_way_fails_at_the_provider(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc, wc.browser() as browser:
        other = s256(secrets.token_urlsafe(48))

        def swap_challenge(params: dict[str, str]) -> None:
            params["code_challenge"] = other

        answer = await sso_sign_in(browser, tamper=swap_challenge)
        await assert_refused(wc, answer, 403, browser)
        refused = await audit_rows(wc.svc, "auth.sign_in_refused")
        assert refused[-1].details["reason"] == "token_refused"


async def test_a_state_not_started_here_or_used_before_is_refused(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc:
        async with wc.browser() as browser:
            callback = await at_provider(browser, await start(browser), "u-alice")
            forged = re.sub(r"state=[^&]+", "state=forged", callback)
            await assert_refused(wc, await browser.get(forged), 400, browser)
            # the real one still works once, and never again
            assert (await browser.get(callback)).status_code == 303
            replay = await browser.get(callback)
            assert replay.status_code == 400
            assert "already used" in replay.text
        # an attacker's callback opened in a victim's browser (login CSRF) signs no one in
        async with wc.browser() as attacker, wc.browser() as victim:
            provider.set_user("u-mallory", {"preferred_username": "mallory"})
            trap = await at_provider(attacker, await start(attacker), "u-mallory")
            await start(victim)  # the victim has a sign-in of their own under way
            answer = await victim.get(trap)
            assert answer.status_code == 400
            assert await home_user(victim) is None
        # stray callbacks are logged, not audited (anyone could send them)
        assert await audit_rows(wc.svc, "auth.sign_in_refused") == []


async def test_a_token_with_another_nonce_is_refused(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc, wc.browser() as browser:

        def other_nonce(params: dict[str, str]) -> None:
            params["nonce"] = "an-old-nonce"

        answer = await sso_sign_in(browser, tamper=other_nonce)
        await assert_refused(wc, answer, 403, browser)
        refused = await audit_rows(wc.svc, "auth.sign_in_refused")
        assert refused[-1].details["reason"] == "wrong_nonce"


@pytest.mark.parametrize("kind", ["RSA", "EC"])
async def test_a_token_signed_by_another_key_is_refused(
    make_config: MakeConfig, provider: Provider, kind: str
) -> None:
    provider.tweaks.discovery["id_token_signing_alg_values_supported"] = ["RS256", "ES256"]
    provider.tweaks.forge_with = provider.new_key(kind)
    async with division(make_config, provider) as wc, wc.browser() as browser:
        answer = await sso_sign_in(browser)
        await assert_refused(wc, answer, 403, browser)
        refused = await audit_rows(wc.svc, "auth.sign_in_refused")
        assert refused[-1].details["reason"] in ("bad_signature", "unknown_key")


@pytest.mark.parametrize("kind", ["RSA", "EC"])
async def test_a_rotated_key_is_fetched_once_it_is_used(
    make_config: MakeConfig, provider: Provider, kind: str
) -> None:
    provider.tweaks.discovery["id_token_signing_alg_values_supported"] = ["RS256", "ES256"]
    async with division(make_config, provider) as wc:
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303  # the JWKS is cached now
        provider.tweaks.rotate_to = provider.new_key(kind)  # signs with a new kid from now on
        async with wc.browser() as browser:
            answer = await sso_sign_in(browser)
            assert answer.status_code == 303, answer.text
            assert await home_user(browser) == "alice_smith"


async def test_client_secret_post_when_the_provider_offers_only_that(
    make_config: MakeConfig, provider: Provider
) -> None:
    provider.tweaks.discovery["token_endpoint_auth_methods_supported"] = ["client_secret_post"]
    async with division(make_config, provider, auth_method="client_secret_post") as wc:
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
        exchange = provider.tweaks.token_requests[-1]
        assert exchange["client_secret"] and not exchange["authorization"]


async def test_the_required_claim_keeps_others_out(
    make_config: MakeConfig, provider: Provider
) -> None:
    provider.set_user("u-bob", {"preferred_username": "bob", "groups": ["everyone"]})
    options = {"required_claim": "groups", "required_values": ("watercooler",)}
    async with division(make_config, provider, **options) as wc:
        async with wc.browser() as browser:
            answer = await sso_sign_in(browser, sub="u-bob")
            assert answer.status_code == 403
            assert "not allowed to use" in html.unescape(answer.text)
            assert await home_user(browser) is None
        async with wc.svc.db.read() as conn:
            assert await users.get_by_username(conn, "bob") is None
        refused = await audit_rows(wc.svc, "auth.sign_in_refused")
        assert refused[-1].target == "oidc:u-bob"
        assert refused[-1].details == {
            "method": "oidc",
            "reason": "claim",
            "claim": "groups",
            "issuer": provider.issuer,
            "subject": "u-bob",
            "address": refused[-1].details["address"],
        }
        async with wc.browser() as browser:  # alice is in the group
            assert (await sso_sign_in(browser)).status_code == 303


async def test_a_disabled_user_cannot_sign_in_through_the_idp(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc:
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
        async with wc.svc.db.transaction() as conn:
            user = await users.get_by_username(conn, "alice_smith")
            assert user is not None
            await users.disable(conn, user.id, datetime.now(UTC))
        async with wc.browser() as browser:
            answer = await sso_sign_in(browser)
            assert answer.status_code == 403
            assert "disabled" in answer.text
            assert await home_user(browser) is None
        refused = await audit_rows(wc.svc, "auth.sign_in_refused")
        assert refused[-1].target == "alice_smith"
        assert refused[-1].details["reason"] == "disabled"


async def test_an_existing_user_is_linked_only_by_a_verified_email_when_allowed(
    make_config: MakeConfig, provider: Provider
) -> None:
    provider.set_user(
        "u-carol",
        {"preferred_username": "carol", "email": "carol@corp.example", "email_verified": False},
    )
    async with division(make_config, provider, link_by_email=True) as wc:
        svc = wc.svc
        now = datetime.now(UTC)
        await create_user(
            svc.db, svc.uris, "alice", now=now, password=PASSWORD, email="alice@corp.example"
        )
        await create_user(
            svc.db, svc.uris, "carol", now=now, password=PASSWORD, email="carol@corp.example"
        )
        async with wc.browser() as browser:  # verified: alice's account, linked
            assert (await sso_sign_in(browser)).status_code == 303
            assert await home_user(browser) == "alice"
        async with wc.browser() as browser:  # not verified: a new account, not carol's
            assert (await sso_sign_in(browser, sub="u-carol")).status_code == 303
            assert await home_user(browser) == "carol_2"
        linked = await audit_rows(svc, "user.link_identity")
        assert [entry.target for entry in linked] == ["alice"]


async def test_without_link_by_email_a_namesake_gets_an_account_of_their_own(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc:
        await create_user(
            wc.svc.db,
            wc.svc.uris,
            "alice_smith",
            now=datetime.now(UTC),
            password=PASSWORD,
            email="alice@corp.example",
        )
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
            assert await home_user(browser) == "alice_smith_2"
        async with wc.svc.db.read() as conn:
            created = await users.get_by_username(conn, "alice_smith_2")
        assert created is not None and created.email is None  # the e-mail is someone else's


# -- password sign-in off ---------------------------------------------------------------------


async def test_with_password_sign_in_off_only_sso_and_break_glass_admins_get_in(
    make_config: MakeConfig, provider: Provider
) -> None:
    auth = AuthConfig(password_sign_in=False, admin_password_sign_in=True)
    async with division(make_config, provider, auth=auth) as wc:
        svc = wc.svc
        now = datetime.now(UTC)
        await create_user(svc.db, svc.uris, "bob", now=now, password=PASSWORD)
        await create_user(svc.db, svc.uris, "root", now=now, password=PASSWORD, admin=True)
        async with wc.browser() as browser:
            page = await browser.get(f"{BASE}/web/sign_in?next=/web/org")
            assert page.status_code == 200
            assert 'name="password"' not in page.text
            assert 'href="/web/sso/start?next=%2Fweb%2Forg"' in page.text
            assert "Sign in with Corp ID" in page.text
            assert 'href="/web/sign_in?admin=1&amp;next=%2Fweb%2Forg"' in page.text
            # break-glass: the administrators' form; a non-admin is refused there, even with
            # the right password
            form = await browser.get(f"{BASE}/web/sign_in?admin=1")
            assert 'name="password"' in form.text
            fields = {"csrf_token": csrf_token(form), "password": PASSWORD}
            refused = await browser.post(f"{BASE}/web/sign_in", data={**fields, "username": "bob"})
            assert refused.status_code == 403
            assert "turned off" in refused.text
            assert await home_user(browser) is None
            admitted = await browser.post(
                f"{BASE}/web/sign_in", data={**fields, "username": "root"}
            )
            assert admitted.status_code == 303
            assert await home_user(browser) == "root"
        # apps: no password grant
        async with wc.browser() as client:
            app = (
                await client.post(
                    f"{BASE}/api/v1/apps",
                    data={"client_name": "toot", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
                )
            ).json()
            grant = await client.post(
                f"{BASE}/oauth/token",
                data={
                    "grant_type": "password",
                    "client_id": app["client_id"],
                    "client_secret": app["client_secret"],
                    "username": "root",
                    "password": PASSWORD,
                },
            )
            assert grant.status_code == 400
            assert grant.json()["error"] == "unsupported_grant_type"
            metadata = (await client.get(f"{BASE}/.well-known/oauth-authorization-server")).json()
            assert "password" not in metadata["grant_types_supported"]


async def test_without_break_glass_no_password_gets_in(
    make_config: MakeConfig, provider: Provider
) -> None:
    auth = AuthConfig(password_sign_in=False, admin_password_sign_in=False)
    async with division(make_config, provider, auth=auth) as wc:
        svc = wc.svc
        await create_user(
            svc.db, svc.uris, "root", now=datetime.now(UTC), password=PASSWORD, admin=True
        )
        async with wc.browser() as browser:
            form = await browser.get(f"{BASE}/web/sign_in?admin=1")
            assert 'name="password"' not in form.text
            assert "Administrator sign-in" not in form.text
        # no form to post, and the password check itself says no (the form's and the app's)
        with pytest.raises(SignInFailed) as refused:
            await OAuthServer(svc).check_credentials("root", PASSWORD, "127.0.0.1")
        assert refused.value.status == 403


# -- an app's OAuth sign-in through SSO -------------------------------------------------------


def _hidden(page: str) -> dict[str, str]:
    pattern = r'<input type="hidden" name="([^"]*)" value="([^"]*)">'
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(pattern, page)}


async def test_a_mastodon_app_signs_in_through_sso(
    make_config: MakeConfig, provider: Provider
) -> None:
    auth = AuthConfig(password_sign_in=False)
    async with division(make_config, provider, auth=auth) as wc, wc.browser() as browser:
        redirect_uri = "com.example.app:/oauth"
        app = (
            await browser.post(
                f"{BASE}/api/v1/apps",
                data={"client_name": "Ivory", "redirect_uris": redirect_uri, "scopes": "read"},
            )
        ).json()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": app["client_id"],
                "redirect_uri": redirect_uri,
                "scope": "read",
                "state": "app-state",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        # the app opens the authorization page: no session, so the sign-in, with SSO only
        page = await browser.get(f"{BASE}/oauth/authorize?{query}")
        assert page.status_code == 200
        assert 'name="password"' not in page.text
        link = html.unescape(re.search(r'href="(/web/sso/start\?[^"]+)"', page.text).group(1))
        # through the IdP and back to the authorization page
        callback = await at_provider(browser, await start_from(browser, link), "u-alice")
        back = await browser.get(callback)
        assert back.status_code == 303
        assert back.headers["location"].startswith("/oauth/authorize?")
        consent = await browser.get(f"{BASE}{back.headers['location']}")
        assert consent.status_code == 200 and "Authorize" in consent.text
        decided = await browser.post(
            f"{BASE}/oauth/authorize", data={**_hidden(consent.text), "decision": "authorize"}
        )
        assert decided.status_code == 302
        location = urlsplit(decided.headers["location"])
        params = parse_qs(location.query)
        assert params["state"] == ["app-state"]
        token = await browser.post(
            f"{BASE}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": redirect_uri,
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
        me = await browser.get(
            f"{BASE}/api/v1/accounts/verify_credentials",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert me.json()["username"] == "alice_smith"


async def start_from(browser: httpx.AsyncClient, link: str) -> str:
    answer = await browser.get(f"{BASE}{link}")
    assert answer.status_code == 303, answer.text
    return answer.headers["location"]


# -- the rules, alone -------------------------------------------------------------------------


def test_usernames_are_made_to_fit() -> None:
    assert username_from("alice.smith@corp.example") == "alice_smith"
    assert username_from("Zoë-Ann O'Neil") == "Zoe_Ann_O_Neil"
    assert username_from("a" * 40) == "a" * 30
    assert username_from("@@@") == "user"
    assert username_from(None) == "user"


def test_claims_match_by_type() -> None:
    assert claim_matches(["a", "watercooler"], ("watercooler",))
    assert not claim_matches(["a"], ("watercooler",))
    assert claim_matches(True, (True,))
    assert not claim_matches("true", (True,))
    assert not claim_matches(None, ("x",))


def test_idp_fields_replace_the_directory_fields_in_place() -> None:
    mine = [("Pronouns", "they"), ("dept", "Old"), ("Office", "Berlin")]
    assert merged_fields(mine, "New", "Lead") == [
        ("Title", "Lead"),
        ("Pronouns", "they"),
        ("dept", "New"),
        ("Office", "Berlin"),
    ]
    assert merged_fields(mine, "", None) == [("Pronouns", "they"), ("Office", "Berlin")]
    full = [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
    assert merged_fields(full, "X", None)[0] == ("Department", "X")
    assert len(merged_fields(full, "X", "Y")) == 4


def _toml(**sections: dict[str, Any]) -> dict[str, Any]:
    return {"instance": {"domain": "a.test"}, **sections}


def test_config_reads_oidc_and_auth() -> None:
    config = parse_config(
        _toml(
            oidc={
                "issuer": "https://id.corp.example/realms/corp/",
                "client_id": "watercooler",
                "client_secret": "s3cret",
                "required_claim": "groups",
                "required_values": ["watercooler", "it"],
                "department_claim": "dept",
            },
            auth={"password_sign_in": False},
        )
    )
    assert config.oidc is not None
    assert config.oidc.issuer == "https://id.corp.example/realms/corp"
    assert config.oidc.scopes == ("openid", "profile", "email")
    assert config.oidc.required_values == ("watercooler", "it")
    assert config.oidc.department_claim == "dept" and config.oidc.title_claim == "title"
    assert not config.auth.password_sign_in and config.auth.admin_password_sign_in
    assert parse_config(_toml()).oidc is None


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({"auth": {"password_sign_in": False}}, "auth.password_sign_in"),
        ({"oidc": {"client_id": "x", "client_secret": "y"}}, "oidc.issuer"),
        (
            {"oidc": {"issuer": "http://id.example", "client_id": "x", "client_secret": "y"}},
            "oidc.issuer",
        ),
        (
            {"oidc": {"issuer": "https://id.example", "client_id": "", "client_secret": "y"}},
            "oidc.client_id",
        ),
        (
            {
                "oidc": {
                    "issuer": "https://id.example",
                    "client_id": "x",
                    "client_secret": "y",
                    "scopes": "profile",
                }
            },
            "oidc.scopes",
        ),
        (
            {
                "oidc": {
                    "issuer": "https://id.example",
                    "client_id": "x",
                    "client_secret": "y",
                    "required_claim": "g",
                }
            },
            "oidc.required_claim",
        ),
        (
            {
                "oidc": {
                    "issuer": "https://id.example",
                    "client_id": "x",
                    "client_secret": "y",
                    "colour": "red",
                }
            },
            "oidc.colour",
        ),
    ],
)
def test_config_refuses_bad_sign_in_settings(sections: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(_toml(**sections))


async def test_it_links_an_identity_to_an_existing_user_with_the_cli(
    make_config: MakeConfig, provider: Provider, capsys: pytest.CaptureFixture[str]
) -> None:
    async with division(make_config, provider) as wc:
        svc = wc.svc
        await create_user(svc.db, svc.uris, "asmith", now=datetime.now(UTC), password=PASSWORD)
        link = argparse.Namespace(name="asmith", subject="u-alice", issuer=None)
        assert await asyncio.to_thread(cmd_sso_link, svc.config, link) == 0
        async with wc.browser() as browser:
            assert (await sso_sign_in(browser)).status_code == 303
            assert await home_user(browser) == "asmith"
        assert await asyncio.to_thread(cmd_sso_list, svc.config, argparse.Namespace(name=None)) == 0
        assert (
            capsys.readouterr()
            .out.splitlines()[-1]
            .startswith(f"asmith\t{provider.issuer}\tu-alice\t")
        )
        assert await asyncio.to_thread(cmd_sso_unlink, svc.config, link) == 0
        with pytest.raises(AdminError, match="not asmith's"):
            await asyncio.to_thread(cmd_sso_unlink, svc.config, link)
        rows = await audit_rows(svc, "user.link_identity") + await audit_rows(
            svc, "user.unlink_identity"
        )
        assert [(row.origin, row.target) for row in rows] == [("cli", "asmith")] * 2


def test_the_example_config_documents_every_oidc_key() -> None:
    text = (Path(__file__).resolve().parents[2] / "config.example.toml").read_text()
    block = text.split("# [oidc]\n", 1)[1].split("\n\n", 1)[0]
    keys = [line[2:] for line in block.splitlines() if re.match(r"# [a-z_]+ = ", line)]
    config = parse_config(_toml(oidc=tomllib.loads("\n".join(keys))))
    assert config.oidc is not None
    documented = {line.split(" = ")[0] for line in keys}
    assert documented == {f.name for f in fields(OidcConfig)}


async def test_claims_missing_from_the_id_token_come_from_userinfo(
    make_config: MakeConfig, provider: Provider
) -> None:
    # the IdP signs (with a key of its JWKS) an ID token without the profile claims
    provider.tweaks.rotate_to = provider.new_key()
    provider.tweaks.drop_claims = ("department", "title", "preferred_username")
    async with division(make_config, provider) as wc, wc.browser() as browser:
        assert (await sso_sign_in(browser)).status_code == 303
        async with wc.svc.db.read() as conn:
            user = await users.get_by_username(conn, "alice_smith")
            assert user is not None
            profile = await api_queries.profile_fields(conn, user.account_id)
        assert ("Department", "R&D") in profile and ("Title", "Staff Engineer") in profile


async def test_a_sign_in_left_too_long_at_the_idp_is_refused(
    make_config: MakeConfig, provider: Provider
) -> None:
    now = [datetime.now(UTC)]
    async with division(make_config, provider, clock=lambda: now[0]) as wc:
        async with wc.browser() as browser:
            callback = await at_provider(browser, await start(browser), "u-alice")
            now[0] += timedelta(minutes=11)
            answer = await browser.get(callback)
            assert answer.status_code == 400
            assert "took too long" in answer.text
            assert await home_user(browser) is None


async def test_a_person_who_says_no_at_the_idp_is_told_so(
    make_config: MakeConfig, provider: Provider
) -> None:
    async with division(make_config, provider) as wc, wc.browser() as browser:
        url = await start(browser)
        answer = await browser.post(url, data={"action": "deny"})
        assert answer.status_code == 302
        back = await browser.get(answer.headers["location"])
        assert back.status_code == 403
        assert "did not sign you in (access_denied)" in back.text
        assert await home_user(browser) is None
