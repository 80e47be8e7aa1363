"""/web/admin/audit (the audit log: read-only, newest first, searched, paged) and
/web/admin/audit.jsonl (the same selection as JSON lines, streamed, for admins).

Who reads it: admins, and moderators. Mastodon's default Moderator role holds "View Audit
Log": moderators act on the same accounts and reports, and see what the others did (who
already warned or suspended someone, who resolved a report) so their work is accountable
to each other, not only to the admins. Their navigation shows the moderators' pages only;
the download stays with admins, because a bulk copy of sign-in addresses and policy changes
leaving the system is IT's call, and is recorded ('audit.export').
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import audit
from watercooler.audit_export import Filters, download, filters_from
from watercooler.http import services
from watercooler.web.admin.base import SECTIONS, show
from watercooler.web.pages import PageError, page, require_moderator

AUDIT_PATH = "/web/admin/audit"
EXPORT_PATH = "/web/admin/audit.jsonl"
AUDIT_PAGE = 50
QUERY_KEYS = ("action", "actor", "q", "since", "until")
"""The page's filters, kept in the pager's and the download's links."""
MODERATOR_PAGES = frozenset({"/web/admin/accounts", "/web/admin/reports", AUDIT_PATH})
"""The admin sections a moderator may open (account moderation, reports, this page)."""


def _query(request: Request) -> dict[str, str]:
    return {key: request.query_params.get(key, "")[:100].strip() for key in QUERY_KEYS}


def _before(request: Request) -> int | None:
    value = request.query_params.get("before", "")
    return int(value) if value.isdigit() and len(value) < 20 else None


def _filters(query: dict[str, str]) -> Filters:
    """ValueError for a date that is not one."""
    return filters_from(
        action=query["action"],
        actor=query["actor"],
        text=query["q"],
        since=query["since"],
        until=query["until"],
    )


@page
async def audit_page(request: Request) -> Response:
    viewer = await require_moderator(request)
    query = _query(request)
    error = None
    try:
        filters = _filters(query)
    except ValueError as bad:
        error, filters = str(bad), Filters(query["action"] or None, query["actor"] or None)
    before = _before(request)
    async with services(request).db.read() as conn:
        entries = await audit.page(
            conn,
            action=filters.action,
            actor=filters.actor,
            text=filters.text,
            since=filters.since,
            until=filters.until,
            before_id=before,
            limit=AUDIT_PAGE + 1,  # one more tells whether there is an older page
        )
        known_actions = await audit.actions(conn)
    older = entries[AUDIT_PAGE - 1].id if len(entries) > AUDIT_PAGE else None
    context: dict[str, Any] = {
        "entries": entries[:AUDIT_PAGE],
        "actions": known_actions,
        "action_groups": sorted(
            {f"{name.split('.')[0]}." for name in known_actions if "." in name}
        ),
        "query": query,
        "filtered": any(query.values()),
        "older": older,
        "paged": before is not None,
        "may_export": viewer.user.admin,
        "error": error,
    }
    if not viewer.user.admin:  # a moderator: the moderators' pages, not the admin sections
        context["sections"] = [s for s in SECTIONS if s[0] in MODERATOR_PAGES]
    return await show(request, "audit.html", context, viewer=viewer, status=422 if error else 200)


@page
async def audit_export(request: Request) -> Response:
    """The page's selection as JSON lines, oldest first, streamed; recorded first."""
    viewer = await require_moderator(request)
    if not viewer.user.admin:
        raise PageError(403, "Downloading the audit log is for the instance's administrators.")
    try:
        filters = _filters(_query(request))
    except ValueError as bad:
        raise PageError(422, str(bad)) from None
    svc = services(request)
    return await download(
        svc.db,
        svc.clock(),
        svc.config.instance.domain,
        user=viewer.user,
        origin="web",
        filters=filters,
    )


routes = [
    Route(AUDIT_PATH, audit_page, methods=["GET"]),
    Route(EXPORT_PATH, audit_export, methods=["GET"]),
]
