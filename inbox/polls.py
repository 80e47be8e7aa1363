"""Remote polls coming in: the poll of a `Question` stored with its status, and the counts its
author's `Update`s bring.

A remote poll is believed only as its author's server states it (the status and the Update
are origin-checked by their callers, `inbox.from_as.store_note` and `inbox.posts`). A poll
with more than MAX_REMOTE_OPTIONS options, fewer than two, or an option name longer than
MAX_OPTION_NAME is not kept (the post is, without its poll), with a log line. Votes are in
`inbox.poll_votes`.
"""

from __future__ import annotations

import logging

from federation.html import plain_text
from federation.objects import Note, Poll
from inbox.context import InboxContext
from store import polls as stored_polls
from store.polls import NewPoll
from store.records import StatusRecord

log = logging.getLogger(__name__)

MAX_REMOTE_OPTIONS = 20
"""Options a remote poll may have (Mastodon allows 4 by default, admins up to some dozens)."""
MAX_OPTION_NAME = 500
"""Characters an option's name may have, as plain text."""


def poll_options(poll: Poll, object_id: str) -> list[str] | None:
    """The options' names as plain text, or None (with a log line) for a poll not kept."""
    if not 2 <= len(poll.options) <= MAX_REMOTE_OPTIONS:
        log.info("poll dropped: %d options object=%s", len(poll.options), object_id)
        return None
    names = [plain_text(option.name).strip() for option in poll.options]
    if any(not name or len(name) > MAX_OPTION_NAME for name in names):
        log.info("poll dropped: an option name is empty or too long object=%s", object_id)
        return None
    return names


async def keep_remote_poll(ctx: InboxContext, status: StatusRecord, poll: Poll) -> None:
    """Store the poll of a remote status just stored (once: a second call changes nothing)."""
    names = poll_options(poll, status.uri)
    if names is None:
        return
    ends = [moment for moment in (poll.end_time, poll.closed) if moment is not None]
    new = NewPoll(
        status_id=status.id,
        account_id=status.account_id,
        local=False,
        options=names,
        tallies=[option.votes for option in poll.options],
        multiple=poll.multiple,
        voters_count=poll.voters_count,
        expires_at=min(ends) if ends else None,
    )
    async with ctx.db.transaction() as conn:
        await stored_polls.insert(conn, ctx.db.new_id(), new, ctx.clock())


async def refresh_remote_poll(ctx: InboxContext, status: StatusRecord, poll: Poll) -> None:
    """New counts (and end) of a remote poll from its author's `Update`. A poll whose options
    changed is left as it was (Mastodon resets the votes of an edited poll; we keep showing
    the last counts of the options we know), with a log line."""
    async with ctx.db.read() as conn:
        known = await stored_polls.for_status(conn, status.id)
    if known is None:
        await keep_remote_poll(ctx, status, poll)
        return
    if known.local:
        return
    names = poll_options(poll, status.uri)
    if names is None or tuple(names) != known.options:
        log.info("poll update ignored: its options differ object=%s", status.uri)
        return
    ends = [moment for moment in (poll.end_time, poll.closed) if moment is not None]
    async with ctx.db.transaction() as conn:
        await stored_polls.refresh_remote(
            conn,
            known.id,
            tallies=[option.votes for option in poll.options],
            voters_count=poll.voters_count,
            expires_at=min(ends) if ends else known.expires_at,
            now=ctx.clock(),
        )
    log.info(
        "poll counts updated object=%s votes=%d", status.uri, sum(o.votes for o in poll.options)
    )


async def apply_poll_update(ctx: InboxContext, status: StatusRecord, note: Note) -> bool:
    """The `Update` of a remote Question (origin-checked by the caller): refresh its poll's
    counts. True when that is all it is (not an edit: no `updated` newer than what we hold),
    so that no edit is recorded for a vote count, as Mastodon does."""
    if note.poll is None:
        return False
    await refresh_remote_poll(ctx, status, note.poll)
    last = status.edited_at or status.created_at
    return note.updated is None or note.updated <= last
