"""What admins do, from the web pages, the admin API and the CLI alike, each change written
to the audit log (`store.audit`).

One class, `AdminActions`, so every door does an action the same way and none can forget the
audit row. The audit row goes in the same transaction as the change: they commit together
or not at all. One action reuses a function that owns its transaction
(`accounts.create_user`, which hashes and makes keys outside it); its row follows in the
next transaction.

A row records a change: an action that changes nothing (a peer added twice, no dead
deliveries to retry, a setting set to its value) or that is refused writes none. Passwords
never reach the log.

With `services` (the running server) changes take effect in this process at once: the peer
policy is reloaded, the delivery worker woken, the effective config swapped. Without them
(the CLI) the running server notices peer changes within a second (`Peering` polls).
"""

from __future__ import annotations

import asyncio
import getpass
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from federation.policy import normalise_domain, valid_domain
from federation.uris import Uris
from store import audit, deliveries, instance_settings, moderation, peers, roles, users
from store.audit import AuditEntry
from store.db import Connection, Database
from store.peers import SEVERITIES, DomainBlockRecord, PeerRecord
from store.records import UserRecord
from watercooler import accounts
from watercooler.accounts import CreatedUser
from watercooler.config import Config
from watercooler.instance_settings import checked, current, overlay
from watercooler.passwords import generate_password, hash_password
from watercooler.peering import PeerError, remove_peer

if TYPE_CHECKING:
    from watercooler.services import Clock, Services

log = logging.getLogger(__name__)


class AdminError(ValueError):
    """An admin action that cannot be done; the message is for the admin."""


class Missing(AdminError):
    """The user, peer or block the action names does not exist."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, as the audit log records it."""

    account_id: int | None
    name: str
    origin: str  # 'web', 'api' or 'cli'

    @classmethod
    def of_user(cls, user: UserRecord, origin: str) -> Actor:
        return cls(user.account_id, user.username, origin)

    @classmethod
    def operator(cls) -> Actor:
        """The CLI: no account, the operating-system user who ran the command."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = "operator"
        return cls(None, name, "cli")

    @classmethod
    def system(cls, name: str) -> Actor:
        """The server acting by itself, named by what acts ('retention')."""
        return cls(None, name, "system")


async def audit_row(
    conn: Connection,
    now: datetime,
    actor: Actor,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit row for `actor` inside the caller's write transaction, with the log
    line that says so: the one way every admin, moderator and IT action is recorded."""
    entry = await audit.append(
        conn,
        now=now,
        actor_account_id=actor.account_id,
        actor_name=actor.name,
        action=action,
        target=target,
        details=details,
        origin=actor.origin,
    )
    log.info(
        "audit action=%s target=%s actor=%s origin=%s audit_id=%d",
        action,
        target,
        actor.name,
        actor.origin,
        entry.id,
    )
    return entry


def checked_domain(value: object) -> str:
    if not isinstance(value, str) or not valid_domain(value):
        raise AdminError(f"Not a domain name: {value!r}")
    return normalise_domain(value)


