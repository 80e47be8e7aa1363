"""RFC 9421 HTTP Message Signatures: signature bases, verifying requests, signing requests.

Owns building the signature base (derived components, header fields with ``;sf``,
``;key``, ``;bs`` and, for responses, ``;req``), the five algorithms of the RFC's
registry (``rsa-pss-sha512``, ``rsa-v1_5-sha256``, ``ecdsa-p256-sha256``, ``ed25519``,
``hmac-sha256``), ``verify_rfc9421`` for incoming requests and ``sign_rfc9421`` for
peers that accept it. Shares the request view, key resolver, verdict and key-refresh
rule with ``federation.signatures``.

Must not fetch keys, read the clock or decide HTTP answers; like draft-cavage
verification it raises ``SignatureError`` with a reason.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from federation import sfv
from federation.digest import content_digest_header, verify_content_digest
from federation.errors import SignatureError
from federation.signatures import (
    DEFAULT_MAX_SKEW,
    HttpRequestView,
    KeyResolver,
    SharedSecret,
    SigningKey,
    Verified,
    VerifyingKey,
    authority,
    check_expires,
    check_window,
    header_lines,
    parse_http_date,
    require_aware,
    timestamp,
    verify_with_key,
    wire_bytes,
)

__all__ = [
    "ALGORITHMS",
    "HttpResponseView",
    "check_rfc9421_signature",
    "parse_signature_input",
    "parse_signatures",
    "sign_rfc9421",
    "signature_base",
    "verify_rfc9421",
]

ALGORITHMS = frozenset(
    {"rsa-pss-sha512", "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ed25519", "hmac-sha256"}
)

_STRUCTURED_FIELDS = {
    "accept-signature": "dictionary",
    "cache-status": "list",
    "client-cert": "item",
    "client-cert-chain": "list",
    "content-digest": "dictionary",
    "priority": "dictionary",
    "proxy-status": "list",
    "repr-digest": "dictionary",
    "signature": "dictionary",
    "signature-input": "dictionary",
    "want-content-digest": "dictionary",
    "want-repr-digest": "dictionary",
}
"""Fields whose structured type we know, for the ``;sf`` flag (RFC 9421 section 2.1.1)."""


@dataclass(frozen=True)
class HttpResponseView:
    """A response, for signature bases over ``@status`` and ``;req`` components."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""


Message = HttpRequestView | HttpResponseView


def _bad(detail: str) -> SignatureError:
    return SignatureError("bad_format", detail)


def parse_signature_input(value: str) -> dict[str, sfv.InnerList]:
    """Parse ``Signature-Input`` into label -> covered components with their parameters."""
    try:
        members = sfv.parse_dictionary(value)
    except sfv.StructuredFieldError as exc:
        raise _bad("Signature-Input is not a structured dictionary") from exc
    result = {}
    for label, member in members.items():
        if not isinstance(member, sfv.InnerList) or not all(
            _is_string(item.value) for item in member.items
        ):
            raise _bad(f"Signature-Input {label} is not a list of component names")
        result[label] = member
    return result


def parse_signatures(value: str) -> dict[str, bytes]:
    """Parse ``Signature`` into label -> signature bytes."""
    try:
        members = sfv.parse_dictionary(value)
    except sfv.StructuredFieldError as exc:
        raise _bad("Signature is not a structured dictionary") from exc
    result = {}
    for label, member in members.items():
        if not isinstance(member, sfv.Item) or not isinstance(member.value, bytes):
            raise _bad(f"Signature {label} is not a byte sequence")
        result[label] = member.value
    return result


def _is_string(value: sfv.BareItem) -> bool:
    return isinstance(value, str) and not isinstance(value, sfv.Token)


def _form_encode(text: str) -> str:
    """Percent-encode with the application/x-www-form-urlencoded set, space as %20."""
    return quote(text, safe="*").replace("~", "%7E")


def _query_param(url: str, name: str) -> str:
    values = [
        value
        for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if _form_encode(key) == name
    ]
    if not values:
        raise SignatureError("missing_headers", f"query parameter {name} is absent")
    if len(values) > 1:
        raise _bad(f"query parameter {name} occurs more than once")
    return _form_encode(values[0])


