"""`watercooler user alias ...` and `watercooler user move ...`: IT moves an employee's account
between divisions, as the employee would on the Moving settings page (`watercooler.moves`).

On the NEW division: `user alias NEW --add @old@sales.example` (or the old actor's URI). On
the OLD division, afterwards: `user move OLD --to @new@eng.example`. Both are written to the
audit log (origin 'cli'). The commands start the division's services without serving HTTP:
they fetch the other division's actor themselves, and queue the `Move` and `Update`s for the
running server's delivery worker (and the followers for its move worker).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from store import accounts
from store.records import AccountRecord
from watercooler.accounts import AccountError
from watercooler.admin import Actor
from watercooler.config import Config
from watercooler.moves import MoveError, add_alias, handle_of, move_account, moving, remove_alias
from watercooler.services import Services, start_services


def _with_services(config: Config, work: Callable[[Services], Awaitable[int]]) -> int:
    async def main() -> int:
        svc = await start_services(config)
        try:
            return await work(svc)
        except MoveError as error:
            raise AccountError(str(error)) from error
        finally:
            await svc.aclose()

    return asyncio.run(main())


async def _user(svc: Services, name: str) -> AccountRecord:
    async with svc.db.read() as conn:
        account = await accounts.get_local(conn, name)
    if account is None or account.actor_type != "Person":
        raise AccountError(f"no user {name!r}")
    return account


def cmd_user_alias(config: Config, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> int:
        account = await _user(svc, args.name)
        for reference in args.add:
            old = await add_alias(svc, account, reference, Actor.operator())
            print(f"{args.name} is also known as {old.uri}")
        for uri in args.remove:
            if await remove_alias(svc, account, uri, Actor.operator()):
                print(f"{uri} removed from the aliases of {args.name}")
            else:
                print(f"{uri} was not an alias of {args.name}")
        if not args.add and not args.remove:
            for uri in (await moving(svc, account)).aliases:
                print(uri)
        return 0

    return _with_services(config, work)


def cmd_user_move(config: Config, args: argparse.Namespace) -> int:
    async def work(svc: Services) -> int:
        account = await _user(svc, args.name)
        moved = await move_account(svc, account, args.to, Actor.operator())
        handle = handle_of(moved.target, config.instance.domain)
        print(f"{args.name} moved to {handle} ({moved.target.uri})")
        print(
            f"{moved.followers_queued} local follower(s) queued to follow it; remote followers"
            " follow it when the Move reaches their division (a running server sends it)"
        )
        return 0

    return _with_services(config, work)


def register(
    user_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add `alias` and `move` to the `watercooler user` commands."""
    alias = user_commands.add_parser(
        "alias", parents=[common], help="accounts a user is also known as (before a move here)"
    )
    alias.add_argument("name", help="the user on this division (the new account)")
    alias.add_argument(
        "--add", action="append", default=[], metavar="ACCOUNT", help="@old@division or its URI"
    )
    alias.add_argument("--remove", action="append", default=[], metavar="URI")
    alias.set_defaults(handler=cmd_user_alias)
    move = user_commands.add_parser(
        "move", parents=[common], help="move a user to their account on another division"
    )
    move.add_argument("name", help="the user on this division (the old account)")
    move.add_argument("--to", required=True, metavar="ACCOUNT", help="@new@division or its URI")
    move.set_defaults(handler=cmd_user_move)
