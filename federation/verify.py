"""Verifying an incoming request with whichever signature scheme it was signed with."""

from __future__ import annotations

from datetime import datetime, timedelta

from federation.rfc9421 import verify_rfc9421
from federation.signatures import (
    DEFAULT_MAX_SKEW,
    HttpRequestView,
    KeyResolver,
    Verified,
    verify_cavage,
)


async def verify_request(
    request: HttpRequestView,
    keys: KeyResolver,
    *,
    now: datetime,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Verified:
    """RFC 9421 when `Signature-Input` is present, else draft-cavage.

    Mastodon >= 4.4 tries RFC 9421 first and falls back to draft-cavage on a 401 (the
    "double knock"), so both must be verified here.
    """
    if request.header("signature-input") is not None:
        return await verify_rfc9421(request, keys, now=now, max_skew=max_skew)
    return await verify_cavage(request, keys, now=now, max_skew=max_skew)
