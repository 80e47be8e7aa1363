"""The employee's timelines (home, organisation, this division), a thread, and one status
as an HTML fragment, which the pages' script fetches when the stream announces a new post:
one renderer (the templates) for what is served and what arrives live."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from watercooler.api.entities import MAX_STATUS_CHARACTERS
from watercooler.api.forms import id_param
from watercooler.api.pagination import page_params
from watercooler.api.statuses import VISIBILITIES
from watercooler.http import services
from watercooler.visibility import default_visibility
from watercooler.web import actions, reading
from watercooler.web.pages import (
    Endpoint,
    PageError,
    page,
    render,
    require_user,
)
from watercooler.web.polls import DURATIONS as POLL_DURATIONS
from watercooler.web.security import PAGE_HEADERS
from watercooler.web.session import WebUser, settled_user

VISIBILITY_LABELS = {
    "public": "Public",
    "unlisted": "Unlisted (public, kept off timelines)",
    "org": "Organisation (every employee, every division)",
    "private": "Followers only",
    "direct": "Mentioned people only",
}
TITLES = {"home": "Home", "org": "Organisation", "local": "This division"}
STREAMS = {"home": "user", "org": "public", "local": "public:local"}
assert set(VISIBILITY_LABELS) == set(VISIBILITIES)


async def compose_context(
    request: Request, viewer: WebUser, *, reply_to: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the compose box needs: the visibilities, the default one, the limit, the reply."""
    svc = services(request)
    async with svc.db.read() as conn:
        default = await default_visibility(
            conn, viewer.account.id, svc.config.instance.default_visibility
        )
    if reply_to is not None and reply_to["visibility"] in VISIBILITY_LABELS:
        default = reply_to["visibility"]  # a reply keeps its thread's audience by default
    return {
        "visibilities": VISIBILITY_LABELS,
        "default_visibility": default,
        "max_characters": MAX_STATUS_CHARACTERS,
        "reply_to": reply_to,
        "back": request.url.path,
        "poll_durations": POLL_DURATIONS,
    }


def _timeline_page(kind: reading.Timeline) -> Endpoint:
    @page
    async def endpoint(request: Request) -> Response:
        viewer = await require_user(request)
        svc = services(request)
        shown = await reading.timeline(svc, kind, viewer.account.id, page_params(request))
        older = str(shown.paged_ids[-1]) if len(shown.paged_ids) else None
        context = {
            "title": TITLES[kind],
            "kind": kind,
            "stream": STREAMS[kind],
            "statuses": shown.entities,
            "older": older,
            "newest": request.query_params.get("max_id") is None,
            **await compose_context(request, viewer),
        }
        return await render(request, "timeline.html", context, viewer=viewer)

    return endpoint


async def _reply_target(request: Request, viewer: WebUser) -> dict[str, Any] | None:
    """The status named by `?in_reply_to=` (the reply link), if the viewer may see it."""
    wanted = id_param(request.query_params.get("in_reply_to"), "in_reply_to")
    if wanted is None:
        return None
    svc = services(request)
    status = await reading.visible_status(svc, wanted, viewer.account.id)
    if status is None:
        raise PageError(404, "That post does not exist or is not visible to you.")
    (entity,) = await reading.entities(svc, [status], viewer.account.id)
    return entity


@page
async def compose_page(request: Request) -> Response:
    """GET /web/compose[?in_reply_to=]: the compose box alone, the reply link's target."""
    viewer = await require_user(request)
    reply_to = await _reply_target(request, viewer)
    context = await compose_context(request, viewer, reply_to=reply_to)
    context["back"] = f"/web/statuses/{reply_to['id']}" if reply_to else "/web/home"
    return await render(request, "compose.html", context, viewer=viewer)


@page
async def thread_page(request: Request) -> Response:
    """GET /web/statuses/{id}: a status with its ancestors and replies."""
    viewer = await require_user(request)
    svc = services(request)
    wanted = id_param(request.path_params["id"], "id")
    status = await reading.visible_status(svc, wanted, viewer.account.id) if wanted else None
    if status is None:
        raise PageError(404, "That post does not exist or is not visible to you.")
    found = await reading.thread(svc, status, viewer.account.id)
    shown = await reading.entities(
        svc, [*found.ancestors, status, *found.descendants], viewer.account.id
    )
    split = len(found.ancestors)
    current = shown[split]
    context = {
        "ancestors": shown[:split],
        "current": current,
        "descendants": shown[split + 1 :],
        **await compose_context(request, viewer, reply_to=current),
    }
    return await render(request, "thread.html", context, viewer=viewer)


async def status_card(request: Request) -> Response:
    """GET /web/statuses/{id}/card: one status as the timelines show it (an `<li>`), for the
    live updates; 404 for what the viewer may not see, 401 without a session."""
    viewer = await settled_user(request)
    if viewer is None:
        return HTMLResponse("", status_code=401, headers=dict(PAGE_HEADERS))
    svc = services(request)
    wanted = id_param(request.path_params["id"], "id")
    status = await reading.visible_status(svc, wanted, viewer.account.id) if wanted else None
    if status is None:
        return HTMLResponse("", status_code=404, headers=dict(PAGE_HEADERS))
    (entity,) = await reading.entities(svc, [status], viewer.account.id)
    return await actions.live_card(request, entity, viewer)  # with its action buttons


routes = [
    Route("/web", _timeline_page("home")),
    Route("/web/home", _timeline_page("home")),
    Route("/web/org", _timeline_page("org")),
    Route("/web/local", _timeline_page("local")),
    Route("/web/compose", compose_page),
    Route("/web/statuses/{id}", thread_page),
    Route("/web/statuses/{id}/card", status_card),
]
