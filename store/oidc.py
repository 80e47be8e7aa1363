"""Queries on single sign-on: identities at the OpenID provider and sign-ins under way
(schema and why: store/migrations/0034_oidc.sql). Secrets arrive here as digests, except the
PKCE verifier, which lives ten minutes and is useless without the code the browser holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from store.db import Connection, db_time, parse_db_time
from store.errors import Conflict


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    issuer: str
    subject: str
    user_id: int
    synced_display_name: str | None


@dataclass(frozen=True, slots=True)
class PendingLogin:
    browser_hash: str
    nonce: str
    code_verifier: str
    next_url: str
    expires_at: datetime


async def find_identity(conn: Connection, issuer: str, subject: str) -> IdentityRecord | None:
    async with conn.execute(
        "SELECT issuer, subject, user_id, synced_display_name FROM oidc_identities"
        " WHERE issuer = :issuer AND subject = :subject",
        {"issuer": issuer, "subject": subject},
    ) as cursor:
        row = await cursor.fetchone()
    return IdentityRecord(row[0], row[1], int(row[2]), row[3]) if row else None


async def insert_identity(
    conn: Connection, *, issuer: str, subject: str, user_id: int, now: datetime
) -> None:
    """Conflict when the identity is already some user's."""
    try:
        await conn.execute(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at)"
            " VALUES (:issuer, :subject, :user_id, :now)",
            {"issuer": issuer, "subject": subject, "user_id": user_id, "now": db_time(now)},
        )
    except aiosqlite.IntegrityError as error:
        raise Conflict(f"identity {issuer} {subject} is linked already") from error


async def record_sign_in(
    conn: Connection, issuer: str, subject: str, synced_display_name: str | None, now: datetime
) -> None:
    """The identity signed in at `now`, its display name (last taken from the IdP) with it."""
    await conn.execute(
        "UPDATE oidc_identities SET last_sign_in_at = :now,"
        " synced_display_name = :name WHERE issuer = :issuer AND subject = :subject",
        {"issuer": issuer, "subject": subject, "name": synced_display_name, "now": db_time(now)},
    )


async def identities_of(conn: Connection, user_id: int) -> list[IdentityRecord]:
    async with conn.execute(
        "SELECT issuer, subject, user_id, synced_display_name FROM oidc_identities"
        " WHERE user_id = :user_id ORDER BY created_at",
        {"user_id": user_id},
    ) as cursor:
        return [IdentityRecord(r[0], r[1], int(r[2]), r[3]) for r in await cursor.fetchall()]


async def insert_login(
    conn: Connection,
    *,
    state_hash: str,
    browser_hash: str,
    nonce: str,
    code_verifier: str,
    next_url: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    """A sign-in under way; expired ones are swept on the way."""
    await conn.execute("DELETE FROM oidc_logins WHERE expires_at <= :now", {"now": db_time(now)})
    await conn.execute(
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, code_verifier, next_url,"
        " created_at, expires_at) VALUES (:state_hash, :browser_hash, :nonce, :code_verifier,"
        " :next_url, :now, :expires_at)",
        {
            "state_hash": state_hash,
            "browser_hash": browser_hash,
            "nonce": nonce,
            "code_verifier": code_verifier,
            "next_url": next_url,
            "now": db_time(now),
            "expires_at": db_time(expires_at),
        },
    )


async def take_login(conn: Connection, state_hash: str) -> PendingLogin | None:
    """The sign-in with this state, removed: a state is good for one callback only."""
    async with conn.execute(
        "DELETE FROM oidc_logins WHERE state_hash = :state_hash"
        " RETURNING browser_hash, nonce, code_verifier, next_url, expires_at",
        {"state_hash": state_hash},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    expires_at = parse_db_time(row[4])
    assert expires_at is not None
    return PendingLogin(row[0], row[1], row[2], row[3], expires_at)


@dataclass(frozen=True, slots=True)
class IdentityListing:
    username: str
    issuer: str
    subject: str
    created_at: datetime
    last_sign_in_at: datetime | None
    account_id: int


async def list_identities(conn: Connection, user_id: int | None = None) -> list[IdentityListing]:
    """Every identity (or one user's) with its local username, by username."""
    where = "" if user_id is None else " WHERE i.user_id = :user_id"
    async with conn.execute(
        "SELECT a.username, i.issuer, i.subject, i.created_at, i.last_sign_in_at, a.id"
        " FROM oidc_identities i JOIN users u ON u.id = i.user_id"
        f" JOIN accounts a ON a.id = u.account_id{where} ORDER BY a.username, i.created_at",
        {"user_id": user_id},
    ) as cursor:
        rows = await cursor.fetchall()
    listings = []
    for row in rows:
        created_at = parse_db_time(row[3])
        assert created_at is not None
        listings.append(
            IdentityListing(row[0], row[1], row[2], created_at, parse_db_time(row[4]), int(row[5]))
        )
    return listings


async def delete_identity(conn: Connection, issuer: str, subject: str, user_id: int) -> bool:
    """Unlink an identity from its user; False if it was not theirs."""
    cursor = await conn.execute(
        "DELETE FROM oidc_identities WHERE issuer = :issuer AND subject = :subject"
        " AND user_id = :user_id",
        {"issuer": issuer, "subject": subject, "user_id": user_id},
    )
    return cursor.rowcount > 0
