"""The OpenID Connect relying party: discovery, the authorization request (code flow with
PKCE S256, state and nonce), the code exchange and the ID token's validation (Core 1.0 3.1).

The provider is the one the config names, reached with its own HTTP client: the IdP is often
on the internal network, which the federation client's SSRF guard rightly refuses, and it is
trusted by configuration, not by peer policy. TLS is verified against the public CAs, the
system's store and `federation.ca_file`. Nothing here knows about users or sessions
(watercooler/sso.py does); errors are `OidcError` with a short reason for the log.

JOSE (JWS signatures, JWK parsing) is joserfc's: key formats, algorithm allow-lists and the
compact serialisation are where hand-written code goes wrong (alg `none`, an RSA key used as
an HMAC secret, DER vs raw ECDSA signatures). The claims are checked here, as Core 3.1.3.7
lists them, on the injected clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from federation.aiohttp_transport import peer_trust
from watercooler import __version__
from watercooler.config import OidcConfig

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""Asymmetric signatures only: an HMAC-signed ID token (keyed by the client secret) is refused,
so that no one who learns the secret can mint identities, and `none` is never accepted."""
LEEWAY = timedelta(seconds=60)
"""Clock skew allowed between us and the IdP on `exp` and `iat`."""
MAX_TOKEN_AGE = timedelta(minutes=10)
"""An ID token issued longer ago than this (plus leeway) is not fresh from this sign-in."""
METADATA_TTL = timedelta(hours=1)
MAX_BODY = 512 * 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class OidcError(Exception):
    """A sign-in the provider's answers do not support; `reason` is a short word for the log
    (the person sees a generic message: details help an attacker more than them)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What discovery (`{issuer}/.well-known/openid-configuration`) told us."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_method: str
    """'client_secret_basic' (the default, RFC 6749 2.3.1) or 'client_secret_post'."""
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """A new authorization request: its URL and the secrets the callback needs back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in: (issuer, subject) and their claims (ID token's, with
    the UserInfo endpoint's for claims the ID token lacks)."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _b64json(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, orjson.JSONDecodeError) as error:
        raise OidcError("bad_id_token", "not a JWS") from error
    if not isinstance(value, dict):
        raise OidcError("bad_id_token", "not a JSON object")
    return value


def _endpoint(document: Mapping[str, Any], key: str, issuer: str, *, required: bool) -> str | None:
    value = document.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme != urlsplit(issuer).scheme:
        raise OidcError("bad_discovery", f"{key} is missing or not on {urlsplit(issuer).scheme}")
    return value


class OidcClient:
    """The relying party of one instance for the one configured provider. `http` and
    `clock` are for tests; without `http` it makes (and `aclose` closes) its own client."""

    def __init__(
        self,
        config: OidcConfig,
        redirect_uri: str,
        *,
        clock: Clock,
        http: httpx.AsyncClient | None = None,
        ca_file: str | None = None,
    ) -> None:
        self.config = config
        self.redirect_uri = redirect_uri
        self.clock = clock
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            verify=peer_trust(ca_file),
            timeout=TIMEOUT,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"Watercooler/{__version__}", "Accept": "application/json"},
        )
        self._metadata: ProviderMetadata | None = None
        self._metadata_at: datetime | None = None
        self._keys: KeySet | None = None

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    # -- HTTP --

    async def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > MAX_BODY:
                raise OidcError("too_large", f"{what} is larger than {MAX_BODY} bytes")
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise OidcError(
                "bad_response", f"{what} is not JSON ({response.status_code})"
            ) from error
        if not isinstance(document, dict):
            raise OidcError("bad_response", f"{what} is not a JSON object")
        return document

    async def _request(
        self, method: str, url: str, what: str, **options: Any
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON object) from the provider, whatever the status (callers read errors)."""
        try:
            async with self._http.stream(method, url, **options) as response:
                return response.status_code, await self._json(response, what)
        except httpx.HTTPError as error:
            raise OidcError("unreachable", f"{what}: {type(error).__name__} {error}") from error

    # -- discovery --

    async def metadata(self, *, refresh: bool = False) -> ProviderMetadata:
        """The provider's metadata, fetched at first use and again after `METADATA_TTL`."""
        now = self.clock()
        fresh = self._metadata_at is not None and now - self._metadata_at < METADATA_TTL
        if self._metadata is not None and fresh and not refresh:
            return self._metadata
        issuer = self.config.issuer
        url = f"{issuer}/.well-known/openid-configuration"
        status, document = await self._request("GET", url, "the discovery document")
        if status != 200:
            raise OidcError("bad_discovery", f"{url} did not answer 200")
        if document.get("issuer") != issuer:  # Discovery 4.3: must be identical
            raise OidcError("bad_discovery", f"issuer {document.get('issuer')!r} is not {issuer}")
        methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if not isinstance(methods, list):
            methods = ["client_secret_basic"]
        if "client_secret_basic" in methods:
            method = "client_secret_basic"
        elif "client_secret_post" in methods:
            method = "client_secret_post"
        else:
            raise OidcError("bad_discovery", f"no client_secret method among {methods}")
        offered = document.get("id_token_signing_alg_values_supported", ["RS256"])
        algorithms = tuple(a for a in ALGORITHMS if isinstance(offered, list) and a in offered)
        if not algorithms:
            raise OidcError("bad_discovery", f"no asymmetric ID token algorithm in {offered}")
        self._metadata = ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=str(
                _endpoint(document, "authorization_endpoint", issuer, required=True)
            ),
            token_endpoint=str(_endpoint(document, "token_endpoint", issuer, required=True)),
            jwks_uri=str(_endpoint(document, "jwks_uri", issuer, required=True)),
            userinfo_endpoint=_endpoint(document, "userinfo_endpoint", issuer, required=False),
            token_auth_method=method,
            algorithms=algorithms,
        )
        self._metadata_at = now
        return self._metadata

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        if self._keys is not None and not refresh:
            return self._keys
        metadata = await self.metadata()
        status, document = await self._request("GET", metadata.jwks_uri, "the JWKS")
        if status != 200 or not isinstance(document.get("keys"), list):
            raise OidcError("bad_jwks", f"{metadata.jwks_uri} did not answer a key set")
        keys: list[RSAKey | ECKey] = []
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            if entry.get("kty") not in ("RSA", "EC"):
                continue
            try:
                key = (RSAKey if entry["kty"] == "RSA" else ECKey).import_key(entry)
            except (JoseError, ValueError, KeyError, TypeError) as error:
                log.warning("oidc jwks: a key was skipped kid=%s error=%s", entry.get("kid"), error)
                continue
            keys.append(key)
        self._keys = KeySet(keys)  # type: ignore[arg-type]
        log.info("oidc jwks fetched issuer=%s keys=%d", self.config.issuer, len(keys))
        return self._keys

    # -- the authorization request --

    async def login_request(self) -> LoginRequest:
        """A fresh state, nonce and PKCE verifier, and the URL to send the browser to."""
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set (RFC 7636)
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        url = f"{metadata.authorization_endpoint}{separator}{urlencode(params)}"
        return LoginRequest(url, state, nonce, verifier)

    # -- the callback --

    async def sign_in(self, code: str, code_verifier: str, nonce: str) -> Identity:
        """Exchange the code (with the PKCE verifier), validate the ID token (with `nonce`),
        and read the UserInfo endpoint when a claim the config names is not in the token."""
        metadata = await self.metadata()
        tokens = await self._exchange(metadata, code, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("no_id_token", "the token response has no id_token")
        claims = await self.validate_id_token(id_token, nonce)
        access_token = tokens.get("access_token")
        wanted = {
            self.config.username_claim,
            self.config.name_claim,
            self.config.department_claim,
            self.config.title_claim,
            self.config.required_claim,
            "email",
        } - {None}
        missing = [claim for claim in wanted if claim not in claims]
        if missing and metadata.userinfo_endpoint and isinstance(access_token, str):
            userinfo = await self._userinfo(metadata.userinfo_endpoint, access_token)
            if userinfo.get("sub") != claims["sub"]:  # Core 5.3.4: must match, or not use it
                raise OidcError("userinfo_sub", "the UserInfo sub is not the ID token's")
            claims = {**userinfo, **claims}
        return Identity(self.config.issuer, claims["sub"], claims)

    async def _exchange(
        self, metadata: ProviderMetadata, code: str, code_verifier: str
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": code_verifier,
        }
        headers: dict[str, str] = {}
        if metadata.token_auth_method == "client_secret_basic":
            client_id, secret = self.config.client_id, self.config.client_secret
            pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"  # RFC 6749 2.3.1
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form["client_id"] = self.config.client_id
            form["client_secret"] = self.config.client_secret
        status, document = await self._request(
            "POST", metadata.token_endpoint, "the token response", data=form, headers=headers
        )
        if status != 200:
            error = document.get("error", "?")
            raise OidcError(
                "token_refused", f"{status} {error}: {document.get('error_description')}"
            )
        if str(document.get("token_type", "")).lower() != "bearer":
            raise OidcError("token_refused", f"token_type {document.get('token_type')!r}")
        return document

    async def _userinfo(self, url: str, access_token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        status, document = await self._request("GET", url, "the UserInfo response", headers=headers)
        if status != 200:
            raise OidcError("userinfo_refused", f"{url} did not answer 200")
        return document

    # -- the ID token --

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The ID token's claims once its signature (against the provider's JWKS, fetched
        again once for an unknown key id: key rotation) and its claims are right."""
        metadata = await self.metadata()
        parts = id_token.split(".")
        if len(parts) != 3:
            raise OidcError("bad_id_token", "not a compact JWS")
        header = _b64json(parts[0])
        alg = header.get("alg")
        if alg not in metadata.algorithms:
            raise OidcError("bad_id_token", f"alg {alg!r} is not one of {metadata.algorithms}")
        kid = header.get("kid")
        keys = await self._key_set()
        candidates = self._candidates(keys, kid, alg)
        if not candidates and kid is not None:
            keys = await self._key_set(refresh=True)
            candidates = self._candidates(keys, kid, alg)
        if not candidates:
            raise OidcError("unknown_key", f"no key kid={kid!r} for {alg} in the provider's JWKS")
        payload: bytes | None = None
        for key in candidates:
            try:
                payload = jws.deserialize_compact(id_token, key, algorithms=[alg]).payload
                break
            except JoseError:
                continue
        if payload is None:
            raise OidcError("bad_signature", f"the ID token's signature does not verify kid={kid}")
        try:
            claims = orjson.loads(payload)
        except orjson.JSONDecodeError as error:
            raise OidcError("bad_id_token", "the payload is not JSON") from error
        if not isinstance(claims, dict):
            raise OidcError("bad_id_token", "the payload is not a JSON object")
        self._check_claims(claims, nonce)
        return claims

    @staticmethod
    def _candidates(keys: KeySet, kid: object, alg: str) -> list[Any]:
        kty = "EC" if alg.startswith("ES") else "RSA"
        if kid is not None:
            return [key for key in keys if key.kid == kid and key.key_type == kty]
        return [key for key in keys if key.key_type == kty]  # no kid: try each of its type

    def _check_claims(self, claims: dict[str, Any], nonce: str) -> None:
        """Core 3.1.3.7, items 2-11 (the signature is item 6)."""
        if claims.get("iss") != self.config.issuer:
            raise OidcError("wrong_issuer", f"iss {claims.get('iss')!r}")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        client_id = self.config.client_id
        if client_id not in audiences:
            raise OidcError("wrong_audience", f"aud {audience!r} does not name this client")
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise OidcError("wrong_audience", "several audiences and no azp")
        if azp is not None and azp != client_id:
            raise OidcError("wrong_audience", f"azp {azp!r} is another client")
        now = self.clock().timestamp()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise OidcError("bad_id_token", "exp is missing")
        if exp + LEEWAY.total_seconds() <= now:
            raise OidcError("expired", f"the ID token expired at {exp}")
        if not isinstance(iat, int | float) or isinstance(iat, bool):
            raise OidcError("bad_id_token", "iat is missing")
        if iat - LEEWAY.total_seconds() > now:
            raise OidcError("not_yet_valid", f"the ID token is issued in the future ({iat})")
        if iat + (MAX_TOKEN_AGE + LEEWAY).total_seconds() < now:
            raise OidcError("stale", f"the ID token was issued at {iat}, too long ago")
        presented = claims.get("nonce")
        if not isinstance(presented, str) or not hmac.compare_digest(presented, nonce):
            raise OidcError("wrong_nonce", "the nonce is not this sign-in's")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise OidcError("bad_id_token", "sub is missing or longer than 255 characters")
