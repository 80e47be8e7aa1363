"""Polls going out: a new poll's checks, the `Question` a poll's status is served as, a local
user's vote, the `Update`s that carry new counts, and the worker that ends polls.

A local poll is published as Mastodon publishes one: the status is a `Question` whose
`oneOf` (single choice) or `anyOf` (several) lists the options as `Note`s with `name` and
`replies.totalItems`, with `endTime`, `votersCount` and, once over, `closed`. A vote is a
`Create` of a `Note` whose `name` is the option and `inReplyTo` the Question, addressed and
sent to the poll's author only: it is never a status. New votes on a local poll make one
`Update` of the Question per UPDATE_DELAY (coalesced through `store.polls.mark_update_due`);
at its end the poll gets a final `Update` with `closed`, and the author and every local voter
a `poll` notification, once (`PollCloser`, on the injected clock). Remote polls end here too:
their local voters are told.

Nothing here sends anything: activities are queued by the publisher's transactional outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from federation import activities
from federation.objects import Note, Poll, PollOption
from outbox.addressing import reach
from outbox.loop import run_until_stopped
from store import accounts, statuses
from store import polls as stored_polls
from store.db import Connection
from store.polls import NewPoll, PollRecord
from store.records import AccountRecord, StatusRecord

if TYPE_CHECKING:
    from outbox.publish import Publisher

log = logging.getLogger(__name__)

MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300
MAX_EXPIRATION = 2_629_746
"""Mastodon's limits (seconds for the duration), announced in the instance configuration."""

UPDATE_DELAY = timedelta(seconds=10)
"""How long new votes on a local poll wait for their `Update`: votes within it share one."""

BATCH = 32


class PollError(ValueError):
    """A poll or a vote that cannot be as asked; the message is Mastodon's, for a 422."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PollDraft:
    """A poll as a client asks for it with a new status (`poll[...]`)."""

    options: tuple[str, ...]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False


def check_draft(draft: PollDraft) -> None:
    """Mastodon's poll validations and messages (PollValidator)."""
    options = [option.strip() for option in draft.options]
    if len(options) < 2:
        raise PollError("Poll options must have more than one item")
    if len(options) > MAX_OPTIONS:
        raise PollError(f"Poll options can't contain more than {MAX_OPTIONS} items")
    if any(not option for option in options):
        raise PollError("Poll options can't be blank")
    if any(len(option) > MAX_OPTION_CHARS for option in options):
        raise PollError(f"Poll options cannot be longer than {MAX_OPTION_CHARS} characters each")
    if len(set(options)) != len(options):
        raise PollError("Poll options contain duplicate items")
    if draft.expires_in < MIN_EXPIRATION:
        raise PollError("Poll expires at is too soon")
    if draft.expires_in > MAX_EXPIRATION:
        raise PollError("Poll expires at is too far into the future")


async def insert_draft(
    conn: Connection, id_: int, status: StatusRecord, draft: PollDraft, now: datetime
) -> PollRecord:
    """Store the poll of a new local status (checked with `check_draft`)."""
    new = NewPoll(
        status_id=status.id,
        account_id=status.account_id,
        local=True,
        options=[option.strip() for option in draft.options],
        multiple=draft.multiple,
        hide_totals=draft.hide_totals,
        voters_count=0,
        expires_at=now + timedelta(seconds=draft.expires_in),
    )
    poll = await stored_polls.insert(conn, id_, new, now)
    assert poll is not None
    return poll


def poll_to_as(poll: PollRecord) -> Poll:
    return Poll(
        options=tuple(
            PollOption(name=title, votes=votes)
            for title, votes in zip(poll.options, poll.tallies, strict=False)
        ),
        multiple=poll.multiple,
        end_time=poll.expires_at,
        voters_count=poll.voters_count,
        closed=poll.closed_at,
    )


async def with_poll(conn: Connection, note: Note, status: StatusRecord) -> Note:
    """The Note of a local status, with its poll (a `Question`) if it has one."""
    if status.object_type != "Question":
        return note
    poll = await stored_polls.for_status(conn, status.id)
    if poll is None:
        return note
    return dataclasses.replace(note, type="Question", poll=poll_to_as(poll))


def vote_uri(voter: AccountRecord, vote_id: int) -> str:
    """Mastodon's id of a vote Note: `<actor>#votes/<id>`."""
    return f"{voter.uri}#votes/{vote_id}"


def vote_note(
    voter: AccountRecord, uri: str, poll_status: StatusRecord, author: str, name: str
) -> dict[str, object]:
    """The Note of one chosen option, as Mastodon sends it (no content, to the author only)."""
    return {
        "id": uri,
        "type": "Note",
        "name": name,
        "attributedTo": voter.uri,
        "to": [author],
        "inReplyTo": poll_status.uri,
    }


