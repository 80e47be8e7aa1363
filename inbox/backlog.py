"""Backpressure for the inbox: past a backlog of unprocessed activities, peers are asked to
come back later (429 with Retry-After) rather than queueing without end.

The depth is read from the store at most every `refresh` seconds and counted up locally in
between, so the check costs no query per request. A peer that honours Retry-After (Mastodon,
GoToSocial and our own delivery worker do) delivers again once the worker has caught up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from store import inbox_items
from store.db import Database

RETRY_AFTER_SECONDS = 30


class Backlog:
    def __init__(
        self,
        db: Database,
        limit: int,
        *,
        refresh: float = 0.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`limit` 0 turns the check off."""
        self.db = db
        self.limit = limit
        self.refresh = refresh
        self._monotonic = monotonic
        self._pending = 0
        self._read_at = float("-inf")
        self._refused = 0
        self._reported_at = float("-inf")

    async def full(self) -> bool:
        """True when the backlog is at its limit: refuse the request before any work."""
        if not self.limit:
            return False
        now = self._monotonic()
        if now - self._read_at >= self.refresh:
            self._read_at = now
            async with self.db.read() as conn:
                self._pending = await inbox_items.pending_count(conn)
        return self._pending >= self.limit

    def refused(self) -> int:
        """Count one refusal; returns how many to log now (0 while one was logged less than
        `refresh` seconds ago): an overload must not add a log line per request."""
        self._refused += 1
        now = self._monotonic()
        if now - self._reported_at < self.refresh:
            return 0
        count, self._refused, self._reported_at = self._refused, 0, now
        return count

    def stored(self) -> None:
        """One more activity queued (until the next read from the store)."""
        self._pending += 1
