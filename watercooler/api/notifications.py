"""Mastodon's notifications API: list (with `types[]`, `exclude_types[]`, `account_id` and id
paging), get, dismiss, clear, and the unread count of Mastodon 4.3.

Notifications are written by the publisher and the inbox handlers, in the transaction of their
cause (store.notifications); this module only reads and deletes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, moderation, statuses
from store import notifications as store
from store.api_timelines import Page
from store.db import Connection
from store.notifications import Filter, NotificationRecord
from store.records import AccountRecord, StatusRecord
from watercooler.api.admin_accounts import add_warnings
from watercooler.api.entities import EntityRenderer, iso
from watercooler.api.forms import id_param
from watercooler.api.pagination import int_param, page_params, paged_response
from watercooler.api.reports import add_reports
from watercooler.auth import authenticate
from watercooler.filters import FilterView
from watercooler.filters import load as load_filters
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

DEFAULT_LIMIT = 40
MAX_LIMIT = 80
UNREAD_DEFAULT_LIMIT = 100
UNREAD_MAX_LIMIT = 1000


def _types(request: Request, name: str) -> list[str]:
    """`name[]=a&name[]=b` (or `name=a`); types Mastodon does not know are dropped, as it does."""
    given = request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name)
    return [value for value in given if value in store.TYPES]


def _filter(request: Request) -> Filter:
    has_types = any(key in request.query_params for key in ("types[]", "types"))
    return Filter(
        types=_types(request, "types") if has_types else None,
        exclude_types=_types(request, "exclude_types"),
        from_account_id=id_param(request.query_params.get("account_id"), "account_id"),
    )


async def notification_entity(
    conn: Connection,
    svc: Services,
    record: NotificationRecord,
    filters: FilterView | None = None,
    renderer: EntityRenderer | None = None,
) -> dict[str, Any] | None:
    """Mastodon's Notification, or None when its account or status is gone or hidden from the
    reader, or its status is hidden by one of the reader's `filters` (their `notifications`
    filters, loaded once per request). `status` is there only for the types that have one
    (a `null` crashes apps). `renderer`: one kept for a streaming pass."""
    (entity,) = await notification_entities(conn, svc, [record], filters, renderer)
    return entity


async def notification_entities(
    conn: Connection,
    svc: Services,
    records: Sequence[NotificationRecord],
    filters: FilterView | None = None,
    renderer: EntityRenderer | None = None,
) -> list[dict[str, Any] | None]:
    """`notification_entity` of each record (all of one reader), rendered in batches."""
    if renderer is None:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
    senders = await accounts.get_many(conn, {record.from_account_id for record in records})
    found = await statuses.get_many(
        conn, {record.status_id for record in records if record.status_id is not None}
    )
    hidden = await moderation.hidden_statuses(conn, found)
    kept: list[tuple[int, AccountRecord, StatusRecord | None]] = []
    for index, record in enumerate(records):
        sender = senders.get(record.from_account_id)
        if sender is None:
            continue
        status = None
        if record.status_id is not None:
            status = found.get(record.status_id)
            if status is None or not await can_see(conn, status, record.account_id, hidden=hidden):
                continue
            if filters is not None and await filters.hidden(conn, status):
                continue
        kept.append((index, sender, status))
    senders_shown = await renderer.accounts([sender for _, sender, _ in kept])
    statuses_shown: dict[tuple[int, int], dict[str, Any]] = {}
    for reader in dict.fromkeys(records[index].account_id for index, _, s in kept if s):
        theirs = [s for index, _, s in kept if s and records[index].account_id == reader]
        rendered = await renderer.statuses(theirs, viewer_account_id=reader, filters=filters)
        statuses_shown.update(((reader, s.id), e) for s, e in zip(theirs, rendered, strict=True))
    entities: list[dict[str, Any] | None] = [None] * len(records)
    for (index, _, status), account in zip(kept, senders_shown, strict=True):
        record = records[index]
        entity: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "created_at": iso(record.created_at),
            "group_key": f"ungrouped-{record.id}",
            "account": account,
        }
        if status is not None:
            entity["status"] = statuses_shown[record.account_id, status.id]
        if record.type == "move" and "moved" in account:  # Pleroma's shape: the new account
            entity["target"] = account["moved"]
        entities[index] = entity
    await add_warnings(conn, renderer, records, entities)  # moderation_warning's AccountWarning
    await add_reports(conn, svc, records, entities)  # admin.report's Report
    return entities


async def notifications_page(
    conn: Connection, svc: Services, viewer: int, page: Page, selection: Filter
) -> tuple[list[dict[str, Any]], list[int]]:
    """A page of `viewer`'s notifications, newest first, as the API lists them and the web
    page shows them: (the entities, hidden ones left out; the ids of the rows paged, which
    paging goes on from even when their entity was left out)."""
    records = await store.page(conn, viewer, page, selection, now=svc.clock())
    view = await load_filters(conn, viewer, now=svc.clock(), context="notifications")
    rendered = await notification_entities(conn, svc, records, view)
    return [entity for entity in rendered if entity is not None], [r.id for r in records]


async def list_notifications(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:notifications")
    page = page_params(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    async with svc.db.read() as conn:
        entities, paged_ids = await notifications_page(
            conn, svc, caller.account.id, page, _filter(request)
        )
    base = svc.config.instance.base_url
    return paged_response(request, base, entities, paged_ids, page)


def _path_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise HTTPException(404, "Record not found")
    return int(value)


async def get_notification(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:notifications")
    notification_id = _path_id(request)
    async with svc.db.read() as conn:
        record = await store.get(conn, caller.account.id, notification_id, now=svc.clock())
        view = await load_filters(conn, caller.account.id, now=svc.clock(), context="notifications")
        entity = await notification_entity(conn, svc, record, view) if record else None
    if entity is None:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse(entity)


async def dismiss(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:notifications")
    notification_id = _path_id(request)
    async with svc.db.transaction() as conn:
        found = await store.dismiss(conn, caller.account.id, notification_id)
    if not found:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse({})


async def clear(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:notifications")
    async with svc.db.transaction() as conn:
        await store.clear(conn, caller.account.id)
    return FastJSONResponse({})


async def unread_count(request: Request) -> Response:
    """Notifications after the `notifications` marker (`/api/v1/markers`), capped at `limit`."""
    svc = services(request)
    caller = await authenticate(request, svc, "read:notifications")
    limit = int_param(request, "limit", UNREAD_DEFAULT_LIMIT, maximum=UNREAD_MAX_LIMIT)
    async with svc.db.read() as conn:
        count = await store.unread_count(
            conn, caller.account.id, _filter(request), limit=limit, now=svc.clock()
        )
    return FastJSONResponse({"count": count})


routes = [
    Route("/api/v1/notifications", list_notifications),
    Route("/api/v1/notifications/unread_count", unread_count),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{id}", get_notification),
    Route("/api/v1/notifications/{id}/dismiss", dismiss, methods=["POST"]),
]
