"""Questions with an accepted answer, the publishing side (issue 9, point 2).

A post is a question when its author says so (the API's `question` flag, the web compose
box) or tags it `#question`, which is how people mark one from a stock app. Its Note then
carries `wc:isQuestion` and the `#question` Hashtag (added to the tags when the text has
none, so that servers knowing nothing of the extension still see the marker), and, once an
answer is accepted, `schema:acceptedAnswer` (docs/federation.md). Accepting (or taking an
acceptance back) sends an `Update` of the question with its content unchanged, to where the
question went and to the answer's author, and notifies a local answerer at once.

This module holds no SQL (store.questions does) and no visibility rule: the client API and
the web pages check that the asker may see the answer before calling `accept`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from federation.objects import Hashtag, Note
from federation.uris import Uris
from store import accounts, notifications, statuses
from store import questions as stored_questions
from store.db import Connection
from store.records import AccountRecord, StatusRecord

if TYPE_CHECKING:  # outbox.publish imports this module for the Note of a post
    from outbox.publish import Publisher

log = logging.getLogger(__name__)

QUESTION_TAG = "question"
"""The hashtag that marks a question, from any app or server."""

ANSWER_ACCEPTED = "watercooler.answer_accepted"
"""The notification an answerer gets when their answer is accepted: a type of our own,
namespaced as Mastodon namespaces its `admin.*` types, which stock apps skip (Mastodon's
docs tell clients to ignore unknown types) and Watercooler's pages show. It is one of
store.notifications.TYPES, so `types[]` can ask for it."""


class AcceptRefused(ValueError):
    """An acceptance that cannot be done: `status` is the HTTP answer (403: not the asker;
    422: not a question, or not a direct reply to it)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def marks_question(tags: Iterable[str]) -> bool:
    """Whether hashtags (without `#`) mark a question."""
    return any(tag.lower() == QUESTION_TAG for tag in tags)


def question_tags(tags: Sequence[str]) -> list[str]:
    """A question's hashtags: its own, with `question` added when the text has none."""
    return list(tags) if marks_question(tags) else [*tags, QUESTION_TAG]


def note_is_question(note: Note) -> bool:
    """Whether a remote post is a question: it says so (`wc:isQuestion`, from a Watercooler
    peer) or carries the `#question` hashtag (from any server)."""
    return note.is_question or marks_question(tag.name for tag in note.hashtags)


async def note_with_question(
    conn: Connection, status: StatusRecord, note: Note, uris: Uris
) -> Note:
    """The Note of a local status as peers get it: a question's with `isQuestion`, the
    `#question` Hashtag and its accepted answer; any other unchanged."""
    record = await stored_questions.get(conn, status.id)
    if record is None:
        return note
    tags = note.tags
    if not marks_question(tag.name for tag in note.hashtags):
        tags = (*tags, Hashtag(href=uris.tag(QUESTION_TAG), name=QUESTION_TAG))
    return replace(note, tags=tags, is_question=True, accepted_answer=record.accepted_answer_uri)


async def may_accept(conn: Connection, question: StatusRecord, account: AccountRecord) -> bool:
    """Who may accept an answer: the asker. This is the seam for communities (issue 9,
    point 3): a moderator of the community a question was posted in will be admitted here;
    the Update still goes out as the asker's, since only a post's own host may change it."""
    return account.id == question.account_id


async def check_question(conn: Connection, question: StatusRecord, account: AccountRecord) -> None:
    """AcceptRefused unless `question` is a question whose answers `account` may accept."""
    if await stored_questions.get(conn, question.id) is None:
        raise AcceptRefused(422, "This post is not a question")
    if not await may_accept(conn, question, account):
        raise AcceptRefused(403, "Only the asker can accept an answer")


async def accept(
    publisher: Publisher,
    account: AccountRecord,
    question: StatusRecord,
    answer: StatusRecord | None,
) -> bool:
    """Accept `answer` for `question` (None: take the acceptance back) and send the Update;
    True if anything changed (accepting the accepted answer again sends nothing).

    AcceptRefused when `account` may not accept, or `answer` is not a direct reply to the
    question. The caller has checked that `account` may see both."""
    if not question.local or question.deleted_at is not None:
        raise AcceptRefused(422, "Only a question asked on this server can be accepted here")
    if answer is not None and (
        answer.in_reply_to_id != question.id
        or answer.reblog_of_id is not None
        or answer.deleted_at is not None
    ):
        raise AcceptRefused(422, "Only a direct reply to the question can be accepted")
    now = publisher.clock()
    async with publisher.db.transaction() as conn:
        await check_question(conn, question, account)
        before = await stored_questions.get(conn, question.id)
        assert before is not None
        answer_id = answer.id if answer is not None else None
        if not await stored_questions.set_accepted(conn, question.id, answer_id, now=now):
            return False
        author = await accounts.get_by_id(conn, question.account_id)
        assert author is not None
        answerers = {
            status_id
            for status_id in (answer_id, before.accepted_answer_id)
            if status_id is not None
        }
        also: list[str | None] = []
        for status_id in answerers:  # the old answer's author learns of the change too
            answer_author = await _author_of(conn, status_id)
            if answer_author is not None and not answer_author.is_local:
                also.append(answer_author.shared_inbox_url or answer_author.inbox_url)
        update = await publisher.send_update(conn, author, question, now=now, also=also)
        if answer is not None:
            await notifications.notify(
                conn,
                publisher.db.new_id(),
                ANSWER_ACCEPTED,
                recipient_id=answer.account_id,
                sender_id=question.account_id,
                status_id=answer.id,
                ref=update["id"],
                now=now,
            )
    log.info("answer accepted question=%s answer=%s", question.uri, answer.uri if answer else None)
    publisher.notify()
    return True


async def _author_of(conn: Connection, status_id: int) -> AccountRecord | None:
    status = await statuses.get_by_id(conn, status_id)
    return await accounts.get_by_id(conn, status.account_id) if status else None
