"""Looking up local actors for the public endpoints: found, unknown (404) or disabled (410)."""

from __future__ import annotations

from store import accounts, keys, users
from store.errors import NotFound
from store.records import AccountRecord, KeyRecord
from watercooler.http import Gone
from watercooler.services import Services


async def local_actor(services: Services, username: str) -> tuple[AccountRecord, KeyRecord]:
    """A local user's account and current key; NotFound or Gone otherwise."""
    async with services.db.read() as conn:
        account = await accounts.get_local(conn, username)
        if account is None or account.actor_type == "Application":
            raise NotFound(f"no account {username!r}")
        user = await users.get_by_username(conn, username)
        if account.suspended_at is not None or (user is not None and user.disabled):
            raise Gone(f"account {username!r} is disabled")
        key = await keys.get_for_account(conn, account.id)
    if key is None:
        raise NotFound(f"no key for {username!r}")
    return account, key


async def instance_actor(services: Services) -> tuple[AccountRecord, KeyRecord]:
    async with services.db.read() as conn:
        account = await accounts.get_instance_actor(conn)
        key = await keys.get_for_account(conn, account.id) if account else None
    if account is None or key is None:
        raise NotFound("instance actor missing")
    return account, key
