"""`watercooler audit verify` and `watercooler audit export`: check the audit log's hash chain
and take it out as JSON lines.

`verify` reads the database file (or, with `--file`, an export) and walks the chain from the
first row, a page at a time: exit 0 and the head hash when it is intact, exit 1 naming the
first bad row and why. The head it prints is what IT notes somewhere else (a ticket, a
password safe, a mail to itself): cutting rows off the end leaves a chain that is intact in
itself, and only `--expect-head` with a head noted earlier shows it. Verifying writes nothing.

`export` writes the rows (filtered by date, action prefix, text) to stdout or a file, one
canonical JSON object per line, and is itself a row of the log ('audit.export', origin
'cli').
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from store.audit_verify import ChainCheck, Verdict, parse_expected_head, verify
from watercooler.audit_events import operator_name
from watercooler.audit_export import Filters, export_lines, filters_from, record_export
from watercooler.config import load_config
from watercooler.services import open_database


class AuditCommandError(Exception):
    """Shown to the operator as one line, exit status 2."""


def _report(verdict: Verdict, *, source: str = "") -> int:
    """Print the verdict: one summary line, the head, and each problem; the exit status."""
    if verdict.intact:
        print(f"{verdict.count} entries, chain intact, head {verdict.head}")
        if verdict.head_id:
            print(f"(the head is row {verdict.head_id}{source}; note it, and check later with")
            print(f" --expect-head {verdict.head_id}:{verdict.head})")
        if verdict.expected_head_id is not None:
            since = verdict.head_id - verdict.expected_head_id
            print(f"the noted head is row {verdict.expected_head_id}; {since} entries since")
        return 0
    print(f"audit log NOT intact{source}: {verdict.count} entries checked before the first problem")
    for problem in verdict.problems:
        print(f"  {problem}")
    return 1


def _verify_file(path: str, expect_head: str | None) -> int:
    """An export: every row's hash, and the links between rows (an export filtered by
    action or text has gaps, which show as missing rows)."""
    check = ChainCheck(expect_head=expect_head, trust_first=True)
    try:
        with open(path, "rb") as file:
            for number, raw in enumerate(file, start=1):
                if raw.strip() and check.check_line(raw, number) is not None:
                    break
    except OSError as error:
        raise AuditCommandError(f"{path}: {error.strerror}") from None
    verdict = check.verdict()
    if check.first_id not in (None, 1) and verdict.intact:
        print(
            f"(the file starts at row {check.first_id}: its link to the rows before is not checked)"
        )
    return _report(verdict, source=f" in {path}")


def cmd_audit_verify(path: Path, args: argparse.Namespace) -> int:
    if args.expect_head:
        try:
            parse_expected_head(args.expect_head)
        except ValueError as error:
            raise AuditCommandError(f"--expect-head: {error}") from None
    if args.file:
        return _verify_file(args.file, args.expect_head)
    config = load_config(path)
    if not Path(config.database.path).exists():
        raise AuditCommandError(f"no database at {config.database.path}")

    async def main() -> int:
        db = await open_database(config)
        try:
            async with db.read() as conn:
                verdict = await verify(conn, expect_head=args.expect_head)
        finally:
            await db.close()
        return _report(verdict)

    return asyncio.run(main())


def _filters(args: argparse.Namespace) -> Filters:
    try:
        return filters_from(
            action=args.action, actor=args.actor, text=args.text, since=args.since, until=args.until
        )
    except ValueError as error:
        raise AuditCommandError(str(error)) from None


def cmd_audit_export(path: Path, args: argparse.Namespace) -> int:
    filters = _filters(args)
    config = load_config(path)

    async def write(out: TextIO) -> int:
        db = await open_database(config)
        try:
            entry = await record_export(
                db,
                datetime.now(UTC),
                actor_account_id=None,
                actor_name=operator_name(),
                origin="cli",
                filters=filters,
                to=f"file {args.out}" if args.out else "stdout",
            )
            count = 0
            async for text in export_lines(db, filters, up_to_id=entry.id):
                out.write(text)
                count += 1
        finally:
            await db.close()
        print(
            f"exported {count} entries (up to row {entry.id}, head {entry.hash})",
            file=sys.stderr,
        )
        return 0

    if not args.out:
        return asyncio.run(write(sys.stdout))
    try:
        # owner-only: the log names people, addresses and what they did
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise AuditCommandError(f"cannot write {args.out}: {error.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
        return asyncio.run(write(file))


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    audit = commands.add_parser("audit", parents=[common], help="the audit log")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = sub.add_parser(
        "verify", parents=[common], help="check the hash chain; print the head to note"
    )
    check.add_argument(
        "--expect-head",
        metavar="HASH",
        help="a head noted earlier (HASH or ROW:HASH): fails if it is no longer in the chain",
    )
    check.add_argument("--file", help="verify a JSON lines export instead of the database")
    check.set_defaults(handler=cmd_audit_verify, needs_config=False)
    export = sub.add_parser("export", parents=[common], help="the log as JSON lines")
    export.add_argument("--since", help="from this date (YYYY-MM-DD, UTC) or date and time")
    export.add_argument("--until", help="to the end of this date, or before this date and time")
    export.add_argument("--action", help="an action, or a prefix ending in a dot ('user.')")
    export.add_argument("--actor", help="who acted (a username, or the CLI's operator)")
    export.add_argument("--text", help="a piece of the target, actor, action or details")
    export.add_argument("--out", help="write to this file (created owner-only) not stdout")
    export.set_defaults(handler=cmd_audit_export, needs_config=False)
