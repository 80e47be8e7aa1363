"""`watercooler sso ...`: the single sign-on identities behind local users.

Sign-in never links an IdP identity to an existing user by name (watercooler/sso.py says
why); this is IT's explicit way to do it: a person whose IdP account was made anew (a new
`sub`), or a password user moving to SSO. Each link and unlink is an audit row
('user.link_identity', 'user.unlink_identity', origin 'cli'; watercooler/sso_links.py, which
the admin API and page share). Output is tab-separated.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime

from store import oidc, users
from watercooler.admin import Actor, AdminError
from watercooler.config import Config
from watercooler.services import open_database
from watercooler.sso_links import change_link


def _issuer(config: Config, args: argparse.Namespace) -> str:
    issuer = args.issuer or (config.oidc.issuer if config.oidc else None)
    if not issuer:
        raise AdminError("no [oidc] issuer in the config: name one with --issuer")
    return str(issuer).rstrip("/")


def cmd_sso_list(config: Config, args: argparse.Namespace) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            async with db.read() as conn:
                user_id = None
                if args.name:
                    user = await users.get_by_username(conn, args.name)
                    if user is None:
                        raise AdminError(f"There is no user {args.name!r}.")
                    user_id = user.id
                listings = await oidc.list_identities(conn, user_id)
        finally:
            await db.close()
        for item in listings:
            last = (
                item.last_sign_in_at.isoformat(timespec="seconds") if item.last_sign_in_at else "-"
            )
            print(f"{item.username}\t{item.issuer}\t{item.subject}\t{last}")
        return 0

    return asyncio.run(main())


def _change(config: Config, args: argparse.Namespace, link: bool) -> int:
    issuer = _issuer(config, args)

    async def main() -> int:
        db = await open_database(config)
        try:
            async with db.read() as conn:
                user = await users.get_by_username(conn, args.name)
            if user is None:
                raise AdminError(f"There is no user {args.name!r}.")
            await change_link(
                db,
                user=user,
                issuer=issuer,
                subject=args.subject,
                link=link,
                actor=Actor.operator(),
                now=datetime.now(UTC),
            )
        finally:
            await db.close()
        done = "now signs in as" if link else "no longer signs in as"
        print(f"{args.subject} at {issuer} {done} {args.name}")
        return 0

    return asyncio.run(main())


def cmd_sso_link(config: Config, args: argparse.Namespace) -> int:
    return _change(config, args, link=True)


def cmd_sso_unlink(config: Config, args: argparse.Namespace) -> int:
    return _change(config, args, link=False)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `sso` commands to the `watercooler` parser."""
    sso = commands.add_parser("sso", parents=[common], help="single sign-on identities")
    sub = sso.add_subparsers(dest="sso_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", parents=[common], help="identities and their users")
    listing.add_argument("name", nargs="?", help="one user's")
    listing.set_defaults(handler=cmd_sso_list)
    for action, handler, text in (
        ("link", cmd_sso_link, "let an IdP identity (its sub) sign in as a user"),
        ("unlink", cmd_sso_unlink, "stop an IdP identity signing in as a user"),
    ):
        parser = sub.add_parser(action, parents=[common], help=text)
        parser.add_argument("name", help="the local username")
        parser.add_argument("subject", help="the identity's `sub` at the IdP")
        parser.add_argument("--issuer", help="default: the config's oidc.issuer")
        parser.set_defaults(handler=handler)
