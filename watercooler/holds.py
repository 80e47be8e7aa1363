"""Legal holds, as admins make and release them (web page, admin API, CLI alike), each
audited in the same transaction ('hold.create', 'hold.release').

A hold covers an account (local or remote, known here) or a search query in the division's
own syntax (watercooler.search_syntax): a status is covered if it matches. The query is
compiled once, when the hold is made (`from:` names resolved to accounts then), so the hold
keeps meaning what the admin saw when they made it. `in:library` and `in:public` depend on
who searches and are refused; so is a query that asks for nothing.

What a hold does lives in the store (store.legal_holds): the retention job skips covered
statuses, and any delete of one preserves its snapshot. Releasing a hold erases the copies no
other active hold keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store import accounts, legal_holds
from store.api_search import match_expression
from store.db import Connection, Database
from store.legal_holds import HoldRecord
from store.records import AccountRecord
from watercooler.admin import Actor, audit_row
from watercooler.search_syntax import parse

NAME_MAX = 200
REASON_MAX = 2000
QUERY_MAX = 500


class HoldError(ValueError):
    """A hold that cannot be made or released as asked; the message is for the admin."""


class UnknownHold(HoldError):
    """No such hold."""


@dataclass(frozen=True, slots=True)
class Released:
    hold: HoldRecord
    erased: int
    """Preserved copies erased because no other active hold keeps them."""


async def find_account(conn: Connection, acct: str, local_domain: str) -> AccountRecord | None:
    """`name`, `@name`, `name@domain`, `@name@domain` or an actor URI, as known here."""
    acct = acct.strip()
    if acct.startswith(("https://", "http://")):
        return await accounts.get_by_uri(conn, acct)
    name, _, domain = acct.removeprefix("@").partition("@")
    if not name:
        return None
    if not domain or domain.lower() == local_domain:
        return await accounts.get_local(conn, name)
    return await accounts.get_by_username_domain(conn, name, domain.lower())


def handle(account: AccountRecord) -> str:
    return f"{account.username}@{account.domain}" if account.domain else account.username


async def create_hold(
    db: Database,
    actor: Actor,
    *,
    local_domain: str,
    now: datetime,
    reason: str,
    account: str | None = None,
    query: str | None = None,
    name: str = "",
) -> HoldRecord:
    """A hold on `account` or on `query` (exactly one); HoldError if it cannot be made."""
    account = (account or "").strip() or None
    query = (query or "").strip() or None
    reason = reason.strip()[:REASON_MAX]
    if (account is None) == (query is None):
        raise HoldError("A hold is on an account or on a search query: give exactly one")
    if not reason:
        raise HoldError("Give the hold's reason (a matter or case reference)")
    async with db.transaction() as conn:
        if account is not None:
            target = await find_account(conn, account, local_domain)
            if target is None:
                raise HoldError(f"No account {account!r} is known on this division")
            hold = await legal_holds.create(
                conn,
                db.new_id(),
                name=(name.strip() or f"Hold on {handle(target)}")[:NAME_MAX],
                reason=reason,
                account_id=target.id,
                by=actor.name,
                now=now,
            )
            details = {"name": hold.name, "reason": reason, "account": target.uri}
        else:
            assert query is not None
            if len(query) > QUERY_MAX:
                raise HoldError(f"A hold's query is at most {QUERY_MAX} characters")
            search = await parse(
                conn, query, viewer=actor.account_id or 0, local_domain=local_domain
            )
            if search.library or search.public_only:
                raise HoldError("in:library and in:public depend on who searches: not for a hold")
            if search.authors == ():
                raise HoldError("The query names an author not known on this division")
            if search.empty:
                raise HoldError("The query asks for nothing (give a word, #tag or from:)")
            hold = await legal_holds.create(
                conn,
                db.new_id(),
                name=(name.strip() or f"Hold on “{query}”")[:NAME_MAX],
                reason=reason,
                query=query,
                match_expression=match_expression(search),
                created_before=search.before,
                created_after=search.after,
                by=actor.name,
                now=now,
            )
            details = {"name": hold.name, "reason": reason, "query": query}
        await _audit(conn, actor, "hold.create", hold.id, details, now)
    return hold


async def release_hold(db: Database, actor: Actor, hold_id: int, *, now: datetime) -> Released:
    """End a hold and erase the copies it alone kept; UnknownHold if not active."""
    async with db.transaction() as conn:
        hold = await legal_holds.get(conn, hold_id)
        if hold is None:
            raise UnknownHold(f"No hold {hold_id}")
        if not await legal_holds.release(conn, hold_id, by=actor.name, now=now):
            raise UnknownHold(f"Hold {hold_id} was released already")
        erased = await legal_holds.erase_unheld(conn, hold_id)
        details = {"name": hold.name, "erased": len(erased), "erased_status_ids": erased[:1000]}
        await _audit(conn, actor, "hold.release", hold_id, details, now)
        released = await legal_holds.get(conn, hold_id)
    assert released is not None
    return Released(released, len(erased))


async def _audit(
    conn: Connection,
    actor: Actor,
    action: str,
    hold_id: int,
    details: dict[str, object],
    now: datetime,
) -> None:
    await audit_row(conn, now, actor, action, f"hold:{hold_id}", details)
