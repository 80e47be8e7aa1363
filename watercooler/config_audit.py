"""Policy changed in the config file shows in the audit log ('config.change').

Some policy is only in the file: the federation mode, sign-in and single sign-on, the org
keys, retention. IT changes it by editing the file and restarting, which no admin page sees.
At each start the server compares the file's policy with what it noted at the last start
(store.config_policy) and writes one audit row, origin 'system', naming each key that
differs as {"from": …, "to": …}, in the transaction that notes the new values. The first
start only notes the file. Secrets (`client_secret`) are never compared or kept.

The `[[peers]]` list has its own row ('peer.config_sync', watercooler/peering.py); instance
settings changed on the admin pages are 'settings.change' (watercooler/admin.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime
from typing import Any

from store import audit, config_policy
from store.audit import AuditEntry, canonical_json
from store.db import Database
from watercooler.config import Config

log = logging.getLogger(__name__)

POLICY: dict[str, tuple[str, ...] | None] = {
    "federation": ("mode", "authorized_fetch", "allow_http", "ca_file"),
    "oauth": None,
    "auth": None,
    "oidc": None,
    "org": None,
    "retention": None,
}
"""The config sections that are policy, and which of their keys (None: all); a section this
build does not have is skipped."""
SECRET = ("secret", "private_key", "password_hash")
"""Keys whose names hold one of these are never compared or kept."""


def _plain(value: object) -> Any:
    """A JSON value for a config value (tuples as lists, anything else odd as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {
            f.name: getattr(value, f.name)
            for f in dataclasses.fields(value)
            if not any(word in f.name for word in SECRET)
        }
    return json.loads(json.dumps(value, default=str))


def policy_of(config: Config) -> dict[str, str]:
    """{"section.key": canonical JSON} of the policy in `config` ("section": "null" for an
    optional section that is absent)."""
    values: dict[str, str] = {}
    for section, keys in POLICY.items():
        if not hasattr(config, section):
            continue
        part = getattr(config, section)
        if part is None or not dataclasses.is_dataclass(part):
            values[section] = canonical_json(_plain(part))
            continue
        for field in dataclasses.fields(part):
            if (keys is not None and field.name not in keys) or any(
                word in field.name for word in SECRET
            ):
                continue
            values[f"{section}.{field.name}"] = canonical_json(_plain(getattr(part, field.name)))
    return values


def _value(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


async def record_config_changes(db: Database, config: Config, now: datetime) -> AuditEntry | None:
    """At start: note the file's policy; if it differs from the last start's, the audit row
    that says how (returned)."""
    wanted = policy_of(config)
    entry = None
    async with db.transaction() as conn:
        held = await config_policy.noted(conn)
        if held == wanted:
            return None
        changed = {
            key: {"from": _value(held.get(key)), "to": _value(wanted.get(key))}
            for key in sorted(held.keys() | wanted.keys())
            if held.get(key) != wanted.get(key)
        }
        if held:  # the first start only notes the file
            entry = await audit.append(
                conn,
                now=now,
                actor_account_id=None,
                actor_name="config",
                action="config.change",
                target="config file",
                details=changed,
                origin="system",
            )
        await config_policy.note(conn, wanted, now)
    if entry is not None:
        log.info("config policy changed keys=%s audit_id=%d", ",".join(changed), entry.id)
    return entry
