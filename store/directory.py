"""The people directory across divisions (migration 0018): the account search index's query
language, the change log of local people that peers read, each peer's place in its feed,
and the remote people hidden because their own division said they left.

The index and the change log are kept by triggers (see the migration), in the transaction
that changes an account, its fields, its key or its user, whichever process writes; this
module reads them and keeps the sync's own state. It knows no ActivityStreams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store import accounts
from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.records import AccountRecord, KeyRecord

# ----- finding people: the account search index ---------------------------------------------

NAME_COLUMNS = ("name",)
"""Username and display name."""
PEOPLE_COLUMNS = ("name", "department", "title")
"""What a search for a colleague matches: their names, department or title."""
MAX_QUERY_WORDS = 8
MATCH_CAP = 2000
"""Index matches read per search. A one-letter prefix at 20k accounts matches thousands; the
search orders at most this many (the exact username is always among them), so its cost is
bounded whatever the query. Longer prefixes, as people type, match far fewer."""
_WORD = re.compile(r"\w+")


def query_words(text: str) -> list[str]:
    """The words of a search as the index's tokenizer splits them (letters, digits and `_`),
    at most MAX_QUERY_WORDS."""
    return _WORD.findall(text.lower())[:MAX_QUERY_WORDS]


def match_expression(words: Sequence[str], columns: Sequence[str]) -> str:
    """An FTS5 query: every word is the prefix of a word in one of `columns`. Each word is a
    quoted string, so FTS5 syntax in user input is only ever matched as text."""
    scope = "{" + " ".join(columns) + "}"
    return " AND ".join(f'{scope} : "{word}" *' for word in words)


def department_expression(department: str) -> str | None:
    """An FTS5 query for the departments that begin with these words (None if it has no
    words); callers compare the whole value too, for an exact filter."""
    words = query_words(department)
    return '{department} : ^ "' + " ".join(words) + '"' if words else None


# ----- the change log that peers read ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A local person whose actor document changed (or who left) at `seq`."""

    seq: int
    account_id: int
    uri: str


@dataclass(frozen=True, slots=True)
class Listing:
    """What a local person's feed entry is made of. A person who has no listing (disabled,
    suspended, deleted, keyless) appears in the feed as a tombstone."""

    account: AccountRecord
    key: KeyRecord
    fields: list[tuple[str, str]]


async def changes_after(conn: Connection, since: int, limit: int) -> list[Change]:
    """Changes with a `seq` above `since`, oldest first: each person once, at their latest."""
    rows = await conn.execute_fetchall(
        "SELECT seq, account_id, uri FROM directory_changes WHERE seq > :since"
        " ORDER BY seq LIMIT :limit",
        {"since": since, "limit": limit},
    )
    return [Change(int(row[0]), int(row[1]), row[2]) for row in rows]


async def head(conn: Connection) -> int:
    """The newest `seq` (0 before any change): a cursor above it comes from an older log."""
    rows = await conn.execute_fetchall("SELECT coalesce(max(seq), 0) FROM directory_changes")
    return int(rows[0][0])


async def listings(conn: Connection, account_ids: Iterable[int]) -> dict[int, Listing]:
    """The listings of those of `account_ids` who are local people with an enabled user, not
    suspended, with a key; in a few statements whatever their number."""
    ids = list(account_ids)
    found = await accounts.get_many(conn, ids)
    enabled = {
        row[0]
        for row in await rows_in(
            conn,
            "SELECT account_id FROM users WHERE account_id IN ({ids}) AND disabled_at IS NULL",
            ids,
        )
    }
    keys: dict[int, KeyRecord] = {}
    for row in await rows_in(
        conn,
        "SELECT k.id, k.account_id, k.key_uri, a.uri, k.public_key_pem, k.created_at"
        " FROM keys k JOIN accounts a ON a.id = k.account_id WHERE k.account_id IN ({ids})"
        " AND k.private_key_pem IS NOT NULL ORDER BY k.id",
        ids,
    ):
        created_at = parse_db_time(row[5])
        assert created_at is not None
        keys[row[1]] = KeyRecord(row[0], row[1], row[2], row[3], row[4], None, created_at)
    listed = [
        account
        for account in found.values()
        if account.is_local
        and account.suspended_at is None
        and account.actor_type != "Application"
        and account.id in enabled
        and account.id in keys
    ]
    fields: dict[int, list[tuple[str, str]]] = {}
    for row in await rows_in(
        conn,
        "SELECT account_id, name, value FROM account_fields WHERE account_id IN ({ids})"
        " ORDER BY account_id, position",
        [a.id for a in listed],
    ):
        fields.setdefault(row[0], []).append((row[1], row[2]))
    return {a.id: Listing(a, keys[a.id], fields.get(a.id, [])) for a in listed}


async def listed_count(conn: Connection) -> int:
    """Local people in the directory (discoverable, enabled, not suspended)."""
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM accounts a JOIN users u ON u.account_id = a.id"
        " WHERE a.domain IS NULL AND a.discoverable = 1 AND a.suspended_at IS NULL"
        " AND u.disabled_at IS NULL AND a.actor_type != 'Application'"
    )
    return int(rows[0][0])


