"""Handlers for Add and Remove: a remote actor pins or unpins one of its posts.

Mastodon announces a pin as an `Add` whose `target` is the actor's featured collection and
whose object is the post, and an unpin as the `Remove` of it. Only the actor's own
collection counts (the `featured` IRI of its actor document, as we stored it) and only its
own posts that we already hold; anything else is dropped, so a forged Add from another
actor pins nothing. Pinning twice, or unpinning what is not pinned, changes nothing; an
actor has at most MAX_REMOTE_PINS pins here.
Other collections (featured hashtags, a group's) are ignored.
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from inbox.context import InboxContext
from inbox.from_as import NotAllowed
from store import accounts, pins, statuses
from store.records import InboxItemRecord

log = logging.getLogger(__name__)

MAX_REMOTE_PINS = 100
"""Pins kept per remote actor (Mastodon allows five; others more); further Adds are dropped."""


async def _featured_change(ctx: InboxContext, activity: Activity, *, pinned: bool) -> None:
    if activity.target is None or activity.object_id is None:
        return
    async with ctx.db.read() as conn:
        actor = await accounts.get_by_uri(conn, activity.actor)
        if actor is None or actor.is_local or activity.target != actor.featured_url:
            log.info(
                "collection change ignored activity_id=%s target=%s", activity.id, activity.target
            )
            return
        status = await statuses.get_by_uri(conn, activity.object_id)
    if status is None:
        log.info("pin of an unknown post ignored activity_id=%s", activity.id)
        return
    if status.account_id != actor.id or status.reblog_of_id is not None:
        raise NotAllowed(f"{activity.actor} cannot pin {activity.object_id}")
    async with ctx.db.transaction() as conn:
        if pinned:
            if await pins.count(conn, actor.id) >= MAX_REMOTE_PINS:
                log.info("pin over the limit ignored activity_id=%s", activity.id)
                return
            await pins.pin(
                conn, ctx.db.new_id(), account_id=actor.id, status_id=status.id, now=ctx.clock()
            )
        else:
            await pins.unpin(conn, account_id=actor.id, status_id=status.id)


async def handle_add(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    await _featured_change(ctx, activity, pinned=True)


async def handle_remove(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    await _featured_change(ctx, activity, pinned=False)
