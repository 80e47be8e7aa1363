"""Handlers for Follow, Accept and Reject."""

from __future__ import annotations

import json
import logging

from federation.activities import Activity
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.featured_sync import sync_featured
from inbox.from_as import NotAllowed
from store import accounts, deliveries, follows, notifications, peers
from store.records import InboxItemRecord

log = logging.getLogger(__name__)


async def handle_follow(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """A remote actor follows a local one (by actor id or profile URL, as peers differ)."""
    if ctx.uris.is_instance_actor(activity.object_id or ""):
        await _peer_follows(ctx, activity, item)
        return
    username = ctx.uris.local_username(activity.object_id or "")
    async with ctx.db.read() as conn:
        target = await accounts.get_local(conn, username) if username else None
    if target is None or target.actor_type == "Application":
        log.info("follow of unknown account object=%s", activity.object_id)
        return
    follower = await ctx.actors.get(activity.actor)
    if follower is None:
        raise NotAllowed(f"follower {activity.actor} unavailable")
    async with ctx.db.transaction() as conn:
        await follows.upsert(
            conn,
            ctx.db.new_id(),
            account_id=follower.id,
            target_account_id=target.id,
            uri=activity.id or item.activity_uri,
            state=follows.PENDING,
            now=ctx.clock(),
        )
        await notifications.notify_follow(
            conn,
            ctx.db.new_id(),
            target_id=target.id,
            follower_id=follower.id,
            locked=target.manually_approves_followers,
            now=ctx.clock(),
        )
    if not target.manually_approves_followers:
        await ctx.publisher.answer_follow(target, follower, json.loads(item.body), accept=True)


async def _peer_follows(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """A peer's instance actor follows ours: accepted only if we list that peer too, so the
    link that carries the organisation timeline exists only where both sides want it."""
    domain = domain_of(activity.actor)
    if not ctx.fetcher.policy.is_peer(domain):
        log.info("instance follow refused: not a peer actor=%s", activity.actor)
        return
    follower = await ctx.actors.get(activity.actor)
    if follower is None:
        raise NotAllowed(f"follower {activity.actor} unavailable")
    if follower.actor_type not in ("Application", "Service"):
        log.info("instance follow refused: not an instance actor actor=%s", activity.actor)
        return
    async with ctx.db.transaction() as conn:
        ours = await accounts.get_instance_actor(conn)
        if ours is None:
            return
        await follows.upsert(
            conn,
            ctx.db.new_id(),
            account_id=follower.id,
            target_account_id=ours.id,
            uri=activity.id or item.activity_uri,
            state=follows.PENDING,
            now=ctx.clock(),
        )
        await peers.set_actor(conn, domain, follower.uri)
        mine = await follows.get(conn, ours.id, follower.id)
        if mine is None or mine.state == follows.PENDING:
            # Ours was never sent (they were unreachable) or was refused before they listed
            # us: the peering worker sends it (again) now that they are there.
            if mine is not None:
                await follows.delete(conn, mine.id)
                await deliveries.cancel_dead_of(
                    conn, mine.uri, ctx.clock(), reason="sent again once the peer listed us"
                )
            await peers.reset_attempt(conn, domain)
    await ctx.publisher.answer_follow(ours, follower, json.loads(item.body), accept=True)
    log.info("peer instance actor follows ours actor=%s", activity.actor)
    await ctx.on_peer_linked(follower)  # e.g. our org manifest, which a new peer may lack


async def _follow_answered(ctx: InboxContext, activity: Activity) -> tuple[int, str] | None:
    """(follow id, state) of our follow that this Accept or Reject answers, if it is ours and
    the answer comes from the followed actor."""
    follow_uri = activity.object_id
    async with ctx.db.read() as conn:
        record = await follows.get_by_uri(conn, follow_uri) if follow_uri else None
        target = await accounts.get_by_uri(conn, activity.actor)
        if record is None and target is not None and activity.object is not None:
            # Some servers answer with a Follow whose id they did not keep: match by actors.
            follower_uri = activity.object.get("actor")
            follower = (
                await accounts.get_by_uri(conn, follower_uri)
                if isinstance(follower_uri, str)
                else None
            )
            if follower is not None:
                record = await follows.get(conn, follower.id, target.id)
    if record is None or target is None or record.target_account_id != target.id:
        return None
    return record.id, record.state


async def handle_accept(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    found = await _follow_answered(ctx, activity)
    if found is None:
        log.info("accept of unknown follow activity=%s", activity.id)
        return
    async with ctx.db.transaction() as conn:
        await follows.set_state(conn, found[0], follows.ACCEPTED, ctx.clock())
        followed = await accounts.get_by_uri(conn, activity.actor)
    if found[1] != follows.ACCEPTED and followed is not None:
        await sync_featured(ctx, followed)  # their pins from before we followed them


async def handle_reject(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    found = await _follow_answered(ctx, activity)
    if found is None:
        return
    async with ctx.db.transaction() as conn:
        await follows.delete(conn, found[0])
