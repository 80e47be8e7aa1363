"""Reports, from every door alike: filing one (the client API, the web "Report" form) and
working the queue (the admin API, the web queue, the CLI), each change with its audit row in
the same transaction.

Filing checks what Mastodon checks: the reported account exists, each named status is that
account's and visible to the reporter (404 otherwise, as Mastodon's `find` answers), the
comment is at most 1000 characters and the category one of Mastodon's (422 otherwise). A
report on a remote account with `forward` also queues a `Flag` to its division
(outbox.flags), from our instance actor so the reporter stays anonymous there. Every admin
and moderator gets an `admin.report` notification.

Working the queue is for admins and holders of the moderator role (`store.roles.may_moderate`,
checked by the callers, which know how to refuse). Each change writes one audit row
('report.assign', 'report.unassign', 'report.resolve', 'report.reopen', 'report.note',
'report.update'); a change that changes nothing writes none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from federation.uris import Uris
from outbox.flags import enqueue_flag
from store import accounts, reports, statuses
from store.db import Connection, Database
from store.records import AccountRecord, UserRecord
from store.reports import CATEGORIES, ReportNote, ReportRecord
from watercooler.admin import Actor, audit_row
from watercooler.visibility import can_see

if TYPE_CHECKING:
    from watercooler.services import Clock, Services


COMMENT_LIMIT = 1000
"""Mastodon's limit on a local report's comment."""
NOTE_LIMIT = 500
"""Mastodon's limit on a report note."""
MAX_STATUSES = 100
RULE_IDS: tuple[str, ...] = ()
"""The instance's rules (Mastodon's `/api/v1/instance/rules`): none yet, so a report may
name no rule."""


class ReportError(ValueError):
    """A report action that cannot be done; `status` is the HTTP answer (404 or 422), the
    message is safe to show."""

    status = 422


class ReportNotFound(ReportError):
    status = 404


@dataclass(frozen=True, slots=True)
class NewReport:
    """What a reporter asks (Mastodon's POST /api/v1/reports parameters)."""

    target_account_id: int
    status_ids: Sequence[int] = ()
    comment: str = ""
    category: str | None = None
    rule_ids: Sequence[str] = ()
    forward: bool = False


def checked_category(category: str | None, rule_ids: Sequence[str]) -> str:
    """Mastodon's rule: rules named make it a violation; no category is `other`."""
    if rule_ids:
        category = "violation"
    if category is None or category == "":
        return "other"
    if category not in CATEGORIES:
        raise ReportError(f"Validation failed: Category must be one of {', '.join(CATEGORIES)}")
    return category


def checked_rules(category: str, rule_ids: Sequence[str]) -> list[str]:
    unknown = [rule for rule in rule_ids if rule not in RULE_IDS]
    if category == "violation" and unknown:
        raise ReportError("Validation failed: Rule ids does not reference valid rules")
    return [str(rule) for rule in rule_ids] if category == "violation" else []


