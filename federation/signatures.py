"""HTTP Signatures (draft-cavage-http-signatures-12) and the types both signature schemes share.

Owns the request view verifiers read (``HttpRequestView``), the seam through which keys
arrive (``KeyResolver`` / ``ResolvedKey``), the verdict (``Verified``), signing outgoing
requests the way Mastodon does (``sign_request``, ``HttpSignatureAuth``), verifying
draft-cavage signatures (``verify_cavage``). ``federation/verify.py`` picks RFC 9421 or
draft-cavage for an incoming request.

Must not fetch keys (a ``KeyResolver`` does, with its own cache and peer policy), touch
the store, read the wall clock (``now`` is always passed in; only ``HttpSignatureAuth``
has a default clock) or decide HTTP answers: failures raise ``SignatureError`` with a
``reason`` and the app shell maps it to a response.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import logging
import re
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Literal, Protocol, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from federation.digest import digest_header, verify_digest
from federation.errors import FetchError, SignatureError

__all__ = [
    "DEFAULT_MAX_SKEW",
    "CavageSignature",
    "HttpRequestView",
    "HttpSignatureAuth",
    "KeyResolver",
    "ResolvedKey",
    "SharedSecret",
    "SigningKey",
    "Verified",
    "VerifyingKey",
    "authority",
    "check_cavage_signature",
    "format_http_date",
    "parse_signature_header",
    "sign_request",
    "signing_string",
    "verify_cavage",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_SKEW = timedelta(hours=1)
"""How far a signature's Date / created may be from our clock, each way, unless the caller
passes its configured ``max_skew``; ``expires`` gets the same allowance."""

CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "rsa-sha512", "hs2019", "ed25519"})
"""``algorithm`` values we verify. ``hs2019`` (and an absent parameter) means "as the key
says": RSASSA-PKCS1-v1_5 with SHA-256 for RSA keys, which is what real hs2019 senders produce
(Fedify, and the oeee.cafe request in our fixtures), and Ed25519 for Ed25519 keys."""

_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class SharedSecret:
    """A symmetric key for RFC 9421 ``hmac-sha256``; fediverse actors never publish one."""

    secret: bytes = field(repr=False)


VerifyingKey: TypeAlias = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | SharedSecret
)
SigningKey: TypeAlias = (
    rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | SharedSecret
)


def header_lines(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every field line named ``name`` (case-insensitive), in order, trimmed of OWS."""
    wanted = name.lower()
    return [value.strip(" \t") for key, value in headers if key.lower() == wanted]


@dataclass(frozen=True)
class HttpRequestView:
    """An incoming (or about-to-be-sent) request, as signatures see it.

    ``url`` is absolute (scheme, host, path, query) and is the URL the *sender* addressed,
    so the app shell builds it from our public base URL, not from what a proxy forwarded.
    ``headers`` keep their order and repetitions; values are the raw bytes decoded as
    Latin-1 (what ASGI servers give), so signing strings re-encode them byte-exactly.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The field's value with repeated lines joined by ", " (RFC 9110), or None."""
        return self._fields.get(name.lower())

    @cached_property
    def _fields(self) -> dict[str, str]:
        """Every field by lower-case name, made once: a verifier asks for half a dozen."""
        lines: dict[str, list[str]] = {}
        for key, value in self.headers:
            lines.setdefault(key.lower(), []).append(value.strip(" \t"))
        return {key: ", ".join(values) for key, values in lines.items()}


@dataclass(frozen=True)
class ResolvedKey:
    key_id: str
    owner: str
    public_key: VerifyingKey


class KeyResolver(Protocol):
    """Finds the public key behind a ``keyId``; the app shell fills it in from the store.

    ``refresh=True`` asks for a fresh copy from the key's origin, skipping any cache:
    verifiers call it once after a signature fails with the cached key, because the
    peer may have rotated its key. Return None when there is no usable key.
    """

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None: ...


@dataclass(frozen=True)
class Verified:
    """A request whose signature verified: who signed it and what the signature covers."""

    key_id: str
    owner: str
    scheme: Literal["cavage", "rfc9421"]
    covered: tuple[str, ...]


# Helpers shared with federation.rfc9421.


