"""Deleting one's own post from the web pages: the card's "Delete" link opens a page that
shows the post and asks to confirm (no script needed, one POST with its CSRF token), then the
post is deleted through the publisher as `DELETE /api/v1/statuses/:id` does, so followers'
divisions receive the `Delete`. A post under legal hold is hidden the same way; its copy is
kept for Legal (store.legal_holds), which the author is not told.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store.records import StatusRecord
from watercooler.api.forms import id_param
from watercooler.http import services
from watercooler.web import reading
from watercooler.web.pages import PageError, page, read_form, render, require_user, see_other
from watercooler.web.session import WebUser

log = logging.getLogger(__name__)


async def _own_post(request: Request, viewer: WebUser) -> StatusRecord:
    """The viewer's own live post (not a boost) named in the path; 404 otherwise."""
    wanted = id_param(request.path_params["id"], "id")
    found = (
        await reading.visible_status(services(request), wanted, viewer.account.id)
        if wanted
        else None
    )
    if (
        found is None
        or found.account_id != viewer.account.id
        or found.reblog_of_id is not None
        or found.deleted_at is not None
    ):
        raise PageError(404, "That post does not exist or is not yours to delete.")
    return found


@page
async def confirm_page(request: Request) -> Response:
    viewer = await require_user(request)
    status = await _own_post(request, viewer)
    return await render(request, "delete_status.html", {"post": status}, viewer=viewer)


@page
async def delete_post(request: Request) -> Response:
    viewer = await require_user(request)
    await read_form(request)
    status = await _own_post(request, viewer)
    await services(request).publisher.delete(viewer.account, status)
    log.info("web status deleted status=%s user=%s", status.id, viewer.user.username)
    return see_other(f"/web/accounts/{viewer.account.id}")


routes = [
    Route("/web/statuses/{id}/delete", confirm_page, methods=["GET"]),
    Route("/web/statuses/{id}/delete", delete_post, methods=["POST"]),
]
