"""The web pages of reports: the "Report" form any employee reaches from a post or a profile,
and the report queue (/web/admin/reports) of admins and moderators.

Both go through watercooler.reports, the code the API and the CLI use, so each change has its
audit row (origin 'web'). Every form is a POST checked for its CSRF token (`read_form`) before
anything is read from it; the queue answers 403 to anyone who may not moderate.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, statuses
from store import reports as stored_reports
from store.records import AccountRecord
from store.reports import ReportRecord
from watercooler.api.accounts import account_or_404
from watercooler.api.entities import EntityRenderer, account_entity, acct
from watercooler.http import services
from watercooler.reports import COMMENT_LIMIT, NOTE_LIMIT, NewReport, ReportError, Reports
from watercooler.services import Services
from watercooler.visibility import can_see
from watercooler.web.admin.base import SECTIONS, actor, done, field, notice, show
from watercooler.web.pages import (
    Endpoint,
    PageError,
    page,
    read_form,
    render,
    require_moderator,
    require_user,
    see_other,
)
from watercooler.web.session import WebUser

QUEUE = "/web/admin/reports"
CATEGORIES = {
    "spam": "Spam",
    "legal": "Against the law or company policy",
    "other": "Something else",
}
"""What the form offers: Mastodon's categories but `violation`, which needs instance rules."""
NOTICES = {
    "assign": "Report {name} is assigned to you.",
    "unassign": "Report {name} is no longer assigned.",
    "resolve": "Report {name} is resolved.",
    "reopen": "Report {name} is open again.",
    "note": "Your note on report {name} is added.",
}
PAGE_SIZE = 50
MODERATOR_PAGES = (QUEUE, "/web/admin/accounts")
"""The admin pages a moderator who is not an admin may open (the queue, account moderation)."""


# ----- the "Report" form ---------------------------------------------------------------------


async def _named_status(
    svc: Services, viewer: WebUser, account: AccountRecord, raw: Any
) -> dict[str, Any] | None:
    """The post the form was opened from, if it is the account's and the viewer sees it."""
    if not isinstance(raw, str) or not raw.isdigit() or int(raw) >= 2**63:
        return None
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, int(raw))
        if (
            status is None
            or status.account_id != account.id
            or not await can_see(conn, status, viewer.account.id)
        ):
            return None
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        (entity,) = await renderer.statuses([status], viewer_account_id=viewer.account.id)
    return entity


