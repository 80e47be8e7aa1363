"""What a status card's buttons do: favourite, boost and bookmark, pin to one's own profile,
and their undo. Each is a small POST form (CSRF checked) that goes through the publisher and
the store as the API's `POST /api/v1/statuses/:id/favourite` (and the others) does, then back
to the page it was on, at the card (`next`, e.g. `/web/home#status-1`)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from outbox.publish import PublishError
from store import statuses
from store.records import StatusRecord
from watercooler.api.forms import id_param
from watercooler.api.statuses import INTERACTIONS, Interaction
from watercooler.http import services
from watercooler.services import Services
from watercooler.web import reading
from watercooler.web.pages import (
    Endpoint,
    PageError,
    environment,
    page,
    read_form,
    require_user,
    safe_next,
    see_other,
)
from watercooler.web.security import PAGE_HEADERS
from watercooler.web.session import WebUser, issue_csrf, oauth_server, set_csrf_cookie

log = logging.getLogger(__name__)


async def _target(svc: Services, raw_id: str, viewer: int) -> StatusRecord:
    """The status acted on: one the viewer may see; for a boost, the boosted post (as the API
    does: favouriting a boost favourites its original)."""
    wanted = id_param(raw_id, "id")
    status = await reading.visible_status(svc, wanted, viewer) if wanted else None
    if status is not None and status.reblog_of_id is not None:
        async with svc.db.read() as conn:
            status = await statuses.get_by_id(conn, status.reblog_of_id)
    if status is None:
        raise PageError(404, "That post does not exist or is not visible to you.")
    return status


PINS: dict[str, Interaction] = {
    "pin": lambda svc, me, status: svc.publisher.pin(me, status),
    "unpin": lambda svc, me, status: svc.publisher.unpin(me, status),
}
"""As `POST /api/v1/statuses/:id/pin` and `/unpin`: the publisher refuses (PublishError)
someone else's post, a direct one, or a sixth pin, with Mastodon's reasons."""


def _endpoint(name: str, action: Interaction) -> Endpoint:
    @page
    async def endpoint(request: Request) -> Response:
        viewer = await require_user(request)
        fields = await read_form(request)
        svc = services(request)
        status = await _target(svc, request.path_params["id"], viewer.account.id)
        try:
            await action(svc, viewer.account, status)
        except PublishError as error:
            raise PageError(422, f"That did not work: {error}") from error
        log.info("web status action=%s status=%s user=%s", name, status.id, viewer.user.username)
        return see_other(safe_next(fields.get("next"), f"/web/statuses/{status.id}"))

    endpoint.__name__ = f"{name}_status_page"
    return endpoint


def _page_of(request: Request, fallback: str) -> str:
    """The page a card fetched by the pages' script sits on: the Referer's path and query
    when it is this site (the pages send it to this origin only), else `fallback`."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path:
        return fallback
    back = referer.path + (f"?{referer.query}" if referer.query else "")
    return safe_next(back, fallback)


async def live_card(request: Request, entity: dict[str, Any], viewer: WebUser) -> HTMLResponse:
    """One status card alone (`<li>`), for the live updates, with working action buttons: a
    form token (and its CSRF cookie, kept if still valid, so the page's other forms keep
    working) and the page it is shown on to come back to."""
    svc = services(request)
    server = oauth_server(request)
    cookie, token = await issue_csrf(request, server)
    body = environment.get_template("status_card.html").render(
        status=entity,
        viewer=viewer,
        domain=svc.config.instance.domain,
        fresh=True,
        csrf_token=token,
        path=request.url.path,
        card_back=_page_of(request, f"/web/statuses/{entity['id']}"),
    )
    response = HTMLResponse(body, headers=dict(PAGE_HEADERS))
    set_csrf_cookie(response, server, cookie)
    return response


routes = [
    Route(f"/web/statuses/{{id}}/{name}", _endpoint(name, action), methods=["POST"])
    for name, action in (INTERACTIONS | PINS).items()
]
