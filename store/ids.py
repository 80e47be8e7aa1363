"""Time-sortable 64-bit ids: milliseconds since the epoch << 16 | a per-millisecond sequence.

Ids sort by creation time, fit a signed 64-bit column in SQLite and PostgreSQL, and go to
clients as strings (JavaScript loses precision past 2**53).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import datetime

SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class IdGenerator:
    """Hands out increasing ids; safe within one process (asyncio is single-threaded).

    The sequence of each new millisecond starts at a random point, so two processes that share
    a database file (the server and `watercooler worker`) rarely collide; the primary key still
    catches the rare collision.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last_ms = 0
        self._sequence = 0

    def next_id(self) -> int:
        now_ms = int(self._clock() * 1000)
        if now_ms > self._last_ms:
            self._last_ms = now_ms
            self._sequence = secrets.randbelow(1 << (SEQUENCE_BITS - 1))
        else:
            # Same millisecond, or the clock went back: keep counting from the last id.
            self._sequence += 1
            if self._sequence > _SEQUENCE_MASK:
                self._last_ms += 1
                self._sequence = 0
        return (self._last_ms << SEQUENCE_BITS) | self._sequence


def id_time(id_: int) -> datetime:
    """The creation time encoded in an id (useful for `min_id`/`max_id` from a date)."""
    from datetime import UTC

    return datetime.fromtimestamp((id_ >> SEQUENCE_BITS) / 1000, tz=UTC)


def id_for_time(moment: datetime) -> int:
    """The smallest id that could have been made at `moment`."""
    return int(moment.timestamp() * 1000) << SEQUENCE_BITS
