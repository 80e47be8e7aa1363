"""Handlers for Create, Update and Delete: posts and actors change only by their owner."""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.html import plain_text, sanitize_html
from federation.policy import domain_of
from federation.vocab import parse_actor
from inbox import announcements, questions
from inbox.context import InboxContext
from inbox.from_as import POST_TYPES, NotAllowed, media_from_as, note_from, store_note
from inbox.poll_votes import take_vote
from inbox.polls import apply_poll_update
from store import accounts, conversations, notifications, statuses
from store import media as stored_media
from store.records import InboxItemRecord

log = logging.getLogger(__name__)


async def handle_create(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if announcements.is_announcement(activity.object):
        await announcements.handle_create(ctx, activity, item)
        return
    if activity.object_type not in (None, *POST_TYPES):
        log.info("create ignored type=%s activity=%s", activity.object_type, activity.id)
        return
    note = await note_from(ctx, activity.object, activity.object_id, sender=activity.actor)
    if note.attributed_to != activity.actor:
        raise NotAllowed(f"{activity.actor} cannot create a post of {note.attributed_to}")
    if await take_vote(ctx, activity, note):
        return  # a vote on a poll (inbox.poll_votes), never a status
    stored = await store_note(ctx, note, item_id=item.id)
    if stored is not None and note.accepted_answer is not None:  # a question answered already
        await questions.apply_update(ctx, activity, stored, note)


async def handle_update(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    if announcements.is_announcement(activity.object):
        await announcements.handle_update(ctx, activity, item)
        return
    if activity.object_id == activity.actor and activity.object is not None:
        actor = parse_actor(activity.object)
        if actor.id != activity.actor:  # a list whose first IRI is the signer, then a forgery
            raise NotAllowed(f"{activity.actor} cannot update the actor {actor.id}")
        await ctx.actors.store(actor)
        return
    if activity.object_type not in (None, *POST_TYPES):
        return
    note = await note_from(ctx, activity.object, activity.object_id, sender=activity.actor)
    async with ctx.db.read() as conn:
        status = await statuses.get_by_uri(conn, note.id)
        author = await accounts.get_by_id(conn, status.account_id) if status else None
    if status is None or author is None:
        return
    if author.uri != activity.actor or domain_of(note.id) != domain_of(activity.actor):
        raise NotAllowed(f"{activity.actor} cannot update {note.id}")
    if await apply_poll_update(ctx, status, note):
        return  # a poll's new counts, not an edit (inbox.polls)
    if await questions.apply_update(ctx, activity, status, note):
        return  # an answer accepted or taken back, nothing else changed: no edit to record
    if (
        note.updated is not None
        and status.edited_at is not None
        and note.updated <= status.edited_at
    ):
        log.info("update ignored as not newer status=%s", note.id)  # a replay, or out of order
        return
    async with ctx.db.transaction() as conn:
        if not await statuses.has_versions(conn, status.id):
            await statuses.record_version(conn, ctx.db.new_id(), status)  # the original
        await statuses.update_content(
            conn,
            status.id,
            content=sanitize_html(note.content),
            text="",
            spoiler_text=plain_text(note.summary or ""),
            sensitive=note.sensitive,
            name=plain_text(note.name) if note.name else None,
            edited_at=note.updated or ctx.clock(),
        )
        await statuses.set_tags(conn, status.id, [tag.name for tag in note.hashtags])
        media = media_from_as(note.attachments, author.id, allows=ctx.fetcher.policy.allows)
        await stored_media.replace_remote(conn, ctx.db.new_id, status.id, media, ctx.clock())
        edited = await statuses.get_by_id(conn, status.id)
        if edited is not None:
            await statuses.record_version(conn, ctx.db.new_id(), edited)
        await notifications.notify_edited(
            conn, ctx.db.new_id, status, ref=activity.id or item.activity_uri, now=ctx.clock()
        )


async def handle_delete(ctx: InboxContext, activity: Activity, item: InboxItemRecord) -> None:
    target = activity.object_id
    if target is None or await announcements.handle_delete(ctx, activity, item):
        return
    if target == activity.actor:
        async with ctx.db.transaction() as conn:
            account = await accounts.get_by_uri(conn, target)
            if account is not None and not account.is_local:
                await accounts.suspend(conn, account.id, ctx.clock())
        log.info("remote actor deleted actor=%s", target)
        return
    async with ctx.db.transaction() as conn:
        status = await statuses.get_by_uri(conn, target)
        if status is None:
            return
        author = await accounts.get_by_id(conn, status.account_id)
        if author is None or author.uri != activity.actor:
            raise NotAllowed(f"{activity.actor} cannot delete {target}")
        if status.deleted_at is None:
            await statuses.mark_deleted(conn, status.id, ctx.clock())
            await conversations.remove_status(conn, status.id)
            if status.in_reply_to_id is not None:
                await statuses.adjust_count(conn, status.in_reply_to_id, "replies_count", -1)
            if status.reblog_of_id is not None:
                await statuses.adjust_count(conn, status.reblog_of_id, "reblogs_count", -1)
