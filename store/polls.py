"""Polls and their votes (Mastodon's polls; ActivityPub's `Question`).

A poll belongs to one status. A local poll's counts are made from its `poll_votes` rows
(`record_votes` recounts in the same transaction); a remote poll's counts are what its author
last sent (`refresh_remote`), with the local users' own votes kept to show `own_votes` and to
tell them when it ends. The end of a poll is handled once (`close` sets `closed_at` only if
unset); the `Update` that carries new counts is coalesced through `update_due_at`.

It knows nothing of JSON-LD: the outbox and inbox turn records into `Question`s and back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time

_COLUMNS = (
    "id, status_id, account_id, local, options, tallies, multiple, hide_totals, voters_count,"
    " expires_at, closed_at, update_due_at, created_at"
)


@dataclass(frozen=True, slots=True)
class PollRecord:
    """`options` are the answers' titles, `tallies` their votes, in order. `voters_count` is
    None for a remote poll whose author does not say (Mastodon's single-choice polls of old)."""

    id: int
    status_id: int
    account_id: int
    local: bool
    options: tuple[str, ...]
    tallies: tuple[int, ...]
    multiple: bool
    hide_totals: bool
    voters_count: int | None
    expires_at: datetime | None
    closed_at: datetime | None
    update_due_at: datetime | None
    created_at: datetime

    @property
    def votes_count(self) -> int:
        return sum(self.tallies)

    def expired(self, now: datetime | None = None) -> bool:
        """Over: its end was handled, or (given the time) its end has passed."""
        if self.closed_at is not None:
            return True
        return now is not None and self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPoll:
    status_id: int
    account_id: int
    local: bool
    options: Sequence[str]
    tallies: Sequence[int] = ()
    multiple: bool = False
    hide_totals: bool = False
    voters_count: int | None = None
    expires_at: datetime | None = None
    closed_at: datetime | None = None


def _record(row: aiosqlite.Row) -> PollRecord:
    created_at = parse_db_time(row[12])
    assert created_at is not None
    return PollRecord(
        id=row[0],
        status_id=row[1],
        account_id=row[2],
        local=bool(row[3]),
        options=tuple(json.loads(row[4])),
        tallies=tuple(json.loads(row[5])),
        multiple=bool(row[6]),
        hide_totals=bool(row[7]),
        voters_count=row[8],
        expires_at=parse_db_time(row[9]),
        closed_at=parse_db_time(row[10]),
        update_due_at=parse_db_time(row[11]),
        created_at=created_at,
    )


def _time(moment: datetime | None) -> str | None:
    return db_time(moment) if moment is not None else None


async def insert(conn: Connection, id_: int, new: NewPoll, now: datetime) -> PollRecord | None:
    """Store the poll of a status; None if the status has one already (an object seen twice)."""
    tallies = list(new.tallies) or [0] * len(new.options)
    cursor = await conn.execute(
        "INSERT INTO polls (id, status_id, account_id, local, options, tallies, multiple,"
        " hide_totals, voters_count, expires_at, closed_at, created_at, updated_at)"
        " VALUES (:id, :status, :account, :local, :options, :tallies, :multiple, :hide,"
        " :voters, :expires, :closed, :now, :now) ON CONFLICT DO NOTHING",
        {
            "id": id_,
            "status": new.status_id,
            "account": new.account_id,
            "local": int(new.local),
            "options": json.dumps(list(new.options)),
            "tallies": json.dumps(tallies),
            "multiple": int(new.multiple),
            "hide": int(new.hide_totals),
            "voters": new.voters_count,
            "expires": _time(new.expires_at),
            "closed": _time(new.closed_at),
            "now": db_time(now),
        },
    )
    return await get(conn, id_) if cursor.rowcount == 1 else None


async def get(conn: Connection, poll_id: int) -> PollRecord | None:
    async with conn.execute(f"SELECT {_COLUMNS} FROM polls WHERE id = :id", {"id": poll_id}) as c:
        row = await c.fetchone()
    return _record(row) if row else None


async def for_status(conn: Connection, status_id: int) -> PollRecord | None:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE status_id = :id", {"id": status_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def for_statuses(conn: Connection, status_ids: Iterable[int]) -> dict[int, PollRecord]:
    """The polls of those of `status_ids` that have one, by status id."""
    sql = f"SELECT {_COLUMNS} FROM polls WHERE status_id IN ({{ids}})"
    rows = await rows_in(conn, sql, status_ids)
    return {row[1]: _record(row) for row in rows}


async def choices_of(
    conn: Connection, account_id: int, poll_ids: Iterable[int]
) -> dict[int, list[int]]:
    """The options `account_id` chose in each of `poll_ids` it voted in, by poll id."""
    rows = await rows_in(
        conn,
        "SELECT poll_id, choice FROM poll_votes WHERE poll_id IN ({ids})"
        " AND account_id = :account ORDER BY choice",
        poll_ids,
        {"account": account_id},
    )
    found: dict[int, list[int]] = {}
    for poll_id, choice in rows:
        found.setdefault(poll_id, []).append(choice)
    return found


async def record_votes(
    conn: Connection,
    new_id: Callable[[], int],
    poll: PollRecord,
    *,
    account_id: int,
    choices: Sequence[int],
    uris: Sequence[str],
    now: datetime,
) -> list[int]:
    """Record `account_id`'s vote for each of `choices` (with the vote Note's id in `uris`);
    the choices that were new. A local poll is recounted; a remote one's counts go up by the
    new votes until its author's next Update says otherwise."""
    added: list[int] = []
    for choice, uri in zip(choices, uris, strict=True):
        cursor = await conn.execute(
            "INSERT INTO poll_votes (id, poll_id, account_id, choice, uri, created_at)"
            " VALUES (:id, :poll, :account, :choice, :uri, :now) ON CONFLICT DO NOTHING",
            {
                "id": new_id(),
                "poll": poll.id,
                "account": account_id,
                "choice": choice,
                "uri": uri,
                "now": db_time(now),
            },
        )
        if cursor.rowcount == 1:
            added.append(choice)
    if not added:
        return added
    if poll.local:
        await _recount(conn, poll, now)
    else:
        tallies = list(poll.tallies)
        for choice in added:
            tallies[choice] += 1
        voters = poll.voters_count
        if voters is not None and len(added) == len(set(await _choices(conn, poll.id, account_id))):
            voters += 1  # this account's first vote
        await _set_counts(conn, poll.id, tallies, voters, now)
    return added


async def _choices(conn: Connection, poll_id: int, account_id: int) -> list[int]:
    async with conn.execute(
        "SELECT choice FROM poll_votes WHERE poll_id = :poll AND account_id = :account",
        {"poll": poll_id, "account": account_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def _recount(conn: Connection, poll: PollRecord, now: datetime) -> None:
    async with conn.execute(
        "SELECT choice, count(*) FROM poll_votes WHERE poll_id = :poll GROUP BY choice",
        {"poll": poll.id},
    ) as cursor:
        counted = dict(await cursor.fetchall())
    async with conn.execute(
        "SELECT count(DISTINCT account_id) FROM poll_votes WHERE poll_id = :poll",
        {"poll": poll.id},
    ) as cursor:
        row = await cursor.fetchone()
    tallies = [int(counted.get(i, 0)) for i in range(len(poll.options))]
    await _set_counts(conn, poll.id, tallies, int(row[0]) if row else 0, now)


async def _set_counts(
    conn: Connection, poll_id: int, tallies: Sequence[int], voters: int | None, now: datetime
) -> None:
    await conn.execute(
        "UPDATE polls SET tallies = :tallies, voters_count = :voters, updated_at = :now"
        " WHERE id = :id",
        {
            "id": poll_id,
            "tallies": json.dumps(list(tallies)),
            "voters": voters,
            "now": db_time(now),
        },
    )


async def refresh_remote(
    conn: Connection,
    poll_id: int,
    *,
    tallies: Sequence[int],
    voters_count: int | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """A remote poll's counts (and end) as its author now states them."""
    await _set_counts(conn, poll_id, tallies, voters_count, now)
    await conn.execute(
        "UPDATE polls SET expires_at = :expires WHERE id = :id AND local = 0",
        {"id": poll_id, "expires": _time(expires_at)},
    )


async def voter_ids(conn: Connection, poll_id: int, *, local_only: bool = False) -> list[int]:
    """Accounts that voted in the poll (only local users' with `local_only`), in id order."""
    local = " AND a.domain IS NULL" if local_only else ""
    async with conn.execute(
        "SELECT DISTINCT v.account_id FROM poll_votes v JOIN accounts a ON a.id = v.account_id"
        f" WHERE v.poll_id = :poll{local} ORDER BY v.account_id",
        {"poll": poll_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def remote_voter_inboxes(conn: Connection, poll_id: int) -> list[str]:
    """Where the remote voters of a poll receive (shared inbox preferred), once each."""
    async with conn.execute(
        "SELECT DISTINCT coalesce(a.shared_inbox_url, a.inbox_url) FROM poll_votes v"
        " JOIN accounts a ON a.id = v.account_id WHERE v.poll_id = :poll AND a.domain IS NOT NULL"
        " AND coalesce(a.shared_inbox_url, a.inbox_url) IS NOT NULL",
        {"poll": poll_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def mark_update_due(conn: Connection, poll_id: int, at: datetime) -> None:
    """Ask for an `Update` with the new counts at `at`, unless one is asked for already (so
    a burst of votes makes one Update)."""
    await conn.execute(
        "UPDATE polls SET update_due_at = :at WHERE id = :id AND update_due_at IS NULL"
        " AND closed_at IS NULL",
        {"id": poll_id, "at": db_time(at)},
    )


async def due_updates(conn: Connection, now: datetime, limit: int) -> list[PollRecord]:
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE update_due_at IS NOT NULL AND update_due_at <= :now"
        " ORDER BY update_due_at LIMIT :limit",
        {"now": db_time(now), "limit": limit},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def clear_update_due(conn: Connection, poll_id: int) -> None:
    await conn.execute("UPDATE polls SET update_due_at = NULL WHERE id = :id", {"id": poll_id})


async def due_closings(conn: Connection, now: datetime, limit: int) -> list[PollRecord]:
    """Polls whose end has come and was not handled yet, oldest end first."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM polls WHERE closed_at IS NULL AND expires_at IS NOT NULL"
        " AND expires_at <= :now ORDER BY expires_at LIMIT :limit",
        {"now": db_time(now), "limit": limit},
    ) as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def close(conn: Connection, poll_id: int, now: datetime) -> bool:
    """Mark the poll's end handled; False if it was already (the caller then does nothing)."""
    cursor = await conn.execute(
        "UPDATE polls SET closed_at = :now, update_due_at = NULL, updated_at = :now"
        " WHERE id = :id AND closed_at IS NULL",
        {"id": poll_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def notify_ended(
    conn: Connection,
    new_id: Callable[[], int],
    poll: PollRecord,
    recipients: Iterable[int],
    now: datetime,
) -> int:
    """A `poll` notification to each local user of `recipients`, from the poll's author (the
    author too, as Mastodon tells them of their own poll); once each (the notifications'
    unique key)."""
    made = 0
    for recipient_id in dict.fromkeys(recipients):
        cursor = await conn.execute(
            "INSERT INTO notifications (id, account_id, type, from_account_id, status_id, ref,"
            " created_at) SELECT :id, u.account_id, 'poll', :author, :status, '', :now"
            " FROM users u WHERE u.account_id = :recipient ON CONFLICT DO NOTHING",
            {
                "id": new_id(),
                "recipient": recipient_id,
                "author": poll.account_id,
                "status": poll.status_id,
                "now": db_time(now),
            },
        )
        made += cursor.rowcount == 1
    return made
