"""A real OpenID Connect provider on loopback for the SSO tests: `oidc-provider-mock` (PyPI,
a Flask app on authlib) served by werkzeug in a thread, with a thin WSGI layer around it.

The layer adds what the package lacks and what the tests need to play the attacker:

- PKCE (RFC 7636). oidc-provider-mock 0.3.4 (the newest published) registers authlib's
  authorization code grant without its `CodeChallenge` extension: it accepts any
  `code_verifier`, or none. The layer remembers each code's `code_challenge` (from the
  authorization request and the redirect that carries the code) and answers the token request
  `invalid_grant` unless `BASE64URL(SHA256(code_verifier)) == code_challenge` (S256), as
  RFC 7636 4.6 says. A request without a challenge is refused too (`pkce_required`).
- `forge_with`: the token response's `id_token` re-signed with another key (a token that did
  not come from the provider); `rotate_to`: a new signing key, served in the JWKS next to the
  old one (key rotation, with a new `kid`).
- `discovery`: fields changed in the discovery document (auth methods, algorithms).

Users and their claims are set with `provider.set_user(sub, claims)` (the package's
`PUT /users/{sub}`); a person "signs in" at the provider by posting its form with their `sub`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

WSGIApp = Callable[..., Iterable[bytes]]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class ProviderTweaks:
    """What the layer changes in the provider's answers (set by tests, read per request)."""

    pkce_required: bool = True
    forge_with: RSAKey | ECKey | None = None
    forge_claims: dict[str, Any] = field(default_factory=dict)
    drop_claims: tuple[str, ...] = ()
    """Claims left out of a re-signed id_token (the UserInfo endpoint still has them)."""
    rotate_to: RSAKey | ECKey | None = None
    discovery: dict[str, Any] = field(default_factory=dict)
    """Fields set in the discovery document (`token_endpoint_auth_methods_supported`, ...)."""
    challenges: dict[str, str | None] = field(default_factory=dict)
    """code -> the code_challenge of its authorization request."""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    """Every token request's form fields and `authorization` header, as received."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _json_response(start_response: Callable[..., Any], status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _Layer:
    """The WSGI layer (see the module's docstring)."""

    def __init__(self, app: WSGIApp, tweaks: ProviderTweaks) -> None:
        self.app = app
        self.tweaks = tweaks

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "POST":
            return self._authorize(environ, start_response)
        if path == "/oauth2/token":
            return self._token(environ, start_response)
        if path == "/jwks" and self.tweaks.rotate_to is not None:
            return self._rewrite_json(environ, start_response, self._add_rotated_key)
        if path == "/.well-known/openid-configuration" and self.tweaks.discovery:
            return self._rewrite_json(environ, start_response, self._update_discovery)
        return self.app(environ, start_response)

    # -- PKCE: remember the challenge of each code, check the verifier at the token endpoint

    def _authorize(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        challenge = query.get("code_challenge", [None])[0]
        method = query.get("code_challenge_method", ["plain"])[0]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured["headers"] = headers
            return start_response(status, headers, *args)

        if challenge is not None and method != "S256":
            return _json_response(start_response, "400 Bad Request", {"error": "invalid_request"})
        body = list(self.app(environ, capture))  # the app may start the response lazily
        for name, value in captured.get("headers", []):
            if name.lower() == "location":
                code = parse_qs(urlsplit(value).query).get("code", [None])[0]
                if code is not None:
                    with self.tweaks.lock:
                        self.tweaks.challenges[code] = challenge
        return body

    def _token(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with self.tweaks.lock:
            self.tweaks.token_requests.append(
                {**form, "authorization": environ.get("HTTP_AUTHORIZATION", "")}
            )
            challenge = self.tweaks.challenges.get(form.get("code", ""))
        if form.get("grant_type") == "authorization_code":
            verifier = form.get("code_verifier")
            if challenge is None and self.tweaks.pkce_required:
                return _json_response(
                    start_response,
                    "400 Bad Request",
                    {"error": "invalid_request", "error_description": "PKCE is required"},
                )
            if challenge is not None and (verifier is None or s256(verifier) != challenge):
                return _json_response(
                    start_response,
                    "400 Bad Request",
                    {"error": "invalid_grant", "error_description": "code_verifier mismatch"},
                )
        if self.tweaks.forge_with is None and self.tweaks.rotate_to is None:
            return self.app(environ, start_response)
        return self._rewrite_json(environ, start_response, self._resign)

    # -- rewriting JSON answers

    def _rewrite_json(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        change: Callable[[dict[str, Any]], None],
    ) -> Any:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured["status"] = status
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if not captured["status"].startswith("200"):
            return _json_response(start_response, captured["status"], json.loads(body))
        document = json.loads(body)
        change(document)
        return _json_response(start_response, captured["status"], document)

    def _resign(self, document: dict[str, Any]) -> None:
        """The id_token's claims, signed by `forge_with` (or the rotated key) instead."""
        key = self.tweaks.forge_with or self.tweaks.rotate_to
        assert key is not None
        token = document["id_token"]
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        original_header = json.loads(
            base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4))
        )
        claims.update(self.tweaks.forge_claims)
        for name in self.tweaks.drop_claims:
            claims.pop(name, None)
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        header = {"alg": alg}
        if self.tweaks.rotate_to is key:
            header["kid"] = str(key.kid)
        elif "kid" in original_header:  # a forgery looks like the real thing
            header["kid"] = original_header["kid"]
        document["id_token"] = jwt.encode(header, claims, key)

    def _add_rotated_key(self, document: dict[str, Any]) -> None:
        assert self.tweaks.rotate_to is not None
        document["keys"].append(self.tweaks.rotate_to.as_dict(private=False))

    def _update_discovery(self, document: dict[str, Any]) -> None:
        document.update(self.tweaks.discovery)


@dataclass
class Provider:
    """A running provider: its issuer URL, the layer's tweaks, and helpers for the tests."""

    issuer: str
    tweaks: ProviderTweaks

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        answer = httpx.put(f"{self.issuer}/users/{sub}", json=claims, trust_env=False)
        answer.raise_for_status()

    def register_client(
        self, redirect_uri: str, auth_method: str = "client_secret_basic"
    ) -> tuple[str, str]:
        """(client_id, client_secret) of a newly registered client (RFC 7591)."""
        answer = httpx.post(
            f"{self.issuer}/oauth2/clients",
            json={"redirect_uris": [redirect_uri], "token_endpoint_auth_method": auth_method},
            trust_env=False,
        )
        answer.raise_for_status()
        document = answer.json()
        return document["client_id"], document["client_secret"]

    def new_key(self, kind: str = "RSA") -> RSAKey | ECKey:
        if kind == "EC":
            return ECKey.generate_key("P-256", auto_kid=True)
        return RSAKey.generate_key(2048, auto_kid=True)


@contextmanager
def running_provider(*, require_nonce: bool = True) -> Iterator[Provider]:
    """The provider on 127.0.0.1 on a free port, for the `with` block (clients must register:
    the client secret and the redirect URI are checked)."""
    with warnings.catch_warnings():  # authlib's own deprecations, at import
        warnings.simplefilter("ignore")
        import oidc_provider_mock
    tweaks = ProviderTweaks()
    app = oidc_provider_mock.app(require_client_registration=True, require_nonce=require_nonce)
    server = werkzeug.serving.make_server("127.0.0.1", 0, _Layer(app, tweaks), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}", tweaks)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
