"""`watercooler org ...`: the org key and the signed org manifest.

`keygen` and `sign` are IT's, on a machine that holds the org key (no instance config
needed); `apply` and `status` run on an instance. `apply` adopts the manifest in the
database; the running server reloads its peers within a second and passes the manifest on
to its peers' instance actors. Tables are tab-separated, one row per line, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from federation.manifest import (
    ManifestError,
    build_manifest,
    generate_key,
    load_private_key,
    private_key_pem,
    public_key_text,
    read_manifest,
    sign_manifest,
    verify_manifest,
)
from store.db import Database
from watercooler.config import Config
from watercooler.org_manifest import offer_manifest, org_keys, org_state
from watercooler.services import open_database


class OrgCommandError(Exception):
    """Shown to the operator as one line, exit status 2."""


def _time(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def cmd_org_keygen(path: Path, args: argparse.Namespace) -> int:
    """A new org key: the private half to a file only its owner can read (never overwritten:
    losing the org key means re-keying every instance), the public half to stdout."""
    key = generate_key()
    out = Path(args.out)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OrgCommandError(f"{out} exists: not overwriting an org key") from None
    except OSError as error:
        raise OrgCommandError(f"cannot write {out}: {error.strerror}") from None
    with os.fdopen(fd, "w") as file:
        file.write(private_key_pem(key))
    print(public_key_text(key))
    print(
        f"private key written to {out}: keep it off the servers, with IT.\n"
        'Put the public key above in every instance\'s config: [org] public_key = "..."',
        file=sys.stderr,
    )
    return 0


def _divisions(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    raw = data.get("divisions")
    if not isinstance(raw, list) or not raw:
        raise OrgCommandError("divisions: expected [[divisions]] tables with domain and name")
    found = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
            raise OrgCommandError(f"divisions[{index}].domain: missing")
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise OrgCommandError(f"divisions[{index}].name: expected a string")
        unknown = sorted(set(entry) - {"domain", "name"})
        if unknown:
            raise OrgCommandError(f"divisions[{index}].{unknown[0]}: unknown key")
        found.append((entry["domain"], name))
    return found


def cmd_org_sign(path: Path, args: argparse.Namespace) -> int:
    """manifest.toml (`serial`, `organisation`, `[[divisions]]`) -> a signed manifest.json."""
    source = Path(args.manifest)
    try:
        with source.open("rb") as file:
            data = tomllib.load(file)
        key = load_private_key(Path(args.key).read_bytes())
    except (OSError, tomllib.TOMLDecodeError, ValueError) as error:
        raise OrgCommandError(str(error)) from None
    unknown = sorted(set(data) - {"serial", "organisation", "divisions"})
    if unknown:
        raise OrgCommandError(f"{source}: {unknown[0]}: unknown key")
    serial = data.get("serial")
    if isinstance(serial, bool) or not isinstance(serial, int):
        raise OrgCommandError(f"{source}: serial: expected a positive integer")
    organisation = data.get("organisation")
    if organisation is not None and not isinstance(organisation, str):
        raise OrgCommandError(f"{source}: organisation: expected a string")
    try:
        unsigned = build_manifest(
            serial=serial,
            divisions=_divisions(data),
            issued=datetime.now(UTC),
            organisation=organisation,
        )
    except ValueError as error:
        raise OrgCommandError(f"{source}: {error}") from None
    signed = sign_manifest(unsigned, key)
    verify_manifest(signed, [key.public_key()])  # what every instance will check
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(
        f"signed serial {serial}: {len(signed['divisions'])} divisions,"
        f" key {signed['signature']['key']}",
        file=sys.stderr,
    )
    return 0


def cmd_org_apply(config: Config, args: argparse.Namespace) -> int:
    """Offer a signed manifest to this instance, as a peer would."""
    try:
        document = read_manifest(Path(args.manifest).read_bytes())
    except OSError as error:
        raise OrgCommandError(f"{args.manifest}: {error.strerror}") from None
    except ManifestError as error:
        raise OrgCommandError(f"{args.manifest}: {error.detail}") from None

    async def main() -> int:
        db = await open_database(config)
        try:
            return await _apply(db, document)
        finally:
            await db.close()

    async def _apply(db: Database, document: dict[str, Any]) -> int:
        outcome = await offer_manifest(
            db,
            document,
            keys=org_keys(config),
            own_domain=config.instance.domain,
            source="cli",
            now=datetime.now(UTC),
        )
        if outcome.status == "refused":
            raise OrgCommandError(f"manifest refused ({outcome.reason}): {outcome.detail}")
        if outcome.status == "current":
            print(f"serial {outcome.serial} is already in force")
            return 0
        print(f"serial {outcome.serial} adopted")
        print(f"peers added: {', '.join(outcome.added) or '-'}")
        print(f"peers removed: {', '.join(outcome.removed) or '-'}")
        print("the running server links them and passes the manifest on within seconds")
        return 0

    return asyncio.run(main())


def cmd_org_status(config: Config, args: argparse.Namespace) -> int:
    async def main() -> int:
        db = await open_database(config)
        try:
            state = await org_state(db, refusals=args.refusals)
        finally:
            await db.close()
        keys = ", ".join(config.org.public_keys) or "none: every manifest is refused"
        print(f"org key\t{keys}")
        adopted, manifest = state.adopted, state.manifest
        if adopted is None:
            print("serial\t-\t(no manifest adopted)")
        else:
            print(f"serial\t{adopted.serial}")
            print(f"organisation\t{(manifest.organisation if manifest else None) or '-'}")
            print(f"issued\t{_time(manifest.issued if manifest else None)}")
            print(f"adopted\t{_time(adopted.adopted_at)}\tfrom {adopted.source}")
            print(f"passed on\t{_time(adopted.relayed_at) if adopted.relayed_at else 'pending'}")
            print()
            print("domain\tname")
            for division in manifest.divisions if manifest else ():
                own = "\t(this instance)" if division.domain == config.instance.domain else ""
                print(f"{division.domain}\t{division.name or '-'}{own}")
        print()
        print("refused\tfrom\tserial\treason\tdetail")
        for refusal in state.refusals:
            serial = "-" if refusal.serial is None else str(refusal.serial)
            print(
                f"{_time(refusal.refused_at)}\t{refusal.source}\t{serial}"
                f"\t{refusal.reason}\t{refusal.detail}"
            )
        return 0

    return asyncio.run(main())


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the `org` commands to the `watercooler` parser."""
    org = commands.add_parser("org", parents=[common], help="the signed list of divisions")
    sub = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    keygen = sub.add_parser("keygen", parents=[common], help="make the org key (IT, once)")
    keygen.add_argument(
        "--out", default="org-key.pem", help="private key file (default: %(default)s)"
    )
    keygen.set_defaults(handler=cmd_org_keygen, needs_config=False)
    sign = sub.add_parser("sign", parents=[common], help="sign manifest.toml with the org key")
    sign.add_argument("manifest", help="TOML: serial, organisation, [[divisions]] domain/name")
    sign.add_argument("--key", required=True, help="the org key file (from keygen)")
    sign.add_argument("--out", help="where to write the signed JSON (default: stdout)")
    sign.set_defaults(handler=cmd_org_sign, needs_config=False)
    apply = sub.add_parser(
        "apply", parents=[common], help="offer a signed manifest to this instance"
    )
    apply.add_argument("manifest", help="the signed manifest JSON (from sign)")
    apply.set_defaults(handler=cmd_org_apply)
    status = sub.add_parser("status", parents=[common], help="the manifest in force, refusals")
    status.add_argument("--refusals", type=int, default=20, help="how many (default: %(default)s)")
    status.set_defaults(handler=cmd_org_status)
