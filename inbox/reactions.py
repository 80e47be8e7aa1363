"""Handlers for Announce, Like, Block and Undo."""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.errors import FederationError
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.from_as import NotAllowed, note_from, store_note
from store import accounts, follows, notifications, reactions, statuses, timelines
from store.records import InboxItemRecord

log = logging.getLogger(__name__)


async def handle_announce(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """A boost: the boosted post (fetched from its origin if new) and the boost itself."""
    if activity.id is None or activity.object_id is None:
        return
    booster = await ctx.actors.get(activity.actor)
    if booster is None:
        raise FederationError(f"booster {activity.actor} unavailable")
    async with ctx.db.read() as conn:
        original = await statuses.get_by_uri(conn, activity.object_id)
    if original is None:
        original = await store_note(ctx, await note_from(ctx, None, activity.object_id))
    if (
        original is None
        or original.visibility not in ("public", "unlisted", "org")
        or original.local_only
    ):
        raise NotAllowed(f"{activity.object_id} cannot be boosted")
    if original.visibility == "org" and not ctx.fetcher.policy.is_peer(domain_of(booster.uri)):
        raise NotAllowed(f"{activity.actor} is outside the organisation: no boost of org posts")
    async with ctx.db.transaction() as conn:
        if await statuses.get_by_uri(conn, activity.id) is not None:
            return
        if await statuses.get_boost(conn, booster.id, original.id) is not None:
            return  # boosted already, under another Announce id: one boost per account
        boost = await statuses.insert_boost(
            conn,
            ctx.db.new_id(),
            account_id=booster.id,
            original=original,
            uri=activity.id,
            local=False,
            created_at=min(activity.published or ctx.clock(), ctx.clock()),
        )
        await notifications.notify(
            conn,
            ctx.db.new_id(),
            "reblog",
            recipient_id=original.account_id,
            sender_id=booster.id,
            status_id=original.id,
            now=ctx.clock(),
        )
        readers = set(await follows.local_follower_ids(conn, booster.id)) - {original.account_id}
        await timelines.add(conn, readers, boost.id)


async def handle_like(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if activity.object_id is None:
        return
    async with ctx.db.read() as conn:
        status = await statuses.get_by_uri(conn, activity.object_id)
    if status is None:
        return  # likes of posts we do not hold change nothing here
    liker = await ctx.actors.get(activity.actor)
    if liker is None:
        raise FederationError(f"liker {activity.actor} unavailable")
    async with ctx.db.transaction() as conn:
        if await reactions.add_favourite(
            conn,
            ctx.db.new_id(),
            account_id=liker.id,
            status_id=status.id,
            uri=activity.id or item.activity_uri,
            now=ctx.clock(),
        ):
            await statuses.adjust_count(conn, status.id, "favourites_count", 1)
            await notifications.notify(
                conn,
                ctx.db.new_id(),
                "favourite",
                recipient_id=status.account_id,
                sender_id=liker.id,
                status_id=status.id,
                now=ctx.clock(),
            )


async def handle_block(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    username = ctx.uris.local_username(activity.object_id or "")
    async with ctx.db.read() as conn:
        target = await accounts.get_local(conn, username) if username else None
    blocker = await ctx.actors.get(activity.actor)
    if target is None or blocker is None:
        return
    async with ctx.db.transaction() as conn:
        await reactions.add_block(
            conn,
            ctx.db.new_id(),
            account_id=blocker.id,
            target_account_id=target.id,
            uri=activity.id or item.activity_uri,
            now=ctx.clock(),
        )
        for a, b in ((blocker, target), (target, blocker)):
            record = await follows.get(conn, a.id, b.id)
            if record is not None:
                await follows.delete(conn, record.id)
                await timelines.remove_author_from(conn, a.id, b.id)


async def handle_undo(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """Take back a Follow, Like, Announce or Block — only the actor's own."""
    inner = activity.object or {}
    inner_actor = inner.get("actor")
    if isinstance(inner_actor, dict):
        inner_actor = inner_actor.get("id")
    if inner and inner_actor != activity.actor:
        raise NotAllowed(f"{activity.actor} cannot undo an activity of {inner_actor}")
    inner_id = activity.object_id
    async with ctx.db.transaction() as conn:
        actor = await accounts.get_by_uri(conn, activity.actor)
        if actor is None:
            return
        kind = activity.object_type
        follow = await follows.get_by_uri(conn, inner_id) if inner_id else None
        if kind == "Follow" or (kind is None and follow is not None):
            if follow is None:
                # Some servers undo a Follow whose id we never saw: match it by its target.
                name = ctx.uris.local_username(str(inner.get("object") or ""))
                target = await accounts.get_local(conn, name) if name else None
                follow = await follows.get(conn, actor.id, target.id) if target else None
            if follow is not None and follow.account_id == actor.id:
                await follows.delete(conn, follow.id)
                await timelines.remove_author_from(conn, follow.target_account_id, actor.id)
            return
        if kind is None and inner_id:
            # Only the IRI of the undone activity: find what it was among ours.
            if await reactions.favourite_by_uri(conn, inner_id):
                kind = "Like"
            elif await reactions.block_by_uri(conn, inner_id):
                kind = "Block"
            else:
                kind = "Announce"
        if kind == "Announce" and inner_id:
            boost = await statuses.get_by_uri(conn, inner_id)
            if boost is not None and boost.account_id == actor.id and boost.deleted_at is None:
                await statuses.mark_deleted(conn, boost.id, ctx.clock())
                if boost.reblog_of_id is not None:
                    await statuses.adjust_count(conn, boost.reblog_of_id, "reblogs_count", -1)
        elif kind == "Like":
            found = await reactions.favourite_by_uri(conn, inner_id) if inner_id else None
            liked = inner.get("object")
            status = (
                await statuses.get_by_id(conn, found[1])
                if found and found[0] == actor.id
                else await statuses.get_by_uri(conn, liked)
                if isinstance(liked, str)
                else None
            )
            if status is not None and await reactions.remove_favourite(conn, actor.id, status.id):
                await statuses.adjust_count(conn, status.id, "favourites_count", -1)
        elif kind == "Block":
            found = await reactions.block_by_uri(conn, inner_id) if inner_id else None
            blocked = ctx.uris.local_username(str(inner.get("object") or ""))
            target_id = found[1] if found and found[0] == actor.id else None
            if target_id is None and blocked:
                target = await accounts.get_local(conn, blocked)
                target_id = target.id if target else None
            if target_id is not None:
                await reactions.remove_block(conn, actor.id, target_id)
        else:
            log.info("undo ignored activity=%s inner=%s", activity.id, inner_id)
