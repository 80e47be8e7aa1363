"""`watercooler export archive USER --out FILE.zip` (a person's archive, as they would
download it themselves, e.g. when they leave) and `watercooler ediscovery ...` (every status
matching a query and dates, for Legal). Both are written to the audit log, origin 'cli'
('archive.export', 'ediscovery.export'); the eDiscovery row is written before the export
starts, the archive's once the file is complete.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from federation.uris import Uris
from store import accounts
from watercooler import ediscovery
from watercooler.admin import Actor, record
from watercooler.archive import write_archive
from watercooler.config import Config
from watercooler.ediscovery import EdiscoveryError
from watercooler.services import open_database, start_services


class ExportCommandError(Exception):
    """Shown to the operator as one line, exit status 2."""


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_export_archive(config: Config, args: argparse.Namespace) -> int:
    out = Path(args.out)
    partial = out.with_name(out.name + ".part")

    async def main() -> int:
        svc = await start_services(config)
        try:
            async with svc.db.read() as conn:
                account = await accounts.get_local(conn, args.user)
            if account is None or account.actor_type == "Application":
                raise ExportCommandError(f"there is no local user {args.user!r}")
            with partial.open("wb") as file:
                summary = await write_archive(svc, account, file)
            details = {
                "statuses": summary.statuses,
                "media_files": summary.media_files,
                "file": str(out),
            }
            await record(
                svc.db, _now, Actor.operator(), "archive.export", account.username, details
            )
            os.replace(partial, out)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            await svc.aclose()
        print(f"wrote {out}: {summary.statuses} post(s), {summary.media_files} media file(s)")
        return 0

    try:
        return asyncio.run(main())
    except OSError as error:
        raise ExportCommandError(f"cannot write {out}: {error}") from None


def cmd_ediscovery(config: Config, args: argparse.Namespace) -> int:
    async def main(out: IO[bytes]) -> int:
        db = await open_database(config)
        try:
            started = await ediscovery.start_export(
                db,
                clock=_now,
                actor=Actor.operator(),
                uris=Uris(config.instance.base_url),
                local_domain=config.instance.domain,
                query=args.query,
                since=ediscovery.parse_moment(args.since),
                until=ediscovery.parse_moment(args.until, end=True),
                fmt=args.format,
            )
            async for chunk in started.chunks:
                out.write(chunk)
            out.flush()
        finally:
            await db.close()
        print(f"exported {started.count} status(es)", file=sys.stderr)
        return 0

    try:
        if args.out == "-":
            return asyncio.run(main(sys.stdout.buffer))
        with Path(args.out).open("wb") as file:
            return asyncio.run(main(file))
    except EdiscoveryError as error:
        raise ExportCommandError(str(error)) from None
    except OSError as error:
        raise ExportCommandError(f"cannot write {args.out}: {error}") from None


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `export` and `ediscovery` commands to the `watercooler` parser."""
    export = commands.add_parser("export", parents=[common], help="a person's archive")
    export_sub = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    archive = export_sub.add_parser(
        "archive", parents=[common], help="a user's archive as a zip (audited)"
    )
    archive.add_argument("user", help="the local user's name")
    archive.add_argument("--out", required=True, help="the zip file to write")
    archive.set_defaults(handler=cmd_export_archive)

    found = commands.add_parser(
        "ediscovery",
        parents=[common],
        help="every status matching a query and dates, as JSON lines or CSV (audited)",
    )
    found.add_argument("--query", default="", help="the search syntax; empty: every status")
    found.add_argument("--since", help="first day (2026-01-31) or time included")
    found.add_argument("--until", help="last day included, or the time it ends")
    found.add_argument("--format", choices=ediscovery.FORMATS, default="jsonl")
    found.add_argument("--out", required=True, help="the file to write ('-': standard output)")
    found.set_defaults(handler=cmd_ediscovery)