class AdminActions:
    """The admin actions on one instance's database, each with its audit row."""

    def __init__(
        self,
        db: Database,
        *,
        config: Config,
        uris: Uris,
        clock: Clock,
        services: Services | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.uris = uris
        self.clock = clock
        self.services = services

    @classmethod
    def of(cls, svc: Services) -> AdminActions:
        """For the running server: changes take effect in this process at once."""
        return cls(svc.db, config=svc.config, uris=svc.uris, clock=svc.clock, services=svc)

    async def _record(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        target: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        return await audit_row(conn, self.clock(), actor, action, target, details)

    # ----- users -----------------------------------------------------------------------

    async def create_user(
        self,
        actor: Actor,
        username: str,
        *,
        admin: bool = False,
        email: str | None = None,
        password: str | None = None,
    ) -> CreatedUser:
        """A new user; without `password` a one-time one is generated (shown once, to be
        changed at first sign-in). AccountError for a bad or taken name."""
        created = await accounts.create_user(
            self.db,
            self.uris,
            username,
            now=self.clock(),
            password=password,
            admin=admin,
            email=email or None,
        )
        details = {"admin": admin, "one_time_password": created.generated_password is not None}
        async with self.db.transaction() as conn:
            await self._record(conn, actor, "user.create", created.account.username, details)
        return created

    async def _user(self, conn: Connection, username: str) -> UserRecord:
        user = await users.get_by_username(conn, username)
        if user is None:
            raise Missing(f"There is no user {username!r}.")
        return user

    async def _keep_an_admin(self, conn: Connection, user: UserRecord, change: str) -> None:
        """Refuse a change that would leave no enabled admin to undo it."""
        if user.admin and not user.disabled and await users.count_active_admins(conn) <= 1:
            raise AdminError(f"{user.username} is the only admin: {change} would lock out admins.")

    async def disable_user(self, actor: Actor, username: str) -> UserRecord:
        """Sign-in, tokens and the actor stop (it answers 410)."""
        async with self.db.transaction() as conn:
            user = await self._user(conn, username)
            if user.disabled:
                return user
            await self._keep_an_admin(conn, user, "disabling them")
            await users.disable(conn, user.id, self.clock())
            await self._record(conn, actor, "user.disable", user.username)
            disabled = await users.get_by_id(conn, user.id)
        assert disabled is not None
        return disabled

    async def enable_user(self, actor: Actor, username: str) -> UserRecord:
        """A disabled user may sign in again and their actor answers again (peers were never
        told of the disabling: it was a 410, not a Delete, so their copies are still there)."""
        async with self.db.transaction() as conn:
            user = await self._user(conn, username)
            if not user.disabled:
                return user
            if (await moderation.get(conn, user.account_id)).suspended:
                raise AdminError(f"{user.username} is suspended: unsuspend them instead.")
            await users.enable(conn, user.id)
            await self._record(conn, actor, "user.enable", user.username)
            enabled = await users.get_by_id(conn, user.id)
        assert enabled is not None
        return enabled

    async def reset_password(self, actor: Actor, username: str) -> str:
        """A new one-time password (returned, shown once); the user's tokens and sessions end
        and they must choose a new password at the next sign-in."""
        password = generate_password()
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.db.transaction() as conn:
            user = await self._user(conn, username)
            await users.reset_password(conn, user.id, password_hash, self.clock())
            await self._record(conn, actor, "user.reset_password", user.username)
        return password

    async def set_admin(self, actor: Actor, username: str, admin: bool) -> UserRecord:
        """Grant or take away the admin flag."""
        async with self.db.transaction() as conn:
            user = await self._user(conn, username)
            if user.admin == admin:
                return user
            if not admin:
                await self._keep_an_admin(conn, user, "taking their admin role")
            await users.set_admin(conn, user.id, admin)
            action = "user.make_admin" if admin else "user.unmake_admin"
            await self._record(conn, actor, action, user.username)
            changed = await users.get_by_id(conn, user.id)
        assert changed is not None
        return changed

    async def set_role(self, actor: Actor, username: str, role: str, granted: bool) -> bool:
        """Grant or take away a role (store.roles.KNOWN_ROLES); False if nothing changed."""
        if role not in roles.KNOWN_ROLES:
            raise AdminError(f"Unknown role {role!r}: one of {', '.join(roles.KNOWN_ROLES)}.")
        async with self.db.transaction() as conn:
            user = await self._user(conn, username)
            if granted:
                changed = await roles.grant(conn, user.id, role, self.clock())
            else:
                changed = await roles.revoke(conn, user.id, role)
            if changed:
                action = "user.grant_role" if granted else "user.revoke_role"
                await self._record(conn, actor, action, user.username, {"role": role})
        return changed

    # ----- peers -----------------------------------------------------------------------

    async def add_peer(self, actor: Actor, domain: str, *, name: str | None = None) -> bool:
        """List `domain` as a peer (the instance actors link within seconds); False if it
        already was one."""
        domain = checked_domain(domain)
        async with self.db.transaction() as conn:
            added = await peers.add(conn, domain, source="admin", now=self.clock(), name=name)
            if added:
                await self._record(conn, actor, "peer.add", domain, {"name": name})
        await self._policy_changed()
        return added

    async def remove_peer(self, actor: Actor, domain: str) -> PeerRecord:
        """Stop federating with `domain`: both follows and its queued deliveries go."""
        domain = checked_domain(domain)
        try:
            async with self.db.transaction() as conn:
                removed = await remove_peer(conn, domain, self.clock())
                details = {"source": removed.source}
                await self._record(conn, actor, "peer.remove", domain, details)
        except PeerError as error:
            missing = "is not a peer" in str(error)
            raise (Missing if missing else AdminError)(str(error)) from error
        await self._policy_changed()
        return removed

    # ----- domain blocks ---------------------------------------------------------------

    async def block_domain(
        self, actor: Actor, domain: str, *, severity: str = "reject", reason: str = ""
    ) -> DomainBlockRecord:
        """Block `domain` and its subdomains, or change the block's severity and reason."""
        domain = checked_domain(domain)
        if severity not in SEVERITIES:
            raise AdminError(f"The severity must be one of {', '.join(SEVERITIES)}.")
        async with self.db.transaction() as conn:
            block = await peers.block(
                conn, domain, severity=severity, reason=reason, now=self.clock()
            )
            details = {"severity": severity, "reason": reason}
            await self._record(conn, actor, "domain.block", domain, details)
        await self._policy_changed()
        return block

    async def unblock_domain(self, actor: Actor, domain: str) -> None:
        domain = checked_domain(domain)
        async with self.db.transaction() as conn:
            if not await peers.unblock(conn, domain):
                raise Missing(f"{domain} is not blocked.")
            await self._record(conn, actor, "domain.unblock", domain)
        await self._policy_changed()

    async def _policy_changed(self) -> None:
        if self.services is not None:
            await self.services.peering.reload()

    # ----- the delivery queue ----------------------------------------------------------

    async def retry_dead(self, actor: Actor, *, host: str | None = None) -> int:
        """Queue the dead deliveries (of `host`, or all) again; returns how many."""
        async with self.db.transaction() as conn:
            count = await deliveries.retry_dead(conn, now=self.clock(), host=host)
            if count:
                details = {"count": count}
                await self._record(conn, actor, "queue.retry", host or "*", details)
        if count and self.services is not None:
            self.services.workers.delivery.notify()
        return count

    # ----- run-time settings -----------------------------------------------------------

    async def change_settings(
        self, actor: Actor, changes: Mapping[str, str]
    ) -> dict[str, tuple[str, str]]:
        """Store the settings that differ from those in force; returns them as
        {key: (before, after)}. SettingError for an unknown key or a bad value."""
        wanted = checked(changes)
        async with self.db.transaction() as conn:
            in_force = current(overlay(self.config, await instance_settings.all_settings(conn)))
            changed = {k: (in_force[k], v) for k, v in wanted.items() if in_force[k] != v}
            for key, (_, value) in changed.items():
                await instance_settings.put(conn, key, value, self.clock())
            if changed:
                details = {k: {"from": old, "to": new} for k, (old, new) in changed.items()}
                await self._record(conn, actor, "settings.change", "instance", details)
        if changed and self.services is not None:
            after = {key: new for key, (_, new) in changed.items()}
            self.services.config = overlay(self.services.config, after)
        return changed


async def record(
    db: Database,
    clock: Clock,
    actor: Actor,
    action: str,
    target: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """One audit row in its own transaction, for events that change nothing else (a sign-in,
    an export); an action that changes something records with `audit_row` in its own
    transaction, so both commit or neither."""
    async with db.transaction() as conn:
        return await audit_row(conn, clock(), actor, action, target, details)


def cli_actions(db: Database, config: Config, clock: Clock) -> AdminActions:
    """For a CLI command: no running services, the operator as the actor's origin."""
    return AdminActions(db, config=config, uris=Uris(config.instance.base_url), clock=clock)