def _derived(message: Message, name: str, params: sfv.Params) -> str:
    if name == "@status":
        if not isinstance(message, HttpResponseView) or params:
            raise _bad("@status belongs to responses only")
        return str(message.status)
    if not isinstance(message, HttpRequestView):
        raise _bad(f"{name} in a response needs ;req")
    if name == "@query-param":
        if set(params) != {"name"} or not _is_string(params["name"]):
            raise _bad("@query-param needs exactly one name parameter")
        return _query_param(message.url, str(params["name"]))
    if params:
        raise _bad(f"{name} takes no parameters")
    parts = urlsplit(message.url)
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    try:
        values = {
            "@method": message.method,
            "@target-uri": f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{path}{query}",
            "@authority": authority(message.url),
            "@scheme": parts.scheme.lower(),
            "@request-target": path + query,
            "@path": path,
            "@query": "?" + parts.query,
        }
    except ValueError as exc:
        raise _bad(f"request URL is not absolute: {exc}") from exc
    if name not in values:
        raise _bad(f"unknown derived component {name}")
    return values[name]


def _structured(name: str, combined: str) -> str:
    kind = _STRUCTURED_FIELDS.get(name)
    if kind is None:
        raise _bad(f"{name} is not a known structured field")
    try:
        if kind == "dictionary":
            return sfv.serialize_dictionary(sfv.parse_dictionary(combined))
        if kind == "list":
            return sfv.serialize_list(sfv.parse_list(combined))
        return sfv.serialize_item(sfv.parse_item(combined))
    except sfv.StructuredFieldError as exc:
        raise _bad(f"{name} is not a valid structured {kind}") from exc


def _field(message: Message, name: str, params: sfv.Params) -> str:
    if name != name.lower():
        raise _bad(f"component name {name} is not lower-case")
    if set(params) - {"sf", "key", "bs"}:
        raise _bad(f"unsupported parameters on {name}: {sorted(params)}")
    if any(params[flag] is not True for flag in ("sf", "bs") if flag in params):
        raise _bad("sf and bs are flags")
    lines = header_lines(message.headers, name)
    if not lines:
        raise SignatureError("missing_headers", f"covered field {name} is absent")
    if "bs" in params:
        if len(params) > 1:
            raise _bad("bs cannot be combined with sf or key")
        return ", ".join(sfv.serialize_bare_item(wire_bytes(line)) for line in lines)
    combined = ", ".join(lines)
    if "key" in params:
        key = params["key"]
        if not _is_string(key):
            raise _bad("key parameter must be a string")
        try:
            members = sfv.parse_dictionary(combined)
        except sfv.StructuredFieldError as exc:
            raise _bad(f"{name} is not a structured dictionary") from exc
        if key not in members:
            raise SignatureError("missing_headers", f"{name} has no member {key}")
        return sfv.serialize_member(members[str(key)])
    if "sf" in params:
        return _structured(name, combined)
    return combined


def _component_value(message: Message, component: sfv.Item, request: HttpRequestView | None) -> str:
    name = component.value
    if not _is_string(name):
        raise _bad("component names are strings")
    params = dict(component.params)
    if "req" in params:
        if params.pop("req") is not True:
            raise _bad("req is a flag")
        if not isinstance(message, HttpResponseView) or request is None:
            raise _bad(";req needs a response and its request")
        return _component_value(request, sfv.Item(name, params), None)
    if str(name).startswith("@"):
        return _derived(message, str(name), params)
    return _field(message, str(name), params)


def signature_base(
    message: Message, signature_input: sfv.InnerList, *, request: HttpRequestView | None = None
) -> str:
    """The RFC 9421 section 2.5 signature base for one ``Signature-Input`` member.

    ``request`` is the request a response answers, for ``;req`` components. The
    ``@signature-params`` line is the canonical re-serialisation of ``signature_input``.
    Raises ``SignatureError`` (``missing_headers`` for an absent component, else
    ``bad_format``).
    """
    lines = []
    seen = set()
    for component in signature_input.items:
        identity = (component.value, frozenset(component.params.items()))
        if identity in seen:
            raise _bad(f"component {sfv.serialize_item(component)} covered twice")
        seen.add(identity)
        value = _component_value(message, component, request)
        if "\n" in value or "\r" in value:
            raise _bad("component value contains a line break")
        lines.append(f"{sfv.serialize_item(component)}: {value}")
    lines.append(f'"@signature-params": {sfv.serialize_inner_list(signature_input)}')
    return "\n".join(lines)