def require_aware(moment: datetime) -> datetime:
    """Refuse naive datetimes: a signature clock that silently means local time is a bug."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return moment


def wire_bytes(text: str) -> bytes:
    """The bytes a signing string stands for: Latin-1 (raw header bytes), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def authority(url: str) -> str:
    """``host[:port]`` of an absolute URL, lower-cased, default port dropped: what ``Host``
    and RFC 9421 ``@authority`` say for it."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL: {url!r}")
    netloc = parts.netloc.rpartition("@")[2]
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = netloc.partition(":")
    host = host.lower()
    if not port or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def format_http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Wed, 20 Dec 2023 10:00:00 GMT``."""
    return email.utils.format_datetime(require_aware(moment).astimezone(UTC), usegmt=True)


def parse_http_date(value: str) -> datetime:
    """Parse an HTTP date (IMF-fixdate, or the obsolete forms); raises bad_format."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("bad_format", f"unparsable Date {value!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def timestamp(value: float | str, what: str) -> datetime:
    """A Unix timestamp as an aware datetime; raises bad_format."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError("bad_format", f"{what} is not a Unix timestamp") from exc


def check_window(moment: datetime, now: datetime, max_skew: timedelta, what: str) -> None:
    """Refuse a signing time further than ``max_skew`` from ``now`` in either direction."""
    if abs(moment - now) > max_skew:
        raise SignatureError("expired", f"{what} {moment.isoformat()} is outside ±{max_skew}")


def check_expires(expires: datetime, now: datetime, max_skew: timedelta) -> None:
    """Refuse a signature past its ``expires``, allowing the same clock skew as ``created``."""
    if expires < now - max_skew:
        raise SignatureError("expired", f"signature expired at {expires.isoformat()}")


async def verify_with_key(
    keys: KeyResolver, key_id: str, check: Callable[[VerifyingKey], bool]
) -> ResolvedKey:
    """Resolve ``key_id`` and run ``check`` with its key; on failure refresh the key once.

    A peer that rotated its key signs with the new one while we hold the old one, so a
    failed check refetches (``refresh=True``) and retries exactly once; a second failure
    is ``invalid``. On first contact the resolver has nothing cached and fetches the key
    already on the first call; a forged signature from a new peer then costs a second
    fetch, which a resolver may skip if it fetched this key a moment ago.
    """
    resolved = await _resolve(keys, key_id, refresh=False)
    if check(resolved.public_key):
        return resolved
    logger.debug("signature failed with cached key, refreshing key_id=%s", key_id)
    fresh = await _resolve(keys, key_id, refresh=True)
    if check(fresh.public_key):
        return fresh
    raise SignatureError("invalid", f"signature does not verify with key {key_id}")


async def _resolve(keys: KeyResolver, key_id: str, *, refresh: bool) -> ResolvedKey:
    try:
        resolved = await keys.resolve_key(key_id, refresh=refresh)
    except FetchError as exc:
        raise SignatureError("key_unavailable", f"fetching key {key_id} failed") from exc
    if resolved is None:
        raise SignatureError("key_unavailable", f"no usable key {key_id}")
    return resolved


# draft-cavage-http-signatures-12.


@dataclass(frozen=True)
class CavageSignature:
    """The parameters of a draft-cavage ``Signature`` header."""

    key_id: str
    algorithm: str | None
    headers: tuple[str, ...]
    signature: bytes = field(repr=False)
    created: str | None = None
    expires: str | None = None


_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*"  # name =
    r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^",\s]*))[ \t]*'  # "quoted" or bare value
    # (the quoted form unrolled: a 344-character signature in one run, not one per char)
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ESCAPE = re.compile(r"\\(.)")


def parse_signature_header(value: str) -> CavageSignature:
    """Parse ``keyId="…",algorithm="…",headers="…",signature="…"`` (plus created/expires).

    Parameter names are matched case-insensitively; ``headers`` defaults to ``date`` as
    the draft says. Raises ``SignatureError("bad_format")``.
    """
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(value, pos)
        if match is None:
            raise SignatureError("bad_format", "Signature header is not a list of name=value")
        name = match.group(1).lower()
        quoted, bare = match.group(2), match.group(3)
        if name in params:
            raise SignatureError("bad_format", f"Signature parameter {name} repeated")
        if quoted is None:
            params[name] = bare
        else:
            params[name] = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
        if pos == len(value):
            break
        if value[pos] != ",":
            raise SignatureError("bad_format", "Signature parameters must be separated by ','")
        pos += 1
    key_id, encoded = params.get("keyid"), params.get("signature")
    if not key_id or not encoded:
        raise SignatureError("bad_format", "Signature header needs keyId and signature")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise SignatureError("bad_format", "signature is not base64") from exc
    for name in ("created", "expires"):
        if name in params and not _NUMBER.fullmatch(params[name]):
            raise SignatureError("bad_format", f"{name} is not a Unix timestamp")
    return CavageSignature(
        key_id=key_id,
        algorithm=params["algorithm"].lower() if "algorithm" in params else None,
        headers=tuple(params.get("headers", "date").lower().split()),
        signature=signature,
        created=params.get("created"),
        expires=params.get("expires"),
    )


