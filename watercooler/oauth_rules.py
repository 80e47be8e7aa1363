"""The rules of OAuth 2 that need no database: scopes, redirect URIs, PKCE, the
sign-in rate limit, CSRF tokens and the errors. Split from watercooler/oauth.py, which
applies them with the store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

log = logging.getLogger(__name__)

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
SESSION_LIFETIME = timedelta(days=14)
CSRF_LIFETIME = timedelta(hours=1)
SIGN_IN_FAILURES = 10
SIGN_IN_WINDOW = timedelta(minutes=15)

MAX_APP_NAME = 60
MAX_URI = 2000
MAX_REDIRECT_URIS = 20
MAX_STATE = 1000

# Mastodon's scopes (config/initializers/doorkeeper.rb, 4.3), in its order.
_READ = (
    "read:accounts read:blocks read:bookmarks read:favourites read:filters read:follows"
    " read:lists read:mutes read:notifications read:search read:statuses"
).split()
_WRITE = (
    "write:accounts write:blocks write:bookmarks write:conversations write:favourites"
    " write:filters write:follows write:lists write:media write:mutes write:notifications"
    " write:reports write:statuses"
).split()
_ADMIN = (
    "accounts reports domain_allows domain_blocks ip_blocks email_domain_blocks"
    " canonical_email_blocks"
).split()
SUPPORTED_SCOPES: tuple[str, ...] = (
    "read",
    *_READ,
    "write",
    *_WRITE,
    "follow",
    "push",
    "admin:read",
    *(f"admin:read:{name}" for name in _ADMIN),
    "admin:write",
    *(f"admin:write:{name}" for name in _ADMIN),
    "profile",
)
# The deprecated `follow` scope stands for these granular ones.
_FOLLOW = frozenset(
    ("read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes")
)
SCOPE_DESCRIPTIONS = {
    "read": "read all your account's data",
    "write": "modify all your account's data",
    "follow": "modify account relationships",
    "push": "receive your push notifications",
    "admin:read": "read all data on the server",
    "admin:write": "modify all data on the server",
    "profile": "read only your account's profile information",
}

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")
VERIFIER_PATTERN = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
CHALLENGE_PATTERN = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_FORBIDDEN_SCHEMES = frozenset(("javascript", "data", "vbscript", "file", "blob", "about"))

Params = Mapping[str, Any]


class OAuthError(Exception):
    """An RFC 6749 error answered as JSON `{error, error_description}`."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


class InvalidApplication(ValueError):
    """App registration input that Mastodon answers with 422 "Validation failed: ..."."""


class SignInFailed(Exception):
    """A sign-in refused; the message is safe to show the person signing in."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AuthorizeError(Exception):
    """A bad authorization request. With `redirect_uri` set the client may be told (the URI
    is registered); without, only the browser's user sees the error."""

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
        response_mode: str = "query",
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state
        self.response_mode = response_mode


# -- parameters ------------------------------------------------------------------------------


def one(params: Params, name: str) -> str | None:
    """A single string parameter; a list (form arrays, JSON) gives its first string."""
    value = params.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str | int | float):
        return None
    return str(value)


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [word for item in value if isinstance(item, str) for word in item.split()]
    if not isinstance(value, str):
        raise ValueError("expected a string or a list of strings")
    return value.replace(",", " ").split()


# -- scopes ----------------------------------------------------------------------------------


def parse_scope_list(value: Any, *, default: str = "read") -> tuple[str, ...]:
    """Scopes as clients send them (space-separated text or a list), each one Mastodon knows;
    ValueError names the first unknown one."""
    try:
        words = _words(value)
    except ValueError as error:
        raise ValueError("scopes must be text or a list of text") from error
    scopes = tuple(dict.fromkeys(words or default.split()))
    for scope in scopes:
        if scope not in SUPPORTED_SCOPES:
            raise ValueError(f"unknown scope {scope!r}")
    return scopes


def scope_covered(granted: tuple[str, ...], scope: str) -> bool:
    """`read` covers `read:statuses`, `admin:read` covers `admin:read:accounts`, `follow`
    covers the relationship scopes; never the other way round."""
    return any(
        scope == g or scope.startswith(f"{g}:") or (g == "follow" and scope in _FOLLOW)
        for g in granted
    )


def scopes_within(granted: tuple[str, ...], requested: tuple[str, ...]) -> bool:
    return all(scope_covered(granted, scope) for scope in requested)


