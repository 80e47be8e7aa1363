"""What the client API's Status and Account entities are built from, for many statuses or
accounts at once: counters and profile fields of accounts; mentions, hashtags and apps of
statuses; the reader's own marks on them. One statement per kind (per chunk of ids) instead
of one per status (watercooler.api.entities renders from these). The records of statuses and
accounts come from `statuses_by_id` and `accounts_by_id`, which keep them while their rows
are unchanged (store.memo); media from `media.for_statuses`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from store import accounts, statuses
from store.api_queries import AccountStats
from store.batches import rows_in
from store.db import Connection, parse_db_time
from store.memo import RowMemo
from store.records import AccountRecord, StatusRecord

NO_STATS = AccountStats(
    followers_count=0, following_count=0, statuses_count=0, last_status_at=None, admin=False
)
"""The counters of an account that is not there."""

# The aggregates' own columns and row readers, so a record read here is the one they read.
_ACCOUNT_COLUMNS = tuple(name.strip() for name in accounts._COLUMNS.split(","))
_STATUS_RECORDS = RowMemo(statuses._record, size=2048)
_ACCOUNT_RECORDS = RowMemo(
    lambda values: accounts._record(dict(zip(_ACCOUNT_COLUMNS, values, strict=True))), size=2048
)
_STATUS_SQL = f"SELECT {statuses._COLUMNS} FROM statuses WHERE id IN ({{ids}})"
_ACCOUNT_SQL = f"SELECT {accounts._COLUMNS} FROM accounts WHERE id IN ({{ids}})"
_STATS_COLUMNS = (
    " (SELECT count(*) FROM follows WHERE target_account_id = a.id AND state = 'accepted'),"
    " (SELECT count(*) FROM follows WHERE account_id = a.id AND state = 'accepted'),"
    " c.statuses_count, c.last_status_at,"
    " EXISTS (SELECT 1 FROM users WHERE account_id = a.id AND admin = 1),"
    " EXISTS (SELECT 1 FROM account_moderation WHERE account_id = a.id"
    " AND limited_at IS NOT NULL)"
    " FROM accounts a LEFT JOIN account_status_counts c ON c.account_id = a.id"
    " WHERE a.id IN ({ids})"
)
_AUTHOR_SQL = (
    "SELECT " + ", ".join(f"a.{name}" for name in _ACCOUNT_COLUMNS) + ", a.id," + _STATS_COLUMNS
)


def _stats(values: tuple[Any, ...]) -> AccountStats:
    """(id, followers, following, statuses, last status time, admin, limited) as counters."""
    return AccountStats(
        followers_count=int(values[1]),
        following_count=int(values[2]),
        statuses_count=int(values[3] or 0),
        last_status_at=parse_db_time(values[4]),
        admin=bool(values[5]),
        limited=bool(values[6]),
    )


_STATS = RowMemo(_stats, size=2048)


async def statuses_by_id(conn: Connection, status_ids: Iterable[int]) -> dict[int, StatusRecord]:
    """`statuses.get_many`: the statuses that exist (deleted ones too), by id. Parsing a row
    into a record costs more than reading it, so a record is reused while its row is equal
    (a page shows mostly the statuses the previous one showed)."""
    rows = await rows_in(conn, _STATUS_SQL, status_ids)
    return {row[0]: _STATUS_RECORDS.record(row) for row in rows}


async def accounts_by_id(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountRecord]:
    """`accounts.get_many`, with records reused while their rows are equal."""
    rows = await rows_in(conn, _ACCOUNT_SQL, account_ids)
    return {row[0]: _ACCOUNT_RECORDS.record(row) for row in rows}


async def account_stats(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountStats]:
    """`api_queries.account_stats` of each account (an unknown id counts nothing)."""
    ids = list(dict.fromkeys(account_ids))
    rows = await rows_in(conn, "SELECT a.id," + _STATS_COLUMNS, ids)
    found = {row[0]: _STATS.record(row) for row in rows}
    return {account_id: found.get(account_id, NO_STATS) for account_id in ids}


async def authors(
    conn: Connection, account_ids: Iterable[int]
) -> dict[int, tuple[AccountRecord, AccountStats]]:
    """`accounts_by_id` and `account_stats` of the accounts that exist, in one statement
    (the authors of a page of statuses)."""
    rows = await rows_in(conn, _AUTHOR_SQL, account_ids)
    width = len(_ACCOUNT_COLUMNS)
    return {
        row[0]: (_ACCOUNT_RECORDS.record(row[:width]), _STATS.record(row[width:])) for row in rows
    }


async def profile_fields(
    conn: Connection, account_ids: Iterable[int]
) -> dict[int, list[tuple[str, str]]]:
    """(name, value) of each account's profile fields, in order; accounts without any are
    left out."""
    found: dict[int, list[tuple[str, str]]] = {}
    rows = await rows_in(
        conn,
        "SELECT account_id, name, value FROM account_fields WHERE account_id IN ({ids})"
        " ORDER BY account_id, position",
        account_ids,
    )
    for row in rows:
        found.setdefault(row[0], []).append((row[1], row[2]))
    return found


async def mentioned_account_ids(
    conn: Connection, status_ids: Iterable[int]
) -> dict[int, list[int]]:
    """The accounts each status mentions (by account id, as `statuses.mentioned_account_ids`
    lists them); statuses without mentions are left out."""
    found: dict[int, list[int]] = {}
    rows = await rows_in(
        conn,
        "SELECT status_id, account_id FROM status_mentions WHERE status_id IN ({ids})"
        " ORDER BY status_id, account_id",
        status_ids,
    )
    for row in rows:
        found.setdefault(row[0], []).append(row[1])
    return found


async def tag_names(conn: Connection, status_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each status's hashtags by name; statuses without any are left out."""
    found: dict[int, list[str]] = {}
    rows = await rows_in(
        conn,
        "SELECT status_id, name FROM status_tags WHERE status_id IN ({ids})"
        " ORDER BY status_id, name",
        status_ids,
    )
    for row in rows:
        found.setdefault(row[0], []).append(row[1])
    return found


