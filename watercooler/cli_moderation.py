"""`watercooler account ...`: moderate an account from the shell, as the web pages and the
admin API do (`watercooler.moderation`, audit rows with origin 'cli', the operator acting
with admin powers).

    watercooler account show ACCT
    watercooler account warn ACCT --text "..."
    watercooler account limit|unlimit ACCT
    watercooler account suspend|unsuspend ACCT
    watercooler account delete-posts ACCT STATUS_ID... [--text "..."]

ACCT is a local username or `name@domain` for a remote account this division knows. What
must federate (the Reject and Undo of a remote suspension's follows, the Delete of a local
post) is queued in the database, where the running server's delivery worker sends it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from federation.fetch import Fetcher
from federation.uris import Uris
from outbox.publish import Publisher
from outbox.remote import RemoteActors
from store import accounts, moderation, peers
from store.db import Database
from store.records import AccountRecord
from watercooler.admin import AdminError, Missing
from watercooler.config import Config
from watercooler.moderation import ModerationActions, Moderator, handle
from watercooler.services import make_policy, open_database


def _now() -> datetime:
    return datetime.now(UTC)


async def _find(db: Database, acct: str) -> AccountRecord:
    name, _, domain = acct.strip().lstrip("@").partition("@")
    async with db.read() as conn:
        if domain:
            account = await accounts.get_by_username_domain(conn, name, domain)
        else:
            account = await accounts.get_local(conn, name)
    if account is None:
        raise Missing(f"No account {acct!r} is known here.")
    return account


async def _publisher(db: Database, config: Config, http: httpx.AsyncClient) -> Publisher:
    """A publisher that only queues: the deliveries go out from the running server."""
    policy = make_policy(config)
    async with db.read() as conn:
        listed = await peers.all_peers(conn)
    policy.update(peers=[*config.peer_domains, *(p.domain for p in listed)])
    allow_http = config.federation.allow_http
    fetcher = Fetcher(http, policy=policy, allow_http=allow_http)
    actors = RemoteActors(db, fetcher, _now, allow_http=allow_http)
    return Publisher(db, Uris(config.instance.base_url), _now, actors, policy=policy)


def _run(
    config: Config, acct: str, work: Callable[[ModerationActions, AccountRecord], Awaitable[int]]
) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            async with httpx.AsyncClient() as http:
                publisher = await _publisher(db, config, http)
                actions = ModerationActions(db, clock=_now, publisher=publisher)
                return await work(actions, await _find(db, acct))
        finally:
            await db.close()

    return asyncio.run(main())


def _said(changed: bool, account: AccountRecord, done: str) -> int:
    print(f"{handle(account)}\t{done if changed else 'unchanged'}")
    return 0


def cmd_show(config: Config, args: argparse.Namespace) -> int:
    async def work(actions: ModerationActions, account: AccountRecord) -> int:
        async with actions.db.read() as conn:
            state = await moderation.get(conn, account.id)
            warnings = await moderation.warnings_of(conn, account.id)
        flags = [name for name in ("limited", "suspended", "sensitized") if getattr(state, name)]
        print(f"{handle(account)}\t{account.id}\t{','.join(flags) or 'active'}")
        for warning in warnings:
            print(
                f"warning\t{warning.created_at.isoformat(timespec='seconds')}\t{warning.action}\t{warning.text}"
            )
        return 0

    return _run(config, args.acct, work)


def cmd_warn(config: Config, args: argparse.Namespace) -> int:
    async def work(actions: ModerationActions, account: AccountRecord) -> int:
        await actions.warn(Moderator.operator(), account.id, args.text)
        return _said(True, account, "warned")

    return _run(config, args.acct, work)


def _toggle(name: str) -> Callable[[Config, argparse.Namespace], int]:
    async def act(actions: ModerationActions, account: AccountRecord) -> int:
        by = Moderator.operator()
        if name in ("limit", "unlimit"):
            changed = await actions.limit(by, account.id, name == "limit")
        elif name == "suspend":
            changed = await actions.suspend(by, account.id)
        else:
            changed = await actions.unsuspend(by, account.id)
        return _said(changed, account, f"{name}ed")

    def command(config: Config, args: argparse.Namespace) -> int:
        return _run(config, args.acct, act)

    return command


def cmd_delete_posts(config: Config, args: argparse.Namespace) -> int:
    async def work(actions: ModerationActions, account: AccountRecord) -> int:
        deleted = await actions.delete_statuses(
            Moderator.operator(), account.id, args.status_ids, text=args.text or ""
        )
        for status_id in deleted:
            print(f"deleted\t{status_id}")
        if len(deleted) < len(set(args.status_ids)):
            raise AdminError("some of the ids are not posts of this account (or already deleted)")
        return 0

    return _run(config, args.acct, work)


def register(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    common: argparse.ArgumentParser,
) -> None:
    account = commands.add_parser(
        "account", parents=[common], help="moderate an account (local, or name@domain)"
    )
    sub = account.add_subparsers(dest="account_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", parents=[common], help="its moderation state and warnings")
    show.add_argument("acct")
    show.set_defaults(handler=cmd_show)
    warn = sub.add_parser("warn", parents=[common], help="warn a local user (a notification)")
    warn.add_argument("acct")
    warn.add_argument("--text", required=True)
    warn.set_defaults(handler=cmd_warn)
    for name, text in (
        ("limit", "keep their posts to their followers here"),
        ("unlimit", "lift a limit"),
        ("suspend", "hide them here; a local user cannot sign in, a remote one is cut off"),
        ("unsuspend", "lift a suspension"),
    ):
        parser = sub.add_parser(name, parents=[common], help=text)
        parser.add_argument("acct")
        parser.set_defaults(handler=_toggle(name))
    delete = sub.add_parser("delete-posts", parents=[common], help="delete posts of the account")
    delete.add_argument("acct")
    delete.add_argument("status_ids", nargs="+", type=int, metavar="STATUS_ID")
    delete.add_argument("--text", help="tell a local user why")
    delete.set_defaults(handler=cmd_delete_posts)
