"""Mastodon's admin accounts API: list (v1 and v2 filters), show, act (`action`: none,
sensitive, disable, silence, suspend, with a warning text and a report to resolve), undo
(`enable`, `unsilence`, `unsuspend`, `unsensitive`) and delete a suspended account's data.

Admins and moderators (store.roles.may_moderate) may call these with the
`admin:read:accounts` / `admin:write:accounts` scopes; a moderator may not act on an admin,
and deleting data is for admins (Mastodon's `delete_user_data`). Every change goes through
`watercooler.moderation` (audit rows, origin 'api'). Also here: Mastodon's AccountWarning
entity, which the `moderation_warning` notification carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, moderation
from store.api_timelines import Page
from store.db import Connection
from store.moderation import AccountQuery, WarningRecord
from store.notifications import NotificationRecord
from watercooler.admin import AdminError, Missing
from watercooler.api.admin_entities import admin_account, admin_accounts
from watercooler.api.entities import EntityRenderer, iso
from watercooler.api.forms import body_params, flag
from watercooler.api.pagination import MAX_ID, int_param, link_header
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.moderation import ModerationActions, Moderator, NotAllowed, moderator_of
from watercooler.services import Services

DEFAULT_LIMIT = 100
MAX_LIMIT = 200
ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")


async def _moderator(request: Request, scope: str) -> tuple[Services, Caller, Moderator]:
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    async with svc.db.read() as conn:
        try:
            by = await moderator_of(conn, caller.user, "api")
        except NotAllowed:
            raise HTTPException(403, "This action is not allowed") from None
    return svc, caller, by


def _path_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or not 0 < int(value) <= MAX_ID:
        raise HTTPException(404, "Record not found")
    return int(value)


def _bound(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_ID:
        raise HTTPException(400, f"{name} must be an id")
    return int(value)


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value[:320] or None


def _query(request: Request, *, v2: bool) -> AccountQuery:
    """The filters as Mastodon's v1 (booleans) or v2 (origin, status, permissions) name
    them."""
    params = request.query_params
    if v2:
        origin = params.get("origin") or None
        status = params.get("status") or None
        staff = params.get("permissions") == "staff"
        if origin not in (None, "local", "remote"):
            raise HTTPException(422, "origin must be local or remote")
        if status not in (None, "active", "pending", "disabled", "silenced", "suspended"):
            raise HTTPException(422, "Unknown status")
        sensitized = False
    else:
        origin = "local" if flag(params.get("local")) else None
        if flag(params.get("remote")):
            origin = "remote"
        status = next(
            (
                s
                for s in ("active", "pending", "disabled", "silenced", "suspended")
                if flag(params.get(s))
            ),
            None,
        )
        staff = flag(params.get("staff"))
        sensitized = flag(params.get("sensitized"))
    return AccountQuery(
        origin=origin,
        status=status,
        sensitized=sensitized,
        staff=staff,
        username=_text(request, "username"),
        display_name=_text(request, "display_name"),
        by_domain=_text(request, "by_domain"),
        email=_text(request, "email"),
        ip=_text(request, "ip"),
        max_id=_bound(request, "max_id"),
        since_id=_bound(request, "since_id"),
        min_id=_bound(request, "min_id"),
        limit=int_param(request, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT),
    )


async def _list(request: Request, *, v2: bool) -> Response:
    svc, _, _ = await _moderator(request, "admin:read:accounts")
    query = _query(request, v2=v2)
    async with svc.db.read() as conn:
        ids = await moderation.admin_page(conn, query)
        found = await accounts.get_many(conn, ids)
        listed = [found[i] for i in ids if i in found]
        entities = await admin_accounts(
            conn, listed, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    response = FastJSONResponse(entities)
    page = Page(query.max_id, query.since_id, query.min_id, query.limit)
    link = link_header(request, svc.config.instance.base_url, ids, page)
    if link:
        response.headers["Link"] = link
    return response


async def list_v1(request: Request) -> Response:
    return await _list(request, v2=False)


async def list_v2(request: Request) -> Response:
    return await _list(request, v2=True)


async def _entity(svc: Services, account_id: int) -> dict[str, Any]:
    async with svc.db.read() as conn:
        account = await accounts.get_by_id(conn, account_id)
        if account is None or moderation.is_instance_actor(account):
            raise HTTPException(404, "Record not found")
        return await admin_account(
            conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
        )


async def show(request: Request) -> Response:
    svc, _, _ = await _moderator(request, "admin:read:accounts")
    return FastJSONResponse(await _entity(svc, _path_id(request)))


def _failed(error: AdminError) -> HTTPException:
    if isinstance(error, Missing):
        return HTTPException(404, "Record not found")
    if isinstance(error, NotAllowed):
        return HTTPException(403, "This action is not allowed")
    return HTTPException(422, f"Validation failed: {error}")


async def act(request: Request) -> Response:
    """`POST /api/v1/admin/accounts/:id/action`: an empty object, as Mastodon answers."""
    svc, _, by = await _moderator(request, "admin:write:accounts")
    account_id = _path_id(request)
    params = await body_params(request)
    kind = params.get("type") or "none"
    if kind not in ACTIONS:
        raise HTTPException(422, "Validation failed: Type is not included in the list")
    report = params.get("report_id")
    report_id = None
    if report not in (None, ""):
        if not str(report).isdigit() or int(str(report)) > MAX_ID:
            raise HTTPException(422, "Validation failed: report_id must be an id")
        report_id = int(str(report))
    text = params.get("text")
    try:
        await ModerationActions.of(svc).act(
            by,
            account_id,
            kind,
            text=text if isinstance(text, str) else "",
            report_id=report_id,
        )
    except AdminError as error:
        raise _failed(error) from error
    return FastJSONResponse({})


def _undo(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        svc, _, by = await _moderator(request, "admin:write:accounts")
        account_id = _path_id(request)
        actions = ModerationActions.of(svc)
        try:
            if name == "enable":
                await actions.disable(by, account_id, False)
            elif name == "unsilence":
                await actions.limit(by, account_id, False)
            elif name == "unsuspend":
                await actions.unsuspend(by, account_id)
            else:
                await actions.sensitive(by, account_id, False)
        except AdminError as error:
            raise _failed(error) from error
        return FastJSONResponse(await _entity(svc, account_id))

    endpoint.__name__ = name
    return endpoint


async def delete(request: Request) -> Response:
    """Delete a suspended account's posts for good (Mastodon deletes its data): admins only,
    and only once it is suspended (else 403, as Mastodon)."""
    svc, _, by = await _moderator(request, "admin:write:accounts")
    account_id = _path_id(request)
    entity = await _entity(svc, account_id)
    if not by.admin or not entity["suspended"]:
        raise HTTPException(403, "This action is not allowed")
    try:
        await ModerationActions.of(svc).delete_data(by, account_id)
    except AdminError as error:
        raise _failed(error) from error
    return FastJSONResponse(entity)


# ----- AccountWarning, for the moderation_warning notification ----------------------------


def warning_entity(warning: WarningRecord, target_account: dict[str, Any]) -> dict[str, Any]:
    """Mastodon's AccountWarning."""
    return {
        "id": str(warning.id),
        "action": warning.action,
        "text": warning.text,
        "status_ids": (
            [str(i) for i in warning.status_ids] if warning.status_ids is not None else None
        ),
        "target_account": target_account,
        "appeal": None,
        "created_at": iso(warning.created_at),
    }


