"""Body digests: ``Digest`` (RFC 3230) and ``Content-Digest`` (RFC 9530).

Owns computing and checking the digest headers that bind a request body to its
signature: draft-cavage signers cover ``Digest: SHA-256=<base64>``, RFC 9421 signers
cover ``Content-Digest: sha-256=:<base64>:``. Must not look at signatures, keys or
clocks; a signature verifier calls in here after it has decided the digest is covered.

Only SHA-256 and SHA-512 are accepted for checking (the "active" algorithms of the
IANA Hash Algorithms for HTTP Digest Fields registry); MD5, SHA-1 and checksums are
ignored, and a header that carries nothing else is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

from federation import sfv
from federation.errors import SignatureError

__all__ = [
    "content_digest_header",
    "digest_header",
    "verify_content_digest",
    "verify_digest",
]

_HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}


def digest_header(body: bytes) -> str:
    """The RFC 3230 ``Digest`` value Mastodon and most peers send: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(_HASHES["sha-256"](body)).decode("ascii")


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """The RFC 9530 ``Content-Digest`` value, e.g. ``sha-256=:<base64>:``."""
    if algorithm not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return sfv.serialize_dictionary({algorithm: sfv.Item(_HASHES[algorithm](body))})


def _check(found: dict[str, bytes], body: bytes, field: str) -> None:
    """Every known algorithm present must match; at least one must be present."""
    if not found:
        raise SignatureError("bad_format", f"{field} has no sha-256 or sha-512 member")
    for algorithm, expected in found.items():
        if not hmac.compare_digest(_HASHES[algorithm](body), expected):
            raise SignatureError("digest_mismatch", f"{field} {algorithm} does not match the body")


def verify_digest(value: str, body: bytes) -> None:
    """Check an RFC 3230 ``Digest`` header against ``body``.

    Algorithm names are case-insensitive (``SHA-256=`` and Fedify's ``sha-256=`` both
    occur); several comma-separated members are allowed. Raises ``SignatureError``
    with reason ``bad_format`` or ``digest_mismatch``.
    """
    found: dict[str, bytes] = {}
    for member in value.split(","):
        name, sep, encoded = member.strip().partition("=")
        name = name.strip().lower()
        encoded = encoded.strip()
        if not sep or not name or not encoded:
            raise SignatureError("bad_format", "Digest member is not algorithm=value")
        if name not in _HASHES:
            continue
        try:
            decoded = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise SignatureError("bad_format", f"Digest {name} value is not base64") from exc
        if name in found and found[name] != decoded:
            raise SignatureError("digest_mismatch", f"Digest has two different {name} values")
        found[name] = decoded
    _check(found, body, "Digest")


def verify_content_digest(value: str, body: bytes) -> None:
    """Check an RFC 9530 ``Content-Digest`` header against ``body``.

    The value must be an RFC 8941 Dictionary whose members are Byte Sequences; keys are
    lower-case by that grammar, so ``SHA-256=:...:`` is malformed (Mastodon answers 400
    to it). Raises ``SignatureError`` with reason ``bad_format`` or ``digest_mismatch``.
    """
    try:
        members = sfv.parse_dictionary(value)
    except sfv.StructuredFieldError as exc:
        raise SignatureError("bad_format", "Content-Digest is not a structured dictionary") from exc
    found: dict[str, bytes] = {}
    for name, member in members.items():
        if not isinstance(member, sfv.Item) or not isinstance(member.value, bytes):
            raise SignatureError("bad_format", f"Content-Digest {name} is not a byte sequence")
        if name in _HASHES:
            found[name] = member.value
    _check(found, body, "Content-Digest")
