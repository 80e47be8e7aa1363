"""Queries on accounts: local users' actors, the instance actor and remote actors alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.errors import Conflict
from store.records import AccountRecord

_COLUMNS = (
    "id, username, domain, uri, url, actor_type, display_name, note, inbox_url, outbox_url,"
    " shared_inbox_url, followers_url, following_url, featured_url,"
    " manually_approves_followers, discoverable, created_at, updated_at, fetched_at, suspended_at,"
    " avatar_file, header_file, avatar_remote_url, header_remote_url, moved_to_account_id"
)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What the caller knows about an actor when it is first stored; URIs come from outside."""

    username: str
    domain: str | None
    uri: str
    url: str | None
    actor_type: str = "Person"
    display_name: str = ""
    note: str = ""
    inbox_url: str | None = None
    outbox_url: str | None = None
    shared_inbox_url: str | None = None
    followers_url: str | None = None
    following_url: str | None = None
    featured_url: str | None = None
    manually_approves_followers: bool = False
    discoverable: bool = True
    avatar_remote_url: str | None = None
    header_remote_url: str | None = None


def _record(row: aiosqlite.Row) -> AccountRecord:
    values: dict[str, Any] = dict(row)
    for name in ("created_at", "updated_at", "fetched_at", "suspended_at"):
        values[name] = parse_db_time(values[name])
    values["manually_approves_followers"] = bool(values["manually_approves_followers"])
    values["discoverable"] = bool(values["discoverable"])
    return AccountRecord(**values)


async def _one(conn: Connection, sql: str, params: dict[str, Any]) -> AccountRecord | None:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row is not None else None


async def insert_account(
    conn: Connection, id_: int, new: NewAccount, now: datetime
) -> AccountRecord:
    params = {field: getattr(new, field) for field in NewAccount.__slots__}
    params.update(id=id_, created_at=db_time(now), updated_at=db_time(now))
    if new.domain is None:
        params["fetched_at"] = None
    else:
        params["fetched_at"] = db_time(now)
    try:
        await conn.execute(
            "INSERT INTO accounts (id, username, domain, uri, url, actor_type, display_name, note,"
            " inbox_url, outbox_url, shared_inbox_url, followers_url, following_url,"
            " featured_url, manually_approves_followers, discoverable, created_at, updated_at,"
            " fetched_at, avatar_remote_url, header_remote_url) VALUES (:id, :username, :domain,"
            " :uri, :url, :actor_type, :display_name, :note, :inbox_url, :outbox_url,"
            " :shared_inbox_url, :followers_url, :following_url, :featured_url,"
            " :manually_approves_followers, :discoverable, :created_at, :updated_at, :fetched_at,"
            " :avatar_remote_url, :header_remote_url)",
            params,
        )
    except aiosqlite.IntegrityError as error:
        raise Conflict(f"account {new.username}@{new.domain or 'local'} exists") from error
    account = await get_by_id(conn, id_)
    assert account is not None
    return account


async def update_remote_account(
    conn: Connection, account_id: int, new: NewAccount, now: datetime
) -> None:
    """Refresh a remote actor's profile and endpoints from a newly fetched document."""
    params = {field: getattr(new, field) for field in NewAccount.__slots__}
    params.update(id=account_id, updated_at=db_time(now), fetched_at=db_time(now))
    del params["uri"], params["domain"]
    await conn.execute(
        "UPDATE accounts SET username = :username, url = :url, actor_type = :actor_type,"
        " display_name = :display_name, note = :note, inbox_url = :inbox_url,"
        " outbox_url = :outbox_url, shared_inbox_url = :shared_inbox_url,"
        " followers_url = :followers_url, following_url = :following_url,"
        " featured_url = :featured_url,"
        " manually_approves_followers = :manually_approves_followers,"
        " discoverable = :discoverable, updated_at = :updated_at, fetched_at = :fetched_at,"
        " avatar_remote_url = :avatar_remote_url, header_remote_url = :header_remote_url"
        " WHERE id = :id",
        params,
    )


