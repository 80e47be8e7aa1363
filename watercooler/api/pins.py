"""Mastodon's pins: `POST /api/v1/statuses/:id/pin` and `/unpin` (scope `write:accounts`).

A user pins up to five of their own public, unlisted or followers-only posts to their profile
(Mastodon's rules and messages: 422 for a boost, someone else's post, a direct post, or a
sixth pin); both calls answer the status with `pinned` as it now stands, and both are
idempotent. The publisher stores the pin and queues the `Add` / `Remove` for followers.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.publish import PublishError
from store import statuses
from store.records import StatusRecord
from watercooler.api.entities import status_entity
from watercooler.api.forms import id_param
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see


async def _status(request: Request) -> tuple[Services, Caller, StatusRecord]:
    """The caller and the status, if they may see it (404 otherwise, as Mastodon)."""
    svc = services(request)
    caller = await authenticate(request, svc, "write:accounts")
    status_id = id_param(request.path_params["id"], "id")
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        if status is None or not await can_see(conn, status, caller.account.id):
            raise HTTPException(404, "Record not found")
    return svc, caller, status


async def _answer(svc: Services, caller: Caller, status: StatusRecord) -> Response:
    async with svc.db.read() as conn:
        fresh = await statuses.get_by_id(conn, status.id)
        assert fresh is not None
        entity = await status_entity(
            conn,
            fresh,
            viewer_account_id=caller.account.id,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )
    return FastJSONResponse(entity)


async def pin(request: Request) -> Response:
    svc, caller, status = await _status(request)
    try:
        await svc.publisher.pin(caller.account, status)
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return await _answer(svc, caller, status)


async def unpin(request: Request) -> Response:
    svc, caller, status = await _status(request)
    await svc.publisher.unpin(caller.account, status)
    return await _answer(svc, caller, status)


routes = [
    Route("/api/v1/statuses/{id}/pin", pin, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unpin", unpin, methods=["POST"]),
]
