"""The audit rows of what is not an `AdminActions` change: sign-ins and their failures,
sign-outs, password changes, token grants and revocations, and policy the server adopts
from outside (the org manifest, the config file's peers).

Each function appends in the caller's transaction, so the row commits with the session,
token or policy it records, or not at all. Names read alike across doors: 'auth.sign_in'
with details {"method": "password"} here, {"method": "oidc"} from single sign-on.

Never a password, and never a name typed at a sign-in that matches no account: people type
passwords into the name field, and the log can never be cleaned of one (it is append-only).
Such a failure is recorded with its address and no name.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from federation.policy import domain_of
from store import audit
from store.audit import AuditEntry
from store.db import Connection
from store.oauth import ApplicationRecord
from store.records import UserRecord

log = logging.getLogger(__name__)

UNKNOWN = "(unknown)"
"""The target of a failed sign-in whose name matches no account (no username has brackets)."""


def operator_name() -> str:
    """The operating-system user running a CLI command (as `admin.Actor.operator`)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def app_name(app: ApplicationRecord | None) -> str:
    """How an app is named in the log; the CLI's tokens have none."""
    return app.name if app is not None else "Watercooler CLI"


async def _append(
    conn: Connection,
    now: datetime,
    *,
    account_id: int | None,
    name: str,
    action: str,
    target: str,
    origin: str,
    details: Mapping[str, Any],
) -> AuditEntry:
    entry = await audit.append(
        conn,
        now=now,
        actor_account_id=account_id,
        actor_name=name,
        action=action,
        target=target,
        details=details,
        origin=origin,
    )
    log.info(
        "audit action=%s target=%s actor=%s origin=%s audit_id=%d",
        action,
        target,
        name,
        origin,
        entry.id,
    )
    return entry


async def by_user(
    conn: Connection,
    now: datetime,
    user: UserRecord,
    action: str,
    *,
    origin: str,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """A person acting on their own account: they are actor and target."""
    return await _append(
        conn,
        now,
        account_id=user.account_id,
        name=user.username,
        action=action,
        target=user.username,
        origin=origin,
        details=details or {},
    )


async def sign_in_failed(
    conn: Connection,
    now: datetime,
    user: UserRecord | None,
    *,
    address: str,
    reason: str,
    origin: str,
) -> AuditEntry:
    """A refused password sign-in: `reason` 'wrong_password', 'unknown_name', 'disabled' or
    'rate_limited'. The account is named when the name or e-mail typed is one."""
    return await _append(
        conn,
        now,
        account_id=user.account_id if user else None,
        name=user.username if user else UNKNOWN,
        action="auth.sign_in_failed",
        target=user.username if user else UNKNOWN,
        origin=origin,
        details={
            "method": "password",
            "address": address,
            "username": user.username if user else None,
            "reason": reason,
        },
    )


async def token_granted(
    conn: Connection,
    now: datetime,
    *,
    app: ApplicationRecord | None,
    user: UserRecord | None,
    scopes: Sequence[str],
    grant_type: str,
    origin: str = "api",
    address: str | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """'oauth.token_grant': a token for `user` (None: an app token, client_credentials).
    The actor is the user, or the app ('app:NAME') for an app token, or `actor` (the CLI's
    operator)."""
    details: dict[str, Any] = {
        "grant_type": grant_type,
        "app": app_name(app),
        "app_id": str(app.id) if app else None,
        "scopes": list(scopes),
        "user": user.username if user else None,
    }
    if address is not None:
        details["address"] = address
    if actor is not None:
        account_id, name = None, actor
    elif user is not None:
        account_id, name = user.account_id, user.username
    else:
        account_id, name = None, f"app:{app_name(app)}"
    target = user.username if user else f"app:{app_name(app)}"
    return await _append(
        conn,
        now,
        account_id=account_id,
        name=name,
        action="oauth.token_grant",
        target=target,
        origin=origin,
        details=details,
    )


async def token_revoked(
    conn: Connection,
    now: datetime,
    *,
    app: ApplicationRecord,
    user: UserRecord | None,
    kind: str,
) -> AuditEntry:
    """'oauth.token_revoke': an app revoked one of its tokens (RFC 7009); `kind` 'access',
    'refresh' or 'app'."""
    name = f"app:{app.name}"
    return await _append(
        conn,
        now,
        account_id=None,
        name=name,
        action="oauth.token_revoke",
        target=user.username if user else name,
        origin="api",
        details={"app": app.name, "app_id": str(app.id), "token": kind},
    )


async def manifest_adopted(
    conn: Connection,
    now: datetime,
    *,
    source: str,
    serial: int,
    added: Sequence[str],
    removed: Sequence[str],
) -> AuditEntry:
    """'org.manifest_adopt': the signed org manifest changed the peers. `source` is how it
    came: 'cli' (`org apply`, the operator), 'config' (the file at start, the server by
    itself) or a peer's instance actor URI (on that division's word)."""
    if source == "cli":
        origin, name = "cli", operator_name()
    elif source == "config":
        origin, name = "system", "config"
    else:
        origin, name = "federation", domain_of(source) or source[:200]
    return await _append(
        conn,
        now,
        account_id=None,
        name=name,
        action="org.manifest_adopt",
        target=f"serial {serial}",
        origin=origin,
        details={
            "source": source,
            "serial": serial,
            "added": list(added),
            "removed": list(removed),
        },
    )


async def config_peers_changed(
    conn: Connection, now: datetime, *, added: Sequence[str], removed: Sequence[str]
) -> AuditEntry:
    """'peer.config_sync': the config file's `[[peers]]` differ from the last start."""
    return await _append(
        conn,
        now,
        account_id=None,
        name="config",
        action="peer.config_sync",
        target="[[peers]]",
        origin="system",
        details={"added": list(added), "removed": list(removed)},
    )
