"""OAuth 2 as Mastodon clients expect it: app registration, the authorization code grant with
PKCE (S256) and the out-of-band redirect, password, client_credentials and rotating refresh
tokens, revocation (RFC 6749, 7636, 7009) and the RFC 8414 metadata.

Everything a client or browser holds is a random 256-bit secret of which only the SHA-256
digest is stored (store/oauth.py). HTTP lives in watercooler/routes/oauth.py; this module
holds the rules.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store import oauth as store
from store import tokens, users
from store.db import Connection
from store.oauth import ApplicationRecord, AuthorizedApplication
from store.records import UserRecord
from watercooler import audit_events
from watercooler.accounts import hash_token
from watercooler.config import AuthConfig
from watercooler.oauth_rules import (  # noqa: F401 - re-exported for routes and tests
    CHALLENGE_PATTERN,
    CODE_LIFETIME,
    MAX_APP_NAME,
    MAX_STATE,
    OOB,
    SCOPE_DESCRIPTIONS,
    SESSION_LIFETIME,
    SUPPORTED_SCOPES,
    VERIFIER_PATTERN,
    AuthorizeError,
    Csrf,
    InvalidApplication,
    OAuthError,
    Params,
    SignInFailed,
    SignInLimiter,
    check_redirect_uri,
    check_website,
    one,
    parse_redirect_uris,
    parse_scope_list,
    pkce_s256,
    redirect_location,
    scopes_within,
)
from watercooler.passwords import MIN_PASSWORD, hash_password, verify_password
from watercooler.services import Services
from watercooler.sso import password_allowed

log = logging.getLogger(__name__)

MAX_PASSWORD = 1024


class PasswordRefused(Exception):
    """A password change that was not made: the message says why, for the person."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked `GET /oauth/authorize`: the app, one of its redirect URIs, scopes it may ask."""

    application: ApplicationRecord
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    response_mode: str

    def params(self) -> dict[str, str]:
        """The request's parameters, to carry through the sign-in and consent forms."""
        params = {
            "response_type": "code",
            "client_id": self.application.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.scopes),
        }
        if self.state is not None:
            params["state"] = self.state
        if self.code_challenge is not None:
            params["code_challenge"] = self.code_challenge
            params["code_challenge_method"] = "S256"
        if self.response_mode != "query":
            params["response_mode"] = self.response_mode
        return params

    def respond(self, params: dict[str, str]) -> str:
        """Where to send the browser with `params` (code or error) and the state."""
        if self.state is not None:
            params = {**params, "state": self.state}
        return redirect_location(self.redirect_uri, params, self.response_mode)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime
    refresh_token: str | None = None
    user_id: int | None = None  # for the log; not part of the answer

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": " ".join(self.scopes),
            "created_at": int(self.created_at.timestamp()),
        }
        if self.refresh_token is not None:
            document["refresh_token"] = self.refresh_token
        return document


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What a bearer token stands for: its app (None for tokens made by the CLI), its user
    (None for app tokens) and scopes."""

    application: ApplicationRecord | None
    user_id: int | None
    scopes: tuple[str, ...]


def application_json(app: ApplicationRecord) -> dict[str, Any]:
    """The Application entity (GET /api/v1/apps/verify_credentials)."""
    return {
        "id": str(app.id),
        "name": app.name,
        "website": app.website,
        "scopes": list(app.scopes),
        "redirect_uri": "\n".join(app.redirect_uris),
        "redirect_uris": list(app.redirect_uris),
    }


def credential_application_json(app: ApplicationRecord, client_secret: str) -> dict[str, Any]:
    """The CredentialApplication entity (POST /api/v1/apps): the secret, shown this once."""
    return {
        **application_json(app),
        "client_id": app.client_id,
        "client_secret": client_secret,
        "client_secret_expires_at": 0,
    }


_INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the"
    " redirection URI used in the authorization request, or was issued to another client."
)
_INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included,"
    " or unsupported authentication method."
)


def _invalid_grant(detail: str | None = None) -> OAuthError:
    return OAuthError("invalid_grant", detail or _INVALID_GRANT)


# -- the server ------------------------------------------------------------------------------


class OAuthServer:
    """The authorization server of one instance. `password_grant` is read from the config's
    `oauth.password_grant` (on when the config has no such key) unless given here."""

    def __init__(
        self,
        services: Services,
        *,
        password_grant: bool | None = None,
        limiter: SignInLimiter | None = None,
    ) -> None:
        self.db = services.db
        self.clock = services.clock
        self.domain = services.config.instance.domain
        self.base_url = services.config.instance.base_url
        self.allow_any_http = services.config.federation.allow_http
        self.auth: AuthConfig = getattr(services.config, "auth", None) or AuthConfig()
        if password_grant is None:
            section = getattr(services.config, "oauth", None)
            password_grant = bool(getattr(section, "password_grant", True))
            password_grant = password_grant and self.auth.password_sign_in  # SSO only
        self.password_grant = password_grant
        self.limiter = limiter or SignInLimiter(services.clock)
        self._csrf: Csrf | None = None
        self._dummy_hash: str | None = None

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    async def csrf(self) -> Csrf:
        """The CSRF signer; its key is made once per instance and kept in the database, so
        every process and every restart agrees on it."""
        if self._csrf is None:
            async with self.db.transaction() as conn:
                secret = await store.ensure_secret(
                    conn, "csrf", secrets.token_urlsafe(32), self.clock()
                )
            self._csrf = Csrf(secret.encode(), self.clock)
        return self._csrf

    # -- applications --

    async def register(self, params: Params) -> tuple[ApplicationRecord, str]:
        """POST /api/v1/apps. Returns the app and its client secret (stored only hashed)."""
        name = (one(params, "client_name") or "").strip()
        if not name:
            raise InvalidApplication("Application name can't be blank")
        if len(name) > MAX_APP_NAME:
            raise InvalidApplication(
                f"Application name is too long (maximum is {MAX_APP_NAME} characters)"
            )
        redirect_uris = parse_redirect_uris(
            params.get("redirect_uris", params.get("redirect_uri")),
            allow_any_http=self.allow_any_http,
        )
        try:
            scopes = parse_scope_list(params.get("scopes"))
        except ValueError as error:
            raise InvalidApplication(f"Scopes: {error}") from error
        website = check_website(one(params, "website"))
        client_secret = secrets.token_urlsafe(32)
        async with self.db.transaction() as conn:
            app = await store.insert_application(
                conn,
                self.db.new_id(),
                name=name,
                website=website,
                redirect_uris=redirect_uris,
                scopes=scopes,
                client_id=secrets.token_urlsafe(32),
                client_secret_hash=hash_token(client_secret),
                now=self.clock(),
            )
        log.info("oauth app registered app=%s name=%r scopes=%s", app.id, name, " ".join(scopes))
        return app, client_secret

    async def client(self, client_id: str | None, client_secret: str | None) -> ApplicationRecord:
        """The app that authenticated with these credentials, or invalid_client (401)."""
        app = None
        if client_id and client_secret:
            async with self.db.read() as conn:
                app = await store.get_application_by_client_id(conn, client_id)
        expected = app.client_secret_hash if app else hash_token(secrets.token_hex(16))
        matches = hmac.compare_digest(hash_token(client_secret or ""), expected)
        if app is None or not matches:
            raise OAuthError("invalid_client", _INVALID_CLIENT, 401)
        return app

    # -- the authorization endpoint --

    async def authorization_request(self, params: Params) -> AuthorizationRequest:
        """Check GET /oauth/authorize. Errors about the client or redirect URI are never sent
        to the redirect URI; the others are, when it is registered."""
        client_id = one(params, "client_id")
        app = None
        if client_id:
            async with self.db.read() as conn:
                app = await store.get_application_by_client_id(conn, client_id)
        if app is None:
            raise AuthorizeError("invalid_client", "This application is not registered here.")
        redirect_uri = one(params, "redirect_uri")
        if not redirect_uri:
            raise AuthorizeError("invalid_request", "The request has no redirect_uri.")
        if redirect_uri not in app.redirect_uris:
            raise AuthorizeError(
                "invalid_redirect_uri",
                "The redirect URI is not one this application registered.",
            )
        state = one(params, "state")
        response_mode = one(params, "response_mode") or "query"
        redirectable = {
            "redirect_uri": None if redirect_uri == OOB else redirect_uri,
            "state": state,
            "response_mode": response_mode if response_mode in ("query", "fragment") else "query",
        }
        if response_mode not in ("query", "fragment"):
            raise AuthorizeError(
                "invalid_request", "response_mode must be query or fragment.", **redirectable
            )
        if state is not None and len(state) > MAX_STATE:
            raise AuthorizeError("invalid_request", "state is too long.", **redirectable)
        if one(params, "response_type") != "code":
            raise AuthorizeError(
                "unsupported_response_type", "response_type must be code.", **redirectable
            )
        try:
            scopes = parse_scope_list(one(params, "scope") or params.get("scopes"))
        except ValueError as error:
            raise AuthorizeError(
                "invalid_scope", f"The scope is invalid: {error}.", **redirectable
            ) from error
        if not scopes_within(app.scopes, scopes):
            raise AuthorizeError(
                "invalid_scope",
                "The requested scope is not within the scopes this application registered.",
                **redirectable,
            )
        challenge = one(params, "code_challenge")
        method = one(params, "code_challenge_method")
        if challenge is not None or method is not None:
            if method != "S256":
                raise AuthorizeError(
                    "invalid_request", "code_challenge_method must be S256.", **redirectable
                )
            if challenge is None or not CHALLENGE_PATTERN.match(challenge):
                raise AuthorizeError(
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256 digest (43 characters).",
                    **redirectable,
                )
        return AuthorizationRequest(
            application=app,
            redirect_uri=redirect_uri,
            scopes=scopes,
            state=state,
            code_challenge=challenge,
            response_mode=response_mode,
        )

    async def issue_code(self, request: AuthorizationRequest, user: UserRecord) -> str:
        code = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.transaction() as conn:
            await store.purge_codes(conn, now - timedelta(days=1))
            await store.insert_code(
                conn,
                self.db.new_id(),
                code_hash=hash_token(code),
                application_id=request.application.id,
                user_id=user.id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                code_challenge=request.code_challenge,
                now=now,
                expires_at=now + CODE_LIFETIME,
            )
        log.info(
            "oauth authorized app=%s user=%s scopes=%s pkce=%s",
            request.application.id,
            user.username,
            " ".join(request.scopes),
            request.code_challenge is not None,
        )
        return code

    # -- sign-in and sessions --

    async def _find_user(self, login: str) -> UserRecord | None:
        name = login.strip().removeprefix("@")
        async with self.db.read() as conn:
            if "@" in name:
                user_id = await store.user_id_by_email(conn, name)
                if user_id is not None:
                    return await users.get_by_id(conn, user_id)
                name, _, domain = name.rpartition("@")
                if domain.lower() != self.domain.lower():
                    return None
            return await users.get_by_username(conn, name) if name else None

    async def _stand_in_hash(self) -> str:
        """A hash to verify against when there is no such user, so timing does not tell."""
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(16))
        return self._dummy_hash

    async def check_credentials(
        self, login: str, password: str, address: str, *, origin: str = "web"
    ) -> UserRecord:
        """The user whose name or e-mail and password these are; SignInFailed otherwise
        (401 wrong, 403 disabled, 429 too many failures for this account from this address).

        Failures count per account, whichever of its names was typed, and per address; an
        unknown name counts as typed. Unknown names are not logged: people type passwords
        into the name field. Each failure is an audit row ('auth.sign_in_failed', `origin`).
        """
        user = await self._find_user(login) if login.strip() else None
        who = f"user:{user.id}" if user else f"login:{login.strip().lower()}"
        shown = user.username if user else "unknown"
        key = (who, address)
        wait = self.limiter.retry_after(key)
        if wait is not None:
            minutes = max(1, -(-int(wait.total_seconds()) // 60))
            log.info("oauth sign-in refused user=%s ip=%s reason=rate-limited", shown, address)
            await self._sign_in_failed(user, address, "rate_limited", origin)
            raise SignInFailed(
                "Too many failed sign-in attempts for this account from your address."
                f" Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                429,
            )
        if not password_allowed(self.auth, user):  # single sign-on only (admins may break glass)
            log.info("oauth sign-in refused user=%s ip=%s reason=password-off", shown, address)
            await self._sign_in_failed(user, address, "password_off", origin)
            raise SignInFailed("Password sign-in is turned off here: use single sign-on.", 403)
        stored = user.password_hash if user else await self._stand_in_hash()
        matches = await asyncio.to_thread(verify_password, password, stored)
        if user is None or not matches:
            self.limiter.failed(key)
            log.info("oauth sign-in failed user=%s ip=%s", shown, address)
            reason = "wrong_password" if user else "unknown_name"
            await self._sign_in_failed(user, address, reason, origin)
            raise SignInFailed("Invalid username, e-mail or password.", 401)
        if user.disabled:
            log.info("oauth sign-in refused user=%s ip=%s reason=disabled", shown, address)
            await self._sign_in_failed(user, address, "disabled", origin)
            raise SignInFailed("This account is disabled.", 403)
        self.limiter.succeeded(key)
        log.info("oauth sign-in user=%s ip=%s", shown, address)
        return user

    async def _sign_in_failed(
        self, user: UserRecord | None, address: str, reason: str, origin: str
    ) -> None:
        async with self.db.transaction() as conn:
            await audit_events.sign_in_failed(
                conn, self.clock(), user, address=address, reason=reason, origin=origin
            )

    async def start_session(
        self, user: UserRecord, *, address: str | None = None, method: str | None = None
    ) -> str:
        """A new browser session for `user`; returns the cookie value. With `method` (how
        they proved who they are: 'password', 'oidc') the sign-in is an audit row
        ('auth.sign_in', origin 'web') in the session's transaction."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.transaction() as conn:
            await store.purge_sessions(conn, now)
            await store.insert_session(
                conn,
                self.db.new_id(),
                token_hash=hash_token(secret),
                user_id=user.id,
                now=now,
                expires_at=now + SESSION_LIFETIME,
            )
            if method is not None:
                details = {"method": method, "address": address}
                await audit_events.by_user(
                    conn, now, user, "auth.sign_in", origin="web", details=details
                )
        return secret

    async def end_session(self, cookie: str | None, *, user: UserRecord | None = None) -> None:
        """Sign-out: the session ends on the server, not only in the browser, so a copied
        cookie is worthless afterwards. With `user` (whose session it is) an audit row."""
        if not cookie or len(cookie) > 100:
            return
        async with self.db.transaction() as conn:
            await store.revoke_session(conn, hash_token(cookie), self.clock())
            if user is not None:
                await audit_events.by_user(conn, self.clock(), user, "auth.sign_out", origin="web")

    async def session_user(self, cookie: str | None) -> UserRecord | None:
        if not cookie or len(cookie) > 100:
            return None
        async with self.db.read() as conn:
            user_id = await store.session_user_id(conn, hash_token(cookie), self.clock())
            return await users.get_by_id(conn, user_id) if user_id is not None else None

    # -- the user's own password and apps --

    async def change_password(
        self,
        user: UserRecord,
        current: str,
        new: str,
        *,
        address: str,
        session: str | None,
        end_app_tokens: bool = False,
    ) -> None:
        """The person's own new password, after their current one (failures count towards
        the sign-in lockout, so a borrowed session cannot guess it). The forced change of a
        one-time password ends; every other browser session ends, the one in `session`
        stays; app tokens stay unless `end_app_tokens` (as Mastodon: a person changing a
        password on a schedule keeps their phone signed in; who fears a stolen password
        signs every app out too, or revokes one on the apps page)."""
        key = (f"user:{user.id}", address)
        if self.limiter.retry_after(key) is not None:
            log.info(
                "password change refused user=%s ip=%s reason=rate-limited", user.username, address
            )
            await self._password_change_failed(user, address, "rate_limited")
            raise PasswordRefused(
                "Too many wrong passwords for this account from your address. Try again later.",
                429,
            )
        if not await asyncio.to_thread(verify_password, current, user.password_hash):
            self.limiter.failed(key)
            log.info("password change refused user=%s ip=%s reason=wrong", user.username, address)
            await self._password_change_failed(user, address, "wrong_password")
            raise PasswordRefused("Your current password is not right.", 401)
        self.limiter.succeeded(key)
        if len(new) < MIN_PASSWORD:
            raise PasswordRefused(f"The new password needs at least {MIN_PASSWORD} characters.")
        if len(new) > MAX_PASSWORD:
            raise PasswordRefused(f"The new password has at most {MAX_PASSWORD} characters.")
        if new == current:
            raise PasswordRefused("The new password must differ from the current one.")
        password_hash = await asyncio.to_thread(hash_password, new)
        now = self.clock()
        async with self.db.transaction() as conn:
            await users.change_password(conn, user.id, password_hash)
            keep = hash_token(session) if session and len(session) <= 100 else None
            await store.revoke_other_sessions(conn, user.id, keep, now)
            if end_app_tokens:
                await store.revoke_user_tokens(conn, user.id, now)
            details = {"address": address, "apps_signed_out": end_app_tokens}
            await audit_events.by_user(
                conn, now, user, "auth.password_change", origin="web", details=details
            )
        log.info(
            "password changed user=%s ip=%s apps_signed_out=%s",
            user.username,
            address,
            end_app_tokens,
        )

    async def _password_change_failed(self, user: UserRecord, address: str, reason: str) -> None:
        action, details = "auth.password_change_failed", {"address": address, "reason": reason}
        async with self.db.transaction() as conn:
            await audit_events.by_user(
                conn, self.clock(), user, action, origin="web", details=details
            )

    async def authorized_applications(self, user: UserRecord) -> list[AuthorizedApplication]:
        """The applications holding live tokens of `user` (the settings' apps page)."""
        async with self.db.read() as conn:
            return await store.authorized_applications(conn, user.id, self.clock())

    async def revoke_application(self, user: UserRecord, application_id: int | None) -> int:
        """Withdraw an app's access to `user` (all its tokens, refresh tokens and codes); the
        app gets 401 at once. Returns how many access tokens ended."""
        async with self.db.transaction() as conn:
            ended = await store.revoke_application_for_user(
                conn, user.id, application_id, self.clock()
            )
            app = await store.get_application(conn, application_id) if application_id else None
            details = {
                "app": audit_events.app_name(app),
                "app_id": str(application_id) if application_id is not None else None,
                "tokens": ended,
            }
            await audit_events.by_user(
                conn, self.clock(), user, "oauth.app_revoke", origin="web", details=details
            )
        log.info(
            "oauth app access revoked app=%s user=%s tokens=%d",
            application_id if application_id is not None else "cli",
            user.username,
            ended,
        )
        return ended

    # -- the token endpoint --

    def grant_types(self) -> list[str]:
        grants = ["authorization_code", "client_credentials", "refresh_token"]
        if self.password_grant:
            grants.insert(1, "password")
        return grants

    async def token(self, app: ApplicationRecord, params: Params, address: str) -> TokenGrant:
        grant_type = one(params, "grant_type")
        if grant_type == "authorization_code":
            grant = await self._code_grant(app, params, address)
        elif grant_type == "password" and self.password_grant:
            grant = await self._password_grant(app, params, address)
        elif grant_type == "client_credentials":
            grant = await self._client_grant(app, params, address)
        elif grant_type == "refresh_token":
            grant = await self._refresh_grant(app, params, address)
        elif not grant_type:
            raise OAuthError("invalid_request", "grant_type is required.")
        else:
            raise OAuthError(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        log.info(
            "oauth token granted grant=%s app=%s user=%s scopes=%s",
            grant_type,
            app.id,
            grant.user_id if grant.user_id is not None else "-",
            " ".join(grant.scopes),
        )
        return grant

    def _requested_scopes(self, params: Params, allowed: tuple[str, ...]) -> tuple[str, ...]:
        try:
            scopes = parse_scope_list(one(params, "scope") or params.get("scopes"))
        except ValueError as error:
            raise OAuthError(
                "invalid_scope", f"The requested scope is invalid: {error}."
            ) from error
        if not scopes_within(allowed, scopes):
            raise OAuthError(
                "invalid_scope",
                "The requested scope is not within the scopes this application registered.",
            )
        return scopes

    async def _issue_user_token(
        self,
        conn: Connection,
        app: ApplicationRecord,
        user_id: int,
        scopes: tuple[str, ...],
        now: datetime,
        *,
        family_id: int | None = None,
    ) -> tuple[TokenGrant, int]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        token_id = self.db.new_id()
        await tokens.insert_token(
            conn,
            token_id,
            user_id=user_id,
            token_hash=hash_token(access),
            scopes=scopes,
            now=now,
            application_id=app.id,
        )
        await store.insert_refresh_token(
            conn,
            self.db.new_id(),
            token_hash=hash_token(refresh),
            access_token_id=token_id,
            application_id=app.id,
            user_id=user_id,
            family_id=family_id,
            scopes=scopes,
            now=now,
        )
        return TokenGrant(access, scopes, now, refresh, user_id), token_id

    async def _code_grant(self, app: ApplicationRecord, params: Params, address: str) -> TokenGrant:
        code = one(params, "code")
        if not code:
            raise OAuthError("invalid_request", "code is required.")
        redirect_uri = one(params, "redirect_uri")
        verifier = one(params, "code_verifier")
        now = self.clock()
        async with self.db.transaction() as conn:
            record = await store.find_code(conn, hash_token(code))
            if record is None or record.application_id != app.id:
                raise _invalid_grant()
            if record.used_at is not None:
                # A replayed code: whoever holds it may have stolen it; revoke what it bought.
                if record.token_id is not None:
                    await store.revoke_user_token(conn, record.token_id, now)
                replayed = True
            else:
                replayed = False
                if record.expires_at <= now:
                    raise _invalid_grant("The authorization code has expired.")
                if redirect_uri != record.redirect_uri:
                    raise _invalid_grant(
                        "redirect_uri does not match the one of the authorization request."
                    )
                if record.code_challenge is not None:
                    if not verifier:
                        raise _invalid_grant("code_verifier is required (PKCE).")
                    if not VERIFIER_PATTERN.match(verifier) or not hmac.compare_digest(
                        pkce_s256(verifier), record.code_challenge
                    ):
                        raise _invalid_grant("code_verifier does not match the code_challenge.")
                elif verifier:
                    raise _invalid_grant("code_verifier sent but the authorization had no PKCE.")
                user = await users.get_by_id(conn, record.user_id)
                if user is None or user.disabled or user.must_change_password:
                    raise _invalid_grant()
                grant, token_id = await self._issue_user_token(
                    conn, app, record.user_id, record.scopes, now
                )
                await audit_events.token_granted(
                    conn,
                    now,
                    app=app,
                    user=user,
                    scopes=record.scopes,
                    grant_type="authorization_code",
                    address=address,
                )
                if not await store.use_code(conn, record.id, token_id, now):
                    raise _invalid_grant()
        if replayed:
            log.warning("oauth code replayed app=%s; its token is revoked", app.id)
            raise _invalid_grant("The authorization code was already used.")
        return grant

    async def _password_grant(
        self, app: ApplicationRecord, params: Params, address: str
    ) -> TokenGrant:
        login, password = one(params, "username"), one(params, "password")
        if not login or password is None:
            raise OAuthError("invalid_request", "username and password are required.")
        scopes = self._requested_scopes(params, app.scopes)
        try:
            user = await self.check_credentials(login, password, address, origin="api")
        except SignInFailed as error:
            status = 429 if error.status == 429 else 400
            raise OAuthError("invalid_grant", str(error), status) from error
        if user.must_change_password:
            # A one-time password (handed over by an admin) buys no token: the person chooses
            # their own first, on the web, so no app keeps working on the admin's password.
            log.info("oauth password grant refused user=%s reason=one-time", user.username)
            raise OAuthError(
                "invalid_grant",
                "This account has a one-time password. Sign in on the web first and choose"
                " a new password.",
            )
        now = self.clock()
        async with self.db.transaction() as conn:
            grant, _ = await self._issue_user_token(conn, app, user.id, scopes, now)
            await audit_events.token_granted(
                conn, now, app=app, user=user, scopes=scopes, grant_type="password", address=address
            )
        return grant

    async def _client_grant(
        self, app: ApplicationRecord, params: Params, address: str
    ) -> TokenGrant:
        scopes = self._requested_scopes(params, app.scopes)
        access = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.transaction() as conn:
            await store.insert_app_token(
                conn,
                self.db.new_id(),
                application_id=app.id,
                token_hash=hash_token(access),
                scopes=scopes,
                now=now,
            )
            await audit_events.token_granted(
                conn,
                now,
                app=app,
                user=None,
                scopes=scopes,
                grant_type="client_credentials",
                address=address,
            )
        return TokenGrant(access, scopes, now)

    async def _refresh_grant(
        self, app: ApplicationRecord, params: Params, address: str
    ) -> TokenGrant:
        presented = one(params, "refresh_token")
        if not presented:
            raise OAuthError("invalid_request", "refresh_token is required.")
        now = self.clock()
        async with self.db.transaction() as conn:
            record = await store.find_refresh_token(conn, hash_token(presented))
            if record is None or record.application_id != app.id:
                raise _invalid_grant()
            if record.used_at is not None:
                # Rotation means a used refresh token is only ever presented by a thief (or
                # by the client after a thief): end the whole chain.
                await store.revoke_refresh_family(conn, record.family_id, now)
                reused = True
            else:
                reused = False
                if record.revoked_at is not None:
                    raise _invalid_grant()
                user = await users.get_by_id(conn, record.user_id)
                live = await store.access_token_live(conn, record.access_token_id)
                if user is None or user.disabled or not live:
                    raise _invalid_grant()
                scopes = record.scopes
                if one(params, "scope") or params.get("scopes"):
                    scopes = self._requested_scopes(params, record.scopes)
                if not await store.use_refresh_token(conn, record.id, now):
                    raise _invalid_grant()
                await store.revoke_user_token(conn, record.access_token_id, now)
                grant, _ = await self._issue_user_token(
                    conn, app, record.user_id, scopes, now, family_id=record.family_id
                )
                await audit_events.token_granted(
                    conn,
                    now,
                    app=app,
                    user=user,
                    scopes=scopes,
                    grant_type="refresh_token",
                    address=address,
                )
        if reused:
            log.warning("oauth refresh token reused app=%s; its chain is revoked", app.id)
            raise _invalid_grant("The refresh token was already used.")
        return grant

    # -- revocation and introspection --

    async def revoke(self, app: ApplicationRecord, token: str | None) -> None:
        """RFC 7009 as Mastodon answers it: unknown tokens are fine, another app's are 403."""
        if not token:
            raise OAuthError(
                "unauthorized_client", "You are not authorized to revoke this token", 403
            )
        digest = hash_token(token)
        now = self.clock()
        forbidden = OAuthError(
            "unauthorized_client", "You are not authorized to revoke this token", 403
        )
        async with self.db.transaction() as conn:
            if (user_token := await store.find_user_token(conn, digest)) is not None:
                if user_token.application_id != app.id:
                    raise forbidden
                await store.revoke_user_token(conn, user_token.id, now)
                if user_token.revoked_at is None:  # a second revocation changes nothing
                    owner = await users.get_by_id(conn, user_token.user_id)
                    await audit_events.token_revoked(conn, now, app=app, user=owner, kind="access")
            elif (app_token := await store.find_app_token(conn, digest)) is not None:
                if app_token.application_id != app.id:
                    raise forbidden
                await store.revoke_app_token(conn, app_token.id, now)
                if app_token.revoked_at is None:
                    await audit_events.token_revoked(conn, now, app=app, user=None, kind="app")
            elif (refresh := await store.find_refresh_token(conn, digest)) is not None:
                if refresh.application_id != app.id:
                    raise forbidden
                await store.revoke_user_token(conn, refresh.access_token_id, now)
                if refresh.revoked_at is None:
                    owner = await users.get_by_id(conn, refresh.user_id)
                    await audit_events.token_revoked(conn, now, app=app, user=owner, kind="refresh")
            else:
                return
        log.info("oauth token revoked app=%s", app.id)

    async def token_owner(self, token: str) -> TokenOwner | None:
        """What a live bearer token stands for: a user token (store.tokens) or an app token."""
        digest = hash_token(token)
        async with self.db.read() as conn:
            record = await tokens.find_active(conn, digest, self.clock())
            if record is not None:
                app = (
                    await store.get_application(conn, record.application_id)
                    if record.application_id is not None
                    else None
                )
                return TokenOwner(app, record.user_id, record.scopes)
            app_token = await store.find_app_token(conn, digest)
            if app_token is None or app_token.revoked_at is not None:
                return None
            app = await store.get_application(conn, app_token.application_id)
            return TokenOwner(app, None, app_token.scopes) if app else None

    # -- discovery --

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata with the fields Mastodon serves."""
        base = self.base_url
        return {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "scopes_supported": list(SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": self.grant_types(),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