def _candidate_algorithms(key: VerifyingKey) -> tuple[str, ...]:
    """Algorithms a key can mean when ``alg`` is absent (the RFC leaves it to the key).

    An RSA key may be used with either RSA algorithm: the RFC's own examples use
    RSA-PSS without ``alg``, Mastodon uses PKCS#1 v1.5 without it.
    """
    if isinstance(key, rsa.RSAPublicKey):
        return ("rsa-v1_5-sha256", "rsa-pss-sha512")
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return ("ecdsa-p256-sha256",)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("ed25519",)
    if isinstance(key, SharedSecret):
        return ("hmac-sha256",)
    return ()


_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


def _verify_one(alg: str, key: VerifyingKey, base: bytes, signature: bytes) -> bool:
    try:
        if alg == "rsa-v1_5-sha256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "rsa-pss-sha512" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, base, _PSS, hashes.SHA512())
        elif alg == "ecdsa-p256-sha256" and isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, ec.SECP256R1) or len(signature) != 64:
                return False
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, base, ec.ECDSA(hashes.SHA256()))
        elif alg == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, base)
        elif alg == "hmac-sha256" and isinstance(key, SharedSecret):
            expected = hmac.new(key.secret, base, hashlib.sha256).digest()
            return hmac.compare_digest(expected, signature)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def check_rfc9421_signature(
    alg: str | None, key: VerifyingKey, base: bytes, signature: bytes
) -> bool:
    """Does ``signature`` sign ``base`` under ``key``? ``alg`` must fit the key type."""
    candidates = (alg,) if alg is not None else _candidate_algorithms(key)
    return any(_verify_one(a, key, base, signature) for a in candidates)


