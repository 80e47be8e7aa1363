"""Queries of the client API on accounts, relationships, mutes, markers and the instance.

Lists that clients page through return `(row id, account id)` pairs: Mastodon pages
followers, blocks, mutes and follow requests by the id of the follow (block, mute), not of
the account, and so do we (`Page` from store.api_timelines carries the bounds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store import directory
from store.api_timelines import Page
from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time

NO_MAX = 2**63 - 1
_PEERS_ONLY = "(a.domain IS NULL OR a.domain IN (SELECT domain FROM peers))"
"""Local accounts and those of current peers: in allowlist mode, the people of a division
that is no longer a peer leave the directory and people search (their posts stay)."""

_VISIBLE_ACCOUNT = (
    "a.suspended_at IS NULL AND NOT (a.domain IS NULL AND a.actor_type = 'Application')"
    " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id"
    " AND u.disabled_at IS NOT NULL)"
)


def _window(page: Page, column: str, params: dict[str, Any]) -> tuple[str, str]:
    """(condition, order) of one page over `column`: `max_id` pages back, `since_id` gives
    the newest after an id, `min_id` the oldest after it (callers show them newest first)."""
    lower = page.min_id if page.min_id is not None else page.since_id
    params.update(
        page_max=page.max_id if page.max_id is not None else NO_MAX,
        page_min=lower if lower is not None else -1,
        page_limit=page.limit,
    )
    order = "ASC" if page.min_id is not None else "DESC"
    return f"{column} < :page_max AND {column} > :page_min", order


async def _pairs(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[int, int]]:
    async with conn.execute(sql, params) as cursor:
        rows = [(int(row[0]), int(row[1])) for row in await cursor.fetchall()]
    return sorted(rows, reverse=True)


# ----- accounts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountStats:
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: datetime | None
    admin: bool
    limited: bool = False
    """Limited by this division's moderators (store.moderation): Mastodon's `limited`."""


async def account_stats(conn: Connection, account_id: int) -> AccountStats:
    """The counters of an Account entity, in one statement. Direct messages are not counted
    (as Mastodon counts); boosts are. Status counts are kept by triggers (migration 0014)."""
    async with conn.execute(
        "SELECT"
        " (SELECT count(*) FROM follows WHERE target_account_id = :id AND state = 'accepted'),"
        " (SELECT count(*) FROM follows WHERE account_id = :id AND state = 'accepted'),"
        " (SELECT statuses_count FROM account_status_counts WHERE account_id = :id),"
        " (SELECT last_status_at FROM account_status_counts WHERE account_id = :id),"
        " EXISTS (SELECT 1 FROM users WHERE account_id = :id AND admin = 1),"
        " EXISTS (SELECT 1 FROM account_moderation WHERE account_id = :id"
        " AND limited_at IS NOT NULL)",
        {"id": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return AccountStats(
        followers_count=int(row[0]),
        following_count=int(row[1]),
        statuses_count=int(row[2] or 0),
        last_status_at=parse_db_time(row[3]),
        admin=bool(row[4]),
        limited=bool(row[5]),
    )


async def is_available(conn: Connection, account_id: int) -> bool:
    """False for unknown, suspended or disabled accounts and for our instance actor: the API
    answers 404 for them."""
    async with conn.execute(
        f"SELECT 1 FROM accounts a WHERE a.id = :id AND {_VISIBLE_ACCOUNT}", {"id": account_id}
    ) as cursor:
        return await cursor.fetchone() is not None


async def available_ids(conn: Connection, account_ids: Iterable[int]) -> set[int]:
    """Which of `account_ids` are available (`is_available`), in one statement per chunk."""
    rows = await rows_in(
        conn,
        f"SELECT a.id FROM accounts a WHERE a.id IN ({{ids}}) AND {_VISIBLE_ACCOUNT}",
        account_ids,
    )
    return {row[0] for row in rows}


async def profile_fields(conn: Connection, account_id: int) -> list[tuple[str, str]]:
    async with conn.execute(
        "SELECT name, value FROM account_fields WHERE account_id = :id ORDER BY position",
        {"id": account_id},
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def replace_profile_fields(
    conn: Connection, account_id: int, fields: Sequence[tuple[str, str]]
) -> None:
    """Set an account's fields; the same fields again write nothing, so the directory's
    triggers (migration 0018) see only real changes."""
    if await profile_fields(conn, account_id) == [tuple(field) for field in fields]:
        return
    await conn.execute("DELETE FROM account_fields WHERE account_id = :id", {"id": account_id})
    await conn.executemany(
        "INSERT INTO account_fields (account_id, position, name, value) VALUES (?, ?, ?, ?)",
        [(account_id, position, name, value) for position, (name, value) in enumerate(fields)],
    )


async def update_local_profile(
    conn: Connection,
    account_id: int,
    *,
    display_name: str,
    note: str,
    locked: bool,
    discoverable: bool,
    actor_type: str,
    now: datetime,
) -> None:
    """A local user's own profile, as they edit it (remote ones change only by fetching)."""
    await conn.execute(
        "UPDATE accounts SET display_name = :display_name, note = :note,"
        " manually_approves_followers = :locked, discoverable = :discoverable,"
        " actor_type = :actor_type, updated_at = :now WHERE id = :id AND domain IS NULL",
        {
            "id": account_id,
            "display_name": display_name,
            "note": note,
            "locked": int(locked),
            "discoverable": int(discoverable),
            "actor_type": actor_type,
            "now": db_time(now),
        },
    )


