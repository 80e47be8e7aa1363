"""`Update` of an org manifest: a peer's instance actor passes on the organisation's signed
list of divisions. Every other `Update` goes to `inbox.posts.handle_update`.

Only a peer's instance actor may pass a manifest on: anything else is dropped with a log
line. What is in the manifest is trusted only once the org key's signature verifies, which
the app shell does behind `InboxContext.on_manifest`; the sender only limits who may make us
do that work.
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.manifest import is_manifest
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.posts import handle_update as handle_post_update
from store.records import InboxItemRecord

log = logging.getLogger(__name__)

INSTANCE_ACTOR_TYPES = ("Application", "Service")


async def handle_update(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if not is_manifest(activity.object):
        await handle_post_update(ctx, activity, item)
        return
    if not ctx.fetcher.policy.is_peer(domain_of(activity.actor)):
        log.info("org manifest dropped: not a peer actor=%s", activity.actor)
        return
    sender = await ctx.actors.get(activity.actor)
    if sender is None or sender.actor_type not in INSTANCE_ACTOR_TYPES:
        log.info("org manifest dropped: not an instance actor actor=%s", activity.actor)
        return
    assert activity.object is not None  # is_manifest holds
    await ctx.on_manifest(activity.object, activity.actor)
