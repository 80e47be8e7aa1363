"""Queries on local users: the sign-in side of a local account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time
from store.errors import Conflict
from store.records import UserRecord

_SELECT = (
    "SELECT u.id, u.account_id, a.username, u.email, u.password_hash, u.admin,"
    " u.must_change_password, u.created_at, u.disabled_at"
    " FROM users u JOIN accounts a ON a.id = u.account_id"
)


def _record(row: aiosqlite.Row) -> UserRecord:
    values: dict[str, Any] = dict(row)
    values["admin"] = bool(values["admin"])
    values["must_change_password"] = bool(values["must_change_password"])
    values["created_at"] = parse_db_time(values["created_at"])
    values["disabled_at"] = parse_db_time(values["disabled_at"])
    return UserRecord(**values)


async def insert_user(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    password_hash: str,
    admin: bool,
    must_change_password: bool,
    email: str | None,
    now: datetime,
) -> UserRecord:
    try:
        await conn.execute(
            "INSERT INTO users (id, account_id, email, password_hash, admin,"
            " must_change_password, created_at) VALUES (:id, :account_id, :email,"
            " :password_hash, :admin, :must_change_password, :created_at)",
            {
                "id": id_,
                "account_id": account_id,
                "email": email,
                "password_hash": password_hash,
                "admin": int(admin),
                "must_change_password": int(must_change_password),
                "created_at": db_time(now),
            },
        )
    except aiosqlite.IntegrityError as error:
        raise Conflict(f"user for account {account_id} or e-mail {email} exists") from error
    user = await get_by_id(conn, id_)
    assert user is not None
    return user


async def get_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    async with conn.execute(f"{_SELECT} WHERE u.id = :id", {"id": user_id}) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def get_by_username(conn: Connection, username: str) -> UserRecord | None:
    async with conn.execute(
        f"{_SELECT} WHERE lower(a.username) = lower(:username) AND a.domain IS NULL",
        {"username": username},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def list_users(conn: Connection) -> list[UserRecord]:
    async with conn.execute(f"{_SELECT} ORDER BY a.username") as cursor:
        return [_record(row) for row in await cursor.fetchall()]


async def has_admin(conn: Connection) -> bool:
    async with conn.execute(
        "SELECT 1 FROM users WHERE admin = 1 AND disabled_at IS NULL LIMIT 1"
    ) as cursor:
        return await cursor.fetchone() is not None


async def count_active(conn: Connection) -> int:
    async with conn.execute("SELECT count(*) FROM users WHERE disabled_at IS NULL") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def count_active_since(conn: Connection, since: datetime) -> int:
    """Enabled users seen (signed in or used a token) since `since`, for NodeInfo."""
    async with conn.execute(
        "SELECT count(*) FROM users WHERE disabled_at IS NULL AND last_active_at >= :since",
        {"since": db_time(since)},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def touch_last_active(conn: Connection, user_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE users SET last_active_at = :now WHERE id = :id",
        {"id": user_id, "now": db_time(now)},
    )


async def disable(conn: Connection, user_id: int, now: datetime) -> None:
    """Disable sign-in and hide the actor (it answers 410 Gone). Every token, refresh token
    and browser session ends for good, so enabling the user again later revives none."""
    params = {"id": user_id, "now": db_time(now)}
    await conn.execute(
        "UPDATE users SET disabled_at = :now WHERE id = :id AND disabled_at IS NULL", params
    )
    for table in ("oauth_tokens", "oauth_refresh_tokens", "oauth_sessions"):
        await conn.execute(
            f"UPDATE {table} SET revoked_at = :now WHERE user_id = :id AND revoked_at IS NULL",
            params,
        )


async def enable(conn: Connection, user_id: int) -> None:
    """Undo `disable`: the person may sign in again and the actor answers again; they sign in
    afresh (nothing issued before the disabling works again)."""
    await conn.execute("UPDATE users SET disabled_at = NULL WHERE id = :id", {"id": user_id})


async def reset_password(conn: Connection, user_id: int, password_hash: str, now: datetime) -> None:
    """An admin's reset: a one-time password to change at the next sign-in, and every token,
    refresh token and browser session of the user ends (whoever held them loses access)."""
    params = {"id": user_id, "now": db_time(now)}
    await conn.execute(
        "UPDATE users SET password_hash = :hash, must_change_password = 1 WHERE id = :id",
        {"id": user_id, "hash": password_hash},
    )
    for table in ("oauth_tokens", "oauth_refresh_tokens", "oauth_sessions"):
        await conn.execute(
            f"UPDATE {table} SET revoked_at = :now WHERE user_id = :id AND revoked_at IS NULL",
            params,
        )


async def change_password(conn: Connection, user_id: int, password_hash: str) -> None:
    """The user's own new password: it replaces a one-time one, so the forced change ends."""
    await conn.execute(
        "UPDATE users SET password_hash = :hash, must_change_password = 0 WHERE id = :id",
        {"id": user_id, "hash": password_hash},
    )


async def set_admin(conn: Connection, user_id: int, admin: bool) -> None:
    await conn.execute(
        "UPDATE users SET admin = :admin WHERE id = :id", {"id": user_id, "admin": int(admin)}
    )


async def count_active_admins(conn: Connection) -> int:
    async with conn.execute(
        "SELECT count(*) FROM users WHERE admin = 1 AND disabled_at IS NULL"
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def get_by_account_id(conn: Connection, account_id: int) -> UserRecord | None:
    """The local user behind an account (None for a remote account)."""
    async with conn.execute(f"{_SELECT} WHERE u.account_id = :id", {"id": account_id}) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None
