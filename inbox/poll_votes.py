"""Votes coming in: a `Create` of a `Note` with a `name` that answers a poll's `Question`.

Such a Note is a vote, never a status (Mastodon's rule: `name` set and `inReplyTo` a status
with a poll). A vote on one of our polls is counted once per voter and option, then the
poll's `Update` is due (coalesced, `outbox.polls`). Dropped with a log line, changing nothing:
a vote after the poll's end, for a name that is not an option, a second option on a
single-choice poll, from an actor who may not see the poll (the rule of
`watercooler.visibility.can_see` for a remote reader), and a vote on a poll that is not ours
(its author's server counts it). A Note whose author is not the activity's actor is refused
(`NotAllowed`): a forged vote.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from federation.activities import Activity
from federation.html import plain_text
from federation.objects import Note
from inbox.context import InboxContext
from inbox.from_as import NotAllowed
from outbox.polls import UPDATE_DELAY
from store import follows, statuses
from store import polls as stored_polls
from store.db import Connection
from store.records import AccountRecord, StatusRecord

log = logging.getLogger(__name__)


async def _may_see(
    conn: Connection, status: StatusRecord, voter: AccountRecord, is_peer: Callable[[str], bool]
) -> bool:
    """Whether a remote account may see a local status (watercooler.visibility.can_see's rule
    for remote readers, which the inbox cannot import)."""
    if status.deleted_at is not None or status.local_only:
        return False
    if status.visibility in ("public", "unlisted"):
        return True
    if status.visibility == "org":
        return voter.domain is not None and is_peer(voter.domain)
    if voter.id in await statuses.mentioned_account_ids(conn, status.id):
        return True
    if status.visibility == "private":
        return await follows.is_following(conn, voter.id, status.account_id)
    return False


async def take_vote(ctx: InboxContext, activity: Activity, note: Note) -> bool:
    """Handle `note` if it is a vote (True: it must not become a status), else False."""
    if note.type != "Note" or note.name is None or note.in_reply_to is None:
        return False
    async with ctx.db.read() as conn:
        status = await statuses.get_by_uri(conn, note.in_reply_to)
        poll = await stored_polls.for_status(conn, status.id) if status is not None else None
    if status is None or poll is None:
        return False
    if note.attributed_to != activity.actor:
        raise NotAllowed(f"{activity.actor} cannot vote as {note.attributed_to}")
    if not poll.local:
        log.info("vote on a poll that is not ours dropped activity_id=%s", activity.id)
        return True
    voter = await ctx.actors.get(activity.actor)
    if voter is None or voter.is_local:
        log.info("vote from an unknown actor dropped activity_id=%s", activity.id)
        return True
    name = plain_text(note.name).strip()
    now = ctx.clock()
    async with ctx.db.transaction() as conn:
        if not await _may_see(conn, status, voter, ctx.fetcher.policy.is_peer):
            log.info("vote on a poll its voter may not see dropped activity_id=%s", activity.id)
            return True
        fresh = await stored_polls.get(conn, poll.id)
        if fresh is None or fresh.expired(now):
            log.info("vote after the poll's end dropped activity_id=%s", activity.id)
            return True
        if name not in fresh.options:
            log.info("vote for no option dropped activity_id=%s", activity.id)
            return True
        choice = fresh.options.index(name)
        earlier = (await stored_polls.choices_of(conn, voter.id, [poll.id])).get(poll.id, [])
        if earlier and not fresh.multiple and choice not in earlier:
            log.info("second vote on a single-choice poll dropped activity_id=%s", activity.id)
            return True
        added = await stored_polls.record_votes(
            conn,
            ctx.db.new_id,
            fresh,
            account_id=voter.id,
            choices=[choice],
            uris=[note.id],
            now=now,
        )
        if added:
            await stored_polls.mark_update_due(conn, poll.id, now + UPDATE_DELAY)
    log.info("vote counted poll=%s voter=%s new=%s", poll.id, voter.uri, bool(added))
    return True