def request_target(method: str, url: str) -> str:
    """The ``(request-target)`` value: lower-case method, path and query as sent."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{method.lower()} {path}" + (f"?{parts.query}" if parts.query else "")


def signing_string(
    request: HttpRequestView,
    covered: Iterable[str],
    *,
    created: str | None = None,
    expires: str | None = None,
    target: str | None = None,
) -> str:
    """The draft-cavage signing string: one ``name: value`` line per covered header, in order.

    ``target`` overrides ``(request-target)`` (Mastodon's query-less quirk). ``host`` is
    always the authority of ``request.url`` — for a received request, our own public address
    — never the ``Host`` header as sent: a request signed for another server must not verify
    here, and a proxy that rewrites ``Host`` must not break verification.
    """
    lines = []
    for name in covered:
        if name == "(request-target)":
            value = target if target is not None else request_target(request.method, request.url)
        elif name in ("(created)", "(expires)"):
            stamp = created if name == "(created)" else expires
            if stamp is None:
                raise SignatureError("bad_format", f"{name} is covered but has no parameter")
            value = stamp
        elif name.startswith("("):
            raise SignatureError("bad_format", f"unknown pseudo-header {name}")
        elif name == "host":
            try:
                value = authority(request.url)
            except ValueError as exc:
                raise SignatureError("bad_format", "request URL is not absolute") from exc
        else:
            found = request.header(name)
            if found is None:
                raise SignatureError("missing_headers", f"covered header {name} is absent")
            value = found
        lines.append(f"{name}: {value}")
    return "\n".join(lines)


def check_cavage_signature(
    algorithm: str | None, key: VerifyingKey, data: bytes, signature: bytes
) -> bool:
    """Does ``signature`` sign ``data`` under ``key`` with this draft-cavage algorithm?"""
    alg = algorithm or "hs2019"
    try:
        if isinstance(key, rsa.RSAPublicKey) and alg in ("rsa-sha256", "hs2019", "rsa-sha512"):
            digest = hashes.SHA512() if alg == "rsa-sha512" else hashes.SHA256()
            key.verify(signature, data, padding.PKCS1v15(), digest)
            return True
        if isinstance(key, ed25519.Ed25519PublicKey) and alg in ("ed25519", "hs2019"):
            key.verify(signature, data)
            return True
    except InvalidSignature:
        return False
    return False


def _cavage_sign(algorithm: str, private_key: SigningKey, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey) and algorithm in ("rsa-sha256", "hs2019"):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(private_key, rsa.RSAPrivateKey) and algorithm == "rsa-sha512":
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA512())
    if isinstance(private_key, ed25519.Ed25519PrivateKey) and algorithm in ("ed25519", "hs2019"):
        return private_key.sign(data)
    raise ValueError(f"cannot sign {algorithm} with a {type(private_key).__name__}")


def _required_headers(method: str, has_body: bool) -> tuple[str, ...]:
    """What a signature must cover to bind the request to us (bovine's rule, stricter than
    Mastodon's, which asks for host only on GET; every real sender covers these anyway)."""
    if method == "POST" or has_body:
        return ("(request-target)", "host", "digest")
    return ("(request-target)", "host")


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key: SigningKey,
    now: datetime,
    algorithm: str = "rsa-sha256",
) -> dict[str, str]:
    """Sign a request as Mastodon does; returns the headers to add (Host, Date, Digest, Signature).

    Covers ``(request-target) host date`` plus ``digest`` for POST or any body: what
    Mastodon sends and what our verifier requires. ``Host`` comes from ``headers`` if set,
    else from the URL with any non-default port.
    """
    alg = algorithm.lower()
    if alg not in CAVAGE_ALGORITHMS:
        raise ValueError(f"unsupported draft-cavage algorithm {algorithm!r}")
    if '"' in key_id or "\\" in key_id:
        raise ValueError("keyId must not contain quotes or backslashes")
    method = method.upper()
    host = next((v for k, v in headers.items() if k.lower() == "host"), None) or authority(url)
    added = {"Host": host, "Date": format_http_date(now)}
    covered = ["(request-target)", "host", "date"]
    if body or method == "POST":
        added["Digest"] = digest_header(body or b"")
        covered.append("digest")
    view = HttpRequestView(method, url, tuple(added.items()), body or b"")
    signature = _cavage_sign(alg, private_key, wire_bytes(signing_string(view, covered)))
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="{alg}",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HttpSignatureAuth(httpx.Auth):
    """Signs every request of an ``httpx.AsyncClient`` with ``sign_request``.

    Delivery and signed fetches use one ordinary client with this auth. ``now`` is the
    clock (inject a fake one in tests); ``requires_request_body`` makes httpx read the
    body first, so the Digest covers it.
    """

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: SigningKey,
        now: Callable[[], datetime] = _utcnow,
        algorithm: str = "rsa-sha256",
    ) -> None:
        self.key_id = key_id
        self.private_key = private_key
        self.now = now
        self.algorithm = algorithm

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        added = sign_request(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            key_id=self.key_id,
            private_key=self.private_key,
            now=self.now(),
            algorithm=self.algorithm,
        )
        request.headers.update(added)
        yield request


