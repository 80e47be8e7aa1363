"""Moving an employee's account to another division, as Mastodon's account migration.

Two steps, in this order, each by the employee on the web pages (`watercooler.web.moving`) or
by IT with the CLI (`watercooler.cli_moves`):

1. On the NEW account: add the old account as an alias (`add_alias`). The new actor's
   `alsoKnownAs` lists it, and an `Update` of the actor goes to its followers and the peers.
2. On the OLD account: move to the new one (`move_account`). The new actor is read fresh
   (fetched from its division, or from the store when it is ours) and must list the old
   account in `alsoKnownAs`; then the old account is marked moved (its actor gets `movedTo`,
   its profile and Account entity point to the new one, it can no longer post), a `Move` goes
   to its followers' servers and to every peer, and its local followers are queued to follow
   the new account (outbox.moves), with no HTTP when both accounts are here.

Each change is written to the audit log ('account.alias', 'account.move') in its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.errors import FederationError
from federation.policy import domain_of
from outbox.moves import send_actor_update, send_move
from store import accounts
from store import moves as stored
from store.errors import Conflict
from store.records import AccountRecord
from watercooler.admin import Actor, audit_row
from watercooler.services import Services

MAX_REFERENCE = 2048


class MoveError(ValueError):
    """The alias or move cannot be done as asked; the message says why, for the person."""


@dataclass(frozen=True, slots=True)
class Moving:
    """What the settings pages show: the account's aliases and where it moved."""

    aliases: tuple[str, ...]
    moved_to: AccountRecord | None


@dataclass(frozen=True, slots=True)
class Moved:
    target: AccountRecord
    followers_queued: int
    """Local followers queued to follow the new account (remote ones move on their side)."""


def handle_of(account: AccountRecord, local_domain: str) -> str:
    """`@name@domain`, as people type it."""
    return f"@{account.username}@{account.domain or local_domain}"


async def resolve(svc: Services, reference: str) -> AccountRecord:
    """The account `reference` names: `@name@domain`, `name@domain`, an actor URI, or a local
    `name`. Another division's account is looked up through WebFinger and fetched (signed,
    within the peer policy)."""
    text = reference.strip()
    if not text or len(text) > MAX_REFERENCE:
        raise MoveError("Enter an account as @name@division (or its address).")
    local_domain = svc.config.instance.domain
    if text.startswith(("https://", "http://")):
        if domain_of(text) == svc.publisher.domain:
            username = svc.uris.local_username(text)
            found = await _local(svc, username) if username else None
        else:
            found = await svc.actors.get(text, refresh=True)
    else:
        name, _, domain = text.removeprefix("@").partition("@")
        if not name:
            raise MoveError("Enter an account as @name@division (or its address).")
        if not domain or domain.lower() in (local_domain.lower(), svc.publisher.domain):
            found = await _local(svc, name)
        else:
            found = await svc.actors.resolve_handle(name, domain.lower())
    if found is None or found.actor_type not in ("Person", "Service"):
        raise MoveError(f"No account {text} could be found.")
    return found


async def _local(svc: Services, username: str) -> AccountRecord | None:
    async with svc.db.read() as conn:
        return await accounts.get_local(conn, username)


async def _fresh_aliases(svc: Services, account: AccountRecord) -> tuple[AccountRecord, set[str]]:
    """The account read again and the URIs it is also known as: ours from the store, another
    division's fetched now from its origin (never what was kept from an earlier fetch)."""
    if account.is_local:
        async with svc.db.read() as conn:
            return account, set(await stored.aliases(conn, account.id))
    try:
        actor = await svc.actors.fetch_actor(account.uri)
        refreshed = await svc.actors.store(actor)
    except (FederationError, Conflict) as error:
        raise MoveError(f"{account.uri} could not be fetched: {error}") from error
    return refreshed, set(actor.also_known_as)


def _own(account: AccountRecord) -> None:
    if not account.is_local or account.actor_type != "Person":
        raise MoveError("Only a person's account on this division can do this.")


async def moving(svc: Services, account: AccountRecord) -> Moving:
    async with svc.db.read() as conn:
        aliases = tuple(await stored.aliases(conn, account.id))
        fresh = await accounts.get_by_id(conn, account.id)
        target_id = fresh.moved_to_account_id if fresh else None
        target = await accounts.get_by_id(conn, target_id) if target_id else None
    return Moving(aliases=aliases, moved_to=target)


async def add_alias(
    svc: Services, account: AccountRecord, reference: str, actor: Actor
) -> AccountRecord:
    """List the account `reference` names as an alias of the local `account` (the first step
    of a move, done on the new account); returns that account."""
    _own(account)
    old = await resolve(svc, reference)
    if old.id == account.id:
        raise MoveError("An account cannot be an alias of itself.")
    now = svc.clock()
    async with svc.db.transaction() as conn:
        listed = await stored.aliases(conn, account.id)
        if old.uri in listed:
            return old
        if len(listed) >= stored.MAX_ALIASES:
            raise MoveError(f"An account has at most {stored.MAX_ALIASES} aliases.")
        await stored.add_alias(conn, account.id, old.uri, now)
        await audit_row(conn, now, actor, "account.alias", account.uri, {"add": old.uri})
        await send_actor_update(svc.publisher, conn, account)
    svc.publisher.notify()
    return old


async def remove_alias(svc: Services, account: AccountRecord, uri: str, actor: Actor) -> bool:
    """Take `uri` off the local account's aliases; False if it was not one."""
    _own(account)
    now = svc.clock()
    async with svc.db.transaction() as conn:
        if not await stored.remove_alias(conn, account.id, uri, now):
            return False
        await audit_row(conn, now, actor, "account.alias", account.uri, {"remove": uri})
        await send_actor_update(svc.publisher, conn, account)
    svc.publisher.notify()
    return True


async def move_account(
    svc: Services, account: AccountRecord, reference: str, actor: Actor
) -> Moved:
    """Move the local `account` to the account `reference` names, which must list it in
    `alsoKnownAs` (read fresh). The caller checked who asks (the owner's password, or IT)."""
    _own(account)
    async with svc.db.read() as conn:
        current = await accounts.get_by_id(conn, account.id)
    if current is None or current.suspended_at is not None:
        raise MoveError("This account cannot move: it is suspended.")
    if current.moved_to_account_id is not None:
        raise MoveError("This account has moved already.")
    target, known_as = await _fresh_aliases(svc, await resolve(svc, reference))
    local_domain = svc.config.instance.domain
    if target.id == current.id:
        raise MoveError("An account cannot move to itself.")
    if current.uri not in known_as:
        raise MoveError(
            f"{handle_of(target, local_domain)} does not list {handle_of(current, local_domain)}"
            " as an alias yet: add it on the new account first (Moving from another account)."
        )
    if target.suspended_at is not None or target.moved_to_account_id is not None:
        raise MoveError(f"{handle_of(target, local_domain)} cannot be moved to.")
    now = svc.clock()
    async with svc.db.transaction() as conn:
        if not await stored.set_moved(conn, current.id, target.id, now):
            raise MoveError("This account has moved already.")
        await stored.add_alias(conn, current.id, target.uri, now)
        queued = await stored.queue_followers(
            conn, svc.db.new_id, old_account_id=current.id, new_account_id=target.id, now=now
        )
        await audit_row(
            conn,
            now,
            actor,
            "account.move",
            current.uri,
            {"to": target.uri, "followers_queued": queued},
        )
        await send_move(svc.publisher, conn, current, target.uri)
        await send_actor_update(svc.publisher, conn, current)
    svc.publisher.notify()
    return Moved(target=target, followers_queued=queued)
