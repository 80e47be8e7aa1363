"""Per-peer rate limit at the inbox: a token bucket for each sending domain.

A peer may send `burst` activities at once and `rate` a second after that; past it, it is
asked to come back later (429 with Retry-After) before anything is stored, so one busy or
misbehaving division cannot take the whole inbox from the others. The domain charged is the
verified signer's, so a forger cannot spend a real peer's allowance. The defaults are
generous: real peers send far less, and the backlog limit (`inbox.backlog`) still guards
the queue as a whole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_RATE = 1000.0
"""Activities a second per peer domain, sustained."""
DEFAULT_BURST = 10_000
MAX_DOMAINS = 10_000
"""Buckets held at most; full ones are dropped first (a full bucket is the same as none)."""
LOG_INTERVAL = 1.0
"""Seconds between log lines about one domain's refusals (a flood adds no line each)."""


@dataclass
class _Bucket:
    tokens: float
    at: float
    refused: int = 0
    logged_at: float = -math.inf


class PeerRateLimit:
    """The buckets of the domains that sent lately (in memory, per server process)."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: int = DEFAULT_BURST,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`rate` 0 turns the limit off."""
        self.rate = rate
        self.burst = max(burst, 1)
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}

    def take(self, domain: str) -> int | None:
        """Spend one token of `domain`: None if it had one, else whole seconds until it will."""
        if self.rate <= 0:
            return None
        now = self._monotonic()
        bucket = self._buckets.get(domain)
        if bucket is None:
            if len(self._buckets) >= MAX_DOMAINS:
                self._forget_full(now)
            bucket = self._buckets[domain] = _Bucket(float(self.burst), now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        bucket.refused += 1
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def to_log(self, domain: str) -> int:
        """Refusals of `domain` to report now: 0 while one was logged less than
        LOG_INTERVAL ago, else how many there were since."""
        bucket = self._buckets.get(domain)
        now = self._monotonic()
        if bucket is None or not bucket.refused or now - bucket.logged_at < LOG_INTERVAL:
            return 0
        count, bucket.refused, bucket.logged_at = bucket.refused, 0, now
        return count

    def _forget_full(self, now: float) -> None:
        full = [
            domain
            for domain, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for domain in full or list(self._buckets)[: MAX_DOMAINS // 10]:
            del self._buckets[domain]
