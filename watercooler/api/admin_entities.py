"""Entities of Mastodon's admin API shared by its resources: `Admin::Account` (here) used by
`/api/v1/admin/reports` (helper A, issue 10) and `/api/v1/admin/accounts` (helper B, which
may extend `admin_account` with what its moderation actions store: silenced, sensitized...).

Shaped as Mastodon 4.3's `REST::Admin::AccountSerializer` sends them, key for key and in its
order: `id, username, domain, created_at, email, ip, ips, locale, invite_request, role,
confirmed, approved, disabled, silenced, suspended, account` (plus `sensitized`, which
Mastodon's serializer sends though its docs leave it out). Remote accounts have no user:
`email`, `ip`, `locale`, `invite_request`, `role` are null and `ips` empty, as Mastodon sends.
We keep no sign-in addresses, so `ip` is null and `ips` empty for local users too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from federation.uris import Uris
from store import moderation, roles, users
from store.db import Connection
from store.moderation import NOT_MODERATED, ModerationRecord
from store.records import AccountRecord, UserRecord
from watercooler.api.entities import ADMIN_ROLE, EVERYONE_ROLE, account_entities, iso

MODERATOR_ROLE = {
    "id": "1",
    "name": "Moderator",
    "permissions": "1308",
    "color": "",
    "highlighted": True,
}
"""Mastodon's built-in Moderator role (view_dashboard, view_audit_log, manage_reports,
manage_taxonomies, manage_users): what our `moderator` role may do."""


def role_entity(user: UserRecord | None, user_roles: Sequence[str]) -> dict[str, Any] | None:
    """Mastodon's Role of a local user (admin, moderator, everyone); None for a remote one."""
    if user is None:
        return None
    if user.admin:
        return dict(ADMIN_ROLE)
    if roles.MODERATOR in user_roles:
        return dict(MODERATOR_ROLE)
    return dict(EVERYONE_ROLE)


def _admin_account(
    account: AccountRecord,
    user: UserRecord | None,
    user_roles: Sequence[str],
    entity: dict[str, Any],
    state: ModerationRecord = NOT_MODERATED,
) -> dict[str, Any]:
    """`state`: the account's moderation (helper B): a local suspension disables the user
    too, but `disabled` stays what it was before, as Mastodon keeps the two apart."""
    suspended = account.suspended_at is not None
    if suspended:
        entity = {**entity, "suspended": True}
    disabled = bool(user and user.disabled and (not state.suspended or state.user_was_disabled))
    return {
        "id": str(account.id),
        "username": account.username,
        "domain": account.domain,
        "created_at": iso(user.created_at if user else account.created_at),
        "email": user.email if user else None,
        "ip": None,
        "ips": [],
        "locale": None,
        "invite_request": None,
        "role": role_entity(user, user_roles),
        "confirmed": user is not None,
        "approved": user is not None,
        "disabled": disabled,
        "silenced": state.limited,
        "sensitized": state.sensitized,
        "suspended": suspended,
        "account": entity,
    }


async def admin_account(
    conn: Connection, account: AccountRecord, *, uris: Uris, local_domain: str
) -> dict[str, Any]:
    """Mastodon's Admin::Account of one account (local or remote)."""
    (entity,) = await admin_accounts(conn, [account], uris=uris, local_domain=local_domain)
    return entity


async def admin_accounts(
    conn: Connection, accounts: Sequence[AccountRecord], *, uris: Uris, local_domain: str
) -> list[dict[str, Any]]:
    """`admin_account` of each account, in order (a page of reports names several)."""
    entities = await account_entities(conn, accounts, uris=uris, local_domain=local_domain)
    states = await moderation.of_accounts(conn, [account.id for account in accounts])
    found: list[dict[str, Any]] = []
    for account, entity in zip(accounts, entities, strict=True):
        user = await users.get_by_account_id(conn, account.id) if account.is_local else None
        user_roles = await roles.roles_of(conn, user.id) if user else []
        state = states.get(account.id, NOT_MODERATED)
        found.append(_admin_account(account, user, user_roles, entity, state))
    return found
