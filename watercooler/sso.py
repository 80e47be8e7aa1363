"""Single sign-on: who may sign in through the OpenID provider, as which local user, and what
the provider's claims set on their profile. The protocol is watercooler/oidc.py; the pages
are watercooler/web/sso.py. Also the one rule for password sign-in (`password_allowed`).

Decisions (docs/admin.md, "Single sign-on"):
- A person is (issuer, sub), never their e-mail or username: those can change or be reused
  at the IdP. The first sign-in creates a local user with no usable password, named from
  the username claim (made to fit our rules and unique: alice.smith@corp -> alice_smith,
  then alice_smith_2).
- An existing local user is taken over by an IdP identity only with `oidc.link_by_email` and
  only when the IdP says the e-mail is verified (`email_verified` true): an unverified or
  spoofable e-mail claim would hand the account to whoever typed it (Azure AD's "nOAuth").
  Never by username.
- Department and title are the IdP's: set from their claims at every sign-in (what the
  person typed there is replaced; the directory then shows what HR keeps). The display
  name follows the IdP too, until the person changes it themselves.
- A disabled user, or a suspended account, cannot sign in through SSO either.
- Every sign-in, refusal (after the state matched: a stray callback is only logged, so no
  one can fill the audit log from outside) and account creation is an audit row.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from federation.uris import is_valid_username
from outbox.publish import ProfileChange
from store import accounts, api_queries, audit, oidc, users
from store import oauth as oauth_store
from store.db import Connection
from store.errors import Conflict
from store.records import UserRecord
from watercooler.accounts import AccountError, create_user, hash_token
from watercooler.config import AuthConfig, OidcConfig
from watercooler.oidc import Identity, OidcClient, OidcError
from watercooler.services import Services

log = logging.getLogger(__name__)

LOGIN_LIFETIME = timedelta(minutes=10)
"""How long a person may spend at the IdP between our redirect and its callback."""
DEPARTMENT, TITLE = "Department", "Title"
_DEPARTMENT_NAMES = ("department", "dept")
_TITLE_NAMES = ("title", "job title", "role", "position")
"""The profile field names the directory reads (store/migrations/0018_directory.sql)."""
MAX_FIELDS = 4
MAX_FIELD_VALUE = 255
MAX_DISPLAY_NAME = 30
UNUSABLE_PASSWORD = "!"
"""A password hash no password verifies against (watercooler.passwords reads `scrypt$...`)."""


def password_allowed(auth: AuthConfig, user: UserRecord | None) -> bool:
    """May `user` sign in with a password (web form, OAuth form)? Always with password sign-in
    on; with it off, only admins and only with `auth.admin_password_sign_in` (break-glass)."""
    if auth.password_sign_in:
        return True
    return user is not None and user.admin and auth.admin_password_sign_in


class SignInRefused(Exception):
    """A single sign-on that does not sign anyone in: the status and a message for the
    person, and the reason for the log and audit row."""

    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: UserRecord
    next_url: str
    created: bool


def username_from(value: object) -> str:
    """A local username from the IdP's claim: the part before an '@', accents dropped,
    anything but letters, digits and '_' turned into '_', at most 30 characters."""
    text = str(value or "").split("@")[0]
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    text = re.sub(r"_+", "_", text)[:30].strip("_")
    return text or "user"


def claim_text(claims: Mapping[str, Any], name: str | None, limit: int) -> str | None:
    """A claim as one line of text (None when absent: the IdP did not say)."""
    if name is None or name not in claims:
        return None
    value = claims[name]
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value if item is not None)
    if value is None or isinstance(value, dict):
        return ""
    return " ".join(str(value).split())[:limit]


def claim_matches(value: object, wanted: tuple[str | bool, ...]) -> bool:
    """Does the claim hold one of `wanted` (a list claim: contain one)? Booleans compare as
    booleans, so `email_verified = "true"` (a string) is not `true`."""
    values = value if isinstance(value, list) else [value]
    for item in values:
        for expected in wanted:
            if isinstance(expected, bool) or isinstance(item, bool):
                if item is expected:
                    return True
            elif isinstance(item, str) and item == expected:
                return True
    return False


def merged_fields(
    fields: list[tuple[str, str]], department: str | None, title: str | None
) -> list[tuple[str, str]]:
    """The person's fields with Department and Title set from the IdP (None: the IdP said
    nothing, keep theirs; '': it says there is none, remove it). A field already there under
    a name the directory reads is replaced in place; a new one goes first. At most four:
    the person's last ones give way."""
    result = list(fields)
    for label, names, value in (
        (TITLE, _TITLE_NAMES, title),
        (DEPARTMENT, _DEPARTMENT_NAMES, department),
    ):
        if value is None:
            continue
        index = next(
            (i for i, (name, _) in enumerate(result) if name.strip().lower() in names), None
        )
        if index is not None:
            if value:
                result[index] = (result[index][0], value)
            else:
                del result[index]
        elif value:
            result.insert(0, (label, value))
    return result[:MAX_FIELDS]


