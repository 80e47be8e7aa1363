"""The inbox worker: runs the handler of each stored activity, durably.

Items are leased, not deleted: a crash leaves the lease to expire and the item is handled
again (handlers are idempotent). A handler that fails is retried a few times with backoff,
then the item is marked failed where admins see it. Unknown types are done with a log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from federation.activities import Activity, parse_activity
from federation.errors import ParseError, RefusedDocument
from federation.fetch import ObjectGone, ObjectNotFound
from inbox.context import InboxContext
from inbox.from_as import NotAllowed
from outbox.loop import run_until_stopped
from store import inbox_items, moderation
from store.records import InboxItemRecord

log = logging.getLogger(__name__)

Handler = Callable[[InboxContext, Activity, InboxItemRecord], Awaitable[None]]
LEASE = timedelta(seconds=30)  # what a kill -9 holds back; handlers are idempotent
MAX_ATTEMPTS = 5
BATCH = 32


class InboxWorker:
    def __init__(
        self,
        ctx: InboxContext,
        handlers: Mapping[str, Handler],
        on_handled: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_handled` is called after each item's effects are committed (streaming
        looks for them then)."""
        self.ctx = ctx
        self.handlers = handlers
        self.on_handled = on_handled
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Wake the loop: an activity was just stored."""
        self._wake.set()

    async def run_once(self) -> int:
        """Handle every item due now, one at a time in arrival order; returns how many."""
        now = self.ctx.clock()
        async with self.ctx.db.transaction() as conn:
            items = await inbox_items.lease_due(conn, now=now, lease_until=now + LEASE, limit=BATCH)
        for item in items:
            await self._handle(item)
            self.on_handled()
        return len(items)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            self.run_once, stop, name="inbox worker", idle_seconds=1.0, wake=self._wake
        )

    async def _handle(self, item: InboxItemRecord) -> None:
        # The item was stored durably before its 202 and handlers are idempotent: what a
        # power loss takes back is handled again, so these commits need not wait for the disk.
        with self.ctx.db.redoable():
            await self._handle_item(item)

    async def _handle_item(self, item: InboxItemRecord) -> None:
        db, now = self.ctx.db, self.ctx.clock()
        try:
            activity = parse_activity(json.loads(item.body))
            handler = self.handlers.get(activity.type)
            async with db.read() as conn:
                suspended = await moderation.suspended_actor(conn, activity.actor)
            if suspended:  # by this division's moderators (watercooler.moderation)
                log.info(
                    "activity dropped activity_id=%s actor=%s reason=suspended",
                    item.activity_uri,
                    activity.actor,
                )
            elif handler is None:
                log.info(
                    "activity ignored activity_id=%s type=%s", item.activity_uri, activity.type
                )
            else:
                await handler(self.ctx, activity, item)
        except (
            ParseError,
            NotAllowed,
            ObjectGone,
            ObjectNotFound,
            RefusedDocument,
            ValueError,
        ) as error:
            # Malformed, not the actor's to do, its object gone, or a fetch refused for what
            # the origin is or serves (an unsafe address, another host): retrying cannot help.
            log.info("activity dropped activity_id=%s error=%s", item.activity_uri, error)
            async with db.transaction() as conn:
                await inbox_items.mark_failed(conn, item.id, now, str(error))
            return
        except Exception as error:  # one bad item must not stop the others: retry it later
            log.warning(
                "activity failed activity_id=%s attempt=%d error=%r",
                item.activity_uri,
                item.attempts,
                error,
            )
            async with db.transaction() as conn:
                if item.attempts >= MAX_ATTEMPTS:
                    await inbox_items.mark_failed(conn, item.id, now, repr(error))
                else:
                    delay = timedelta(seconds=30 * 4 ** (item.attempts - 1))
                    await inbox_items.reschedule(
                        conn, item.id, next_attempt_at=now + delay, error=repr(error)
                    )
            return
        async with db.transaction() as conn:
            await inbox_items.mark_done(conn, item.id, self.ctx.clock())