async def _show_form(
    request: Request,
    viewer: WebUser,
    account: AccountRecord,
    *,
    status_entity: dict[str, Any] | None,
    status: int = 200,
    error: str | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    svc = services(request)
    async with svc.db.read() as conn:
        target = await account_entity(
            conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    context = {
        "target": target,
        "remote_domain": account.domain,
        "reported_status": status_entity,
        "categories": CATEGORIES,
        "comment_limit": COMMENT_LIMIT,
        "error": error,
        "entered": entered or {"comment": "", "category": "", "forward": False},
        "sent": request.query_params.get("sent") == "1",
    }
    return await render(request, "report.html", context, viewer=viewer, status=status)


@page
async def report_form(request: Request) -> Response:
    """GET /web/accounts/{id}/report[?status_id=]: report an account, or one of its posts."""
    viewer = await require_user(request)
    svc = services(request)
    account = await account_or_404(svc, request.path_params["id"])
    if account.id == viewer.account.id:
        raise PageError(422, "You cannot report yourself.")
    named = await _named_status(svc, viewer, account, request.query_params.get("status_id"))
    return await _show_form(request, viewer, account, status_entity=named)


@page
async def file_report(request: Request) -> Response:
    """POST /web/accounts/{id}/report: comment, category, status_id, forward."""
    viewer = await require_user(request)
    form = await read_form(request)
    svc = services(request)
    account = await account_or_404(svc, request.path_params["id"])
    named = await _named_status(svc, viewer, account, form.get("status_id"))
    category = field(form, "category", 20)
    comment = form.get("comment") if isinstance(form.get("comment"), str) else ""
    assert isinstance(comment, str)
    new = NewReport(
        target_account_id=account.id,
        status_ids=[int(named["id"])] if named else [],
        comment=comment.strip(),
        category=category if category in CATEGORIES else "other",
        forward=form.get("forward") == "1",
    )
    try:
        await Reports.of(svc).file(viewer.user, new, origin="web")
    except ReportError as error:
        entered = {"comment": comment, "category": category, "forward": new.forward}
        return await _show_form(
            request,
            viewer,
            account,
            status_entity=named,
            status=error.status,
            error=str(error),
            entered=entered,
        )
    return see_other(f"/web/accounts/{account.id}/report?sent=1")


# ----- the queue ---------------------------------------------------------------------------


def _sections(viewer: WebUser) -> tuple[tuple[str, str], ...]:
    """A moderator who is not an admin sees only the pages they may open."""
    if viewer.user.admin:
        return SECTIONS
    return tuple((href, label) for href, label in SECTIONS if href in MODERATOR_PAGES)


async def _view(svc: Services, found: list[ReportRecord], viewer: WebUser) -> list[dict[str, Any]]:
    """Each report with its accounts' handles and its statuses (as the moderator reads them:
    whatever their visibility, they are what was reported)."""
    ids = {
        i
        for r in found
        for i in (r.account_id, r.target_account_id, r.assigned_account_id)
        if i is not None
    }
    shown = []
    async with svc.db.read() as conn:
        named = await accounts.get_many(conn, ids)
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        for report in found:
            status_ids = await stored_reports.status_ids(conn, report.id)
            records = await statuses.get_many(conn, status_ids)
            kept = [  # a deleted post keeps its row but not its text: shown as gone
                records[i] for i in status_ids if i in records and records[i].deleted_at is None
            ]
            entities = await renderer.statuses(kept, viewer_account_id=viewer.account.id)
            shown.append(
                {
                    "report": report,
                    "reporter": _handle(named.get(report.account_id)),
                    "reporter_local": bool(
                        report.account_id
                        and (reporter := named.get(report.account_id))
                        and reporter.is_local
                    ),
                    "target": _handle(named.get(report.target_account_id)),
                    "target_id": report.target_account_id,
                    "assignee": _handle(named.get(report.assigned_account_id)),
                    "statuses": entities,
                    "missing_statuses": len(status_ids) - len(kept),
                    "notes": await stored_reports.notes(conn, report.id),
                }
            )
    return shown


def _handle(account: AccountRecord | None) -> str | None:
    return acct(account) if account is not None else None


@page
async def queue_page(request: Request) -> Response:
    """GET /web/admin/reports[?resolved=1]: the open (or resolved) reports, newest first."""
    viewer = await require_moderator(request)
    svc = services(request)
    resolved = request.query_params.get("resolved") == "1"
    async with svc.db.read() as conn:
        found = await stored_reports.page(conn, resolved=resolved, limit=PAGE_SIZE)
    context = {
        "sections": _sections(viewer),
        "reports": await _view(svc, found, viewer),
        "resolved": resolved,
        "notice": notice(request, NOTICES),
        "note_limit": NOTE_LIMIT,
        "me": viewer.account.id,
    }
    return await show(request, "reports.html", context, viewer=viewer)


async def _report_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit() or int(raw) >= 2**63:
        raise PageError(404, "There is no such report.")
    return int(raw)


def _acting(action: str) -> Endpoint:
    """A POST endpoint for one queue action: CSRF, moderator check, the action, back."""

    @page
    async def endpoint(request: Request) -> Response:
        viewer = await require_moderator(request)
        form = await read_form(request)
        report_id = await _report_id(request)
        reports = Reports.of(services(request))
        who = actor(viewer)
        try:
            if action == "assign":
                await reports.assign(who, report_id, viewer.account.id)
            elif action == "unassign":
                await reports.assign(who, report_id, None)
            elif action == "resolve":
                await reports.resolve(who, report_id)
            elif action == "reopen":
                await reports.reopen(who, report_id)
            else:
                await reports.note(who, report_id, field(form, "content", NOTE_LIMIT + 1))
        except ReportError as error:
            raise PageError(error.status, str(error)) from error
        return done(QUEUE, action, str(report_id))

    endpoint.__name__ = f"report_{action}"
    return endpoint


routes = [
    Route("/web/accounts/{id}/report", report_form, methods=["GET"]),
    Route("/web/accounts/{id}/report", file_report, methods=["POST"]),
    Route(QUEUE, queue_page, methods=["GET"]),
    *(
        Route(f"{QUEUE}/{{id}}/{action}", _acting(action), methods=["POST"])
        for action in ("assign", "unassign", "resolve", "reopen", "note")
    ),
]
