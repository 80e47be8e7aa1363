"""Mastodon's Poll entity, for a status's `poll` and the polls API.

Kept apart from `watercooler.api.entities` (which uses it) so both it and `api.polls` can
import it without a cycle. `expired` is true once the poll's end was handled
(`store.polls.PollRecord.closed_at`, within a second of the end in a running server) or,
where the caller passes the time, once its end has passed. Option counts are null while a
poll with `hide_totals` runs, as Mastodon shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from store import polls as stored_polls
from store.db import Connection
from store.polls import PollRecord
from store.records import StatusRecord


def _iso(moment: datetime) -> str:
    """As `entities.iso` (not imported: entities imports this module)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def poll_entity(
    poll: PollRecord,
    *,
    viewer_account_id: int | None,
    own_votes: list[int] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Mastodon 4.3's Poll, keys in its order; `voted` and `own_votes` only for a viewer (the
    author has `voted` true, as in Mastodon)."""
    expired = poll.expired(now)
    show_totals = expired or not poll.hide_totals
    entity: dict[str, Any] = {
        "id": str(poll.id),
        "expires_at": _iso(poll.expires_at) if poll.expires_at is not None else None,
        "expired": expired,
        "multiple": poll.multiple,
        "votes_count": poll.votes_count,
        "voters_count": poll.voters_count,
    }
    if viewer_account_id is not None:
        own = list(own_votes or [])
        entity["voted"] = viewer_account_id == poll.account_id or bool(own)
        entity["own_votes"] = own
    entity["options"] = [
        {"title": title, "votes_count": votes if show_totals else None}
        for title, votes in zip(poll.options, poll.tallies, strict=False)
    ]
    entity["emojis"] = []
    return entity


class PollCache:
    """The polls of the statuses a renderer shows and the viewers' votes in them, loaded in
    its fetch (two statements at most) and rendered without I/O."""

    def __init__(self) -> None:
        self._polls: dict[int, PollRecord | None] = {}
        self._votes: dict[tuple[int, int], list[int]] = {}

    async def fetch(
        self, conn: Connection, statuses: Iterable[StatusRecord], viewer_account_id: int | None
    ) -> None:
        wanted = [s.id for s in statuses if s.object_type == "Question" and s.id not in self._polls]
        if wanted:
            found = await stored_polls.for_statuses(conn, wanted)
            self._polls.update((i, found.get(i)) for i in wanted)
        if viewer_account_id is None:
            return
        poll_ids = [
            p.id
            for p in self._polls.values()
            if p is not None and (viewer_account_id, p.id) not in self._votes
        ]
        if poll_ids:
            votes = await stored_polls.choices_of(conn, viewer_account_id, poll_ids)
            self._votes.update(((viewer_account_id, i), votes.get(i, [])) for i in poll_ids)

    def entity(self, status: StatusRecord, viewer_account_id: int | None) -> dict[str, Any] | None:
        poll = self._polls.get(status.id)
        if poll is None:
            return None
        own = self._votes.get((viewer_account_id, poll.id), []) if viewer_account_id else None
        return poll_entity(poll, viewer_account_id=viewer_account_id, own_votes=own)