class Reports:
    """The report actions on one instance's database."""

    def __init__(
        self,
        db: Database,
        *,
        uris: Uris,
        clock: Clock,
        wake_delivery: Callable[[], None] | None = None,
    ) -> None:
        """`wake_delivery`: called after a forwarded report commits (the running server's
        delivery worker); without it (the CLI) the worker finds the job on its next poll."""
        self.db = db
        self.uris = uris
        self.clock = clock
        self.wake_delivery = wake_delivery

    @classmethod
    def of(cls, svc: Services) -> Reports:
        return cls(svc.db, uris=svc.uris, clock=svc.clock, wake_delivery=svc.publisher.notify)

    async def _record(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        report: ReportRecord,
        details: dict[str, Any] | None = None,
    ) -> None:
        details = {"report_id": str(report.id), **(details or {})}
        await audit_row(conn, self.clock(), actor, action, str(report.id), details)

    # ----- filing ----------------------------------------------------------------------

    async def file(self, reporter: UserRecord, new: NewReport, *, origin: str) -> ReportRecord:
        """File a report as `reporter`; ReportError (404/422) if it cannot be filed."""
        if len(new.comment) > COMMENT_LIMIT:
            raise ReportError(
                f"Validation failed: Comment is too long (maximum is {COMMENT_LIMIT} characters)"
            )
        if len(new.status_ids) > MAX_STATUSES:
            raise ReportError(f"Validation failed: at most {MAX_STATUSES} statuses per report")
        category = checked_category(new.category, new.rule_ids)
        rule_ids = checked_rules(category, new.rule_ids)
        actor = Actor.of_user(reporter, origin)
        now = self.clock()
        async with self.db.transaction() as conn:
            target = await accounts.get_by_id(conn, new.target_account_id)
            if target is None or target.suspended_at is not None:
                raise ReportNotFound("Record not found")
            status_uris = await self._checked_statuses(conn, reporter, target, new.status_ids)
            # A remote account always has an inbox; one without (a broken actor) is not sent to.
            forward = (
                new.forward
                and not target.is_local
                and bool(target.shared_inbox_url or target.inbox_url)
            )
            report = await reports.create(
                conn,
                self.db.new_id(),
                account_id=reporter.account_id,
                target_account_id=target.id,
                status_ids=new.status_ids,
                comment=new.comment,
                category=category,
                rule_ids=rule_ids,
                forwarded=forward,
                now=now,
            )
            assert report is not None  # no uri yet: never a duplicate
            flag_id = None
            if forward:
                flag = await enqueue_flag(
                    conn,
                    self.db.new_id,
                    self.uris,
                    report_id=report.id,
                    target=target,
                    status_uris=status_uris,
                    comment=new.comment,
                    now=now,
                )
                flag_id = flag["id"]
                await reports.set_uri(conn, report.id, flag_id)
            await self._record(
                conn,
                actor,
                "report.create",
                report,
                {
                    "target": _handle(target),
                    "category": category,
                    "status_ids": [str(i) for i in dict.fromkeys(new.status_ids)],
                    "forwarded": forward,
                    **({"flag": flag_id} if flag_id else {}),
                },
            )
            await reports.notify_moderators(
                conn, self.db.new_id, report, sender_id=reporter.account_id, now=now
            )
            filed = await reports.get(conn, report.id)
        if forward and self.wake_delivery is not None:
            self.wake_delivery()
        assert filed is not None
        return filed

    async def _checked_statuses(
        self,
        conn: Connection,
        reporter: UserRecord,
        target: AccountRecord,
        status_ids: Sequence[int],
    ) -> list[str]:
        """The URIs of the named statuses: each the target's and visible to the reporter."""
        found = await statuses.get_many(conn, status_ids)
        uris: list[str] = []
        for status_id in dict.fromkeys(status_ids):
            status = found.get(status_id)
            if (
                status is None
                or status.account_id != target.id
                or not await can_see(conn, status, reporter.account_id)
            ):
                raise ReportNotFound("Record not found")
            uris.append(status.uri)
        return uris

    # ----- the queue -------------------------------------------------------------------

    async def _report(self, conn: Connection, report_id: int) -> ReportRecord:
        found = await reports.get(conn, report_id)
        if found is None:
            raise ReportNotFound("Record not found")
        return found

    async def assign(self, actor: Actor, report_id: int, assignee_id: int | None) -> ReportRecord:
        """Assign to `assignee_id` (the actor's own account, as Mastodon's assign_to_self),
        or unassign with None."""
        async with self.db.transaction() as conn:
            report = await self._report(conn, report_id)
            if await reports.assign(conn, report.id, assignee_id, now=self.clock()):
                if assignee_id is None:
                    await self._record(conn, actor, "report.unassign", report)
                else:
                    assignee = await accounts.get_by_id(conn, assignee_id)
                    name = assignee.username if assignee else str(assignee_id)
                    await self._record(conn, actor, "report.assign", report, {"assignee": name})
            return await self._report(conn, report.id)

    async def resolve(self, actor: Actor, report_id: int) -> ReportRecord:
        async with self.db.transaction() as conn:
            report = await self._report(conn, report_id)
            if await reports.resolve(
                conn, report.id, by_account_id=actor.account_id, now=self.clock()
            ):
                await self._record(conn, actor, "report.resolve", report)
            return await self._report(conn, report.id)

    async def reopen(self, actor: Actor, report_id: int) -> ReportRecord:
        async with self.db.transaction() as conn:
            report = await self._report(conn, report_id)
            if await reports.reopen(conn, report.id, now=self.clock()):
                await self._record(conn, actor, "report.reopen", report)
            return await self._report(conn, report.id)

    async def update(
        self, actor: Actor, report_id: int, *, category: str | None, rule_ids: Sequence[str] | None
    ) -> ReportRecord:
        """Mastodon's PUT /api/v1/admin/reports/:id: change the category and rules."""
        async with self.db.transaction() as conn:
            report = await self._report(conn, report_id)
            rules = list(report.rule_ids) if rule_ids is None else list(rule_ids)
            new_category = checked_category(category or report.category, rule_ids or ())
            rules = checked_rules(new_category, rules)
            if await reports.update(
                conn, report.id, category=new_category, rule_ids=rules, now=self.clock()
            ):
                await self._record(
                    conn,
                    actor,
                    "report.update",
                    report,
                    {"category": new_category, "rule_ids": rules},
                )
            return await self._report(conn, report.id)

    async def note(self, actor: Actor, report_id: int, content: str) -> ReportNote:
        content = content.strip()
        if not content:
            raise ReportError("A note cannot be empty")
        if len(content) > NOTE_LIMIT:
            raise ReportError(f"A note is at most {NOTE_LIMIT} characters")
        async with self.db.transaction() as conn:
            report = await self._report(conn, report_id)
            note = await reports.add_note(
                conn,
                self.db.new_id(),
                report.id,
                account_id=actor.account_id,
                author_name=actor.name,
                content=content,
                now=self.clock(),
            )
            await self._record(conn, actor, "report.note", report, {"note_id": str(note.id)})
        return note


def _handle(account: AccountRecord) -> str:
    return account.username if account.is_local else f"{account.username}@{account.domain}"
