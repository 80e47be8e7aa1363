"""Account moderation as rows (migration 0029): limits, suspensions and the sensitive flag
of accounts, local or remote, and the warnings shown to local users.

What the rows mean for readers lives here too, as SQL the read paths share: `LIMITED_CLAUSE`
(the public timelines), `hidden_author` and, for a page at once, `hidden_statuses`
(watercooler.visibility.can_see) and `suspended_actor` (the inbox worker). The decisions
and their audit rows are `watercooler.moderation`'s; this module only reads and writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.records import AccountRecord, FollowRecord

LIMITED_CLAUSE = (
    "account_id NOT IN (SELECT m.account_id FROM account_moderation m"
    " WHERE m.limited_at IS NOT NULL AND m.account_id NOT IN (SELECT f.target_account_id"
    " FROM follows f WHERE f.account_id = :moderation_viewer AND f.state = 'accepted'))"
)
"""For a query over `statuses`: leaves out the posts of limited accounts the reader
(`:moderation_viewer`, -1 for none) does not follow (Mastodon's silence)."""

WARNING_ACTIONS = ("none", "disable", "sensitive", "silence", "suspend", "delete_statuses")
"""Mastodon's AccountWarning actions that we write."""


@dataclass(frozen=True, slots=True)
class ModerationRecord:
    account_id: int
    limited_at: datetime | None
    suspended_at: datetime | None
    sensitized_at: datetime | None
    user_was_disabled: bool

    @property
    def limited(self) -> bool:
        return self.limited_at is not None

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def sensitized(self) -> bool:
        return self.sensitized_at is not None


NOT_MODERATED = ModerationRecord(0, None, None, None, False)

_COLUMNS = "account_id, limited_at, suspended_at, sensitized_at, user_was_disabled"


def _record(row: aiosqlite.Row | tuple[Any, ...]) -> ModerationRecord:
    return ModerationRecord(
        account_id=int(row[0]),
        limited_at=parse_db_time(row[1]),
        suspended_at=parse_db_time(row[2]),
        sensitized_at=parse_db_time(row[3]),
        user_was_disabled=bool(row[4]),
    )


async def get(conn: Connection, account_id: int) -> ModerationRecord:
    """The account's moderation (NOT_MODERATED, with its id, when there is none)."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM account_moderation WHERE account_id = :id", {"id": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return ModerationRecord(account_id, None, None, None, False)
    return _record(row)


async def of_accounts(conn: Connection, account_ids: Iterable[int]) -> dict[int, ModerationRecord]:
    """The moderated ones among `account_ids`, by id."""
    rows = await rows_in(
        conn,
        f"SELECT {_COLUMNS} FROM account_moderation WHERE account_id IN ({{ids}})",
        account_ids,
    )
    return {int(row[0]): _record(row) for row in rows}


async def _upsert(conn: Connection, account_id: int, column: str, value: str | None) -> bool:
    """Set one time column; True if it changed (set where unset, or cleared where set)."""
    assert column in ("limited_at", "suspended_at", "sensitized_at")
    before = await get(conn, account_id)
    was_set = getattr(before, column) is not None
    if was_set == (value is not None):
        return False
    await conn.execute(
        f"INSERT INTO account_moderation (account_id, {column}) VALUES (:id, :value)"
        f" ON CONFLICT (account_id) DO UPDATE SET {column} = excluded.{column}",
        {"id": account_id, "value": value},
    )
    return True


async def set_limited(conn: Connection, account_id: int, limited: bool, now: datetime) -> bool:
    """Limit the account or lift its limit; True if that changed anything."""
    return await _upsert(conn, account_id, "limited_at", db_time(now) if limited else None)


async def set_sensitized(conn: Connection, account_id: int, on: bool, now: datetime) -> bool:
    return await _upsert(conn, account_id, "sensitized_at", db_time(now) if on else None)


async def suspend(
    conn: Connection, account_id: int, now: datetime, *, user_was_disabled: bool = False
) -> bool:
    """Suspend the account here; True if it was not. The actor is hidden as a deleted one is
    (`accounts.suspended_at`), but its posts are kept (hidden by `hidden_author`), so that
    `unsuspend` shows everything again. A person the directory marked as left is now held
    by the suspension instead (their division listing them again does not lift it)."""
    if not await _upsert(conn, account_id, "suspended_at", db_time(now)):
        return False
    params = {"id": account_id, "now": db_time(now), "was": int(user_was_disabled)}
    await conn.execute(
        "UPDATE account_moderation SET user_was_disabled = :was WHERE account_id = :id", params
    )
    await conn.execute(
        "UPDATE accounts SET suspended_at = :now WHERE id = :id AND (suspended_at IS NULL"
        " OR id IN (SELECT account_id FROM directory_left))",
        params,
    )
    await conn.execute("DELETE FROM directory_left WHERE account_id = :id", params)
    return True


async def unsuspend(conn: Connection, account_id: int) -> ModerationRecord | None:
    """Lift a suspension made here; the record as it was (None if not suspended here)."""
    before = await get(conn, account_id)
    if not before.suspended:
        return None
    await _upsert(conn, account_id, "suspended_at", None)
    assert before.suspended_at is not None
    await conn.execute(  # an actor hidden for another reason first (deleted) stays hidden
        "UPDATE accounts SET suspended_at = NULL WHERE id = :id AND suspended_at = :ours",
        {"id": account_id, "ours": db_time(before.suspended_at)},
    )
    return before


async def suspended_actor(conn: Connection, actor_uri: str) -> bool:
    """Whether the actor with this id is suspended here (its activities are dropped)."""
    async with conn.execute(
        "SELECT 1 FROM account_moderation m JOIN accounts a ON a.id = m.account_id"
        " WHERE a.uri = :uri AND m.suspended_at IS NOT NULL",
        {"uri": actor_uri},
    ) as cursor:
        return await cursor.fetchone() is not None


async def hidden_author(conn: Connection, account_id: int, reblog_of_id: int | None) -> bool:
    """Whether a status by `account_id` (a boost of `reblog_of_id`) is hidden because its
    author, or the author of what it boosts, is suspended here."""
    async with conn.execute(
        "SELECT 1 FROM account_moderation WHERE suspended_at IS NOT NULL AND (account_id = :a"
        " OR account_id = (SELECT account_id FROM statuses WHERE id = :r))",
        {"a": account_id, "r": reblog_of_id if reblog_of_id is not None else -1},
    ) as cursor:
        return await cursor.fetchone() is not None


async def hidden_statuses(conn: Connection, status_ids: Iterable[int]) -> set[int]:
    """`hidden_author` of many statuses at once: those among `status_ids` by (or boosting a
    status by) an account suspended here, in one statement per chunk. A page of statuses
    asks this once instead of once per status (watercooler.visibility.can_see `hidden`)."""
    rows = await rows_in(
        conn,
        "SELECT s.id FROM statuses s WHERE s.id IN ({ids}) AND EXISTS (SELECT 1"
        " FROM account_moderation m WHERE m.suspended_at IS NOT NULL AND (m.account_id ="
        " s.account_id OR m.account_id = (SELECT o.account_id FROM statuses o"
        " WHERE o.id = s.reblog_of_id)))",
        status_ids,
    )
    return {int(row[0]) for row in rows}


async def follows_involving(conn: Connection, account_id: int) -> list[FollowRecord]:
    """Every follow (or request) of and by the account, to sever on a suspension."""
    async with conn.execute(
        "SELECT id, account_id, target_account_id, uri, state, created_at FROM follows"
        " WHERE account_id = :id OR target_account_id = :id ORDER BY id",
        {"id": account_id},
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        FollowRecord(
            id=row[0],
            account_id=row[1],
            target_account_id=row[2],
            uri=row[3],
            state=row[4],
            created_at=parse_db_time(row[5]),  # type: ignore[arg-type]
        )
        for row in rows
    ]


# ----- warnings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarningRecord:
    id: int
    target_account_id: int
    by_account_id: int | None
    action: str
    text: str
    status_ids: list[int] | None
    report_id: int | None
    notification_id: int | None
    created_at: datetime


_WARNING_COLUMNS = (
    "id, target_account_id, by_account_id, action, text, status_ids, report_id,"
    " notification_id, created_at"
)


def _warning(row: aiosqlite.Row | tuple[Any, ...]) -> WarningRecord:
    created_at = parse_db_time(row[8])
    assert created_at is not None
    return WarningRecord(
        id=int(row[0]),
        target_account_id=int(row[1]),
        by_account_id=row[2],
        action=row[3],
        text=row[4],
        status_ids=json.loads(row[5]) if row[5] is not None else None,
        report_id=row[6],
        notification_id=row[7],
        created_at=created_at,
    )


async def add_warning(
    conn: Connection,
    id_: int,
    *,
    target_account_id: int,
    by_account_id: int | None,
    action: str,
    text: str,
    status_ids: Sequence[int] | None = None,
    report_id: int | None = None,
    notification_id: int | None = None,
    now: datetime,
) -> WarningRecord:
    if action not in WARNING_ACTIONS:
        raise ValueError(f"unknown warning action {action!r}")
    await conn.execute(
        f"INSERT INTO account_warnings ({_WARNING_COLUMNS}) VALUES (:id, :target, :by, :action,"
        " :text, :status_ids, :report_id, :notification_id, :now)",
        {
            "id": id_,
            "target": target_account_id,
            "by": by_account_id,
            "action": action,
            "text": text,
            "status_ids": json.dumps(list(status_ids)) if status_ids is not None else None,
            "report_id": report_id,
            "notification_id": notification_id,
            "now": db_time(now),
        },
    )
    async with conn.execute(
        f"SELECT {_WARNING_COLUMNS} FROM account_warnings WHERE id = :id", {"id": id_}
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return _warning(row)


async def warnings_of(conn: Connection, account_id: int, *, limit: int = 50) -> list[WarningRecord]:
    """The account's warnings, newest first."""
    async with conn.execute(
        f"SELECT {_WARNING_COLUMNS} FROM account_warnings WHERE target_account_id = :id"
        " ORDER BY id DESC LIMIT :limit",
        {"id": account_id, "limit": limit},
    ) as cursor:
        return [_warning(row) for row in await cursor.fetchall()]


async def warnings_by_notification(
    conn: Connection, notification_ids: Iterable[int]
) -> dict[int, WarningRecord]:
    """The warning each `moderation_warning` notification shows, by notification id."""
    rows = await rows_in(
        conn,
        f"SELECT {_WARNING_COLUMNS} FROM account_warnings WHERE notification_id IN ({{ids}})",
        notification_ids,
    )
    return {int(row[7]): _warning(row) for row in rows}


# ----- the admin accounts list ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountQuery:
    """Mastodon's admin accounts filters, as both API versions name them in the end.
    `origin`: 'local', 'remote' or None; `status`: 'active', 'pending', 'disabled',
    'silenced', 'suspended' or None. Text filters match case-insensitively: `username` as a
    prefix, the others anywhere."""

    origin: str | None = None
    status: str | None = None
    sensitized: bool = False
    staff: bool = False
    username: str | None = None
    display_name: str | None = None
    by_domain: str | None = None
    email: str | None = None
    ip: str | None = None
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 100


INSTANCE_ACTOR = (
    "(a.actor_type = 'Application' AND (a.domain IS NULL OR lower(a.username) = a.domain))"
)
"""Ours, or a peer's (named for its domain, as Watercooler's and Mastodon's are): a server is
moderated with a domain block, not as an account."""


def is_instance_actor(account: AccountRecord) -> bool:
    """`INSTANCE_ACTOR` of one record."""
    return account.actor_type == "Application" and (
        account.domain is None or account.username.lower() == account.domain
    )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def admin_page(conn: Connection, query: AccountQuery) -> list[int]:
    """Account ids (newest first) matching `query`, one page. Instance actors are never
    listed. Watercooler keeps no sign-up queue and no addresses: `pending` and `ip` match
    nothing."""
    where = [f"NOT {INSTANCE_ACTOR}"]
    params: dict[str, Any] = {"limit": max(1, min(query.limit, 200))}
    disabled = (
        "EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.disabled_at IS NOT NULL)"
    )
    suspended = "m.suspended_at IS NOT NULL"
    if query.origin == "local":
        where.append("a.domain IS NULL")
    elif query.origin == "remote":
        where.append("a.domain IS NOT NULL")
    if query.status == "active":
        where.append(f"NOT {disabled} AND m.suspended_at IS NULL AND a.suspended_at IS NULL")
    elif query.status in ("pending",) or query.ip:
        where.append("0")
    elif query.status == "disabled":
        where.append(disabled)
    elif query.status == "silenced":
        where.append("m.limited_at IS NOT NULL")
    elif query.status == "suspended":
        where.append(suspended)
    if query.sensitized:
        where.append("m.sensitized_at IS NOT NULL")
    if query.staff:
        where.append(
            "EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND (u.admin = 1"
            " OR EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id"
            " AND r.role = 'moderator')))"
        )
    if query.username:
        where.append("lower(a.username) LIKE lower(:username) ESCAPE '\\'")
        params["username"] = _like(query.username) + "%"
    if query.display_name:
        where.append("lower(a.display_name) LIKE lower(:display_name) ESCAPE '\\'")
        params["display_name"] = "%" + _like(query.display_name) + "%"
    if query.by_domain:
        where.append("lower(a.domain) LIKE lower(:domain) ESCAPE '\\'")
        params["domain"] = "%" + _like(query.by_domain) + "%"
    if query.email:
        where.append(
            "EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id"
            " AND lower(u.email) LIKE lower(:email) ESCAPE '\\')"
        )
        params["email"] = "%" + _like(query.email) + "%"
    lower = query.min_id if query.min_id is not None else query.since_id
    params["max"] = query.max_id if query.max_id is not None else 2**63 - 1
    params["min"] = lower if lower is not None else -1
    where.append("a.id < :max AND a.id > :min")
    order = "ASC" if query.min_id is not None else "DESC"
    async with conn.execute(
        "SELECT a.id FROM accounts a LEFT JOIN account_moderation m ON m.account_id = a.id"
        f" WHERE {' AND '.join(where)} ORDER BY a.id {order} LIMIT :limit",
        params,
    ) as cursor:
        ids = [int(row[0]) for row in await cursor.fetchall()]
    return sorted(ids, reverse=True)


@dataclass(frozen=True, slots=True)
class AdminFacts:
    """What Admin::Account shows beyond the account: its user's, if local."""

    email: str | None
    user_created_at: datetime | None
    disabled_at: datetime | None
    admin: bool
    moderator: bool
    last_active_at: datetime | None


async def admin_facts(conn: Connection, account_ids: Iterable[int]) -> dict[int, AdminFacts]:
    """The local users' facts of `account_ids` (remote accounts are absent)."""
    rows = await rows_in(
        conn,
        "SELECT u.account_id, u.email, u.created_at, u.disabled_at, u.admin,"
        " EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = 'moderator'),"
        " u.last_active_at FROM users u WHERE u.account_id IN ({ids})",
        account_ids,
    )
    return {
        int(row[0]): AdminFacts(
            email=row[1],
            user_created_at=parse_db_time(row[2]),
            disabled_at=parse_db_time(row[3]),
            admin=bool(row[4]),
            moderator=bool(row[5]),
            last_active_at=parse_db_time(row[6]),
        )
        for row in rows
    }


async def statuses_of(conn: Connection, account_id: int, *, limit: int = 40) -> list[int]:
    """The account's newest statuses that are not deleted (the moderation page lists them)."""
    async with conn.execute(
        "SELECT id FROM statuses WHERE account_id = :id AND deleted_at IS NULL"
        " ORDER BY id DESC LIMIT :limit",
        {"id": account_id, "limit": limit},
    ) as cursor:
        return [int(row[0]) for row in await cursor.fetchall()]