class SingleSignOn:
    """Single sign-on for one instance: starts sign-ins and finishes them."""

    def __init__(self, svc: Services, client: OidcClient) -> None:
        self.svc = svc
        self.client = client
        config = svc.config.oidc
        assert config is not None
        self.config: OidcConfig = config

    async def start(self, next_url: str, browser: str) -> str:
        """Remember a new sign-in for this `browser` (its cookie secret); the IdP's URL."""
        request = await self.client.login_request()
        now = self.svc.clock()
        async with self.svc.db.transaction() as conn:
            await oidc.insert_login(
                conn,
                state_hash=hash_token(request.state),
                browser_hash=hash_token(browser),
                nonce=request.nonce,
                code_verifier=request.code_verifier,
                next_url=next_url,
                now=now,
                expires_at=now + LOGIN_LIFETIME,
            )
        return request.url

    async def finish(
        self, params: Mapping[str, str], browser: str | None, address: str
    ) -> SignedIn:
        """The callback: the state must be one this browser started and not used, then the
        code is exchanged and the identity mapped to a user. SignInRefused otherwise."""
        state = params.get("state") or ""
        if not state and params.get("error"):  # the IdP said no, and (wrongly) sent no state
            error = params["error"][:100]
            log.info("sso callback refused reason=idp:%s ip=%s", error, address)
            raise SignInRefused(
                403, f"{self.config.display_name} did not sign you in ({error}).", "idp_error"
            )
        if not state or len(state) > 200 or not browser:
            log.info("sso callback refused reason=no_state ip=%s", address)
            raise SignInRefused(400, "This sign-in link is not valid. Start again.", "no_state")
        async with self.svc.db.transaction() as conn:
            pending = await oidc.take_login(conn, hash_token(state))
        if pending is None or not secrets.compare_digest(pending.browser_hash, hash_token(browser)):
            # unknown, used, or another browser's: the last is what login CSRF looks like
            reason = "unknown_state" if pending is None else "other_browser"
            log.info("sso callback refused reason=%s ip=%s", reason, address)
            raise SignInRefused(
                400, "This sign-in link was already used or has expired. Start again.", reason
            )
        if pending.expires_at <= self.svc.clock():
            log.info("sso callback refused reason=expired ip=%s", address)
            raise SignInRefused(400, "This sign-in took too long. Start again.", "expired")
        if params.get("error"):
            error = params["error"][:100]
            await self._refused(None, None, f"idp:{error}", address)
            raise SignInRefused(
                403, f"{self.config.display_name} did not sign you in ({error}).", "idp_error"
            )
        code = params.get("code")
        if not code:
            raise SignInRefused(400, "The sign-in answer has no code. Start again.", "no_code")
        try:
            identity = await self.client.sign_in(code, pending.code_verifier, pending.nonce)
        except OidcError as error:
            log.warning(
                "sso sign-in failed reason=%s detail=%s ip=%s", error.reason, error.detail, address
            )
            await self._refused(None, None, error.reason, address)
            unreachable = error.reason in ("unreachable", "bad_discovery", "bad_response")
            raise SignInRefused(
                502 if unreachable else 403,
                f"Signing in with {self.config.display_name} did not work. Try again, or ask IT.",
                error.reason,
            ) from error
        user, created = await self._user_for(identity, address)
        await self._signed_in(identity, user, created, address)
        return SignedIn(user, pending.next_url, created)

    # -- the identity and its user --

    async def _user_for(self, identity: Identity, address: str) -> tuple[UserRecord, bool]:
        required = self.config.required_claim
        if required is not None and not claim_matches(
            identity.claims.get(required), self.config.required_values
        ):
            await self._refused(identity, None, "claim", address, {"claim": required})
            raise SignInRefused(
                403,
                f"Your {self.config.display_name} account is not allowed to use"
                f" {self.svc.config.instance.name}. Ask IT for access.",
                "claim",
            )
        async with self.svc.db.read() as conn:
            known = await oidc.find_identity(conn, identity.issuer, identity.subject)
            user = await users.get_by_id(conn, known.user_id) if known else None
        created = False
        if user is None:
            user = await self._linked_by_email(identity, address)
        if user is None:
            user, created = await self._create(identity), True
        async with self.svc.db.read() as conn:
            account = await accounts.get_by_id(conn, user.account_id)
        if user.disabled or account is None or account.suspended_at is not None:
            await self._refused(identity, user, "disabled", address)
            raise SignInRefused(403, "This account is disabled.", "disabled")
        return user, created

    async def _linked_by_email(self, identity: Identity, address: str) -> UserRecord | None:
        email = identity.claims.get("email")
        if not self.config.link_by_email or not isinstance(email, str) or not email:
            return None
        if identity.claims.get("email_verified") is not True:
            return None
        async with self.svc.db.transaction() as conn:
            user_id = await oauth_store.user_id_by_email(conn, email)
            user = await users.get_by_id(conn, user_id) if user_id is not None else None
            if user is None:
                return None
            if any(
                known.issuer == identity.issuer for known in await oidc.identities_of(conn, user.id)
            ):
                # the e-mail was someone else's at this IdP before: never hand their account on
                log.warning("sso e-mail link refused user=%s: has an identity", user.username)
                return None
            await oidc.insert_identity(
                conn,
                issuer=identity.issuer,
                subject=identity.subject,
                user_id=user.id,
                now=self.svc.clock(),
            )
            await self._append(
                conn, user, "user.link_identity", user.username, self._details(identity, address)
            )
        log.info("sso identity linked by e-mail user=%s sub=%s", user.username, identity.subject)
        return user

    async def _create(self, identity: Identity) -> UserRecord:
        """A new local user for this identity: username from the claim, unique; the e-mail if
        no one has it yet; no usable password."""
        base = username_from(identity.claims.get(self.config.username_claim))
        email = identity.claims.get("email")
        async with self.svc.db.read() as conn:
            if not isinstance(email, str) or await oauth_store.user_id_by_email(conn, email):
                email = None
        for attempt in range(1, 200):
            suffix = "" if attempt == 1 else f"_{attempt}"
            if attempt > 100:
                suffix = f"_{secrets.token_hex(3)}"
            name = base[: 30 - len(suffix)] + suffix
            if not is_valid_username(name):
                continue
            async with self.svc.db.read() as conn:
                if await accounts.get_local(conn, name) is not None:
                    continue
            try:
                created = await create_user(
                    self.svc.db,
                    self.svc.uris,
                    name,
                    now=self.svc.clock(),
                    password=secrets.token_urlsafe(32),
                    email=email,
                )
            except AccountError:
                continue  # taken in the meantime
            break
        else:  # pragma: no cover - 200 names taken
            raise SignInRefused(500, "No username could be made for you. Ask IT.", "no_username")
        async with self.svc.db.transaction() as conn:
            await users.change_password(conn, created.user.id, UNUSABLE_PASSWORD)
            try:
                await oidc.insert_identity(
                    conn,
                    issuer=identity.issuer,
                    subject=identity.subject,
                    user_id=created.user.id,
                    now=self.svc.clock(),
                )
            except Conflict as error:  # the same person signing in twice at once
                raise SignInRefused(
                    409, "You are being signed in already. Try again.", "race"
                ) from error
            details = {**self._details(identity, None), "email": email}
            await self._append(conn, created.user, "user.create", name, details)
            user = await users.get_by_id(conn, created.user.id)
        assert user is not None
        log.info("sso user created user=%s sub=%s", name, identity.subject)
        return user

    # -- after: the profile, the audit row --

    async def _signed_in(
        self, identity: Identity, user: UserRecord, created: bool, address: str
    ) -> None:
        claims = identity.claims
        name = claim_text(claims, self.config.name_claim, MAX_DISPLAY_NAME)
        async with self.svc.db.read() as conn:
            account = await accounts.get_by_id(conn, user.account_id)
            known = await oidc.find_identity(conn, identity.issuer, identity.subject)
            fields = await api_queries.profile_fields(conn, user.account_id)
        assert account is not None and known is not None
        display_name = account.display_name
        untouched = created or known.synced_display_name in (None, account.display_name)
        if name and untouched:
            display_name = name
        new_fields = merged_fields(
            fields,
            claim_text(claims, self.config.department_claim, MAX_FIELD_VALUE),
            claim_text(claims, self.config.title_claim, MAX_FIELD_VALUE),
        )
        if display_name != account.display_name or new_fields != fields:
            await self.svc.publisher.update_profile(
                account,
                ProfileChange(
                    display_name=display_name,
                    note=account.note,
                    locked=account.manually_approves_followers,
                    discoverable=account.discoverable,
                    actor_type=account.actor_type,
                    avatar_file=account.avatar_file,
                    header_file=account.header_file,
                    fields=new_fields,
                ),
            )
        synced = display_name if (name and untouched) else known.synced_display_name
        async with self.svc.db.transaction() as conn:
            await oidc.record_sign_in(
                conn, identity.issuer, identity.subject, synced, self.svc.clock()
            )
            details = {**self._details(identity, address), "created": created}
            await self._append(conn, user, "auth.sign_in", user.username, details)
        log.info("sso sign-in user=%s sub=%s ip=%s", user.username, identity.subject, address)

    def _details(self, identity: Identity, address: str | None) -> dict[str, Any]:
        details: dict[str, Any] = {
            "method": "oidc",
            "issuer": identity.issuer,
            "subject": identity.subject,
        }
        if address is not None:
            details["address"] = address
        return details

    async def _append(
        self,
        conn: Connection,
        user: UserRecord,
        action: str,
        target: str,
        details: Mapping[str, Any],
    ) -> None:
        await audit.append(
            conn,
            now=self.svc.clock(),
            actor_account_id=user.account_id,
            actor_name=user.username,
            action=action,
            target=target,
            details=details,
            origin="web",
        )

    async def _refused(
        self,
        identity: Identity | None,
        user: UserRecord | None,
        reason: str,
        address: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """'auth.sign_in_refused': named by the local user if there is one, else by the
        identity ('oidc:SUB'), else unknown (the provider's answer did not say who)."""
        details: dict[str, Any] = {"method": "oidc", "reason": reason, "address": address}
        if identity is not None:
            details.update(issuer=identity.issuer, subject=identity.subject)
        name = (
            user.username if user else f"oidc:{identity.subject[:100]}" if identity else "(unknown)"
        )
        async with self.svc.db.transaction() as conn:
            await audit.append(
                conn,
                now=self.svc.clock(),
                actor_account_id=user.account_id if user else None,
                actor_name=name,
                action="auth.sign_in_refused",
                target=name,
                details={**details, **(extra or {})},
                origin="web",
            )
        log.info("sso sign-in refused reason=%s who=%s ip=%s", reason, name, address)