async def search_account_ids(
    conn: Connection,
    term: str,
    *,
    domain: str | None = None,
    local_only: bool = False,
    following_of: int | None = None,
    limit: int,
    offset: int = 0,
    peers_only: bool = False,
) -> list[int]:
    """Accounts with, for each word of `term`, a word of their username or display name
    starting with it, or, for people in the directory, of their department or title (the
    account search index, migration 0018: a look-up, not a scan); on one remote `domain` or
    only local ones if asked; of current peers only if `peers_only` (allowlist mode). The
    exact username first, then name matches, then local accounts, then by username."""
    words = directory.query_words(term)
    if not words:
        return []
    params: dict[str, Any] = {
        "exact": term.strip().lower(),
        "people": directory.match_expression(words, directory.PEOPLE_COLUMNS),
        "names": directory.match_expression(words, directory.NAME_COLUMNS),
        "cap": directory.MATCH_CAP,
        "limit": limit,
        "offset": offset,
    }
    where = [_VISIBLE_ACCOUNT]
    if peers_only:
        where.append(_PEERS_ONLY)
    if local_only:
        where.append("a.domain IS NULL")
    elif domain is not None:
        where.append("a.domain = :domain")
        params["domain"] = domain.lower()
    if following_of is not None:
        where.append(
            "EXISTS (SELECT 1 FROM follows f WHERE f.account_id = :me"
            " AND f.target_account_id = a.id AND f.state = 'accepted')"
        )
        params["me"] = following_of
    async with conn.execute(
        # Candidates from the index (capped) and the exact username (its unique index);
        # CROSS JOIN keeps them the outer loop, so accounts are read by id, never scanned.
        "WITH found (id) AS (SELECT id FROM (SELECT rowid AS id FROM account_search"
        " WHERE account_search MATCH :people LIMIT :cap)"
        " UNION SELECT id FROM accounts WHERE lower(username) = :exact),"
        " named (id) AS (SELECT rowid FROM account_search WHERE account_search MATCH :names"
        " LIMIT :cap)"
        " SELECT a.id FROM found CROSS JOIN accounts a ON a.id = found.id WHERE "
        + " AND ".join(where)
        + " ORDER BY lower(a.username) = :exact DESC, a.id IN (SELECT id FROM named) DESC,"
        " a.domain IS NULL DESC, lower(a.username), a.id LIMIT :limit OFFSET :offset",
        params,
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


DIRECTORY_ORDERS = ("active", "new")


async def directory_ids(
    conn: Connection,
    *,
    local_only: bool,
    order: str,
    offset: int,
    limit: int,
    department: str | None = None,
    peers_only: bool = False,
) -> list[int]:
    """Discoverable people for the profile directory, ours and those synced from peers
    (unless `local_only`; of current peers only if `peers_only`): recently active first
    (`active`, by their newest post) or newest accounts first (`new`). `department` keeps
    those whose Department field is that one (case-insensitively), found through the
    account search index."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    # people only; one who moved is listed under their new account only, as on Mastodon
    where = [
        "a.discoverable = 1",
        "a.actor_type != 'Group'",
        "a.moved_to_account_id IS NULL",
        _VISIBLE_ACCOUNT,
    ]
    if peers_only:
        where.append(_PEERS_ONLY)
    if local_only:
        where.append("a.domain IS NULL")
    source = "accounts a"
    if department is not None:
        expression = directory.department_expression(department)
        if expression is None:
            return []
        # the department's people from the index, then their rows by id (CROSS JOIN keeps
        # that order): a department is a look-up, not a scan of everyone
        source = (
            "(SELECT rowid AS id FROM account_search WHERE account_search MATCH :dept_match"
            " AND department = :department COLLATE NOCASE) AS found"
            " CROSS JOIN accounts a ON a.id = found.id"
        )
        params.update(dept_match=expression, department=department.strip())
    if order == "new":
        ordering = "a.id DESC"
    else:
        ordering = "c.last_status_at IS NULL, c.last_status_at DESC, a.id DESC"
    async with conn.execute(
        f"SELECT a.id FROM {source} LEFT JOIN account_status_counts c ON c.account_id = a.id"
        f" WHERE {' AND '.join(where)} ORDER BY {ordering} LIMIT :limit OFFSET :offset",
        params,
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def first_admin(conn: Connection) -> tuple[int, str | None] | None:
    """(account id, e-mail) of the oldest enabled admin: the instance's contact."""
    async with conn.execute(
        "SELECT account_id, email FROM users WHERE admin = 1 AND disabled_at IS NULL"
        " ORDER BY id LIMIT 1"
    ) as cursor:
        row = await cursor.fetchone()
    return (int(row[0]), row[1]) if row else None


# ----- relationships ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Relation:
    """How one account stands to another; follow states are None, 'pending' or 'accepted'."""

    following: str | None
    followed_by: str | None
    blocking: bool
    blocked_by: bool
    muting: bool
    muting_notifications: bool


async def relation(conn: Connection, account_id: int, target_id: int, now: datetime) -> Relation:
    async with conn.execute(
        "SELECT"
        " (SELECT state FROM follows WHERE account_id = :me AND target_account_id = :them),"
        " (SELECT state FROM follows WHERE account_id = :them AND target_account_id = :me),"
        " EXISTS (SELECT 1 FROM blocks WHERE account_id = :me AND target_account_id = :them),"
        " EXISTS (SELECT 1 FROM blocks WHERE account_id = :them AND target_account_id = :me),"
        " (SELECT notifications FROM mutes WHERE account_id = :me AND target_account_id = :them"
        "   AND (expires_at IS NULL OR expires_at > :now))",
        {"me": account_id, "them": target_id, "now": db_time(now)},
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return Relation(
        following=row[0],
        followed_by=row[1],
        blocking=bool(row[2]),
        blocked_by=bool(row[3]),
        muting=row[4] is not None,
        muting_notifications=bool(row[4]),
    )


async def follow_page(
    conn: Connection, account_id: int, page: Page, *, followers: bool
) -> list[tuple[int, int]]:
    """(follow id, account id) of accepted followers of `account_id` (or of the accounts it
    follows), newest follow first."""
    mine, theirs = (
        ("target_account_id", "account_id") if followers else ("account_id", "target_account_id")
    )
    params: dict[str, Any] = {"account": account_id}
    window, order = _window(page, "f.id", params)
    return await _pairs(
        conn,
        f"SELECT f.id, f.{theirs} FROM follows f JOIN accounts a ON a.id = f.{theirs}"
        f" WHERE f.{mine} = :account AND f.state = 'accepted' AND {_VISIBLE_ACCOUNT}"
        f" AND {window} ORDER BY f.id {order} LIMIT :page_limit",
        params,
    )


async def follow_request_page(
    conn: Connection, account_id: int, page: Page
) -> list[tuple[int, int]]:
    """(follow id, follower id) of pending requests to follow `account_id`."""
    params: dict[str, Any] = {"account": account_id}
    window, order = _window(page, "f.id", params)
    return await _pairs(
        conn,
        "SELECT f.id, f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id"
        f" WHERE f.target_account_id = :account AND f.state = 'pending' AND {_VISIBLE_ACCOUNT}"
        f" AND {window} ORDER BY f.id {order} LIMIT :page_limit",
        params,
    )


async def pending_request_count(conn: Connection, account_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM follows WHERE target_account_id = :id AND state = 'pending'",
        {"id": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def familiar_follower_ids(
    conn: Connection, account_id: int, target_id: int, *, limit: int
) -> list[int]:
    """Accounts that `account_id` follows and that follow `target_id`."""
    async with conn.execute(
        "SELECT mine.target_account_id FROM follows mine JOIN follows theirs"
        " ON theirs.account_id = mine.target_account_id JOIN accounts a"
        " ON a.id = mine.target_account_id WHERE mine.account_id = :me"
        " AND mine.state = 'accepted' AND theirs.target_account_id = :target"
        f" AND theirs.state = 'accepted' AND {_VISIBLE_ACCOUNT}"
        " ORDER BY mine.id DESC LIMIT :limit",
        {"me": account_id, "target": target_id, "limit": limit},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def block_page(conn: Connection, account_id: int, page: Page) -> list[tuple[int, int]]:
    """(block id, blocked account id), newest block first."""
    params: dict[str, Any] = {"account": account_id}
    window, order = _window(page, "b.id", params)
    return await _pairs(
        conn,
        "SELECT b.id, b.target_account_id FROM blocks b WHERE b.account_id = :account"
        f" AND {window} ORDER BY b.id {order} LIMIT :page_limit",
        params,
    )


# ----- mutes ---------------------------------------------------------------------------------


async def add_mute(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    target_account_id: int,
    notifications: bool,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """Mute, or change an existing mute's options (muting again is not an error)."""
    await conn.execute(
        "INSERT INTO mutes (id, account_id, target_account_id, notifications, created_at,"
        " expires_at) VALUES (:id, :account, :target, :notifications, :now, :expires)"
        " ON CONFLICT (account_id, target_account_id) DO UPDATE SET"
        " notifications = excluded.notifications, expires_at = excluded.expires_at",
        {
            "id": id_,
            "account": account_id,
            "target": target_account_id,
            "notifications": int(notifications),
            "now": db_time(now),
            "expires": db_time(expires_at) if expires_at else None,
        },
    )


async def remove_mute(conn: Connection, account_id: int, target_account_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM mutes WHERE account_id = :account AND target_account_id = :target",
        {"account": account_id, "target": target_account_id},
    )
    return cursor.rowcount == 1


async def muted_account_ids(conn: Connection, account_id: int, now: datetime) -> list[int]:
    """Accounts `account_id` mutes now (for filtering timelines and notifications)."""
    async with conn.execute(
        "SELECT target_account_id FROM mutes WHERE account_id = :account"
        " AND (expires_at IS NULL OR expires_at > :now)",
        {"account": account_id, "now": db_time(now)},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def mute_page(
    conn: Connection, account_id: int, page: Page, now: datetime
) -> list[tuple[int, int, datetime | None]]:
    """(mute id, muted account id, expiry), newest mute first; expired mutes left out."""
    params: dict[str, Any] = {"account": account_id, "now": db_time(now)}
    window, order = _window(page, "m.id", params)
    async with conn.execute(
        "SELECT m.id, m.target_account_id, m.expires_at FROM mutes m"
        " WHERE m.account_id = :account AND (m.expires_at IS NULL OR m.expires_at > :now)"
        f" AND {window} ORDER BY m.id {order} LIMIT :page_limit",
        params,
    ) as cursor:
        rows = [
            (int(row[0]), int(row[1]), parse_db_time(row[2])) for row in await cursor.fetchall()
        ]
    return sorted(rows, key=lambda row: row[0], reverse=True)


# ----- statuses of one account -------------------------------------------------------------------


async def account_status_ids(
    conn: Connection,
    account_id: int,
    page: Page,
    *,
    visibilities: Sequence[str],
    exclude_replies: bool = False,
    exclude_reblogs: bool = False,
    tagged: str | None = None,
    only_media: bool = False,
    mentioning: int | None = None,
) -> list[int]:
    """A profile's statuses, newest first. Without replies, self-replies (threads) stay, as
    on Mastodon; boosts of deleted posts never show. `mentioning`: statuses that mention
    this account are listed whatever their visibility (Mastodon's AccountStatusesFilter)."""
    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(visibilities)}
    params["account"] = account_id
    marks = ", ".join(f":v{i}" for i in range(len(visibilities))) or "NULL"
    shown = f"s.visibility IN ({marks})"
    if mentioning is not None:
        params["mentioned"] = mentioning
        shown = (
            f"({shown} OR EXISTS (SELECT 1 FROM status_mentions sm"
            " WHERE sm.status_id = s.id AND sm.account_id = :mentioned))"
        )
    where = [
        "s.account_id = :account",
        "s.deleted_at IS NULL",
        shown,
        "(s.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM statuses o"
        " WHERE o.id = s.reblog_of_id AND o.deleted_at IS NULL))",
    ]
    if exclude_replies:
        where.append("(s.in_reply_to_uri IS NULL OR s.in_reply_to_account_id = s.account_id)")
    if exclude_reblogs:
        where.append("s.reblog_of_id IS NULL")
    if tagged:
        where.append(
            "EXISTS (SELECT 1 FROM status_tags t WHERE t.status_id = s.id AND t.name = :tag)"
        )
        params["tag"] = tagged.lower()
    if only_media:
        where.append(
            "EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id"
            " AND m.position IS NOT NULL)"
        )
    window, order = _window(page, "s.id", params)
    async with conn.execute(
        f"SELECT s.id FROM statuses s WHERE {' AND '.join(where)} AND {window}"
        f" ORDER BY s.id {order} LIMIT :page_limit",
        params,
    ) as cursor:
        ids = [row[0] for row in await cursor.fetchall()]
    return sorted(ids, reverse=True)


# ----- markers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Marker:
    timeline: str
    last_read_id: int
    version: int
    updated_at: datetime


def _marker(row: Any) -> Marker:
    updated_at = parse_db_time(row[3])
    assert updated_at is not None
    return Marker(
        timeline=row[0], last_read_id=int(row[1]), version=int(row[2]), updated_at=updated_at
    )


async def markers(conn: Connection, account_id: int, timelines: Iterable[str]) -> list[Marker]:
    names = list(dict.fromkeys(timelines))
    if not names:
        return []
    params: dict[str, Any] = {f"t{i}": name for i, name in enumerate(names)}
    params["account"] = account_id
    marks = ", ".join(f":t{i}" for i in range(len(names)))
    async with conn.execute(
        "SELECT timeline, last_read_id, version, updated_at FROM markers"
        f" WHERE account_id = :account AND timeline IN ({marks}) ORDER BY timeline",
        params,
    ) as cursor:
        return [_marker(row) for row in await cursor.fetchall()]


async def save_marker(
    conn: Connection, account_id: int, timeline: str, last_read_id: int, now: datetime
) -> Marker:
    """Set a marker; its version counts the changes (setting the same position again is not
    a change)."""
    await conn.execute(
        "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at)"
        " VALUES (:account, :timeline, :last_read_id, 0, :now)"
        " ON CONFLICT (account_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id,"
        " version = markers.version + 1, updated_at = excluded.updated_at"
        " WHERE markers.last_read_id != excluded.last_read_id",
        {
            "account": account_id,
            "timeline": timeline,
            "last_read_id": last_read_id,
            "now": db_time(now),
        },
    )
    found = await markers(conn, account_id, [timeline])
    return found[0]


# ----- the instance --------------------------------------------------------------------------


async def known_remote_domains(conn: Connection) -> list[str]:
    async with conn.execute(
        "SELECT DISTINCT domain FROM accounts WHERE domain IS NOT NULL ORDER BY domain"
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def activity_between(
    conn: Connection, start: datetime, end: datetime
) -> tuple[int, int, int]:
    """(local posts, users last seen, registrations) in [start, end). Only each user's last
    sign-in is recorded, so logins of past weeks count only users not seen since."""
    async with conn.execute(
        "SELECT"
        " (SELECT count(*) FROM statuses WHERE local = 1 AND reblog_of_id IS NULL"
        "   AND created_at >= :start AND created_at < :end),"
        " (SELECT count(*) FROM users WHERE last_active_at >= :start AND last_active_at < :end),"
        " (SELECT count(*) FROM users WHERE created_at >= :start AND created_at < :end)",
        {"start": db_time(start), "end": db_time(end)},
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
