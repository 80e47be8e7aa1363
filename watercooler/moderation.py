"""Moderators' actions on accounts, local and remote: warn, limit, suspend, disable, mark
sensitive, delete posts; each with its audit row (`store.audit`) in the transaction of the
change, from the admin API, the web pages and the CLI alike.

Who may act: admins and holders of the `moderator` role (store.roles.may_moderate); a
moderator may not act on an admin, and no one on themselves or the instance actor. The CLI's
operator acts as an admin.

A suspension hides the account from every read path of this division and keeps its data, so
that unsuspending shows it again. A local one also disables the user (`store.users.disable`:
sign-in, tokens and sessions end, the actor answers 410), the mechanism every sign-in and
token check already honours; unsuspending enables them again unless they were disabled
before. A remote one drops the account's activities on arrival (inbox worker) and severs
its follows both ways (a Reject to it for each follow of a local account, an Undo for each
local follow of it), which unsuspending does not restore (as in Mastodon).

An action that changes nothing writes no audit row (as watercooler.admin). When a
`report_id` is given, that report is resolved in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outbox.publish import Publisher
from store import accounts, audit, follows, moderation, notifications, reports, roles, statuses
from store import timelines as stored_timelines
from store import users as stored_users
from store.db import Connection, Database
from store.moderation import ModerationRecord, WarningRecord
from store.records import AccountRecord, StatusRecord, UserRecord
from watercooler.admin import Actor, AdminError, Missing, audit_row

if TYPE_CHECKING:
    from watercooler.services import Clock, Services

log = logging.getLogger(__name__)

TEXT_MAX = 5000
"""The longest warning text kept."""


class NotAllowed(AdminError):
    """The acting user may not do this (not a moderator, or the target is an admin)."""


@dataclass(frozen=True, slots=True)
class Moderator:
    """Who acts: the audit log's actor and whether they hold admin powers."""

    actor: Actor
    admin: bool

    @classmethod
    def operator(cls) -> Moderator:
        return cls(Actor.operator(), True)


async def moderator_of(conn: Connection, user: UserRecord, origin: str) -> Moderator:
    """The user as a moderator, or NotAllowed if they may not moderate."""
    if not await roles.may_moderate(conn, user):
        raise NotAllowed("Only admins and moderators may moderate accounts.")
    return Moderator(Actor.of_user(user, origin), user.admin)


@dataclass(frozen=True, slots=True)
class Target:
    account: AccountRecord
    user: UserRecord | None
    state: ModerationRecord


