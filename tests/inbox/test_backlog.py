"""Backpressure: the backlog is read from the store at most every `refresh` seconds, and an
overload is logged as a count per interval, not a line per refused request."""

from __future__ import annotations

from inbox.backlog import Backlog
from store.db import Database


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_refusals_are_reported_once_per_interval_with_their_count(db: Database) -> None:
    clock = Clock()
    backlog = Backlog(db, 1, refresh=0.5, monotonic=clock)
    assert not await backlog.full()
    backlog.stored()
    assert await backlog.full()
    assert [backlog.refused() for _ in range(5)] == [1, 0, 0, 0, 0]
    clock.now += 0.6
    assert backlog.refused() == 5  # the four since, and this one
    assert backlog.refused() == 0
