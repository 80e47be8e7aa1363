"""The signed org manifest: the organisation's list of divisions, signed with the org key.

IT signs one JSON document (`OrgManifest`: a serial, the organisation's name, the divisions'
domains and names) with an Ed25519 key kept offline; every instance is configured with the
public half and adopts the newest manifest whose signature verifies. The signature covers
the canonical form of everything but `signature`: keys sorted, no whitespace, UTF-8 — for the
integers and strings a manifest holds, the same bytes as RFC 8785 (JCS).

This module owns the format: key generation and the key's text form, signing, parsing and
verification. It does no I/O, reads no clock (callers pass `issued`) and knows nothing of
storage or peering; the app shell decides what an adopted manifest changes. Every check
raises `ManifestError`, whose `reason` says what kind of refusal it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from federation.astools import JSONObject, format_datetime, parse_datetime
from federation.errors import FederationError
from federation.objects import AS_CONTEXT
from federation.policy import normalise_domain, valid_domain

MANIFEST_TYPE = "OrgManifest"
ALGORITHM = "ed25519"
KEY_PREFIX = "ed25519:"
MAX_BYTES = 256 * 1024
"""A manifest larger than this is refused before it is parsed."""
MAX_DIVISIONS = 1000
MAX_NAME = 200
"""Characters of a division's or the organisation's name."""
MAX_SERIAL = 2**53 - 1
"""The largest integer every JSON reader keeps exactly."""

ManifestReason = Literal["malformed", "no_key", "unknown_key", "bad_signature"]
MANIFEST_REASONS: frozenset[str] = frozenset(get_args(ManifestReason))


class ManifestError(FederationError):
    """A manifest was not accepted. `reason`: `malformed` (shape, size, values), `no_key`
    (this instance has no org key to verify with), `unknown_key` (signed by a key that is
    not the org's), `bad_signature` (the signature does not cover these bytes)."""

    def __init__(self, reason: ManifestReason, detail: str) -> None:
        super().__init__(detail)
        self.reason: ManifestReason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Division:
    domain: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest that has the right shape (and, from `verify_manifest`, a good signature).

    `document` is the signed document exactly as received, to store and pass on; `digest`
    identifies its content (what is signed), so that two documents with the same serial can
    be told apart.
    """

    serial: int
    organisation: str | None
    issued: datetime | None
    divisions: tuple[Division, ...]
    document: JSONObject
    digest: str

    @property
    def domains(self) -> frozenset[str]:
        return frozenset(d.domain for d in self.divisions)


# ----- keys --------------------------------------------------------------------------------


def generate_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def private_key_pem(key: ed25519.Ed25519PrivateKey) -> str:
    """PKCS#8 PEM, unencrypted: the file IT keeps offline (written 0600 by the CLI)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def load_private_key(pem: str | bytes) -> ed25519.Ed25519PrivateKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key (make one with `watercooler org keygen`)")
    return key


def public_key_text(key: ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey) -> str:
    """`ed25519:` and the 32 raw bytes in base64: one short line to paste into a config."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> ed25519.Ed25519PublicKey:
    """Read `public_key_text`'s form; ValueError says what is wrong."""
    if not isinstance(text, str) or not text.startswith(KEY_PREFIX):
        raise ValueError(f"expected '{KEY_PREFIX}' and 44 base64 characters")
    raw = _b64(text[len(KEY_PREFIX) :].strip())
    if raw is None or len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes in base64")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


# ----- the canonical form ------------------------------------------------------------------


def _check_values(value: object, depth: int = 0) -> None:
    """Only what canonicalises the same everywhere: objects, arrays, strings, integers,
    booleans and null; no floats, not deeper than a manifest needs."""
    if depth > 8:
        raise ManifestError("malformed", "manifest nests too deeply")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ManifestError("malformed", "manifest keys must be strings")
            _check_values(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_values(item, depth + 1)
    elif isinstance(value, float):
        raise ManifestError("malformed", "manifest holds a non-integer number")
    elif not (value is None or isinstance(value, str | int | bool)):
        raise ManifestError("malformed", f"manifest holds a {type(value).__name__}")


def unsigned_part(document: Mapping[str, Any]) -> JSONObject:
    return {key: value for key, value in document.items() if key != "signature"}


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers: the document without `signature`, keys sorted, no
    whitespace, UTF-8."""
    body = unsigned_part(document)
    _check_values(body)
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


# ----- building and signing ----------------------------------------------------------------


def build_manifest(
    *,
    serial: int,
    divisions: Iterable[tuple[str, str | None]],
    issued: datetime,
    organisation: str | None = None,
) -> JSONObject:
    """An unsigned manifest, checked as a received one would be (ValueError if not valid)."""
    document: JSONObject = {"type": MANIFEST_TYPE, "serial": serial}
    if organisation:
        document["organisation"] = organisation
    document["issued"] = format_datetime(issued)
    document["divisions"] = [
        {"domain": normalise_domain(domain), **({"name": name} if name else {})}
        for domain, name in divisions
    ]
    try:
        parse_manifest(document)
    except ManifestError as error:
        raise ValueError(error.detail) from None
    return document


def sign_manifest(document: Mapping[str, Any], key: ed25519.Ed25519PrivateKey) -> JSONObject:
    """`document` with a `signature` over its canonical form (any earlier one replaced)."""
    body = unsigned_part(document)
    value = key.sign(canonical(body))
    return {
        **body,
        "signature": {
            "algorithm": ALGORITHM,
            "key": public_key_text(key),
            "value": base64.b64encode(value).decode("ascii"),
        },
    }


# ----- reading and verifying ---------------------------------------------------------------


def read_manifest(data: bytes | str) -> JSONObject:
    """A manifest file's bytes as a JSON object (size first, then syntax)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise ManifestError("malformed", f"manifest larger than {MAX_BYTES} bytes")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError("malformed", f"manifest is not JSON ({error})") from None
    if not isinstance(document, dict):
        raise ManifestError("malformed", "manifest must be a JSON object")
    return document


def _name(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise ManifestError("malformed", f"{what} must be a string of at most {MAX_NAME} chars")
    return value.strip() or None


def parse_manifest(document: object) -> Manifest:
    """Check the shape (not the signature): type, a positive integer serial, 1 to
    `MAX_DIVISIONS` divisions with valid, distinct domains. Unknown keys are kept (they are
    signed) and ignored."""
    if not isinstance(document, dict):
        raise ManifestError("malformed", "manifest must be a JSON object")
    if not is_manifest(document):
        raise ManifestError("malformed", f"type must be {MANIFEST_TYPE!r}")
    serial = document.get("serial")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 < serial <= MAX_SERIAL:
        raise ManifestError("malformed", "serial must be a positive integer")
    organisation = _name(document.get("organisation"), "organisation")
    issued_raw = document.get("issued")
    issued = parse_datetime(issued_raw)
    if issued_raw is not None and issued is None:
        raise ManifestError("malformed", "issued must be an ISO 8601 time")
    raw_divisions = document.get("divisions")
    if not isinstance(raw_divisions, list) or not raw_divisions:
        raise ManifestError("malformed", "divisions must be a non-empty list")
    if len(raw_divisions) > MAX_DIVISIONS:
        raise ManifestError("malformed", f"more than {MAX_DIVISIONS} divisions")
    divisions: list[Division] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw_divisions):
        if not isinstance(entry, dict):
            raise ManifestError("malformed", f"divisions[{index}] must be an object")
        domain = entry.get("domain")
        if not isinstance(domain, str) or not valid_domain(domain):
            raise ManifestError("malformed", f"divisions[{index}].domain is not a domain name")
        domain = normalise_domain(domain)
        if domain in seen:
            raise ManifestError("malformed", f"divisions[{index}]: {domain} is listed twice")
        seen.add(domain)
        divisions.append(Division(domain, _name(entry.get("name"), f"divisions[{index}].name")))
    digest = hashlib.sha256(canonical(document)).hexdigest()
    return Manifest(serial, organisation, issued, tuple(divisions), dict(document), digest)


def verify_manifest(document: object, keys: Sequence[ed25519.Ed25519PublicKey]) -> Manifest:
    """The manifest, if its shape is right and its signature verifies with one of `keys`
    (several during a key rotation). The signature's `key` is only a hint of which key
    signed; a key not among `keys` is refused whatever it claims."""
    manifest = parse_manifest(document)
    if not keys:
        raise ManifestError("no_key", "no org public key configured ([org] public_key)")
    signature = manifest.document.get("signature")
    if not isinstance(signature, dict):
        raise ManifestError("bad_signature", "manifest is not signed")
    if signature.get("algorithm") != ALGORITHM:
        raise ManifestError("bad_signature", f"signature algorithm must be {ALGORITHM!r}")
    value = signature.get("value")
    raw = _b64(value) if isinstance(value, str) else None
    if raw is None or len(raw) != 64:
        raise ManifestError("bad_signature", "signature value is not 64 bytes in base64")
    candidates = list(keys)
    hint = signature.get("key")
    if isinstance(hint, str):
        candidates = [k for k in keys if public_key_text(k) == hint]
        if not candidates:
            raise ManifestError("unknown_key", f"signed by {hint[:60]}, not the org key")
    signed = canonical(manifest.document)
    for key in candidates:
        try:
            key.verify(raw, signed)
        except InvalidSignature:
            continue
        return manifest
    raise ManifestError("bad_signature", "signature does not match the manifest")


# ----- the envelope ------------------------------------------------------------------------


def is_manifest(value: object) -> bool:
    """Whether an embedded object claims to be a manifest (before any check)."""
    if not isinstance(value, dict):
        return False
    types = value.get("type")
    return types == MANIFEST_TYPE or (isinstance(types, list) and MANIFEST_TYPE in types)


def manifest_update(
    *, id: str, actor: str, manifest: Mapping[str, Any], to: Sequence[str], published: datetime
) -> JSONObject:
    """The `Update` an instance actor sends to pass a manifest on. The manifest is embedded
    verbatim: dropping or reordering nothing, so the receiver verifies the same bytes."""
    return {
        "@context": AS_CONTEXT,
        "id": id,
        "type": "Update",
        "actor": actor,
        "published": format_datetime(published),
        "to": list(dict.fromkeys(to)),
        "cc": [],
        "object": dict(manifest),
    }