async def add_warnings(
    conn: Connection,
    renderer: EntityRenderer,
    records: Sequence[NotificationRecord],
    entities: list[dict[str, Any] | None],
) -> None:
    """Put its AccountWarning (`moderation_warning`) on each such notification entity."""
    wanted = [
        r.id for r, e in zip(records, entities, strict=True) if e and r.type == "moderation_warning"
    ]
    if not wanted:
        return
    warnings = await moderation.warnings_by_notification(conn, wanted)
    targets = await accounts.get_many(conn, {w.target_account_id for w in warnings.values()})
    shown = dict(zip(targets, await renderer.accounts(list(targets.values())), strict=True))
    for record, entity in zip(records, entities, strict=True):
        warning = warnings.get(record.id)
        if entity is not None and warning is not None and warning.target_account_id in shown:
            entity["moderation_warning"] = warning_entity(warning, shown[warning.target_account_id])


routes = [
    Route("/api/v1/admin/accounts", list_v1),
    Route("/api/v2/admin/accounts", list_v2),
    Route("/api/v1/admin/accounts/{id}", show),
    Route("/api/v1/admin/accounts/{id}", delete, methods=["DELETE"]),
    Route("/api/v1/admin/accounts/{id}/action", act, methods=["POST"]),
    *(
        Route(f"/api/v1/admin/accounts/{{id}}/{name}", _undo(name), methods=["POST"])
        for name in ("enable", "unsilence", "unsuspend", "unsensitive")
    ),
]
