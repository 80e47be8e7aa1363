"""The delivery retry policy and what a peer's answer means, each written once.

Owns how long to wait before the next attempt (`next_delay`), what a `Retry-After` header
asks for (`parse_retry_after`), and what an HTTP status or a network error means for a
delivery (`classify`). Pure functions: the time and the random numbers are passed in, so
tests fix them. Must not touch the store, send anything or read the clock.

The default schedule (see `DeliverySettings`): the wait doubles from 1 minute and is capped
at 12 hours, and a delivery gets 15 attempts; each wait is drawn from [ceiling/2, ceiling]
("equal jitter"), so the 14 waits span 1.4-2.7 days, about 2 days on average. That is what
peers do: Mastodon retries 16 times over about 2.5 days.
"""

from __future__ import annotations

import email.utils
import enum
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from federation.transport import UnsafeAddress

__all__ = [
    "BackoffSettings",
    "Outcome",
    "classify",
    "next_delay",
    "parse_retry_after",
    "retry_schedule",
]

_MAX_RETRY_AFTER_SECONDS = 10**8
"""Beyond any sane answer (about 3 years); keeps `timedelta` from overflowing on junk."""


class BackoffSettings(Protocol):
    """What `next_delay` reads; `outbox.delivery.DeliverySettings` provides it."""

    @property
    def max_attempts(self) -> int: ...

    @property
    def base_delay(self) -> timedelta: ...

    @property
    def max_delay(self) -> timedelta: ...

    @property
    def jitter(self) -> float: ...


def next_delay(
    attempts: int, *, settings: BackoffSettings, rand: Callable[[], float]
) -> timedelta | None:
    """How long to wait after `attempts` failed attempts, or None when they are used up.

    The ceiling doubles from `base_delay` (1, 2, 4 … × base) up to `max_delay`. The wait is
    `ceiling × (1 - jitter + jitter × rand())`: `jitter=1` is full jitter (anywhere in
    [0, ceiling]), the default 0.5 keeps at least half the ceiling, so many deliveries that
    failed together (a peer restarting) spread out without any of them coming back at once.
    `rand` returns a float in [0, 1); inject a fixed one in tests.
    """
    if attempts >= settings.max_attempts:
        return None
    doublings = max(attempts, 1) - 1
    base = settings.base_delay.total_seconds()
    cap = settings.max_delay.total_seconds()
    ceiling = cap if doublings >= 64 else min(cap, base * 2**doublings)
    fraction = 1.0 - settings.jitter + settings.jitter * rand()
    return timedelta(seconds=ceiling * fraction)


def retry_schedule(
    settings: BackoffSettings, *, rand: Callable[[], float] = lambda: 1.0
) -> list[timedelta]:
    """Every wait a delivery that never succeeds goes through, first to last.

    With the default `rand` (always 1.0) these are the ceilings, the longest schedule.
    Useful for documentation, `queue status`, and the test that pins the total span.
    """
    waits: list[timedelta] = []
    attempts = 1
    while (delay := next_delay(attempts, settings=settings, rand=rand)) is not None:
        waits.append(delay)
        attempts += 1
    return waits


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` value (delay-seconds or an HTTP-date) as a wait from `now`.

    A date in the past means "now" (zero). Anything unparsable is None: the caller falls
    back to its own back-off rather than trusting junk.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=min(int(text), _MAX_RETRY_AFTER_SECONDS))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wait = when - now
    return max(wait, timedelta(0))


class Outcome(enum.Enum):
    """What one attempt means for the delivery."""

    SENT = "sent"
    """2xx: delivered."""
    GONE = "gone"
    """404/410: the recipient is not there; a permanent failure."""
    DEAD = "dead"
    """A permanent refusal: the same request will never be accepted."""
    RETRY = "retry"
    """A transient failure: try again after the back-off."""
    RETRY_AFTER = "retry_after"
    """The peer asked us to slow down: try again after the back-off or its Retry-After,
    whichever is later."""

    @property
    def retries(self) -> bool:
        return self in (Outcome.RETRY, Outcome.RETRY_AFTER)


_TRANSIENT_4XX = frozenset({401, 408, 425})
"""4xx answers worth retrying. 408 Request Timeout and 425 Too Early say so themselves.
401: the peer could not verify our signature *now*, typically because fetching our key
failed (our instance was restarting, or the key was just rotated); Mastodon retries it too."""

_PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    UnsafeAddress,
)
"""Errors that say the inbox URL itself is unusable (or points at a private address of a
non-peer): retrying the same URL cannot help."""


def classify(status: int | None, error: Exception | None) -> Outcome:
    """Map an HTTP status (or, without one, the error that prevented it) to an `Outcome`.

    - 2xx: sent. 404, 410: gone.
    - 429, 503: retry, honouring Retry-After. 401, 408, 425: retry.
    - Any other 4xx, and 501 (the peer has no such endpoint): dead.
    - Other 5xx, anything else unexpected (1xx, 3xx: we never follow redirects on a POST),
      timeouts and network errors: retry.
    - An unusable URL (unsupported scheme, invalid URL): dead.
    - Any other exception: retry, so a surprise costs attempts, not the delivery.
    """
    if status is not None:
        if 200 <= status < 300:
            return Outcome.SENT
        if status in (404, 410):
            return Outcome.GONE
        if status in (429, 503):
            return Outcome.RETRY_AFTER
        if status in _TRANSIENT_4XX:
            return Outcome.RETRY
        if 400 <= status < 500 or status == 501:
            return Outcome.DEAD
        return Outcome.RETRY
    if error is None:
        raise ValueError("classify needs a status or an error")
    if isinstance(error, _PERMANENT_ERRORS):
        return Outcome.DEAD
    return Outcome.RETRY