async def application_names(
    conn: Connection, application_ids: Iterable[int]
) -> dict[int, tuple[str, str | None]]:
    """(name, website) of the OAuth applications that exist."""
    rows = await rows_in(
        conn,
        "SELECT id, name, website FROM oauth_applications WHERE id IN ({ids})",
        application_ids,
    )
    return {row[0]: (row[1], row[2]) for row in rows}


@dataclass(frozen=True, slots=True)
class ViewerMarks:
    """Which of some statuses one account has favourited, boosted (a boost not deleted),
    bookmarked and pinned."""

    favourited: frozenset[int]
    reblogged: frozenset[int]
    bookmarked: frozenset[int]
    pinned: frozenset[int]


async def viewer_marks(conn: Connection, account_id: int, status_ids: Iterable[int]) -> ViewerMarks:
    marks: dict[str, set[int]] = {"f": set(), "r": set(), "b": set(), "p": set()}
    rows = await rows_in(
        conn,
        "SELECT 'f', status_id FROM favourites WHERE account_id = :viewer"
        " AND status_id IN ({ids})"
        " UNION ALL SELECT 'r', reblog_of_id FROM statuses WHERE account_id = :viewer"
        " AND reblog_of_id IS NOT NULL AND reblog_of_id IN ({ids}) AND deleted_at IS NULL"
        " UNION ALL SELECT 'b', status_id FROM bookmarks WHERE account_id = :viewer"
        " AND status_id IN ({ids})"
        " UNION ALL SELECT 'p', status_id FROM status_pins WHERE account_id = :viewer"
        " AND status_id IN ({ids})",
        status_ids,
        {"viewer": account_id},
    )
    for row in rows:
        marks[row[0]].add(row[1])
    return ViewerMarks(
        favourited=frozenset(marks["f"]),
        reblogged=frozenset(marks["r"]),
        bookmarked=frozenset(marks["b"]),
        pinned=frozenset(marks["p"]),
    )
