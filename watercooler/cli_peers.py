"""`watercooler peer ...` and `watercooler domain ...`: the peer list and domain blocks, and
`peer sync` to read peers' people directories now rather than at the next turn.

The commands change the database through `watercooler.admin` (each change written to the
audit log, origin 'cli'); a running server notices within a second (it polls the
stored policy version), refuses a removed peer from then on and links an added one. Output
is tab-separated, one row per line, for IT's scripts.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from federation.policy import normalise_domain, valid_domain
from store import directory, peers
from store.db import Database
from watercooler.admin import Actor, AdminError, cli_actions
from watercooler.config import Config
from watercooler.peering import peer_statuses
from watercooler.services import open_database


class PeerCommandError(Exception):
    """Shown to the operator as one line, exit status 2."""


def _now() -> datetime:
    return datetime.now(UTC)


def _time(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _domain(value: str) -> str:
    if not valid_domain(value):
        raise PeerCommandError(f"not a domain name: {value!r}")
    return normalise_domain(value)


def _with_db(config: Config, work: Callable[[Database], Awaitable[int]]) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            return await work(db)
        except AdminError as error:
            raise PeerCommandError(str(error)) from error
        finally:
            await db.close()

    return asyncio.run(main())


def cmd_peer_add(config: Config, args: argparse.Namespace) -> int:
    domain = _domain(args.domain)

    async def work(db: Database) -> int:
        admin = cli_actions(db, config, _now)
        added = await admin.add_peer(Actor.operator(), domain, name=args.name)
        if not added:
            print(f"{domain} is already a peer")
            return 0
        print(f"{domain} added; the server links the instance actors within seconds")
        print(f"(the link needs {domain} to list {config.instance.domain} as a peer too)")
        return 0

    return _with_db(config, work)


def cmd_peer_remove(config: Config, args: argparse.Namespace) -> int:
    domain = _domain(args.domain)

    async def work(db: Database) -> int:
        await cli_actions(db, config, _now).remove_peer(Actor.operator(), domain)
        print(f"{domain} removed; nothing more is sent to, fetched from or accepted from it")
        return 0

    return _with_db(config, work)


def cmd_peer_list(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            listed = await peers.all_peers(conn)
        print("domain\tname\tsource\tadded")
        for peer in listed:
            print(f"{peer.domain}\t{peer.name or '-'}\t{peer.source}\t{_time(peer.added_at)}")
        return 0

    return _with_db(config, work)


def cmd_peer_status(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        print("domain\tlinked\tlast success\tqueued\tdead\tsignature failures\tlast error")
        for status in await peer_statuses(db):
            link = f"{status.link.outgoing or 'no'}/{status.link.incoming or 'no'}"
            print(
                f"{status.peer.domain}\t{link}\t{_time(status.last_success_at)}"
                f"\t{status.queued}\t{status.dead}\t{status.signature_failures}"
                f"\t{status.last_error or '-'}"
            )
        return 0

    return _with_db(config, work)


def cmd_peer_sync(config: Config, args: argparse.Namespace) -> int:
    domain = _domain(args.domain) if args.domain else None

    async def work(db: Database) -> int:
        async with db.transaction() as conn:
            count = await directory.request_sync(conn, _now(), domain=domain, full=args.full)
        if count == 0:
            missing = domain or "no peer"
            raise PeerCommandError(f"{missing}: not in the directory sync yet (is it a peer?)")
        print(f"directory sync of {domain or 'every peer'} asked; a running server starts it")
        print("within a second (see its log)" + (", from the beginning" if args.full else ""))
        return 0

    return _with_db(config, work)


def cmd_domain_block(config: Config, args: argparse.Namespace) -> int:
    domain = _domain(args.domain)

    async def work(db: Database) -> int:
        await cli_actions(db, config, _now).block_domain(
            Actor.operator(), domain, severity=args.severity, reason=args.reason or ""
        )
        print(f"{domain} blocked ({args.severity})")
        return 0

    return _with_db(config, work)


def cmd_domain_unblock(config: Config, args: argparse.Namespace) -> int:
    domain = _domain(args.domain)

    async def work(db: Database) -> int:
        await cli_actions(db, config, _now).unblock_domain(Actor.operator(), domain)
        print(f"{domain} unblocked")
        return 0

    return _with_db(config, work)


def cmd_domain_list(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            blocks = await peers.all_blocks(conn)
            refused = await peers.counters(conn, kind="refused")
        print("domain\tseverity\tsince\treason")
        for block in blocks:
            print(
                f"{block.domain}\t{block.severity}\t{_time(block.created_at)}"
                f"\t{block.reason or '-'}"
            )
        print()
        print("refused domain\trequests\tlast")
        for counter in refused:
            print(f"{counter.domain}\t{counter.count}\t{_time(counter.last_at)}")
        return 0

    return _with_db(config, work)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `peer` and `domain` commands to the `watercooler` parser."""
    peer = commands.add_parser("peer", parents=[common], help="the divisions we federate with")
    peer_sub = peer.add_subparsers(dest="peer_command", required=True, metavar="ACTION")
    add = peer_sub.add_parser("add", parents=[common], help="federate with a division")
    add.add_argument("domain")
    add.add_argument("--name", help="the division's name, as admins see it")
    add.set_defaults(handler=cmd_peer_add)
    remove = peer_sub.add_parser("remove", parents=[common], help="stop federating with it")
    remove.add_argument("domain")
    remove.set_defaults(handler=cmd_peer_remove)
    peer_sub.add_parser("list", parents=[common], help="the peers").set_defaults(
        handler=cmd_peer_list
    )
    peer_sub.add_parser(
        "status", parents=[common], help="link, queue and failures per peer"
    ).set_defaults(handler=cmd_peer_status)
    sync = peer_sub.add_parser(
        "sync", parents=[common], help="read a peer's people directory now, not at the next turn"
    )
    sync.add_argument("domain", nargs="?", help="one peer (default: every peer)")
    sync.add_argument("--full", action="store_true", help="read it again from the beginning")
    sync.set_defaults(handler=cmd_peer_sync)

    domain = commands.add_parser("domain", parents=[common], help="domain blocks")
    domain_sub = domain.add_subparsers(dest="domain_command", required=True, metavar="ACTION")
    block = domain_sub.add_parser("block", parents=[common], help="block a domain")
    block.add_argument("domain")
    block.add_argument(
        "--severity",
        choices=peers.SEVERITIES,
        default="reject",
        help="reject: nothing to or from it (default); silence: out of public timelines",
    )
    block.add_argument("--reason")
    block.set_defaults(handler=cmd_domain_block)
    unblock = domain_sub.add_parser("unblock", parents=[common], help="lift a block")
    unblock.add_argument("domain")
    unblock.set_defaults(handler=cmd_domain_unblock)
    domain_sub.add_parser(
        "list", parents=[common], help="blocks, and refused domains with counts"
    ).set_defaults(handler=cmd_domain_list)
