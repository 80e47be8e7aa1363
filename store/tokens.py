"""Queries on bearer tokens. Only SHA-256 digests of secrets are stored or compared."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from store import accounts, users
from store.db import Connection, db_time, parse_db_time
from store.memo import RowMemo
from store.records import AccountRecord, TokenRecord, UserRecord

_LIVE = (
    " WHERE t.token_hash = :hash AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
    " AND (t.expires_at IS NULL OR t.expires_at > :now)"
)


async def insert_token(
    conn: Connection,
    id_: int,
    *,
    user_id: int,
    token_hash: str,
    scopes: tuple[str, ...],
    now: datetime,
    application_id: int | None = None,
    expires_at: datetime | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO oauth_tokens (id, user_id, application_id, token_hash, scopes, created_at,"
        " expires_at) VALUES (:id, :user_id, :application_id, :token_hash, :scopes,"
        " :created_at, :expires_at)",
        {
            "id": id_,
            "user_id": user_id,
            "application_id": application_id,
            "token_hash": token_hash,
            "scopes": " ".join(scopes),
            "created_at": db_time(now),
            "expires_at": db_time(expires_at) if expires_at else None,
        },
    )


async def find_active(conn: Connection, token_hash: str, now: datetime) -> TokenRecord | None:
    """The token with this digest, if not revoked, not expired and its user not disabled."""
    async with conn.execute(
        "SELECT t.id, t.user_id, t.application_id, t.scopes, t.created_at, t.expires_at,"
        " t.revoked_at FROM oauth_tokens t JOIN users u ON u.id = t.user_id" + _LIVE,
        {"hash": token_hash, "now": db_time(now)},
    ) as cursor:
        row = await cursor.fetchone()
    return _token(row) if row is not None else None


def _token(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        user_id=row[1],
        application_id=row[2],
        scopes=tuple(row[3].split()),
        created_at=parse_db_time(row[4]),  # type: ignore[arg-type]
        expires_at=parse_db_time(row[5]),
        revoked_at=None,
    )


# The user's and the account's columns as their own modules read them.
_USER_COLUMNS = tuple(f.name for f in fields(UserRecord))
_ACCOUNT_COLUMNS = tuple(name.strip() for name in accounts._COLUMNS.split(","))
_HOLDER_SQL = (
    "SELECT t.id, t.user_id, t.application_id, t.scopes, t.created_at, t.expires_at, "
    + ", ".join("a.username" if name == "username" else f"u.{name}" for name in _USER_COLUMNS)
    + ", "
    + ", ".join(f"a.{name}" for name in _ACCOUNT_COLUMNS)
    + " FROM oauth_tokens t JOIN users u ON u.id = t.user_id"
    " JOIN accounts a ON a.id = u.account_id" + _LIVE
)
_USERS_AT = 6
_ACCOUNTS_AT = _USERS_AT + len(_USER_COLUMNS)


def _holder(row: tuple[Any, ...]) -> tuple[TokenRecord, UserRecord, AccountRecord]:
    user = users._record(dict(zip(_USER_COLUMNS, row[_USERS_AT:_ACCOUNTS_AT], strict=True)))
    account = accounts._record(dict(zip(_ACCOUNT_COLUMNS, row[_ACCOUNTS_AT:], strict=True)))
    return _token(row), user, account


_HOLDERS = RowMemo(_holder, size=1024)


async def find_holder(
    conn: Connection, token_hash: str, now: datetime
) -> tuple[TokenRecord, UserRecord, AccountRecord] | None:
    """`find_active` with the token's user and the user's account: one statement for the
    authentication of a request. The records are reused while the row is unchanged
    (store.memo), so a revoked token, a disabled user or an edited profile shows at once."""
    rows = await conn.execute_fetchall(_HOLDER_SQL, {"hash": token_hash, "now": db_time(now)})
    return _HOLDERS.record(rows[0]) if rows else None
