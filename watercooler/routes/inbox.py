"""Inbox endpoints: `POST /inbox` (shared) and `POST /users/{name}/inbox`. Verify, store, 202."""

from __future__ import annotations

import logging
from functools import partial

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from federation.policy import PolicyRejected
from inbox.backlog import RETRY_AFTER_SECONDS
from inbox.receive import MAX_BODY_BYTES, InboxRejected, accept_activity
from watercooler.http import error_response, services
from watercooler.local import local_actor
from watercooler.signed import request_view

log = logging.getLogger(__name__)


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None past the limit; a large body is never held whole in memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)  # one chunk: no copy


async def _receive(request: Request, recipient_account_id: int | None) -> Response:
    svc = services(request)
    if await svc.backlog.full():  # before any work: the cheapest answer under overload
        if refused := svc.backlog.refused():
            log.warning("inbox backlog full, asked %d request(s) to retry later", refused)
        return error_response(
            429,
            "too many activities waiting to be processed; retry later",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    try:
        body = await _read_capped(request)
    except ClientDisconnect:  # the sender went away mid-body: nothing to answer, nothing kept
        return Response(status_code=400)
    if body is None:
        return error_response(413, f"body larger than {MAX_BODY_BYTES} bytes")
    view = await request_view(request, svc.config.instance.base_url, body=body)
    accept = partial(accept_activity, svc.intake, view, recipient_account_id=recipient_account_id)
    try:
        try:
            stored = await accept(now=svc.clock())
        except PolicyRejected:
            # The peer list may have just changed in another process (the CLI, or a separate
            # `watercooler worker` that has already linked the new peer and is waiting for its
            # Accept): read it afresh before refusing, rather than up to a poll later.
            if not await svc.peering.reload_if_changed():
                raise
            stored = await accept(now=svc.clock())
    except InboxRejected as error:
        retry = error.retry_after
        headers = {"Retry-After": str(retry)} if retry is not None else None
        return error_response(error.status, str(error), headers=headers)
    if stored:
        svc.backlog.stored()
        svc.workers.inbox.notify()
    return Response(status_code=202)


async def shared_inbox(request: Request) -> Response:
    return await _receive(request, None)


async def user_inbox(request: Request) -> Response:
    account, _ = await local_actor(services(request), request.path_params["username"])
    return await _receive(request, account.id)


routes = [
    Route("/inbox", shared_inbox, methods=["POST"]),
    # The instance actor's own inbox: what peers write to when linking (Follow, Accept).
    Route("/actor/inbox", shared_inbox, methods=["POST"]),
    Route("/users/{username:str}/inbox", user_inbox, methods=["POST"]),
]