async def set_local_images(
    conn: Connection,
    account_id: int,
    *,
    avatar_file: str | None,
    header_file: str | None,
    now: datetime,
) -> None:
    """A local account's avatar and header files (names under media.path; None: default)."""
    await conn.execute(
        "UPDATE accounts SET avatar_file = :avatar, header_file = :header, updated_at = :now"
        " WHERE id = :id AND domain IS NULL",
        {"id": account_id, "avatar": avatar_file, "header": header_file, "now": db_time(now)},
    )


async def get_by_id(conn: Connection, account_id: int) -> AccountRecord | None:
    return await _one(conn, f"SELECT {_COLUMNS} FROM accounts WHERE id = :id", {"id": account_id})


async def get_many(conn: Connection, account_ids: Iterable[int]) -> dict[int, AccountRecord]:
    """The accounts of `account_ids` that exist, by id."""
    rows = await rows_in(
        conn, f"SELECT {_COLUMNS} FROM accounts WHERE id IN ({{ids}})", account_ids
    )
    return {row["id"]: _record(row) for row in rows}


async def get_by_uri(conn: Connection, uri: str) -> AccountRecord | None:
    return await _one(conn, f"SELECT {_COLUMNS} FROM accounts WHERE uri = :uri", {"uri": uri})


async def get_local(conn: Connection, username: str) -> AccountRecord | None:
    """A local account by name, case-insensitively (as WebFinger look-ups arrive)."""
    return await _one(
        conn,
        f"SELECT {_COLUMNS} FROM accounts WHERE lower(username) = lower(:username)"
        " AND domain IS NULL",
        {"username": username},
    )


async def get_by_username_domain(
    conn: Connection, username: str, domain: str
) -> AccountRecord | None:
    """A remote account by its handle parts, case-insensitively. The domain is compared as
    the unique index has it (`coalesce(domain, '')`): with a bare `domain = ?` the planner
    chose the per-domain index and read every account of a big peer (17 ms at 20k)."""
    return await _one(
        conn,
        f"SELECT {_COLUMNS} FROM accounts WHERE lower(username) = lower(:username)"
        " AND coalesce(domain, '') = lower(:domain)",
        {"username": username, "domain": domain},
    )


async def get_instance_actor(conn: Connection) -> AccountRecord | None:
    return await _one(
        conn,
        f"SELECT {_COLUMNS} FROM accounts WHERE domain IS NULL AND actor_type = 'Application'"
        " ORDER BY id LIMIT 1",
        {},
    )


async def suspend(conn: Connection, account_id: int, now: datetime) -> None:
    """A deleted or suspended actor: its posts leave timelines and stop being served."""
    await conn.execute(
        "UPDATE accounts SET suspended_at = :now WHERE id = :id AND suspended_at IS NULL",
        {"id": account_id, "now": db_time(now)},
    )
    await conn.execute(
        "UPDATE statuses SET deleted_at = :now WHERE account_id = :id AND deleted_at IS NULL",
        {"id": account_id, "now": db_time(now)},
    )
    await conn.execute(
        "DELETE FROM home_timeline WHERE status_id IN"
        " (SELECT id FROM statuses WHERE account_id = :id)",
        {"id": account_id},
    )
    await conn.execute(
        "DELETE FROM follows WHERE account_id = :id OR target_account_id = :id", {"id": account_id}
    )


async def default_visibility(conn: Connection, account_id: int) -> str | None:
    """A local user's own default visibility (`source[privacy]`); None: the instance's."""
    async with conn.execute(
        "SELECT default_visibility FROM users WHERE account_id = :id", {"id": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row is not None else None


async def set_default_visibility(conn: Connection, account_id: int, visibility: str | None) -> None:
    await conn.execute(
        "UPDATE users SET default_visibility = :visibility WHERE account_id = :id",
        {"id": account_id, "visibility": visibility},
    )
