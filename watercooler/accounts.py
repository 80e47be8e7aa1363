"""Local accounts: creating users with their actor and key pair, the instance actor, tokens.

Shared by the CLI and the running server so both create accounts the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from federation.keys import generate_rsa_keypair
from federation.uris import Uris, is_valid_username
from store import accounts, keys, tokens, users
from store.accounts import NewAccount
from store.db import Database
from store.errors import Conflict, NotFound
from store.records import AccountRecord, UserRecord
from watercooler import audit_events
from watercooler.passwords import MIN_PASSWORD, generate_password, hash_password

KNOWN_SCOPES = ("read", "write", "follow", "push", "admin:read", "admin:write")


class AccountError(ValueError):
    """A request about local accounts that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class CreatedUser:
    user: UserRecord
    account: AccountRecord
    generated_password: str | None


def local_account(username: str, uris: Uris) -> NewAccount:
    return NewAccount(
        username=username,
        domain=None,
        uri=uris.actor(username),
        url=uris.profile(username),
        actor_type="Person",
        display_name=username,
        inbox_url=uris.inbox(username),
        outbox_url=uris.outbox(username),
        shared_inbox_url=uris.shared_inbox,
        followers_url=uris.followers(username),
        following_url=uris.following(username),
        featured_url=uris.featured(username),
    )


async def create_user(
    db: Database,
    uris: Uris,
    username: str,
    *,
    now: datetime,
    password: str | None = None,
    admin: bool = False,
    email: str | None = None,
) -> CreatedUser:
    """Create a user, its Person actor and RSA key pair in one transaction.

    Without a password, one is generated and the user must change it at first sign-in.
    """
    if not is_valid_username(username):
        raise AccountError(
            f"invalid username {username!r}: use 1-30 letters, digits or underscores"
        )
    generated = None
    if password is None:
        generated = password = generate_password()
    elif len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")
    password_hash, keypair = await asyncio.gather(
        asyncio.to_thread(hash_password, password), asyncio.to_thread(generate_rsa_keypair)
    )
    try:
        async with db.transaction() as conn:
            account = await accounts.insert_account(
                conn, db.new_id(), local_account(username, uris), now
            )
            await keys.insert_key(
                conn,
                db.new_id(),
                account_id=account.id,
                key_uri=uris.key_id(username),
                public_key_pem=keypair.public_pem,
                private_key_pem=keypair.private_pem,
                now=now,
            )
            user = await users.insert_user(
                conn,
                db.new_id(),
                account_id=account.id,
                password_hash=password_hash,
                admin=admin,
                must_change_password=generated is not None,
                email=email,
                now=now,
            )
    except Conflict as error:
        raise AccountError(f"user {username!r} already exists") from error
    return CreatedUser(user=user, account=account, generated_password=generated)


async def ensure_instance_actor(db: Database, uris: Uris, domain: str, now: datetime) -> None:
    """Create the instance actor (`Application` at /actor) and its key if missing."""
    async with db.read() as conn:
        if await accounts.get_instance_actor(conn) is not None:
            return
    keypair = await asyncio.to_thread(generate_rsa_keypair)
    async with db.transaction() as conn:
        if await accounts.get_instance_actor(conn) is not None:
            return
        new = NewAccount(
            username=domain,
            domain=None,
            uri=uris.instance_actor,
            url=uris.about,
            actor_type="Application",
            display_name=domain,
            inbox_url=uris.instance_inbox,
            outbox_url=uris.instance_outbox,
            shared_inbox_url=uris.shared_inbox,
            manually_approves_followers=True,
            discoverable=False,
        )
        account = await accounts.insert_account(conn, db.new_id(), new, now)
        await keys.insert_key(
            conn,
            db.new_id(),
            account_id=account.id,
            key_uri=uris.instance_key_id,
            public_key_pem=keypair.public_pem,
            private_key_pem=keypair.private_pem,
            now=now,
        )


async def disable_user(db: Database, username: str, now: datetime) -> UserRecord:
    async with db.transaction() as conn:
        user = await users.get_by_username(conn, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        await users.disable(conn, user.id, now)
        disabled = await users.get_by_id(conn, user.id)
    assert disabled is not None
    return disabled


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str) -> tuple[str, ...]:
    """Scopes as Mastodon writes them, granular forms (`read:statuses`) included."""
    scopes = tuple(dict.fromkeys(text.replace(",", " ").split()))
    if not scopes:
        raise AccountError("at least one scope is required")
    for scope in scopes:
        if scope not in KNOWN_SCOPES and scope.split(":")[0] not in ("read", "write", "admin"):
            raise AccountError(f"unknown scope {scope!r}")
    return scopes


async def create_token(
    db: Database,
    username: str,
    scopes: tuple[str, ...],
    now: datetime,
    *,
    operator: str | None = None,
) -> str:
    """A bearer token for `username`; only its digest is stored, so it is shown once. With
    `operator` (the CLI's `token create`) an audit row names who made it."""
    secret = secrets.token_urlsafe(32)
    async with db.transaction() as conn:
        user = await users.get_by_username(conn, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        if user.disabled:
            raise AccountError(f"user {username!r} is disabled")
        await tokens.insert_token(
            conn,
            db.new_id(),
            user_id=user.id,
            token_hash=hash_token(secret),
            scopes=scopes,
            now=now,
        )
        if operator is not None:
            await audit_events.token_granted(
                conn,
                now,
                app=None,
                user=user,
                scopes=scopes,
                grant_type="cli",
                origin="cli",
                actor=operator,
            )
    return secret
