"""`watercooler report ...`: the report queue from the shell (list, show, assign, unassign,
resolve, reopen, note), for IT's scripts and for working the queue without the web pages.

Every change goes through watercooler.reports, so it is written to the audit log with origin
'cli' and the operating-system user as the actor. Output is tab-separated, one row per line.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from federation.uris import Uris
from store import accounts, users
from store import reports as stored_reports
from store.db import Database
from store.records import AccountRecord
from store.reports import ReportRecord
from watercooler.admin import Actor, AdminError
from watercooler.config import Config
from watercooler.reports import ReportError, Reports
from watercooler.services import open_database


class ReportCommandError(AdminError):
    """Shown to the operator as one line, exit status 2 (watercooler.cli catches AdminError)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _handle(account: AccountRecord | None) -> str:
    if account is None:
        return "-"
    return account.username if account.is_local else f"{account.username}@{account.domain}"


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _with_reports(config: Config, work: Callable[[Database, Reports], Awaitable[int]]) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            reports = Reports(db, uris=Uris(config.instance.base_url), clock=_now)
            return await work(db, reports)
        except ReportError as error:
            raise ReportCommandError(str(error)) from error
        finally:
            await db.close()

    return asyncio.run(main())


def _report_id(value: str) -> int:
    if not value.isdigit() or int(value) >= 2**63:
        raise ReportCommandError(f"not a report id: {value!r}")
    return int(value)


async def _row(db: Database, report: ReportRecord) -> list[str]:
    async with db.read() as conn:
        named = await accounts.get_many(
            conn,
            [
                i
                for i in (report.account_id, report.target_account_id, report.assigned_account_id)
                if i is not None
            ],
        )
        status_ids = await stored_reports.status_ids(conn, report.id)
    reporter = _handle(named.get(report.account_id or 0))
    if report.origin_domain:
        reporter = f"{report.origin_domain} (forwarded)"
    return [
        str(report.id),
        report.created_at.isoformat(timespec="seconds"),
        "resolved" if report.resolved else "open",
        reporter,
        _handle(named.get(report.target_account_id)),
        report.category,
        str(len(status_ids)),
        _handle(named.get(report.assigned_account_id or 0)),
        _one_line(report.comment),
    ]


HEADER = ["id", "created", "state", "reporter", "target", "category", "statuses", "assigned"]


def cmd_report_list(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database, _: Reports) -> int:
        async with db.read() as conn:
            found = await stored_reports.page(
                conn, resolved=None if args.all else args.resolved, limit=args.limit
            )
        print("\t".join([*HEADER, "comment"]))
        for report in found:
            print("\t".join(await _row(db, report)))
        return 0

    return _with_reports(config, work)


def cmd_report_show(config: Config, args: argparse.Namespace) -> int:
    report_id = _report_id(args.id)

    async def work(db: Database, _: Reports) -> int:
        async with db.read() as conn:
            report = await stored_reports.get(conn, report_id)
            if report is None:
                raise ReportCommandError(f"no report {report_id}")
            notes = await stored_reports.notes(conn, report_id)
            status_ids = await stored_reports.status_ids(conn, report_id)
        row = await _row(db, report)
        for name, value in zip([*HEADER, "comment"], row, strict=True):
            print(f"{name}\t{value}")
        print(f"status_ids\t{' '.join(str(i) for i in status_ids) or '-'}")
        for note in notes:
            when = note.created_at.isoformat(timespec="seconds")
            print(f"note\t{when}\t{note.author_name}\t{_one_line(note.content, 500)}")
        return 0

    return _with_reports(config, work)


def _action(
    verb: str, act: Callable[[Reports, Database, argparse.Namespace, int], Awaitable[object]]
) -> Callable[[Config, argparse.Namespace], int]:
    def command(config: Config, args: argparse.Namespace) -> int:
        report_id = _report_id(args.id)

        async def work(db: Database, reports: Reports) -> int:
            await act(reports, db, args, report_id)
            print(f"report {report_id} {verb}")
            return 0

        return _with_reports(config, work)

    return command


async def _assign(reports: Reports, db: Database, args: argparse.Namespace, report_id: int) -> None:
    async with db.read() as conn:
        user = await users.get_by_username(conn, args.username)
    if user is None:
        raise ReportCommandError(f"no user {args.username!r}")
    await reports.assign(Actor.operator(), report_id, user.account_id)


cmd_report_assign = _action("assigned", _assign)
cmd_report_unassign = _action(
    "unassigned", lambda reports, db, args, i: reports.assign(Actor.operator(), i, None)
)
cmd_report_resolve = _action(
    "resolved", lambda reports, db, args, i: reports.resolve(Actor.operator(), i)
)
cmd_report_reopen = _action(
    "reopened", lambda reports, db, args, i: reports.reopen(Actor.operator(), i)
)
cmd_report_note = _action(
    "noted", lambda reports, db, args, i: reports.note(Actor.operator(), i, args.text)
)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `report` commands to the `watercooler` parser."""
    report = commands.add_parser("report", parents=[common], help="the report queue")
    sub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", parents=[common], help="open reports (newest first)")
    listing.add_argument("--resolved", action="store_true", help="resolved ones instead")
    listing.add_argument("--all", action="store_true", help="open and resolved")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(handler=cmd_report_list)
    show = sub.add_parser("show", parents=[common], help="one report with its notes")
    show.add_argument("id")
    show.set_defaults(handler=cmd_report_show)
    assign = sub.add_parser("assign", parents=[common], help="assign to a moderator")
    assign.add_argument("id")
    assign.add_argument("username")
    assign.set_defaults(handler=cmd_report_assign)
    for name, handler, text in (
        ("unassign", cmd_report_unassign, "assign to nobody"),
        ("resolve", cmd_report_resolve, "mark resolved"),
        ("reopen", cmd_report_reopen, "open again"),
    ):
        action = sub.add_parser(name, parents=[common], help=text)
        action.add_argument("id")
        action.set_defaults(handler=handler)
    note = sub.add_parser("note", parents=[common], help="add a note")
    note.add_argument("id")
    note.add_argument("text")
    note.set_defaults(handler=cmd_report_note)
