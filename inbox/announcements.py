"""Create, Update and Delete of an announcement (`wc:Announcement`, docs/federation.md):
a peer's instance actor tells us what one of its accounts announced to the organisation.

Accepted only from the instance actor of a peer (the signer, which the intake checked is
the activity's actor), and only about an announcement that lives on that same host and is
attributed to an account there. Anything else is dropped with a log line (`NotAllowed`)
and nothing is stored. The same activity twice, or an Update no newer than what we hold,
changes nothing. The HTML is sanitized before it is stored.
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.announcement import Announcement, is_announcement, parse_announcement
from federation.errors import FederationError
from federation.html import sanitize_html
from federation.policy import domain_of
from inbox.context import InboxContext
from inbox.from_as import NotAllowed
from store import accounts, peers
from store import announcements as stored
from store.announcements import AnnouncementContent
from store.db import Connection
from store.records import AccountRecord, InboxItemRecord

log = logging.getLogger(__name__)

__all__ = ["handle_create", "handle_delete", "handle_update", "is_announcement"]


async def _peer_instance_actor(ctx: InboxContext, actor: str) -> None:
    """NotAllowed unless `actor` is the instance actor of a listed peer."""
    domain = domain_of(actor)
    if not ctx.fetcher.policy.is_peer(domain):
        raise NotAllowed(f"announcement refused: {domain} is not a peer (actor {actor})")
    async with ctx.db.read() as conn:
        peer = await peers.get(conn, domain)
    if peer is None or peer.actor_uri != actor:
        raise NotAllowed(f"announcement refused: {actor} is not the instance actor of {domain}")


async def _checked(ctx: InboxContext, activity: Activity) -> tuple[Announcement, AccountRecord]:
    """The announcement and its author, if the sender may tell us of it."""
    announcement = parse_announcement(activity.object)
    await _peer_instance_actor(ctx, activity.actor)
    domain = domain_of(activity.actor)
    if domain_of(announcement.id) != domain or domain_of(announcement.attributed_to) != domain:
        raise NotAllowed(
            f"announcement refused: {activity.actor} cannot speak for {announcement.id}"
            f" attributed to {announcement.attributed_to}"
        )
    author = await ctx.actors.get(announcement.attributed_to)
    if author is None:  # the peer may be down for a moment: tried again later, as for a post
        raise FederationError(f"author {announcement.attributed_to} unavailable")
    return announcement, author


async def _content(conn: Connection, announcement: Announcement) -> AnnouncementContent:
    mentioned = [await accounts.get_by_uri(conn, href) for href in announcement.mentions]
    return AnnouncementContent(
        text="",
        content=sanitize_html(announcement.content),
        mention_ids=[a.id for a in mentioned if a is not None],
        tags=list(dict.fromkeys(announcement.hashtags)),
        starts_at=announcement.start_time,
        ends_at=announcement.end_time,
        all_day=announcement.all_day,
    )


async def handle_create(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    announcement, author = await _checked(ctx, activity)
    now = ctx.clock()
    async with ctx.db.transaction() as conn:
        if await stored.get_by_uri(conn, announcement.id) is not None:
            log.info("announcement known already uri=%s", announcement.id)
            return
        published = announcement.published or now
        await stored.insert(
            conn,
            ctx.db.new_id(),
            uri=announcement.id,
            account_id=author.id,
            local=False,
            content=await _content(conn, announcement),
            published_at=published,
            updated_at=announcement.updated or published,
        )
    log.info("announcement received uri=%s from=%s", announcement.id, activity.actor)


async def handle_update(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    """An edit; an announcement we missed the Create of is taken as new."""
    announcement, author = await _checked(ctx, activity)
    async with ctx.db.read() as conn:
        record = await stored.get_by_uri(conn, announcement.id)
    if record is None:
        await handle_create(ctx, activity, item)
        return
    if record.local or record.account_id != author.id:
        raise NotAllowed(f"announcement refused: {activity.actor} cannot change {record.uri}")
    if record.withdrawn_at is not None:
        log.info("update of a withdrawn announcement ignored uri=%s", record.uri)
        return
    updated = announcement.updated or ctx.clock()
    if updated <= record.updated_at:
        log.info("announcement update not newer ignored uri=%s", record.uri)
        return
    async with ctx.db.transaction() as conn:
        await stored.update(conn, record.id, await _content(conn, announcement), updated_at=updated)
    log.info("announcement updated uri=%s from=%s", record.uri, activity.actor)


async def handle_delete(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> bool:
    """A withdrawal. False when the object is no announcement we hold (then it is a post's
    Delete, for `inbox.posts`)."""
    target = activity.object_id
    if target is None:
        return False
    async with ctx.db.read() as conn:
        record = await stored.get_by_uri(conn, target)
    if record is None:
        return False
    await _peer_instance_actor(ctx, activity.actor)
    if record.local or domain_of(target) != domain_of(activity.actor):
        raise NotAllowed(f"announcement refused: {activity.actor} cannot withdraw {target}")
    async with ctx.db.transaction() as conn:
        await stored.withdraw(conn, record.id, ctx.clock())
    log.info("announcement withdrawn uri=%s from=%s", target, activity.actor)
    return True