class ModerationActions:
    """The moderation actions on one instance's database, each with its audit row."""

    def __init__(self, db: Database, *, clock: Clock, publisher: Publisher | None) -> None:
        """Without `publisher` (a CLI without a running server) nothing federates: deleting
        posts is refused, and a remote suspension severs follows without telling the peer."""
        self.db = db
        self.clock = clock
        self.publisher = publisher

    @classmethod
    def of(cls, svc: Services) -> ModerationActions:
        return cls(svc.db, clock=svc.clock, publisher=svc.publisher)

    # ----- helpers -----------------------------------------------------------------------

    async def _record(
        self,
        conn: Connection,
        by: Moderator,
        action: str,
        target: AccountRecord,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        details = {"account_id": str(target.id), **(details or {})}
        await audit_row(conn, self.clock(), by.actor, action, handle(target), details)

    async def _target(self, conn: Connection, by: Moderator, account_id: int) -> Target:
        account = await accounts.get_by_id(conn, account_id)
        if account is None or moderation.is_instance_actor(account):
            raise Missing("There is no such account (a server is moderated by a domain block).")
        user = None
        if account.is_local:
            user = await stored_users.get_by_username(conn, account.username)
        if by.actor.account_id == account.id:
            raise NotAllowed("You cannot moderate your own account.")
        if user is not None and user.admin and not by.admin:
            raise NotAllowed("Moderators may not act on admins.")
        return Target(account, user, await moderation.get(conn, account.id))

    async def _resolve_report(
        self, conn: Connection, by: Moderator, report_id: int | None, action: str
    ) -> None:
        if report_id is None:
            return
        resolved = await reports.resolve(
            conn,
            report_id,
            by_account_id=by.actor.account_id,
            now=self.clock(),
            action_taken=action,
        )
        if resolved:
            entry = await audit.append(
                conn,
                now=self.clock(),
                actor_account_id=by.actor.account_id,
                actor_name=by.actor.name,
                action="report.resolve",
                target=str(report_id),
                details={"action_taken": action},
                origin=by.actor.origin,
            )
            log.info("moderation report resolved report_id=%d audit_id=%d", report_id, entry.id)

    async def _warn(
        self,
        conn: Connection,
        by: Moderator,
        target: Target,
        action: str,
        text: str,
        *,
        status_ids: Sequence[int] | None = None,
        report_id: int | None = None,
    ) -> WarningRecord:
        """An AccountWarning; a local user is notified (`moderation_warning`), from the
        instance actor so the moderator stays unnamed."""
        notification_id = None
        if target.account.is_local:
            instance = await accounts.get_instance_actor(conn)
            if instance is not None:
                new_id = self.db.new_id()
                if await notifications.notify(
                    conn,
                    new_id,
                    "moderation_warning",
                    recipient_id=target.account.id,
                    sender_id=instance.id,
                    now=self.clock(),
                ):
                    notification_id = new_id
        return await moderation.add_warning(
            conn,
            self.db.new_id(),
            target_account_id=target.account.id,
            by_account_id=by.actor.account_id,
            action=action,
            text=text[:TEXT_MAX],
            status_ids=status_ids,
            report_id=report_id,
            notification_id=notification_id,
            now=self.clock(),
        )

    async def _keep_an_admin(self, conn: Connection, target: Target) -> None:
        user = target.user
        if (
            user
            and user.admin
            and not user.disabled
            and await stored_users.count_active_admins(conn) <= 1
        ):
            raise AdminError(f"{user.username} is the only admin: that would lock out admins.")

    # ----- the actions -------------------------------------------------------------------

    async def warn(
        self, by: Moderator, account_id: int, text: str, *, report_id: int | None = None
    ) -> WarningRecord:
        """A warning with `text`, shown to the (local) user in their notifications."""
        text = text.strip()
        if not text:
            raise AdminError("A warning needs a text.")
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            if not target.account.is_local:
                raise AdminError("Only local users can be warned: they alone would see it.")
            warning = await self._warn(conn, by, target, "none", text, report_id=report_id)
            await self._record(conn, by, "account.warn", target.account, {"text": text[:TEXT_MAX]})
            await self._resolve_report(conn, by, report_id, "warn")
        return warning

    async def act(
        self,
        by: Moderator,
        account_id: int,
        kind: str,
        *,
        text: str = "",
        report_id: int | None = None,
    ) -> bool:
        """Mastodon's `POST /api/v1/admin/accounts/:id/action`: `kind` is none, sensitive,
        disable, silence or suspend; `text` becomes a warning to a local user. True if
        anything changed (a warning or a report resolved count)."""
        if kind not in ("none", "sensitive", "disable", "silence", "suspend"):
            raise AdminError(f"Unknown action type {kind!r}.")
        text = text.strip()
        remote_suspended: AccountRecord | None = None
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            changed = False
            if kind == "sensitive":
                changed = await self._sensitive(conn, by, target, True)
            elif kind == "disable":
                changed = await self._disable(conn, by, target, True)
            elif kind == "silence":
                changed = await self._limit(conn, by, target, True)
            elif kind == "suspend":
                changed = await self._suspend(conn, by, target)
                if changed and not target.account.is_local:
                    remote_suspended = target.account
            if text or (kind != "none" and changed and target.account.is_local):
                await self._warn(conn, by, target, kind, text, report_id=report_id)
                if text and kind == "none":
                    await self._record(conn, by, "account.warn", target.account, {"text": text})
                changed = True
            await self._resolve_report(conn, by, report_id, kind)
        if remote_suspended is not None:
            await self._sever(remote_suspended)
        return changed

    async def limit(self, by: Moderator, account_id: int, limited: bool) -> bool:
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            return await self._limit(conn, by, target, limited)

    async def suspend(self, by: Moderator, account_id: int) -> bool:
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            changed = await self._suspend(conn, by, target)
        if changed and not target.account.is_local:
            await self._sever(target.account)
        return changed

    async def unsuspend(self, by: Moderator, account_id: int) -> bool:
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            before = await moderation.unsuspend(conn, target.account.id)
            if before is None:
                return False
            if target.user is not None and not before.user_was_disabled:
                await stored_users.enable(conn, target.user.id)
            await self._record(conn, by, "account.unsuspend", target.account)
        return True

    async def disable(self, by: Moderator, account_id: int, disabled: bool) -> bool:
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            return await self._disable(conn, by, target, disabled)

    async def sensitive(self, by: Moderator, account_id: int, on: bool) -> bool:
        async with self.db.transaction() as conn:
            target = await self._target(conn, by, account_id)
            return await self._sensitive(conn, by, target, on)

    async def delete_statuses(
        self,
        by: Moderator,
        account_id: int,
        status_ids: Sequence[int],
        *,
        text: str = "",
    ) -> list[int]:
        """Delete the account's statuses among `status_ids`; returns those deleted. A local
        author's go by the normal federated Delete (outbox.publish.Publisher.delete); a remote
        author's are removed here only (their home keeps them). Each with a 'status.delete'
        audit row in its own transaction; `text` warns a local author."""
        async with self.db.read() as conn:
            target = await self._target(conn, by, account_id)
            found = await statuses.get_many(conn, status_ids)
        mine = [
            s for s in found.values() if s.account_id == target.account.id and s.deleted_at is None
        ]
        if target.account.is_local and self.publisher is None:
            raise AdminError("Deleting local posts needs the running server (it federates).")
        deleted: list[int] = []
        for status in sorted(mine, key=lambda s: s.id):
            if await self._delete_one(by, target.account, status):
                deleted.append(status.id)
        if deleted and target.account.is_local:
            async with self.db.transaction() as conn:
                await self._warn(
                    conn, by, target, "delete_statuses", text.strip(), status_ids=deleted
                )
        return deleted

    async def delete_data(self, by: Moderator, account_id: int) -> int:
        """Delete every post of a suspended account for good (Mastodon's deletion of its
        data): a local author's by federated Deletes, a remote one's here. The account stays,
        suspended. Returns how many posts went."""
        async with self.db.read() as conn:
            target = await self._target(conn, by, account_id)
            if not target.state.suspended:
                raise NotAllowed("Only a suspended account's data can be deleted.")
            ids = await moderation.statuses_of(conn, account_id, limit=1_000_000)
        deleted = 0
        async with self.db.read() as conn:
            found = await statuses.get_many(conn, ids)
        if target.account.is_local and self.publisher is None:
            raise AdminError("Deleting local posts needs the running server (it federates).")
        for status in found.values():
            if await self._delete_one(by, target.account, status, audit_each=False):
                deleted += 1
        async with self.db.transaction() as conn:
            await self._record(conn, by, "account.delete_data", target.account, {"posts": deleted})
        return deleted

    async def _delete_one(
        self, by: Moderator, author: AccountRecord, status: StatusRecord, *, audit_each: bool = True
    ) -> bool:
        details = {"status_id": str(status.id), "uri": status.uri}

        async def audited(conn: Connection, *_: Any) -> None:
            if audit_each:
                await self._record(conn, by, "status.delete", author, details)

        if author.is_local:
            assert self.publisher is not None
            return await self.publisher.delete(author, status, also=audited) is not None
        async with self.db.transaction() as conn:
            await statuses.mark_deleted(conn, status.id, self.clock())
            await stored_timelines.remove_status(conn, status.id)
            await audited(conn)
        return True

    # ----- the changes, inside a transaction ---------------------------------------------

    async def _limit(self, conn: Connection, by: Moderator, target: Target, on: bool) -> bool:
        if not await moderation.set_limited(conn, target.account.id, on, self.clock()):
            return False
        await self._record(conn, by, "account.limit" if on else "account.unlimit", target.account)
        return True

    async def _sensitive(self, conn: Connection, by: Moderator, target: Target, on: bool) -> bool:
        if not await moderation.set_sensitized(conn, target.account.id, on, self.clock()):
            return False
        action = "account.sensitive" if on else "account.unsensitive"
        await self._record(conn, by, action, target.account)
        return True

    async def _disable(self, conn: Connection, by: Moderator, target: Target, on: bool) -> bool:
        user = target.user
        if user is None:
            raise AdminError("Only local users can be disabled; limit or suspend remote ones.")
        if user.disabled == on:
            return False
        if on:
            await self._keep_an_admin(conn, target)
            await stored_users.disable(conn, user.id, self.clock())
        else:
            if target.state.suspended:
                raise AdminError("The account is suspended: unsuspend it instead.")
            await stored_users.enable(conn, user.id)
        await self._record(conn, by, "account.disable" if on else "account.enable", target.account)
        return True

    async def _suspend(self, conn: Connection, by: Moderator, target: Target) -> bool:
        if target.state.suspended:
            return False
        was_disabled = target.user is not None and target.user.disabled
        if target.user is not None:
            await self._keep_an_admin(conn, target)
            if not was_disabled:
                await stored_users.disable(conn, target.user.id, self.clock())
        await moderation.suspend(
            conn, target.account.id, self.clock(), user_was_disabled=was_disabled
        )
        await self._record(conn, by, "account.suspend", target.account)
        return True

    async def _sever(self, account: AccountRecord) -> None:
        """End a suspended remote account's follows both ways, telling its server."""
        async with self.db.read() as conn:
            found = await moderation.follows_involving(conn, account.id)
            others = {
                f.account_id if f.target_account_id == account.id else f.target_account_id
                for f in found
            }
            locals_ = {i: a for i in others if (a := await accounts.get_by_id(conn, i))}
        for follow in found:
            if follow.account_id == account.id:  # theirs of a local account: Reject it
                local = locals_.get(follow.target_account_id)
                if local is None or not local.is_local:
                    continue
                if self.publisher is not None:
                    await self.publisher.answer_follow(local, account, follow.uri, accept=False)
                    continue
            else:  # a local account's of theirs: Undo it
                local = locals_.get(follow.account_id)
                if local is None or not local.is_local:
                    continue
                if self.publisher is not None:
                    await self.publisher.unfollow(local, account)
                    continue
            async with self.db.transaction() as conn:  # no server to tell: here only
                await follows.delete(conn, follow.id)
                await stored_timelines.remove_author_from(
                    conn, follow.account_id, follow.target_account_id
                )
        log.info("moderation follows severed account=%s count=%d", account.uri, len(found))


def handle(account: AccountRecord) -> str:
    """How the audit log and the pages name an account: name, or name@domain."""
    return account.username if account.is_local else f"{account.username}@{account.domain}"
