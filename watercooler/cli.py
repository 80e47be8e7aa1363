"""The `watercooler` command: set up, run and administer an instance.

Each command is a small function `(config or path, args) -> int`. Errors go to stderr as one
line with a non-zero exit; results that scripts consume (a token) go alone to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from federation.uris import Uris
from store import deliveries, inbox_items, roles, users
from store.db import Database
from store.errors import NotFound
from watercooler.accounts import AccountError, create_token, ensure_instance_actor, parse_scopes
from watercooler.admin import Actor, AdminError, cli_actions
from watercooler.cli_audit import AuditCommandError
from watercooler.cli_audit import register as register_audit_commands
from watercooler.cli_exports import ExportCommandError
from watercooler.cli_exports import register as register_export_commands
from watercooler.cli_moderation import register as register_moderation_commands
from watercooler.cli_moves import register as register_move_commands
from watercooler.cli_org import OrgCommandError
from watercooler.cli_org import register as register_org_commands
from watercooler.cli_peers import PeerCommandError
from watercooler.cli_peers import register as register_peer_commands
from watercooler.cli_reports import register as register_report_commands
from watercooler.cli_retention import register as register_retention_commands
from watercooler.cli_sso import register as register_sso_commands
from watercooler.config import Config, ConfigError, config_path, load_config, render_config
from watercooler.services import open_database

ADMIN_NAME = "admin"


class CommandError(Exception):
    """A command cannot do what was asked; the message is for the operator."""


def _now() -> datetime:
    return datetime.now(UTC)


def _run_with_db(config: Config, work: Callable[[Database], Awaitable[int]]) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


def cmd_init(path: Path, args: argparse.Namespace) -> int:
    if path.exists():
        raise CommandError(f"{path} exists; edit it, or remove it to start again")
    domain = args.domain.lower()
    local = domain.split(":")[0] in ("localhost", "127.0.0.1")
    allow_http = args.allow_http or local
    base_url = args.base_url or f"{'http' if local else 'https'}://{domain}"
    port = args.port if args.port is not None else int(domain.partition(":")[2] or 8080)
    text = render_config(
        domain=domain,
        base_url=base_url,
        name=args.name,
        host=args.host,
        port=port,
        allow_http=allow_http,
        data_dir=args.data_dir,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError:
        path.unlink()
        raise

    async def setup(db: Database) -> int:
        await ensure_instance_actor(db, Uris(config.instance.base_url), domain, _now())
        return 0

    _run_with_db(config, setup)
    print(f"wrote {path}; database at {config.database.path}")
    return 0


async def ensure_admin(db: Database, config: Config) -> str | None:
    """Create the first admin if there is none; returns its one-time password."""
    async with db.read() as conn:
        if await users.has_admin(conn):
            return None
    created = await cli_actions(db, config, _now).create_user(
        Actor.operator(), ADMIN_NAME, admin=True
    )
    return created.generated_password


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    import uvicorn

    from watercooler.app import create_app

    certfile, keyfile = _tls_files(config, args)
    if args.ensure_admin:

        async def bootstrap(db: Database) -> int:
            await ensure_instance_actor(
                db, Uris(config.instance.base_url), config.instance.domain, _now()
            )
            password = await ensure_admin(db, config)
            if password:
                print(
                    f"Created admin account '{ADMIN_NAME}'. One-time password: {password}\n"
                    "(you will be asked to change it at first sign-in)",
                    flush=True,
                )
            return 0

        _run_with_db(config, bootstrap)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    scheme = "https" if certfile else "http"
    print(f"Watercooler {config.instance.domain} serving on {scheme}://{host}:{port}", flush=True)
    uvicorn.run(
        create_app(config),
        host=host,
        port=port,
        log_level=args.log_level.lower(),
        proxy_headers=False,
        server_header=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    return 0


def _tls_files(config: Config, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The certificate chain and key to serve https with: --ssl-* over [server] tls_*. Both
    are loaded here so that a wrong file, a key that does not match, or an encrypted key
    stops start-up with one line instead of a traceback from inside uvicorn."""
    certfile = args.ssl_certfile or config.server.tls_certificate
    keyfile = args.ssl_keyfile or config.server.tls_key
    if certfile is None and keyfile is None:
        return None, None
    if certfile is None or keyfile is None:
        raise CommandError("https needs both --ssl-certfile and --ssl-keyfile")
    try:
        # an empty password: an encrypted key fails here instead of prompting on the terminal
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile, password="")
    except (OSError, ssl.SSLError) as error:
        raise CommandError(
            f"cannot serve https with {certfile} and {keyfile}: {error}"
            " (both PEM; the key unencrypted and the certificate's)"
        ) from None
    return certfile, keyfile