def _cavage_header(request: HttpRequestView) -> str | None:
    value = request.header("signature")
    if value is not None:
        return value
    authorization = request.header("authorization")
    if authorization is not None:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() == "signature":
            return rest
    return None


def _check_cavage_times(
    request: HttpRequestView, sig: CavageSignature, now: datetime, max_skew: timedelta
) -> None:
    if "date" in sig.headers:
        date = request.header("date")
        if date is None:
            raise SignatureError("missing_headers", "covered header date is absent")
        check_window(parse_http_date(date), now, max_skew, "Date")
    if "(created)" in sig.headers:
        if sig.created is None:
            raise SignatureError("bad_format", "(created) is covered but has no parameter")
        check_window(timestamp(sig.created, "created"), now, max_skew, "created")
    if "(expires)" in sig.headers:
        if sig.expires is None:
            raise SignatureError("bad_format", "(expires) is covered but has no parameter")
        check_expires(timestamp(sig.expires, "expires"), now, max_skew)


async def verify_cavage(
    request: HttpRequestView,
    keys: KeyResolver,
    *,
    now: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Verified:
    """Verify a draft-cavage ``Signature`` (or ``Authorization: Signature``) header.

    Checks, cheapest first and before any key is fetched: the header parses, the
    algorithm is known, the signature covers ``(request-target)``, ``host``,
    ``date`` or ``(created)``, and ``digest`` for POST or a body; Date / created are within
    ``max_skew`` of ``now`` and expires has not passed (with the same allowance); the
    Digest matches the body. Then
    the key is resolved (and refreshed once on failure). Like Mastodon, a signature over
    a ``(request-target)`` without the query string is accepted too. Raises
    ``SignatureError``.
    """
    now = require_aware(now)
    raw = _cavage_header(request)
    if raw is None:
        raise SignatureError("no_signature", "no Signature header")
    sig = parse_signature_header(raw)
    if sig.algorithm is not None and sig.algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError("unknown_algorithm", f"algorithm {sig.algorithm} is not supported")
    method = request.method.upper()
    missing = [h for h in _required_headers(method, bool(request.body)) if h not in sig.headers]
    if "date" not in sig.headers and "(created)" not in sig.headers:
        missing.append("date or (created)")
    if missing:
        raise SignatureError("missing_headers", "signature does not cover " + ", ".join(missing))
    _check_cavage_times(request, sig, now, max_skew)
    if "digest" in sig.headers:
        digest = request.header("digest")
        if digest is None:
            raise SignatureError("missing_headers", "covered header digest is absent")
        verify_digest(digest, request.body)
    targets: list[str | None] = [None]
    parts = urlsplit(request.url)
    if parts.query and "(request-target)" in sig.headers:
        # Mastodon's quirk: some senders sign the path without the query string.
        targets.append(request_target(method, urlunsplit(parts._replace(query=""))))
    candidates = [
        wire_bytes(
            signing_string(
                request, sig.headers, created=sig.created, expires=sig.expires, target=target
            )
        )
        for target in targets
    ]

    def check(key: VerifyingKey) -> bool:
        return any(
            check_cavage_signature(sig.algorithm, key, data, sig.signature) for data in candidates
        )

    resolved = await verify_with_key(keys, sig.key_id, check)
    return Verified(sig.key_id, resolved.owner, "cavage", sig.headers)
