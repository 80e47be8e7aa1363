"""Errors raised by the federation package.

Owns the one exception tree of ``federation/``; callers catch these types and map
them to HTTP answers in ``watercooler/`` (never here). Must not import anything
but the standard library.

The tree::

    FederationError
    ├── SignatureError   an HTTP signature or digest was not accepted; ``.reason``
    │                    says why (one of ``SIGNATURE_REASONS``), ``.detail`` is
    │                    a human sentence safe to log, never a key or a body
    ├── ParseError       a malformed ActivityStreams document
    └── FetchError       a remote fetch failed (network, status, size, policy)
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "SIGNATURE_REASONS",
    "FederationError",
    "FetchError",
    "ParseError",
    "SignatureError",
    "SignatureReason",
]

SignatureReason = Literal[
    "no_signature",
    "bad_format",
    "expired",
    "digest_mismatch",
    "missing_headers",
    "unknown_algorithm",
    "key_unavailable",
    "invalid",
    "actor_gone",
]
"""Why a signature was refused. ``actor_gone`` is never raised by the verifiers
themselves; a key resolver may raise it when the key's actor answers 410."""

SIGNATURE_REASONS: frozenset[str] = frozenset(get_args(SignatureReason))


class FederationError(Exception):
    """Base class of every error the federation package raises on purpose."""


class SignatureError(FederationError):
    """A request's signature, digest or timing was not accepted.

    Policy (answer 401, drop silently, retry with a refreshed key) is decided by
    the caller from ``reason``; the verifier only says what was wrong.
    """

    def __init__(self, reason: SignatureReason, detail: str = "") -> None:
        if reason not in SIGNATURE_REASONS:
            raise ValueError(f"unknown signature failure reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: SignatureReason = reason
        self.detail = detail


class ParseError(FederationError):
    """An ActivityStreams document could not be turned into our model."""


class FetchError(FederationError):
    """A remote object or key could not be fetched."""


class RefusedDocument(FetchError):
    """The fetch is refused for what the origin is or answered, not for a passing failure: an
    address we do not connect to, a redirect off the host, a document too large, not JSON or
    whose id is on another host. Asking again gets the same answer, so nothing retries it."""