# ----- reading peers' feeds ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerSync:
    """How far a peer's feed has been read (`cursor`) and when to read it next."""

    domain: str
    cursor: int
    next_sync_at: datetime
    failures: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_pages: int
    last_items: int


_PEER_COLUMNS = (
    "domain, cursor, next_sync_at, failures, last_started_at, last_finished_at,"
    " last_success_at, last_error, last_pages, last_items"
)


def _peer_sync(row: Any) -> PeerSync:
    values = list(row)
    for index in (2, 4, 5, 6):
        values[index] = parse_db_time(values[index])
    return PeerSync(*values)


async def peer_syncs(conn: Connection) -> list[PeerSync]:
    rows = await conn.execute_fetchall(
        f"SELECT {_PEER_COLUMNS} FROM directory_peers ORDER BY domain"
    )
    return [_peer_sync(row) for row in rows]


async def add_peers(conn: Connection, domains: Iterable[str], now: datetime) -> None:
    """Start reading the feeds of peers not read before: due at once, from the beginning."""
    await conn.executemany(
        "INSERT INTO directory_peers (domain, next_sync_at) VALUES (?, ?)"
        " ON CONFLICT (domain) DO NOTHING",
        [(domain, db_time(now)) for domain in domains],
    )


async def save_cursor(conn: Connection, domain: str, cursor: int) -> None:
    """How far the feed has been read; written with the page it was read from."""
    await conn.execute(
        "UPDATE directory_peers SET cursor = :cursor WHERE domain = :domain",
        {"domain": domain, "cursor": cursor},
    )


async def finish_sync(
    conn: Connection,
    domain: str,
    *,
    started: datetime,
    finished: datetime,
    next_at: datetime,
    pages: int,
    items: int,
    error: str | None,
) -> None:
    """Record one reading of a peer's feed; an error counts one more failure in a row."""
    await conn.execute(
        "UPDATE directory_peers SET next_sync_at = :next_at, last_started_at = :started,"
        " last_finished_at = :finished, last_pages = :pages, last_items = :items,"
        " last_error = :error,"
        " failures = CASE WHEN :error IS NULL THEN 0 ELSE failures + 1 END,"
        " last_success_at = CASE WHEN :error IS NULL THEN :finished ELSE last_success_at END"
        " WHERE domain = :domain",
        {
            "domain": domain,
            "started": db_time(started),
            "finished": db_time(finished),
            "next_at": db_time(next_at),
            "pages": pages,
            "items": items,
            "error": error,
        },
    )


async def request_sync(
    conn: Connection, now: datetime, *, domain: str | None = None, full: bool = False
) -> int:
    """Make peers' feeds (one, or all) due now; `full` reads them again from the beginning.
    Returns how many peers were concerned. A running server picks this up within a second,
    whichever process wrote it."""
    cursor = await conn.execute(
        "UPDATE directory_peers SET next_sync_at = :now,"
        " cursor = CASE WHEN :full THEN 0 ELSE cursor END"
        " WHERE :domain IS NULL OR domain = :domain",
        {"now": db_time(now), "full": int(full), "domain": domain},
    )
    count = cursor.rowcount
    await cursor.close()
    return count


# ----- people who left -------------------------------------------------------------------------


async def mark_left(conn: Connection, account_id: int, now: datetime) -> bool:
    """Hide a remote person whose division says they left: like a disabled local user, they
    leave the directory, search and the API (404), while their posts stay, as they do at
    home. False if they were already hidden (by this or by a suspension)."""
    cursor = await conn.execute(
        "UPDATE accounts SET suspended_at = :now WHERE id = :id AND domain IS NOT NULL"
        " AND suspended_at IS NULL",
        {"id": account_id, "now": db_time(now)},
    )
    hidden = cursor.rowcount > 0
    await cursor.close()
    if hidden:
        await conn.execute(
            "INSERT INTO directory_left (account_id, left_at) VALUES (:id, :now)"
            " ON CONFLICT (account_id) DO UPDATE SET left_at = excluded.left_at",
            {"id": account_id, "now": db_time(now)},
        )
    return hidden


async def mark_returned(conn: Connection, account_id: int) -> bool:
    """Show again a person hidden by `mark_left` whose division lists them again; a
    suspension for any other reason (their actor was deleted) stays."""
    cursor = await conn.execute(
        "DELETE FROM directory_left WHERE account_id = :id", {"id": account_id}
    )
    returned = cursor.rowcount > 0
    await cursor.close()
    if returned:
        await conn.execute(
            "UPDATE accounts SET suspended_at = NULL WHERE id = :id", {"id": account_id}
        )
    return returned


async def remote_listed_count(conn: Connection, domain: str) -> int:
    """People of `domain` in our directory (discoverable, not hidden): what a sync brought."""
    rows = await conn.execute_fetchall(
        "SELECT count(*) FROM accounts WHERE domain = :domain AND discoverable = 1"
        " AND suspended_at IS NULL",
        {"domain": domain},
    )
    return int(rows[0][0])