# -- redirect URIs ---------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str, *, allow_any_http: bool) -> str:
    """A redirect URI an app may register: the out-of-band URN, https, http on loopback (any
    http host when the instance itself runs on plain http), or a native app's own scheme
    (`com.tapbots.Ivory.123:/request_token`)."""
    if uri == OOB:
        return uri
    if len(uri) > MAX_URI:
        raise InvalidApplication(f"Redirect URI is too long (maximum is {MAX_URI} characters)")
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in uri):
        raise InvalidApplication("Redirect URI must not contain spaces or control characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError as error:
        raise InvalidApplication("Redirect URI must be an absolute URI.") from error
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME.match(scheme):
        raise InvalidApplication("Redirect URI must be an absolute URI.")
    if "#" in uri:
        raise InvalidApplication("Redirect URI must not contain a fragment.")
    if scheme in _FORBIDDEN_SCHEMES:
        raise InvalidApplication(f"Redirect URI must not use the {scheme}: scheme.")
    if scheme in ("http", "https"):
        if not host:
            raise InvalidApplication("Redirect URI must be an absolute URI.")
        if scheme == "http" and not allow_any_http and not _is_loopback(host):
            raise InvalidApplication(
                "Redirect URI must use https (plain http only for loopback addresses)."
            )
    elif uri == f"{parts.scheme}:":
        raise InvalidApplication("Redirect URI must be an absolute URI.")
    return uri


def parse_redirect_uris(value: Any, *, allow_any_http: bool) -> tuple[str, ...]:
    """One URI or several (a list, or text separated by newlines or spaces)."""
    try:
        uris = list(dict.fromkeys(_words(value) if not isinstance(value, str) else value.split()))
    except ValueError as error:
        raise InvalidApplication("Redirect URI must be text or a list of text") from error
    if not uris:
        raise InvalidApplication("Redirect URI can't be blank")
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidApplication(f"Too many redirect URIs (maximum is {MAX_REDIRECT_URIS})")
    return tuple(check_redirect_uri(uri, allow_any_http=allow_any_http) for uri in uris)


def redirect_location(redirect_uri: str, params: Mapping[str, str], mode: str = "query") -> str:
    """`redirect_uri` with the response parameters added in the query (or the fragment)."""
    encoded = urlencode(params)
    if mode == "fragment":
        return f"{redirect_uri}#{encoded}"
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{encoded}"


def check_website(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    website = value.strip()
    if len(website) > MAX_URI:
        raise InvalidApplication(f"Website is too long (maximum is {MAX_URI} characters)")
    try:
        parts = urlsplit(website)
    except ValueError as error:
        raise InvalidApplication("Website is not a valid URL") from error
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidApplication("Website is not a valid URL")
    return website


# -- PKCE ------------------------------------------------------------------------------------


def pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# -- sign-in rate limit ----------------------------------------------------------------------


class SignInLimiter:
    """Failed sign-ins per (name, address) in a sliding window, in memory and bounded.

    Per process: behind several server processes an attacker gets that many times the
    budget, which is still far from a brute force.
    """

    def __init__(
        self,
        clock: Callable[[], datetime],
        *,
        max_failures: int = SIGN_IN_FAILURES,
        window: timedelta = SIGN_IN_WINDOW,
        max_keys: int = 10_000,
    ) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[datetime]] = {}

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: tuple[str, str]) -> timedelta | None:
        """How long `key` must wait, or None when it may try now."""
        now = self._clock()
        times = self._recent(key, now)
        if times is None or len(times) < self._max:
            return None
        return times[-self._max] + self._window - now

    def failed(self, key: tuple[str, str]) -> None:
        now = self._clock()
        if key not in self._failures and len(self._failures) >= self._max_keys:
            for stale in list(self._failures):
                self._recent(stale, now)
            while len(self._failures) >= self._max_keys:
                del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque(maxlen=self._max)).append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


# -- CSRF ------------------------------------------------------------------------------------


class Csrf:
    """Tokens for the sign-in and consent forms.

    The cookie carries a random nonce and its expiry, MACed with the instance's secret; the
    form carries HMAC(secret, nonce + the session it was shown to). A forged cross-site POST
    has neither; a cookie planted from a sibling host fails the MAC or the session binding.
    """

    def __init__(self, secret: bytes, clock: Callable[[], datetime]) -> None:
        self._secret = secret
        self._clock = clock

    def _mac(self, *parts: str) -> str:
        digest = hmac.new(self._secret, "\x00".join(parts).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def _nonce(self, cookie: str | None) -> str | None:
        """The nonce of a cookie we made that has not expired."""
        if not cookie or cookie.count(".") != 2:
            return None
        nonce, expires, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("csrf-cookie", nonce, expires)):
            return None
        if not expires.isdigit() or int(expires) < self._clock().timestamp():
            return None
        return nonce

    def issue(self, cookie: str | None, binding: str) -> tuple[str, str]:
        """(cookie value, form token); keeps a still-valid cookie so two open tabs work."""
        nonce = self._nonce(cookie)
        if nonce is None or cookie is None:
            nonce = secrets.token_urlsafe(24)
            expires = str(int((self._clock() + CSRF_LIFETIME).timestamp()))
            cookie = f"{nonce}.{expires}.{self._mac('csrf-cookie', nonce, expires)}"
        return cookie, self._mac("csrf-form", nonce, binding)

    def verify(self, cookie: str | None, token: str | None, binding: str) -> bool:
        nonce = self._nonce(cookie)
        if nonce is None or not token:
            return False
        return hmac.compare_digest(token, self._mac("csrf-form", nonce, binding))


# -- results ---------------------------------------------------------------------------------
