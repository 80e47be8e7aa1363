"""Queries on bearer tokens. Only SHA-256 digests of secrets are stored or compared."""

from __future__ import annotations

from datetime import datetime

from store.db import Connection, db_time, parse_db_time
from store.records import TokenRecord


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
        " t.revoked_at FROM oauth_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = :hash AND t.revoked_at IS NULL AND u.disabled_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > :now)",
        {"hash": token_hash, "now": db_time(now)},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return TokenRecord(
        id=row["id"],
        user_id=row["user_id"],
        application_id=row["application_id"],
        scopes=tuple(row["scopes"].split()),
        created_at=parse_db_time(row["created_at"]),  # type: ignore[arg-type]
        expires_at=parse_db_time(row["expires_at"]),
        revoked_at=None,
    )
