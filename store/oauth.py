"""Queries on OAuth 2: applications, authorization codes, app and refresh tokens, sign-in
sessions and instance secrets. Secrets are passed in and compared as SHA-256 digests only.

User access tokens live in `oauth_tokens` (see store/tokens.py); the queries here that touch
that table are the ones OAuth needs beyond bearer authentication: find a token whatever its
state (to revoke it), and revoke.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from store.db import Connection, db_time, parse_db_time


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    id: int
    name: str
    website: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    client_id: str
    client_secret_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CodeRecord:
    id: int
    application_id: int
    user_id: int
    redirect_uri: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    token_id: int | None


@dataclass(frozen=True, slots=True)
class AppTokenRecord:
    id: int
    application_id: int
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class UserTokenRecord:
    """A row of oauth_tokens whatever its state (store.tokens.find_active finds live ones)."""

    id: int
    user_id: int
    application_id: int | None
    scopes: tuple[str, ...]
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RefreshTokenRecord:
    id: int
    access_token_id: int
    application_id: int
    user_id: int
    family_id: int
    scopes: tuple[str, ...]
    created_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


def _time(value: str) -> datetime:
    parsed = parse_db_time(value)
    assert parsed is not None
    return parsed


# -- applications ----------------------------------------------------------------------------

_APP_COLUMNS = "id, name, website, redirect_uris, scopes, client_id, client_secret_hash, created_at"


def _application(row: aiosqlite.Row) -> ApplicationRecord:
    return ApplicationRecord(
        id=row["id"],
        name=row["name"],
        website=row["website"],
        redirect_uris=tuple(row["redirect_uris"].split("\n")),
        scopes=tuple(row["scopes"].split()),
        client_id=row["client_id"],
        client_secret_hash=row["client_secret_hash"],
        created_at=_time(row["created_at"]),
    )


async def insert_application(
    conn: Connection,
    id_: int,
    *,
    name: str,
    website: str | None,
    redirect_uris: tuple[str, ...],
    scopes: tuple[str, ...],
    client_id: str,
    client_secret_hash: str,
    now: datetime,
) -> ApplicationRecord:
    await conn.execute(
        f"INSERT INTO oauth_applications ({_APP_COLUMNS}) VALUES (:id, :name, :website,"
        " :redirect_uris, :scopes, :client_id, :client_secret_hash, :created_at)",
        {
            "id": id_,
            "name": name,
            "website": website,
            "redirect_uris": "\n".join(redirect_uris),
            "scopes": " ".join(scopes),
            "client_id": client_id,
            "client_secret_hash": client_secret_hash,
            "created_at": db_time(now),
        },
    )
    application = await get_application(conn, id_)
    assert application is not None
    return application


async def get_application(conn: Connection, id_: int) -> ApplicationRecord | None:
    async with conn.execute(
        f"SELECT {_APP_COLUMNS} FROM oauth_applications WHERE id = :id", {"id": id_}
    ) as cursor:
        row = await cursor.fetchone()
    return _application(row) if row else None


async def get_application_by_client_id(
    conn: Connection, client_id: str
) -> ApplicationRecord | None:
    async with conn.execute(
        f"SELECT {_APP_COLUMNS} FROM oauth_applications WHERE client_id = :client_id",
        {"client_id": client_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _application(row) if row else None


# -- authorization codes ---------------------------------------------------------------------


async def insert_code(
    conn: Connection,
    id_: int,
    *,
    code_hash: str,
    application_id: int,
    user_id: int,
    redirect_uri: str,
    scopes: tuple[str, ...],
    code_challenge: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO oauth_codes (id, code_hash, application_id, user_id, redirect_uri, scopes,"
        " code_challenge, created_at, expires_at) VALUES (:id, :code_hash, :application_id,"
        " :user_id, :redirect_uri, :scopes, :code_challenge, :created_at, :expires_at)",
        {
            "id": id_,
            "code_hash": code_hash,
            "application_id": application_id,
            "user_id": user_id,
            "redirect_uri": redirect_uri,
            "scopes": " ".join(scopes),
            "code_challenge": code_challenge,
            "created_at": db_time(now),
            "expires_at": db_time(expires_at),
        },
    )


async def find_code(conn: Connection, code_hash: str) -> CodeRecord | None:
    async with conn.execute(
        "SELECT id, application_id, user_id, redirect_uri, scopes, code_challenge, created_at,"
        " expires_at, used_at, token_id FROM oauth_codes WHERE code_hash = :hash",
        {"hash": code_hash},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return CodeRecord(
        id=row["id"],
        application_id=row["application_id"],
        user_id=row["user_id"],
        redirect_uri=row["redirect_uri"],
        scopes=tuple(row["scopes"].split()),
        code_challenge=row["code_challenge"],
        created_at=_time(row["created_at"]),
        expires_at=_time(row["expires_at"]),
        used_at=parse_db_time(row["used_at"]),
        token_id=row["token_id"],
    )


async def use_code(conn: Connection, code_id: int, token_id: int, now: datetime) -> bool:
    """Mark a code used by the token it bought; False when it was used already."""
    cursor = await conn.execute(
        "UPDATE oauth_codes SET used_at = :now, token_id = :token_id"
        " WHERE id = :id AND used_at IS NULL",
        {"id": code_id, "token_id": token_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def purge_codes(conn: Connection, before: datetime) -> None:
    await conn.execute(
        "DELETE FROM oauth_codes WHERE expires_at < :before", {"before": db_time(before)}
    )


# -- user access tokens (oauth_tokens) -------------------------------------------------------


async def find_user_token(conn: Connection, token_hash: str) -> UserTokenRecord | None:
    async with conn.execute(
        "SELECT id, user_id, application_id, scopes, revoked_at FROM oauth_tokens"
        " WHERE token_hash = :hash",
        {"hash": token_hash},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return UserTokenRecord(
        id=row["id"],
        user_id=row["user_id"],
        application_id=row["application_id"],
        scopes=tuple(row["scopes"].split()),
        revoked_at=parse_db_time(row["revoked_at"]),
    )


async def revoke_user_token(conn: Connection, token_id: int, now: datetime) -> None:
    """Revoke an access token and the refresh tokens issued with it."""
    params = {"id": token_id, "now": db_time(now)}
    await conn.execute(
        "UPDATE oauth_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL", params
    )
    await conn.execute(
        "UPDATE oauth_refresh_tokens SET revoked_at = :now"
        " WHERE access_token_id = :id AND revoked_at IS NULL",
        params,
    )


# -- app tokens (client_credentials) ---------------------------------------------------------


async def insert_app_token(
    conn: Connection,
    id_: int,
    *,
    application_id: int,
    token_hash: str,
    scopes: tuple[str, ...],
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO oauth_app_tokens (id, application_id, token_hash, scopes, created_at)"
        " VALUES (:id, :application_id, :token_hash, :scopes, :created_at)",
        {
            "id": id_,
            "application_id": application_id,
            "token_hash": token_hash,
            "scopes": " ".join(scopes),
            "created_at": db_time(now),
        },
    )


async def find_app_token(conn: Connection, token_hash: str) -> AppTokenRecord | None:
    async with conn.execute(
        "SELECT id, application_id, scopes, created_at, revoked_at FROM oauth_app_tokens"
        " WHERE token_hash = :hash",
        {"hash": token_hash},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return AppTokenRecord(
        id=row["id"],
        application_id=row["application_id"],
        scopes=tuple(row["scopes"].split()),
        created_at=_time(row["created_at"]),
        revoked_at=parse_db_time(row["revoked_at"]),
    )


async def revoke_app_token(conn: Connection, token_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE oauth_app_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
        {"id": token_id, "now": db_time(now)},
    )


# -- refresh tokens --------------------------------------------------------------------------


async def insert_refresh_token(
    conn: Connection,
    id_: int,
    *,
    token_hash: str,
    access_token_id: int,
    application_id: int,
    user_id: int,
    family_id: int | None,
    scopes: tuple[str, ...],
    now: datetime,
) -> None:
    """A refresh token for an access token; `family_id=None` starts a new chain."""
    await conn.execute(
        "INSERT INTO oauth_refresh_tokens (id, token_hash, access_token_id, application_id,"
        " user_id, family_id, scopes, created_at) VALUES (:id, :token_hash, :access_token_id,"
        " :application_id, :user_id, :family_id, :scopes, :created_at)",
        {
            "id": id_,
            "token_hash": token_hash,
            "access_token_id": access_token_id,
            "application_id": application_id,
            "user_id": user_id,
            "family_id": family_id if family_id is not None else id_,
            "scopes": " ".join(scopes),
            "created_at": db_time(now),
        },
    )


async def find_refresh_token(conn: Connection, token_hash: str) -> RefreshTokenRecord | None:
    async with conn.execute(
        "SELECT id, access_token_id, application_id, user_id, family_id, scopes, created_at,"
        " used_at, revoked_at FROM oauth_refresh_tokens WHERE token_hash = :hash",
        {"hash": token_hash},
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return RefreshTokenRecord(
        id=row["id"],
        access_token_id=row["access_token_id"],
        application_id=row["application_id"],
        user_id=row["user_id"],
        family_id=row["family_id"],
        scopes=tuple(row["scopes"].split()),
        created_at=_time(row["created_at"]),
        used_at=parse_db_time(row["used_at"]),
        revoked_at=parse_db_time(row["revoked_at"]),
    )


async def use_refresh_token(conn: Connection, refresh_id: int, now: datetime) -> bool:
    """Mark a refresh token used; False when it was used or revoked already."""
    cursor = await conn.execute(
        "UPDATE oauth_refresh_tokens SET used_at = :now"
        " WHERE id = :id AND used_at IS NULL AND revoked_at IS NULL",
        {"id": refresh_id, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def revoke_refresh_family(conn: Connection, family_id: int, now: datetime) -> None:
    """Revoke every refresh token of a chain and every access token issued along it."""
    params = {"family": family_id, "now": db_time(now)}
    await conn.execute(
        "UPDATE oauth_tokens SET revoked_at = :now WHERE revoked_at IS NULL AND id IN"
        " (SELECT access_token_id FROM oauth_refresh_tokens WHERE family_id = :family)",
        params,
    )
    await conn.execute(
        "UPDATE oauth_refresh_tokens SET revoked_at = :now"
        " WHERE family_id = :family AND revoked_at IS NULL",
        params,
    )


async def access_token_live(conn: Connection, token_id: int) -> bool:
    """True while the access token is not revoked (a refresh token dies with it)."""
    async with conn.execute(
        "SELECT 1 FROM oauth_tokens WHERE id = :id AND revoked_at IS NULL", {"id": token_id}
    ) as cursor:
        return await cursor.fetchone() is not None


# -- users by sign-in name -------------------------------------------------------------------


async def user_id_by_email(conn: Connection, email: str) -> int | None:
    async with conn.execute(
        "SELECT id FROM users WHERE lower(email) = lower(:email) ORDER BY id LIMIT 1",
        {"email": email},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else None


# -- sign-in sessions ------------------------------------------------------------------------


async def insert_session(
    conn: Connection,
    id_: int,
    *,
    token_hash: str,
    user_id: int,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO oauth_sessions (id, token_hash, user_id, created_at, expires_at)"
        " VALUES (:id, :token_hash, :user_id, :created_at, :expires_at)",
        {
            "id": id_,
            "token_hash": token_hash,
            "user_id": user_id,
            "created_at": db_time(now),
            "expires_at": db_time(expires_at),
        },
    )


async def session_user_id(conn: Connection, token_hash: str, now: datetime) -> int | None:
    """The user of a live session: not expired, not revoked, user not disabled."""
    async with conn.execute(
        "SELECT s.user_id FROM oauth_sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.token_hash = :hash AND s.revoked_at IS NULL AND s.expires_at > :now"
        " AND u.disabled_at IS NULL",
        {"hash": token_hash, "now": db_time(now)},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else None


async def revoke_session(conn: Connection, token_hash: str, now: datetime) -> None:
    """End a session (sign-out): its cookie signs no one in from now on."""
    await conn.execute(
        "UPDATE oauth_sessions SET revoked_at = :now WHERE token_hash = :hash"
        " AND revoked_at IS NULL",
        {"hash": token_hash, "now": db_time(now)},
    )


async def purge_sessions(conn: Connection, before: datetime) -> None:
    await conn.execute(
        "DELETE FROM oauth_sessions WHERE expires_at < :before", {"before": db_time(before)}
    )


async def revoke_other_sessions(
    conn: Connection, user_id: int, keep_hash: str | None, now: datetime
) -> None:
    """End every browser session of `user_id` but the one whose digest is `keep_hash` (after a
    password change, the browser that made it stays signed in; the others do not)."""
    await conn.execute(
        "UPDATE oauth_sessions SET revoked_at = :now WHERE user_id = :user"
        " AND revoked_at IS NULL AND token_hash IS NOT :keep",
        {"user": user_id, "keep": keep_hash, "now": db_time(now)},
    )


# -- a user's authorised applications --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizedApplication:
    """An application holding live access tokens of one user (`application_id` None: tokens
    made with `watercooler token create`, which belong to no registered app)."""

    application_id: int | None
    name: str | None
    website: str | None
    scopes: tuple[str, ...]
    tokens: int
    first_authorized_at: datetime
    last_authorized_at: datetime
    last_used_at: datetime | None


async def authorized_applications(
    conn: Connection, user_id: int, now: datetime
) -> list[AuthorizedApplication]:
    """The applications with live tokens of `user_id`, most recently authorised first."""
    async with conn.execute(
        "SELECT t.application_id, a.name, a.website, group_concat(t.scopes, ' '), count(*),"
        " min(t.created_at), max(t.created_at), max(t.last_used_at)"
        " FROM oauth_tokens t LEFT JOIN oauth_applications a ON a.id = t.application_id"
        " WHERE t.user_id = :user AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > :now)"
        " GROUP BY t.application_id ORDER BY max(t.created_at) DESC, t.application_id",
        {"user": user_id, "now": db_time(now)},
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        AuthorizedApplication(
            application_id=row[0],
            name=row[1],
            website=row[2],
            scopes=tuple(dict.fromkeys(str(row[3] or "").split())),
            tokens=int(row[4]),
            first_authorized_at=_time(row[5]),
            last_authorized_at=_time(row[6]),
            last_used_at=parse_db_time(row[7]),
        )
        for row in rows
    ]


async def revoke_application_for_user(
    conn: Connection, user_id: int, application_id: int | None, now: datetime
) -> int:
    """Withdraw an application's access to `user_id`: its access and refresh tokens end and
    its codes not yet exchanged become worthless. Returns how many access tokens ended."""
    params = {"user": user_id, "app": application_id, "now": db_time(now)}
    cursor = await conn.execute(
        "UPDATE oauth_tokens SET revoked_at = :now WHERE user_id = :user"
        " AND application_id IS :app AND revoked_at IS NULL",
        params,
    )
    ended = cursor.rowcount
    await conn.execute(
        "UPDATE oauth_refresh_tokens SET revoked_at = :now WHERE user_id = :user"
        " AND application_id IS :app AND revoked_at IS NULL",
        params,
    )
    await conn.execute(
        "UPDATE oauth_codes SET used_at = :now WHERE user_id = :user"
        " AND application_id IS :app AND used_at IS NULL",
        params,
    )
    return int(ended)


async def revoke_user_tokens(conn: Connection, user_id: int, now: datetime) -> None:
    """End every access and refresh token of `user_id` (every app signs out)."""
    params = {"user": user_id, "now": db_time(now)}
    for table in ("oauth_tokens", "oauth_refresh_tokens"):
        await conn.execute(
            f"UPDATE {table} SET revoked_at = :now WHERE user_id = :user AND revoked_at IS NULL",
            params,
        )


# -- instance secrets ------------------------------------------------------------------------


async def ensure_secret(conn: Connection, name: str, candidate: str, now: datetime) -> str:
    """The secret called `name`, storing `candidate` if there is none yet. Two processes that
    race here both end up with the one value that was stored first."""
    await conn.execute(
        "INSERT INTO instance_secrets (name, value, created_at) VALUES (:name, :value, :now)"
        " ON CONFLICT (name) DO NOTHING",
        {"name": name, "value": candidate, "now": db_time(now)},
    )
    async with conn.execute(
        "SELECT value FROM instance_secrets WHERE name = :name", {"name": name}
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return str(row[0])