def _sign(alg: str, key: SigningKey, base: bytes) -> bytes:
    if alg == "rsa-v1_5-sha256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    if alg == "rsa-pss-sha512" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(base, _PSS, hashes.SHA512())
    if (
        alg == "ecdsa-p256-sha256"
        and isinstance(key, ec.EllipticCurvePrivateKey)
        and isinstance(key.curve, ec.SECP256R1)
    ):
        r, s = decode_dss_signature(key.sign(base, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(base)
    if alg == "hmac-sha256" and isinstance(key, SharedSecret):
        return hmac.new(key.secret, base, hashlib.sha256).digest()
    raise ValueError(f"cannot sign {alg} with a {type(key).__name__}")


def _default_algorithm(key: SigningKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa-v1_5-sha256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ecdsa-p256-sha256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    return "hmac-sha256"


def _parse_component(text: str) -> sfv.Item:
    """``@method``, ``content-digest;sf`` or a serialised ``"@query-param";name="x"``."""
    if not text.startswith('"'):
        name, sep, rest = text.partition(";")
        text = sfv.serialize_bare_item(name) + (";" + rest if sep else "")
    item = sfv.parse_item(text)
    if not _is_string(item.value):
        raise ValueError(f"not a component identifier: {text!r}")
    return item


@dataclass(frozen=True)
class _Params:
    key_id: str
    alg: str | None
    created: int | None
    expires: int | None


def _signature_params(params: sfv.Params) -> _Params:
    key_id, alg = params.get("keyid"), params.get("alg")
    created, expires = params.get("created"), params.get("expires")
    if not isinstance(key_id, str) or not _is_string(key_id) or not key_id:
        raise _bad("Signature-Input needs a keyid string")
    if alg is not None and not _is_string(alg):
        raise _bad("alg must be a string")
    for name, stamp in (("created", created), ("expires", expires)):
        if stamp is not None and (not isinstance(stamp, int) or isinstance(stamp, bool)):
            raise _bad(f"{name} must be an integer")
    return _Params(
        key_id,
        str(alg) if alg is not None else None,
        created if isinstance(created, int) else None,
        expires if isinstance(expires, int) else None,
    )


def _plain_names(signature_input: sfv.InnerList) -> set[str]:
    """Covered names that carry their plain value (``;sf`` re-serialises, still the field)."""
    return {str(item.value) for item in signature_input.items if set(item.params) <= {"sf"}}


def _require_covered(request: HttpRequestView, names: set[str], params: _Params) -> None:
    missing = []
    if "@method" not in names:
        missing.append("@method")
    if "@target-uri" not in names and not {"@authority", "@path"} <= names:
        missing.append("@target-uri")
    if (request.body or request.method.upper() == "POST") and "content-digest" not in names:
        missing.append("content-digest")
    if params.created is None and "date" not in names:
        missing.append("created or date")
    if missing:
        raise SignatureError("missing_headers", "signature does not cover " + ", ".join(missing))


async def verify_rfc9421(
    request: HttpRequestView,
    keys: KeyResolver,
    *,
    now: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    label: str | None = None,
) -> Verified:
    """Verify an RFC 9421 signature on an incoming request.

    ``label`` picks one of several signatures; by default the first label present in
    both ``Signature-Input`` and ``Signature``. Before any key is fetched: the fields
    parse, ``alg`` (if present) is known, the signature covers ``@method``,
    ``@target-uri`` (or ``@authority`` and ``@path``), ``content-digest`` for POST or a
    body, and ``created`` (or ``date``); ``created`` is within ``max_skew`` of ``now``,
    ``expires`` has not passed and the Content-Digest matches the body. Without ``alg``
    the key type decides the algorithm. Raises ``SignatureError``.
    """
    now = require_aware(now)
    raw_input, raw_signature = request.header("signature-input"), request.header("signature")
    if raw_input is None or raw_signature is None:
        raise SignatureError("no_signature", "no Signature-Input and Signature fields")
    inputs, signatures = parse_signature_input(raw_input), parse_signatures(raw_signature)
    chosen = label if label is not None else next((k for k in inputs if k in signatures), None)
    if chosen is None:
        raise SignatureError("no_signature", "no label is in both Signature-Input and Signature")
    if chosen not in inputs or chosen not in signatures:
        raise SignatureError("no_signature", f"no signature labelled {chosen}")
    signature_input, signature = inputs[chosen], signatures[chosen]
    params = _signature_params(signature_input.params)
    if params.alg is not None and params.alg not in ALGORITHMS:
        raise SignatureError("unknown_algorithm", f"alg {params.alg} is not supported")
    names = _plain_names(signature_input)
    _require_covered(request, names, params)
    if params.created is not None:
        check_window(timestamp(params.created, "created"), now, max_skew, "created")
    else:
        date = request.header("date")
        if date is None:
            raise SignatureError("missing_headers", "covered field date is absent")
        check_window(parse_http_date(date), now, max_skew, "Date")
    if params.expires is not None:
        check_expires(timestamp(params.expires, "expires"), now, max_skew)
    if "content-digest" in names:
        digest = request.header("content-digest")
        if digest is None:
            raise SignatureError("missing_headers", "covered field content-digest is absent")
        verify_content_digest(digest, request.body)
    base = wire_bytes(signature_base(request, signature_input))

    def check(key: VerifyingKey) -> bool:
        return check_rfc9421_signature(params.alg, key, base, signature)

    resolved = await verify_with_key(keys, params.key_id, check)
    covered = tuple(sfv.serialize_item(item) for item in signature_input.items)
    return Verified(params.key_id, resolved.owner, "rfc9421", covered)


def sign_rfc9421(
    request: HttpRequestView,
    *,
    key_id: str,
    private_key: SigningKey,
    now: datetime,
    label: str = "sig1",
    components: Sequence[str] | None = None,
    algorithm: str | None = None,
) -> dict[str, str]:
    """Sign a request with RFC 9421; returns ``Signature-Input``, ``Signature`` and, for
    POST or a body, ``Content-Digest`` (which is then always covered).

    ``components`` defaults to ``@method @target-uri``; entries are names, optionally with
    parameters (``content-digest;sf``, ``"@query-param";name="q"``). ``algorithm``
    defaults by key type (RSA: ``rsa-v1_5-sha256``, what Mastodon verifies) and is
    always sent as ``alg`` so RSA verifiers need not guess.
    """
    alg = algorithm or _default_algorithm(private_key)
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported RFC 9421 algorithm {alg!r}")
    added: dict[str, str] = {}
    view = request
    has_body = bool(request.body) or request.method.upper() == "POST"
    if has_body:
        added["Content-Digest"] = content_digest_header(request.body)
        kept = tuple((n, v) for n, v in request.headers if n.lower() != "content-digest")
        view = replace(request, headers=(*kept, ("Content-Digest", added["Content-Digest"])))
    items = [_parse_component(c) for c in (components or ("@method", "@target-uri"))]
    if has_body and not any(item.value == "content-digest" for item in items):
        items.append(sfv.Item("content-digest"))
    params: sfv.Params = {
        "created": int(require_aware(now).timestamp()),
        "keyid": key_id,
        "alg": alg,
    }
    signature_input = sfv.InnerList(tuple(items), params)
    signature = _sign(alg, private_key, wire_bytes(signature_base(view, signature_input)))
    added["Signature-Input"] = sfv.serialize_dictionary({label: signature_input})
    added["Signature"] = sfv.serialize_dictionary({label: sfv.Item(signature)})
    return added
