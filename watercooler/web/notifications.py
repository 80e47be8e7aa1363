"""The notifications page: who did what, newest first, read with the API's own function
(watercooler.api.notifications.notifications_page: the same records, the same visibility
check and the same `notifications` filters), and the answers to follow requests."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import notifications as store
from store.notifications import Filter
from watercooler.api.accounts import account_or_404, answer_follow_request
from watercooler.api.notifications import DEFAULT_LIMIT, MAX_LIMIT, notifications_page
from watercooler.api.pagination import page_params
from watercooler.http import services
from watercooler.web.pages import (
    PageError,
    page,
    read_form,
    render,
    require_user,
    safe_next,
    see_other,
)

log = logging.getLogger(__name__)

PATH = "/web/notifications"
WHAT = {
    "mention": "mentioned you",
    "status": "posted",
    "reblog": "boosted your post",
    "favourite": "favourited your post",
    "follow": "followed you",
    "follow_request": "asked to follow you",
    "poll": "ended a poll you took part in",
    "update": "edited a post you interacted with",
    "admin.sign_up": "signed up",
    "admin.report": "filed a report",
    "severed_relationships": "no longer connects with you",
    "moderation_warning": "sent you a moderation warning",
    "watercooler.answer_accepted": "accepted your answer",
    "move": "moved to a new account, which you now follow:",
}
"""What each of store.notifications.TYPES says after the person's name."""
FULL_CARD = ("mention", "status", "update")
"""Types whose post is shown whole; the others quote it briefly (it is the viewer's own)."""
assert set(WHAT) == set(store.TYPES)


@page
async def notifications_list(request: Request) -> Response:
    """GET /web/notifications[?max_id=]: a page of the viewer's notifications."""
    viewer = await require_user(request)
    svc = services(request)
    bounds = page_params(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    async with svc.db.read() as conn:
        shown, paged_ids = await notifications_page(
            conn, svc, viewer.account.id, bounds, Filter(types=None)
        )
    context = {
        "notifications": shown,
        "what": WHAT,
        "full_card": FULL_CARD,
        "older": str(paged_ids[-1]) if len(paged_ids) >= bounds.limit else None,
        "newest": bounds.max_id is None,
        "card_back": PATH if bounds.max_id is None else f"{PATH}?max_id={bounds.max_id}",
    }
    return await render(request, "notifications.html", context, viewer=viewer)


async def _answer(request: Request, *, accept: bool) -> Response:
    """Accept or reject the follow request of the account `id` with the API's own code
    (`POST /api/v1/follow_requests/:id/authorize|reject`)."""
    viewer = await require_user(request)
    fields = await read_form(request)
    svc = services(request)
    follower = await account_or_404(svc, request.path_params["id"])
    try:
        await answer_follow_request(svc, viewer.account, follower, accept=accept)
    except HTTPException as error:
        raise PageError(404, "That follow request was withdrawn or already answered.") from error
    log.info(
        "web follow request accept=%s follower=%s user=%s", accept, follower.id, viewer.account.id
    )
    return see_other(safe_next(fields.get("next"), PATH))


@page
async def authorize(request: Request) -> Response:
    """POST /web/follow_requests/{id}/authorize."""
    return await _answer(request, accept=True)


@page
async def reject(request: Request) -> Response:
    """POST /web/follow_requests/{id}/reject."""
    return await _answer(request, accept=False)


@page
async def clear(request: Request) -> Response:
    """POST /web/notifications/clear: every notification of the viewer gone, as the API's
    `POST /api/v1/notifications/clear`."""
    viewer = await require_user(request)
    await read_form(request)
    svc = services(request)
    async with svc.db.transaction() as conn:
        await store.clear(conn, viewer.account.id)
    return see_other(PATH)


routes = [
    Route(PATH, notifications_list),
    Route(f"{PATH}/clear", clear, methods=["POST"]),
    Route("/web/follow_requests/{id}/authorize", authorize, methods=["POST"]),
    Route("/web/follow_requests/{id}/reject", reject, methods=["POST"]),
]
