"""Linking and unlinking a single sign-on identity (issuer, `sub`) to a local user by IT: the
one way an IdP identity comes to sign in as an existing user, since sign-in never links by
name (watercooler/sso.py says why). The CLI (`watercooler sso link/unlink`), the admin API
(`/api/v1/admin/sso/identities`) and the admin page (/web/admin/sso) all call these, so each
link and unlink is the same audit row ('user.link_identity', 'user.unlink_identity') in the
transaction of the change, whatever door it came through.
"""

from __future__ import annotations

from datetime import datetime

from store import audit, oidc
from store.db import Database
from store.errors import Conflict
from store.records import UserRecord
from watercooler.admin import Actor, AdminError, Missing

MAX_SUBJECT = 255
"""OpenID Connect Core 2: a `sub` is at most 255 ASCII characters."""


def checked_subject(subject: object) -> str:
    """The `sub` as the IdP sends it: never trimmed or folded, since it is compared exactly."""
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT:
        raise AdminError("subject must be the identity's `sub`, 1 to 255 characters")
    if not subject.isascii() or not subject.isprintable():
        raise AdminError("subject must be printable ASCII, as OpenID Connect's `sub` is")
    return subject


async def change_link(
    db: Database,
    *,
    user: UserRecord,
    issuer: str,
    subject: str,
    link: bool,
    actor: Actor,
    now: datetime,
) -> None:
    """Let (issuer, subject) sign in as `user` (`link`) or stop it, with its audit row.
    AdminError when the identity is someone's already; Missing when it is not `user`'s."""
    if link:
        subject = checked_subject(subject)
    async with db.transaction() as conn:
        if link:
            try:
                await oidc.insert_identity(
                    conn, issuer=issuer, subject=subject, user_id=user.id, now=now
                )
            except Conflict as error:
                raise AdminError(f"{subject} at {issuer} is linked already") from error
        elif not await oidc.delete_identity(conn, issuer, subject, user.id):
            raise Missing(f"{subject} at {issuer} is not {user.username}'s")
        await audit.append(
            conn,
            now=now,
            actor_account_id=actor.account_id,
            actor_name=actor.name,
            action="user.link_identity" if link else "user.unlink_identity",
            target=user.username,
            details={"method": "oidc", "issuer": issuer, "subject": subject},
            origin=actor.origin,
        )