class Polls:
    """What local users do with polls, through the publisher's outbox."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher

    async def vote(
        self, voter: AccountRecord, status: StatusRecord, poll: PollRecord, choices: Sequence[int]
    ) -> PollRecord:
        """Vote for `choices` (option indexes) with Mastodon's rules (PollError otherwise):
        not one's own poll, not after its end, not twice, one choice unless `multiple`, each
        an option. A vote on a remote poll is sent to its author, one Note per choice."""
        pub = self.publisher
        now = pub.clock()
        wanted = list(dict.fromkeys(choices))
        if not wanted:
            raise PollError("Validation failed: You must choose at least one option")
        if status.account_id == voter.id:
            raise PollError("Validation failed: You cannot vote in your own polls")
        if poll.expired(now):
            raise PollError("Validation failed: The poll has already ended")
        if any(not 0 <= choice < len(poll.options) for choice in wanted):
            raise PollError("Validation failed: The chosen vote option does not exist")
        if not poll.multiple and len(wanted) > 1:
            raise PollError("Validation failed: You have already voted on this poll")
        async with pub.db.transaction() as conn:
            if (await stored_polls.choices_of(conn, voter.id, [poll.id])).get(poll.id):
                raise PollError("Validation failed: You have already voted on this poll")
            current = await stored_polls.get(conn, poll.id)  # the counts as they are now
            assert current is not None
            uris = [vote_uri(voter, pub.db.new_id()) for _ in wanted]
            await stored_polls.record_votes(
                conn,
                pub.db.new_id,
                current,
                account_id=voter.id,
                choices=wanted,
                uris=uris,
                now=now,
            )
            if poll.local:
                await stored_polls.mark_update_due(conn, poll.id, now + UPDATE_DELAY)
            else:
                await self._send_votes(conn, voter, status, poll, wanted, uris, now)
            fresh = await stored_polls.get(conn, poll.id)
        assert fresh is not None
        log.info("poll vote poll=%s status=%s choices=%s", poll.id, status.uri, wanted)
        pub.notify()
        return fresh

    async def _send_votes(
        self,
        conn: Connection,
        voter: AccountRecord,
        status: StatusRecord,
        poll: PollRecord,
        choices: Sequence[int],
        uris: Sequence[str],
        now: datetime,
    ) -> None:
        author = await accounts.get_by_id(conn, status.account_id)
        assert author is not None
        for choice, uri in zip(choices, uris, strict=True):
            note = vote_note(voter, uri, status, author.uri, poll.options[choice])
            document = activities.create(
                voter.uri, note, to=[author.uri], cc=[], id=f"{uri}/activity", published=now
            )
            await self.publisher._enqueue(
                conn,
                voter,
                document,
                [author.inbox_url],
                object_uri=status.uri,
                scope=reach(status.visibility, local_only=status.local_only),
            )

    async def send_update(self, conn: Connection, poll: PollRecord, now: datetime) -> bool:
        """Queue an `Update` of a local poll's Question (its counts, `closed` once over) to
        everyone its status went to and to its remote voters. False if the status is gone."""
        pub = self.publisher
        status = await statuses.get_by_id(conn, poll.status_id)
        author = await accounts.get_by_id(conn, poll.account_id)
        if status is None or author is None or status.deleted_at is not None:
            return False
        voters = await stored_polls.remote_voter_inboxes(conn, poll.id)
        await pub.send_update(conn, author, status, now=now, also=voters)
        return True


class PollCloser:
    """The worker of polls: sends the coalesced `Update`s of local polls when due, and
    handles each poll's end once (final `Update` for a local poll, `poll` notifications to
    its author and local voters, or to the local voters of a remote poll). Time comes from
    the publisher's clock. `run_once()` in tests, `run_forever(stop)` in the server."""

    def __init__(self, publisher: Publisher, *, idle_seconds: float = 1.0) -> None:
        self.polls = Polls(publisher)
        self.publisher = publisher
        self.idle_seconds = idle_seconds

    async def run_once(self) -> int:
        pub = self.publisher
        now = pub.clock()
        handled = 0
        async with pub.db.read() as conn:
            closing = await stored_polls.due_closings(conn, now, BATCH)
            updating = await stored_polls.due_updates(conn, now, BATCH)
        for poll in closing:
            handled += await self._close(poll, now)
        closed = {poll.id for poll in closing}
        for poll in updating:
            if poll.id in closed:
                continue
            async with pub.db.transaction() as conn:
                await stored_polls.clear_update_due(conn, poll.id)
                fresh = await stored_polls.get(conn, poll.id)
                if fresh is not None and fresh.local and fresh.closed_at is None:
                    await self.polls.send_update(conn, fresh, now)
            handled += 1
        if handled:
            pub.notify()
        return handled

    async def _close(self, poll: PollRecord, now: datetime) -> int:
        pub = self.publisher
        async with pub.db.transaction() as conn:
            if not await stored_polls.close(conn, poll.id, now):
                return 0  # handled meanwhile
            voters = await stored_polls.voter_ids(conn, poll.id, local_only=True)
            closed = await stored_polls.get(conn, poll.id)
            assert closed is not None
            if poll.local:
                await self.polls.send_update(conn, closed, now)
                voters = [poll.account_id, *voters]
            told = await stored_polls.notify_ended(conn, pub.db.new_id, closed, voters, now)
        log.info("poll ended poll=%s local=%s notified=%d", poll.id, poll.local, told)
        return 1

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_until_stopped(
            self.run_once, stop, name="poll worker", idle_seconds=self.idle_seconds
        )
