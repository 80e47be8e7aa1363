"""Mastodon's admin reports API: `/api/v1/admin/reports` (list, show, update, assign_to_self,
unassign, resolve, reopen), the subset moderation tools use, with its Admin::Report entity.

For admins and holders of the moderator role (`store.roles.may_moderate`), with the
`admin:read:reports` / `admin:write:reports` scopes (or `admin:read` / `admin:write`); 403
for anyone else. Each change goes through watercooler.reports, which writes its audit row
(origin 'api'). The list is Mastodon's: unresolved reports unless `resolved` is true,
newest first, 100 per page by default (200 at most), paged by `max_id`/`since_id`/`min_id`
with a `Link` header.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, statuses
from store import reports as stored_reports
from store.db import Connection
from store.records import AccountRecord
from store.reports import ReportRecord
from watercooler.admin import Actor
from watercooler.api.admin_auth import staff_caller as _moderator
from watercooler.api.admin_entities import admin_accounts
from watercooler.api.entities import EntityRenderer, iso
from watercooler.api.forms import body_params, flag
from watercooler.api.pagination import page_params, paged_response
from watercooler.auth import Caller
from watercooler.http import FastJSONResponse
from watercooler.reports import ReportError, Reports
from watercooler.services import Services

DEFAULT_LIMIT = 100
MAX_LIMIT = 200


async def admin_report_entities(
    conn: Connection, svc: Services, found: list[ReportRecord], viewer_account_id: int
) -> list[dict[str, Any]]:
    """Mastodon's Admin::Report of each report: the reporter, the target, the assignee and
    who resolved it as Admin::Account, the statuses named as Status (as the moderator
    sees them: a moderator reads what was reported, whatever its visibility)."""
    account_ids: set[int] = set()
    for report in found:
        account_ids.update(
            i
            for i in (
                report.account_id,
                report.target_account_id,
                report.assigned_account_id,
                report.action_taken_by_account_id,
            )
            if i is not None
        )
    records = await accounts.get_many(conn, account_ids)
    ordered: list[AccountRecord] = list(records.values())
    rendered = await admin_accounts(
        conn, ordered, uris=svc.uris, local_domain=svc.config.instance.domain
    )
    by_id = {account.id: entity for account, entity in zip(ordered, rendered, strict=True)}
    renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
    entities = []
    for report in found:
        status_ids = await stored_reports.status_ids(conn, report.id)
        found_statuses = await statuses.get_many(conn, status_ids)
        shown = [found_statuses[i] for i in status_ids if i in found_statuses]
        rendered_statuses = await renderer.statuses(shown, viewer_account_id=viewer_account_id)

        def account(account_id: int | None) -> dict[str, Any] | None:
            return by_id.get(account_id) if account_id is not None else None

        entities.append(
            {
                "id": str(report.id),
                "action_taken": report.resolved,
                "action_taken_at": iso(report.action_taken_at) if report.action_taken_at else None,
                "category": report.category,
                "comment": report.comment,
                "forwarded": report.forwarded,
                "created_at": iso(report.created_at),
                "updated_at": iso(report.updated_at),
                "account": account(report.account_id),
                "target_account": account(report.target_account_id),
                "assigned_account": account(report.assigned_account_id),
                "action_taken_by_account": account(report.action_taken_by_account_id),
                "statuses": rendered_statuses,
                "rules": [],
            }
        )
    return entities


async def _one(svc: Services, caller: Caller, report: ReportRecord) -> Response:
    async with svc.db.read() as conn:
        (entity,) = await admin_report_entities(conn, svc, [report], caller.account.id)
    return FastJSONResponse(entity)


def _report_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or int(value) >= 2**63:
        raise HTTPException(404, "Record not found")
    return int(value)


def _account_filter(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) >= 2**63:
        raise HTTPException(400, f"{name} must be an id")
    return int(value)


async def list_reports(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:read:reports")
    page = page_params(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    async with svc.db.read() as conn:
        found = await stored_reports.page(
            conn,
            resolved=flag(request.query_params.get("resolved")),
            account_id=_account_filter(request, "account_id"),
            target_account_id=_account_filter(request, "target_account_id"),
            max_id=page.max_id,
            since_id=page.since_id,
            min_id=page.min_id,
            limit=page.limit,
        )
        entities = await admin_report_entities(conn, svc, found, caller.account.id)
    return paged_response(
        request, svc.config.instance.base_url, entities, [r.id for r in found], page
    )


async def get_report(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:read:reports")
    async with svc.db.read() as conn:
        found = await stored_reports.get(conn, _report_id(request))
    if found is None:
        raise HTTPException(404, "Record not found")
    return await _one(svc, caller, found)


async def update_report(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:write:reports")
    params = await body_params(request)
    category = params.get("category")
    if category is not None and not isinstance(category, str):
        raise HTTPException(422, "Validation failed: Category is not valid")
    raw_rules = params.get("rule_ids")
    rule_ids = None
    if raw_rules is not None:
        items = raw_rules if isinstance(raw_rules, list) else [raw_rules]
        rule_ids = [str(item) for item in items if str(item).strip()]
    return await _act(
        svc,
        caller,
        lambda reports, actor, report_id: reports.update(
            actor, report_id, category=category or None, rule_ids=rule_ids
        ),
        _report_id(request),
    )


Action = Callable[[Reports, Actor, int], Awaitable[ReportRecord]]


async def _act(svc: Services, caller: Caller, action: Action, report_id: int) -> Response:
    try:
        report = await action(Reports.of(svc), Actor.of_user(caller.user, "api"), report_id)
    except ReportError as error:
        raise HTTPException(error.status, str(error)) from error
    return await _one(svc, caller, report)


async def assign_to_self(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:write:reports")
    return await _act(
        svc,
        caller,
        lambda reports, actor, report_id: reports.assign(actor, report_id, caller.account.id),
        _report_id(request),
    )


async def unassign(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:write:reports")
    return await _act(
        svc,
        caller,
        lambda reports, actor, report_id: reports.assign(actor, report_id, None),
        _report_id(request),
    )


async def resolve(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:write:reports")
    return await _act(
        svc, caller, lambda reports, actor, i: reports.resolve(actor, i), _report_id(request)
    )


async def reopen(request: Request) -> Response:
    svc, caller = await _moderator(request, "admin:write:reports")
    return await _act(
        svc, caller, lambda reports, actor, i: reports.reopen(actor, i), _report_id(request)
    )


routes = [
    Route("/api/v1/admin/reports", list_reports, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", get_report, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", update_report, methods=["PUT"]),
    Route("/api/v1/admin/reports/{id}/assign_to_self", assign_to_self, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/unassign", unassign, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/resolve", resolve, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/reopen", reopen, methods=["POST"]),
]