def _read_password_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("no password on standard input")
    return password


def cmd_user_add(config: Config, args: argparse.Namespace) -> int:
    password = _read_password_stdin() if args.password_stdin else None

    async def work(db: Database) -> int:
        created = await cli_actions(db, config, _now).create_user(
            Actor.operator(), args.name, password=password, admin=args.admin, email=args.email
        )
        role = "admin" if created.user.admin else "user"
        print(f"created {role} {created.account.username} ({created.account.uri})")
        if created.generated_password:
            print(f"one-time password: {created.generated_password}")
        return 0

    return _run_with_db(config, work)


def cmd_user_list(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            found = await users.list_users(conn)
        for user in found:
            flags = ",".join(
                f for f, on in (("admin", user.admin), ("disabled", user.disabled)) if on
            )
            created = user.created_at.strftime("%Y-%m-%d")
            print(f"{user.username}\t{flags or '-'}\t{created}")
        return 0

    return _run_with_db(config, work)


def cmd_user_disable(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        await cli_actions(db, config, _now).disable_user(Actor.operator(), args.name)
        print(f"disabled {args.name}; its tokens are revoked and its actor answers 410")
        return 0

    return _run_with_db(config, work)


def cmd_user_enable(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        await cli_actions(db, config, _now).enable_user(Actor.operator(), args.name)
        print(f"enabled {args.name}; they sign in again with their password")
        return 0

    return _run_with_db(config, work)


def cmd_user_role(config: Config, args: argparse.Namespace) -> int:
    """`user role NAME --add ROLE` / `--remove ROLE`; without either, the user's roles."""

    async def work(db: Database) -> int:
        actions = cli_actions(db, config, _now)
        for role, granted in [(r, True) for r in args.add] + [(r, False) for r in args.remove]:
            changed = await actions.set_role(Actor.operator(), args.name, role, granted)
            if changed:
                print(f"{'granted' if granted else 'took away'} {role}: {args.name}")
            else:
                print(f"{args.name} {'already has' if granted else 'does not have'} {role}")
        async with db.read() as conn:
            user = await users.get_by_username(conn, args.name)
            held = await roles.roles_of(conn, user.id) if user else []
        print(f"{args.name}: {', '.join(held) or 'no roles'}")
        return 0

    return _run_with_db(config, work)


def cmd_token_create(config: Config, args: argparse.Namespace) -> int:
    scopes = parse_scopes(args.scopes)

    async def work(db: Database) -> int:
        operator = Actor.operator().name
        print(await create_token(db, args.name, scopes, _now(), operator=operator))
        return 0

    return _run_with_db(config, work)


def cmd_migrate(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        print("schema is up to date")
        return 0

    return _run_with_db(config, work)


def cmd_worker(config: Config, args: argparse.Namespace) -> int:
    """Run the inbox and delivery workers without the HTTP server (a separate process)."""
    from watercooler.services import start_services

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    async def main() -> int:
        services = await start_services(config)
        try:
            if args.once:
                total = 0
                while (handled := await services.workers.run_once()) > 0:
                    total += handled
                print(f"handled {total} job(s)")
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await services.workers.run_forever(stop)
            return 0
        finally:
            await services.aclose()

    return asyncio.run(main())


def cmd_queue_status(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        async with db.read() as conn:
            hosts = await deliveries.summary_by_host(conn)
            inbound = await inbox_items.counts(conn)
        # gone: the inbox answered 404/410, so that delivery was given up at once.
        print("host\tpending\tretrying\tdead\tsent\tgone\tlast success\tlast error")
        for host in hosts:
            success = host.last_success_at.isoformat() if host.last_success_at else "-"
            print(
                f"{host.host}\t{host.pending}\t{host.retrying}\t{host.dead}\t{host.sent}"
                f"\t{host.gone}\t{success}\t{host.last_error or '-'}"
            )
        pending = inbound.get("pending", 0)
        print(
            f"inbound: {pending} pending, {inbound.get('done', 0)} done, "
            f"{inbound.get('failed', 0)} failed"
        )
        return 0

    return _run_with_db(config, work)


def cmd_queue_retry(config: Config, args: argparse.Namespace) -> int:
    async def work(db: Database) -> int:
        admin = cli_actions(db, config, _now)
        count = await admin.retry_dead(Actor.operator(), host=args.host)
        print(f"{count} dead delivery(ies) queued again")
        return 0

    return _run_with_db(config, work)


def cmd_demo(path: Path, args: argparse.Namespace) -> int:
    from watercooler.demo import run_demo

    return run_demo(Path(args.dir), args.base_port)


def cmd_config_check(config: Config, args: argparse.Namespace) -> int:
    for section, values in asdict(config).items():
        print(f"{section} = {values}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    # --config is accepted before and after the command; SUPPRESS keeps a sub-parser's
    # absent option from overwriting the value given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="path of the TOML config")
    parser = argparse.ArgumentParser(prog="watercooler", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", parents=[common], help="write a config and a database")
    init.add_argument("--domain", default="localhost:8080")
    init.add_argument("--base-url")
    init.add_argument("--name", default="Watercooler")
    init.add_argument("--host", default="127.0.0.1")
    init.add_argument("--port", type=int)
    init.add_argument("--allow-http", action="store_true")
    init.add_argument("--data-dir", default="data")
    init.set_defaults(handler=cmd_init, needs_config=False)

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument("--ensure-admin", action="store_true", help="create an admin if none exists")
    serve.add_argument(
        "--ssl-certfile", help="serve https: PEM certificate chain (else [server] tls_certificate)"
    )
    serve.add_argument("--ssl-keyfile", help="its unencrypted PEM key (else [server] tls_key)")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", parents=[common], help="apply schema migrations")
    migrate.set_defaults(handler=cmd_migrate)

    config_cmd = commands.add_parser("config", parents=[common], help="configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", parents=[common], help="print the effective config")
    check.set_defaults(handler=cmd_config_check)

    user = commands.add_parser("user", parents=[common], help="local users")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_sub.add_parser("add", parents=[common], help="create a user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--email")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=cmd_user_add)
    listing = user_sub.add_parser("list", parents=[common], help="list users")
    listing.set_defaults(handler=cmd_user_list)
    disable = user_sub.add_parser("disable", parents=[common], help="disable a user")
    disable.add_argument("name")
    disable.set_defaults(handler=cmd_user_disable)
    enable = user_sub.add_parser("enable", parents=[common], help="enable a disabled user")
    enable.add_argument("name")
    enable.set_defaults(handler=cmd_user_enable)
    role = user_sub.add_parser("role", parents=[common], help="grant or take away roles")
    role.add_argument("name")
    role.add_argument("--add", action="append", default=[], metavar="ROLE")
    role.add_argument("--remove", action="append", default=[], metavar="ROLE")
    role.set_defaults(handler=cmd_user_role)
    register_move_commands(user_sub, common)  # user alias, user move

    worker = commands.add_parser("worker", parents=[common], help="run the queue workers")
    worker.add_argument("--once", action="store_true", help="drain what is due, then exit")
    worker.add_argument("--log-level", default="INFO")
    worker.set_defaults(handler=cmd_worker)

    demo = commands.add_parser("demo", parents=[common], help="three divisions on this machine")
    demo.add_argument("--dir", default="demo", help="where the demo keeps its data")
    demo.add_argument("--base-port", type=int, default=8101)
    demo.set_defaults(handler=cmd_demo, needs_config=False)

    queue = commands.add_parser("queue", parents=[common], help="delivery and inbound queues")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True, metavar="ACTION")
    status = queue_sub.add_parser("status", parents=[common], help="jobs per peer host")
    status.set_defaults(handler=cmd_queue_status)
    retry = queue_sub.add_parser("retry", parents=[common], help="queue dead deliveries again")
    retry.add_argument("--host")
    retry.set_defaults(handler=cmd_queue_retry)

    token = commands.add_parser("token", parents=[common], help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", parents=[common], help="print a new bearer token")
    create.add_argument("name")
    create.add_argument("--scopes", default="read")
    create.set_defaults(handler=cmd_token_create)
    register_peer_commands(commands, common)
    register_report_commands(commands, common)
    register_org_commands(commands, common)
    register_retention_commands(commands, common)
    register_export_commands(commands, common)
    register_audit_commands(commands, common)
    register_moderation_commands(commands, common)
    register_sso_commands(commands, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path = config_path(getattr(args, "config", None))
    try:
        if getattr(args, "needs_config", True):
            return int(args.handler(load_config(path), args))
        return int(args.handler(path, args))
    except (
        ConfigError,
        CommandError,
        PeerCommandError,
        OrgCommandError,
        ExportCommandError,
        AuditCommandError,
        AccountError,
        AdminError,
        NotFound,
    ) as error:
        print(f"watercooler: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        logging.shutdown()


if __name__ == "__main__":
    sys.exit(main())
