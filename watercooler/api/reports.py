"""Mastodon's `POST /api/v1/reports` (scope `write:reports`) and its Report entity.

Parameters as Mastodon takes them, from a form or JSON: `account_id` (required),
`status_ids[]`, `comment`, `forward`, `category` (spam, legal, violation, other),
`rule_ids[]`. The checks and the side effects (a `Flag` to the account's division with
`forward`, the moderators' notifications, the audit row) are watercooler.reports'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts
from store import reports as stored_reports
from store.db import Connection
from store.notifications import NotificationRecord
from store.reports import ReportRecord
from watercooler.api.entities import account_entity, iso
from watercooler.api.forms import body_params, flag, id_param, text
from watercooler.auth import authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.reports import NewReport, ReportError, Reports
from watercooler.services import Services


async def report_entity(conn: Connection, svc: Services, report: ReportRecord) -> dict[str, Any]:
    """Mastodon's Report, as the reporter sees it (and an `admin.report` notification)."""
    target = await accounts.get_by_id(conn, report.target_account_id)
    assert target is not None
    status_ids = await stored_reports.status_ids(conn, report.id)
    return {
        "id": str(report.id),
        "action_taken": report.resolved,
        "action_taken_at": iso(report.action_taken_at) if report.action_taken_at else None,
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(i) for i in status_ids],
        "rule_ids": list(report.rule_ids) or None,
        "target_account": await account_entity(
            conn, target, uris=svc.uris, local_domain=svc.config.instance.domain
        ),
    }


def _ids(value: Any, name: str) -> list[int]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    found = [id_param(item, name) for item in items]
    return [i for i in found if i is not None]


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if str(item).strip()]


def new_report(params: dict[str, Any]) -> NewReport:
    """The request's parameters as a NewReport; 422 for a missing or malformed one."""
    target = id_param(params.get("account_id"), "account_id")
    if target is None:
        raise HTTPException(422, "Validation failed: Account can't be blank")
    category = params.get("category")
    if category is not None and not isinstance(category, str):
        raise HTTPException(422, "Validation failed: Category is not valid")
    return NewReport(
        target_account_id=target,
        status_ids=_ids(params.get("status_ids"), "status_ids"),
        comment=text(params.get("comment"), "Comment"),
        category=category or None,
        rule_ids=_strings(params.get("rule_ids")),
        forward=flag(params.get("forward")),
    )


async def create_report(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:reports")
    new = new_report(await body_params(request))
    try:
        report = await Reports.of(svc).file(caller.user, new, origin="api")
    except ReportError as error:
        raise HTTPException(error.status, str(error)) from error
    async with svc.db.read() as conn:
        return FastJSONResponse(await report_entity(conn, svc, report))


routes = [
    Route("/api/v1/reports", create_report, methods=["POST"]),
    Route("/api/v1/reports/", create_report, methods=["POST"]),  # as Mastodon.py posts it
]


async def add_reports(
    conn: Connection,
    svc: Services,
    records: Sequence[NotificationRecord],
    entities: list[dict[str, Any] | None],
) -> None:
    """Put its Report on each `admin.report` notification entity (its `ref` is the report's
    id); one whose report is gone is left out."""
    for index, (record, entity) in enumerate(zip(records, entities, strict=True)):
        if entity is None or record.type != stored_reports.ADMIN_REPORT:
            continue
        report = await stored_reports.get(conn, int(record.ref)) if record.ref.isdigit() else None
        if report is None:
            entities[index] = None
        else:
            entity["report"] = await report_entity(conn, svc, report)
