"""Writing verified activities to the inbound queue: one group commit for many requests.

A request is answered 202 only once the transaction holding its row is committed with
`synchronous=FULL` (DESIGN rule 1), but concurrent requests share that transaction and its
fsync: while one batch commits, the next one gathers. A lone request is written at once,
with no timer, so a quiet instance answers as fast as with a commit of its own.

In the same transaction each row is checked against the stored key that verified it: an
activity is stored only while that key stands (see `inbox.intake_keys`).
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from store import inbox_items, keys
from store.db import Connection, Database
from store.inbox_items import NewInboxItem

MAX_BATCH = 400
"""Rows per transaction: bounds the time one commit holds the writer."""


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the activity was stored before: nothing changed
    KEY_GONE = "key gone"  # the key that verified it was replaced or removed: not stored


class IntakeFailed(Exception):
    """The batch holding the request's row could not be committed."""


@dataclass(frozen=True, slots=True)
class _Waiting:
    item: NewInboxItem
    key_row_id: int | None
    answer: asyncio.Future[Outcome]


class IntakeQueue:
    def __init__(
        self, db: Database, clock: Callable[[], datetime], *, max_batch: int = MAX_BATCH
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_batch = max_batch
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, item: NewInboxItem, *, key_row_id: int | None) -> Outcome:
        """Store `item` if the stored key `key_row_id` (None: nothing to confirm) still
        stands; returns once the outcome is committed."""
        answer: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(item, key_row_id, answer))
        if self._writer is None:
            # A context of its own: nothing of the first request's (such as `redoable()`)
            # may change how the batches commit.
            self._writer = asyncio.create_task(
                self._write_all(), name="inbox group commit", context=contextvars.Context()
            )
        return await answer

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                await self._write_batch()
        except BaseException as error:  # cancelled: the app is stopping
            _fail(self._take(len(self._waiting)), error)
            raise
        finally:
            self._writer = None

    async def _write_batch(self) -> None:
        batch: list[_Waiting] = []
        try:
            async with self.db.transaction() as conn:
                batch = self._take(self.max_batch)  # all that gathered meanwhile
                outcomes = await _store(conn, batch, self.clock())
        except Exception as error:
            _fail(batch or self._take(self.max_batch), error)
            return
        except BaseException as error:
            _fail(batch, error)
            raise
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if not waiting.answer.done():  # its request may have gone away meanwhile
                waiting.answer.set_result(outcome)

    def _take(self, count: int) -> list[_Waiting]:
        batch = self._waiting[:count]
        del self._waiting[:count]
        return batch


def _fail(batch: Sequence[_Waiting], error: BaseException) -> None:
    for waiting in batch:
        if not waiting.answer.done():
            failure = IntakeFailed("the inbound queue could not be written")
            failure.__cause__ = error
            waiting.answer.set_exception(failure)


async def _store(conn: Connection, batch: Sequence[_Waiting], now: datetime) -> list[Outcome]:
    rows = {w.key_row_id for w in batch if w.key_row_id is not None}
    standing = await keys.standing(conn, rows) if rows else set()
    valid = [w for w in batch if w.key_row_id is None or w.key_row_id in standing]
    stored = await inbox_items.enqueue_many(conn, [w.item for w in valid], now)
    return [
        Outcome.KEY_GONE
        if w.key_row_id is not None and w.key_row_id not in standing
        else Outcome.STORED
        if w.item.id in stored
        else Outcome.DUPLICATE
        for w in batch
    ]
