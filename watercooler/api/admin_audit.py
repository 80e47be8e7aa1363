"""The admin API for the audit log (a Watercooler extension: Mastodon has no audit log API).

    GET /api/v1/admin/audit_log           entries, newest first, filtered and paged
    GET /api/v1/admin/audit_log/export    the same selection as JSON lines (admins)
    GET /api/v1/admin/audit_log/verify    the hash chain checked (admins)

The same rules as the web page (watercooler/web/admin/audit.py): admins and moderators read
the log, only admins take it out or check it. All three need `admin:read`: Mastodon has no
finer scope for an audit log, and one only Watercooler knew would be a scope stock apps
cannot ask for. The code is the page's and the CLI's: `store.audit.page` for the list,
`watercooler.audit_export` for the export (recorded first as 'audit.export', origin 'api',
like the page's download), `store.audit_verify.verify` for the check (which, as the CLI's,
writes nothing).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import audit
from store.audit import AuditEntry
from store.audit_verify import Problem, parse_expected_head, verify
from watercooler.api.admin_auth import staff_caller
from watercooler.api.entities import iso
from watercooler.api.pagination import page_params, paged_response
from watercooler.audit_export import Filters, download, filters_from
from watercooler.auth import Caller
from watercooler.http import FastJSONResponse
from watercooler.services import Services

SCOPE = "admin:read"
DEFAULT_LIMIT = 50
MAX_LIMIT = audit.PAGE_LIMIT
NO_STORE = {"Cache-Control": "no-store"}
"""The log names people and addresses: no cache keeps a copy."""


async def _reader(request: Request) -> tuple[Services, Caller]:
    """Admins and moderators, as on the web page; 403 for others."""
    return await staff_caller(request, SCOPE)


async def _admin(request: Request) -> tuple[Services, Caller]:
    """Admins only: a bulk copy, or the chain check, is IT's call, as on the web page."""
    svc, caller = await _reader(request)
    if not caller.user.admin:
        raise HTTPException(403, "This action is not allowed")
    return svc, caller


def _filters(request: Request) -> Filters:
    """The page's filters from the query: `action`, `actor`, `q`, `since`, `until`."""
    query = request.query_params
    try:
        return filters_from(
            action=query.get("action"),
            actor=query.get("actor"),
            text=query.get("q"),
            since=query.get("since"),
            until=query.get("until"),
        )
    except ValueError as error:
        raise HTTPException(422, f"Validation failed: {error}") from None


def entry_entity(entry: AuditEntry) -> dict[str, Any]:
    """One row. `at` in the API's time form: the hash covers the stored form, so re-checking
    hashes is for the export, whose lines are the rows as stored."""
    actor_id = entry.actor_account_id
    return {
        "id": str(entry.id),
        "at": iso(entry.at),
        "actor": {
            "account_id": str(actor_id) if actor_id is not None else None,
            "name": entry.actor_name,
        },
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
        "origin": entry.origin,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def problem_entity(problem: Problem) -> dict[str, Any]:
    return {
        "row": str(problem.row) if problem.row is not None else None,
        "kind": problem.kind,
        "detail": problem.detail,
    }


async def list_entries(request: Request) -> Response:
    svc, _ = await _reader(request)
    filters = _filters(request)
    page = page_params(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    lower = page.min_id if page.min_id is not None else page.since_id
    async with svc.db.read() as conn:
        entries = await audit.page(
            conn,
            action=filters.action,
            actor=filters.actor,
            text=filters.text,
            since=filters.since,
            until=filters.until,
            before_id=page.max_id,
            after_id=lower,
            oldest_first=page.min_id is not None,
            limit=page.limit,
        )
    response = paged_response(
        request,
        svc.config.instance.base_url,
        [entry_entity(e) for e in entries],
        [e.id for e in entries],
        page,
    )
    response.headers.update(NO_STORE)
    return response


async def export(request: Request) -> Response:
    """The selection as JSON lines, oldest first, streamed; recorded before the first row."""
    svc, caller = await _admin(request)
    return await download(
        svc.db,
        svc.clock(),
        svc.config.instance.domain,
        user=caller.user,
        origin="api",
        filters=_filters(request),
    )


async def check(request: Request) -> Response:
    """`audit verify` over the API: the first problem (a bad row first, then missing
    triggers), the head to note, and whether `expect_head` (HASH or ROW:HASH) is in it."""
    svc, _ = await _admin(request)
    expect_head = request.query_params.get("expect_head", "").strip() or None
    if expect_head is not None:
        try:
            parse_expected_head(expect_head)
        except ValueError as error:
            raise HTTPException(422, f"Validation failed: expect_head: {error}") from None
    async with svc.db.read() as conn:
        verdict = await verify(conn, expect_head=expect_head)
    problems = [problem_entity(p) for p in verdict.problems]
    expected = verdict.expected_head_id
    return FastJSONResponse(
        {
            "intact": verdict.intact,
            "entries": verdict.count,
            "head": verdict.head,
            "head_id": str(verdict.head_id),
            "expected_head_id": str(expected) if expected is not None else None,
            "problem": problems[0] if problems else None,
            "problems": problems,
        },
        headers=NO_STORE,
    )


routes = [
    Route("/api/v1/admin/audit_log", list_entries, methods=["GET"]),
    Route("/api/v1/admin/audit_log/export", export, methods=["GET"]),
    Route("/api/v1/admin/audit_log/verify", check, methods=["GET"]),
]
