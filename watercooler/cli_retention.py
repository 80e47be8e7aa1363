"""`watercooler retention ...` and `watercooler hold ...`: the division's retention policy and
its legal holds, for IT and Legal at the console.

    watercooler retention show
    watercooler retention set --days N [--visibility direct,private]
    watercooler retention off
    watercooler retention run                  one run now (a running server also runs hourly)
    watercooler hold add (--account ACCT | --query Q) --reason R [--name NAME]
    watercooler hold list [--all]
    watercooler hold release ID

Every change goes through watercooler.retention and watercooler.holds, the code the admin
page and API use, and is audited (origin 'cli', the operating-system user). Output is
tab-separated for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from store import accounts, legal_holds, retention
from store.db import Database
from watercooler.admin import Actor, AdminError
from watercooler.config import Config
from watercooler.holds import HoldError, create_hold, handle, release_hold
from watercooler.retention import RetentionError, policy_details, set_policy, turn_off
from watercooler.services import open_database, start_services


class RetentionCommandError(AdminError):
    """Shown to the operator as one line, exit status 2 (`watercooler.cli` shows AdminError)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _time(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _with_db(config: Config, work: Callable[[Database], Awaitable[int]]) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            return await work(db)
        except (RetentionError, HoldError) as error:
            raise RetentionCommandError(str(error)) from error
        finally:
            await db.close()

    return asyncio.run(main())


def _show(details: dict[str, object]) -> str:
    if not details["enabled"]:
        return "retention is off"
    visibilities = ",".join(details["visibilities"])  # type: ignore[arg-type]
    return f"retention on: posts older than {details['days']} days, of {visibilities}"


def cmd_retention_show(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            policy = await retention.get_policy(conn)
            runs = await retention.recent_runs(conn, 5)
        print(_show(policy_details(policy)))
        if runs:
            print("run\tstarted\tcutoff\tdeleted\tpurged remote\tskipped held\tfinished")
        for run in runs:
            print(
                f"{run.id}\t{_time(run.started_at)}\t{_time(run.cutoff)}\t{run.deleted}"
                f"\t{run.purged}\t{run.held}\t{_time(run.finished_at)}"
            )
        return 0

    return _with_db(config, work)


def cmd_retention_set(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        policy = await set_policy(db, Actor.operator(), args.days, args.visibility or "", _now())
        print(_show(policy_details(policy)))
        print("a running server applies it at its next hourly run (`retention run`: now)")
        return 0

    return _with_db(config, work)


def cmd_retention_off(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        changed = await turn_off(db, Actor.operator(), _now())
        print("retention is off" if changed else "retention was already off")
        return 0

    return _with_db(config, work)


def cmd_retention_run(config: Config, args: argparse.Namespace) -> int:
    async def main() -> int:
        svc = await start_services(config)
        try:
            result = await svc.workers.retention.run(actor=Actor.operator())
        finally:
            await svc.aclose()
        if result.run_id is None:
            raise RetentionCommandError("retention is off: `watercooler retention set` first")
        print(
            f"run {result.run_id}: deleted {result.deleted}, purged {result.purged} remote"
            f" copies, skipped {result.held} held"
        )
        if result.more:
            print("more is left: the next run goes on (run again, or let the server)")
        print("the Deletes are queued; the server (or `watercooler worker`) delivers them")
        return 0

    return asyncio.run(main())


def cmd_hold_add(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        hold = await create_hold(
            db,
            Actor.operator(),
            local_domain=config.instance.domain,
            now=_now(),
            reason=args.reason,
            account=args.account,
            query=args.query,
            name=args.name or "",
        )
        print(f"hold {hold.id} made: {hold.name}")
        return 0

    return _with_db(config, work)


def cmd_hold_list(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            holds = await legal_holds.list_holds(conn, active_only=not args.all)
            counts = await legal_holds.preserved_counts(conn)
            owners = await accounts.get_many(
                conn, [h.account_id for h in holds if h.account_id is not None]
            )
        print("id\tname\ton\treason\tpreserved\tcreated\tby\treleased")
        for hold in holds:
            owner = owners.get(hold.account_id) if hold.account_id is not None else None
            covers = f"account {handle(owner)}" if owner else f"query {hold.query}"
            print(
                f"{hold.id}\t{hold.name}\t{covers}\t{hold.reason}\t{counts.get(hold.id, 0)}"
                f"\t{_time(hold.created_at)}\t{hold.created_by}\t{_time(hold.released_at)}"
            )
        return 0

    return _with_db(config, work)


def cmd_hold_release(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        released = await release_hold(db, Actor.operator(), args.id, now=_now())
        print(f"hold {args.id} released; {released.erased} preserved copies erased")
        return 0

    return _with_db(config, work)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `retention` and `hold` commands to the `watercooler` parser."""
    kept = commands.add_parser("retention", parents=[common], help="the retention policy")
    kept_sub = kept.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    kept_sub.add_parser("show", parents=[common], help="the policy and recent runs").set_defaults(
        handler=cmd_retention_show
    )
    set_ = kept_sub.add_parser("set", parents=[common], help="delete posts older than N days")
    set_.add_argument("--days", type=int, required=True)
    set_.add_argument(
        "--visibility",
        help="only these, comma-separated: public,unlisted,org,private,direct (default: all)",
    )
    set_.set_defaults(handler=cmd_retention_set)
    kept_sub.add_parser("off", parents=[common], help="stop deleting").set_defaults(
        handler=cmd_retention_off
    )
    kept_sub.add_parser("run", parents=[common], help="run the policy once, now").set_defaults(
        handler=cmd_retention_run
    )

    hold = commands.add_parser("hold", parents=[common], help="legal holds")
    hold_sub = hold.add_subparsers(dest="hold_command", required=True, metavar="ACTION")
    add = hold_sub.add_parser("add", parents=[common], help="hold an account's or a query's posts")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--account", help="name, name@domain or actor URI")
    target.add_argument("--query", help="a search query (#tag, words, from:, has:, before:)")
    add.add_argument("--reason", required=True, help="the matter or case reference")
    add.add_argument("--name")
    add.set_defaults(handler=cmd_hold_add)
    listed = hold_sub.add_parser("list", parents=[common], help="active holds")
    listed.add_argument("--all", action="store_true", help="released ones too")
    listed.set_defaults(handler=cmd_hold_list)
    release = hold_sub.add_parser("release", parents=[common], help="end a hold")
    release.add_argument("id", type=int)
    release.set_defaults(handler=cmd_hold_release)
