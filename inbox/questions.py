"""Questions from other divisions: the acceptance of an answer, arriving as an `Update` of
the question (docs/federation.md, "Questions with an accepted answer").

`handle_update` (inbox.posts) calls `apply_update` once it has checked that the Update
comes from the question's own author, on the question's host. Here the accepted id must
name a direct reply to that question: one we hold, or else one fetched from its origin
through the bounded fetch path (inbox.from_as.note_from / store_note); anything else is
dropped with a log line and changes nothing. A local answerer is notified here, on their
own division, when the Update accepting their answer arrives.

An acceptance changes no text, so an Update that carries nothing else records no edit: the
post does not show as edited, as Mastodon does not show it either.
"""

from __future__ import annotations

import logging

from federation.activities import Activity
from federation.errors import FederationError
from federation.html import plain_text, sanitize_html
from federation.objects import Note
from inbox.context import InboxContext
from inbox.from_as import media_from_as, note_from, store_note
from outbox.questions import ANSWER_ACCEPTED, note_is_question
from store import accounts, notifications, statuses
from store import media as stored_media
from store import questions as stored_questions
from store.records import StatusRecord

log = logging.getLogger(__name__)


async def apply_update(
    ctx: InboxContext, activity: Activity, status: StatusRecord, note: Note
) -> bool:
    """Apply what an Update from the post's own author says of the question: that the post
    is one, and which answer is accepted (none when `acceptedAnswer` is absent). Returns True
    when the Update changes nothing else (same text, warning, media), so that the caller
    records no edit; False for any post that is not a question, or an edit of one."""
    async with ctx.db.read() as conn:
        record = await stored_questions.get(conn, status.id)
        media = await stored_media.for_status(conn, status.id)
    if record is None and not note_is_question(note):
        return False
    answer: StatusRecord | None = None
    valid = True
    if note.accepted_answer is not None:
        answer = await _answer(ctx, status, note.accepted_answer, activity)
        valid = answer is not None
    now = ctx.clock()
    async with ctx.db.transaction() as conn:
        if record is None:
            await stored_questions.mark(conn, status.id, now=now)
        answer_id = answer.id if answer is not None else None
        if valid and await stored_questions.set_accepted(conn, status.id, answer_id, now=now):
            log.info(
                "answer accepted question=%s answer=%s activity_id=%s",
                status.uri,
                note.accepted_answer,
                activity.id,
            )
            if answer is not None:
                await notifications.notify(
                    conn,
                    ctx.db.new_id(),
                    ANSWER_ACCEPTED,
                    recipient_id=answer.account_id,
                    sender_id=status.account_id,
                    status_id=answer.id,
                    ref=activity.id or "",
                    now=now,
                )
    kept = [m.remote_url for m in media]
    sent = media_from_as(note.attachments, status.account_id, allows=ctx.fetcher.policy.allows)
    return (
        sanitize_html(note.content) == status.content
        and plain_text(note.summary or "") == status.spoiler_text
        and note.sensitive == status.sensitive
        and [m.remote_url for m in sent] == kept
    )


async def _answer(
    ctx: InboxContext, question: StatusRecord, answer_uri: str, activity: Activity
) -> StatusRecord | None:
    """The accepted answer if it is a direct reply to `question` (fetched from its origin if
    we do not hold it yet); None, with a log line, for anything else."""
    async with ctx.db.read() as conn:
        answer = await statuses.get_by_uri(conn, answer_uri)
    if answer is None and ctx.uris.local_status(answer_uri) is None:
        try:
            answer = await store_note(ctx, await note_from(ctx, None, answer_uri))
        except FederationError as error:
            log.info(
                "accepted answer unavailable answer=%s activity_id=%s error=%s",
                answer_uri,
                activity.id,
                error,
            )
            return None
    if (
        answer is None
        or answer.in_reply_to_id != question.id
        or answer.reblog_of_id is not None
        or answer.deleted_at is not None
    ):
        log.info(
            "acceptance dropped: not a reply to the question question=%s answer=%s activity_id=%s",
            question.uri,
            answer_uri,
            activity.id,
        )
        return None
    async with ctx.db.read() as conn:
        author = await accounts.get_by_id(conn, answer.account_id)
    return answer if author is not None else None
