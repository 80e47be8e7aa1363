"""The "Moving" settings page: moving from another account (aliases, on the new account) and
moving to another account (on the old one, after the current password), as Mastodon's
account migration pages. The work is `watercooler.moves`; this module reads the forms and
shows the outcome. Mastodon has no client API for either, so neither has Watercooler.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watercooler import moves
from watercooler.admin import Actor
from watercooler.http import services
from watercooler.passwords import verify_password
from watercooler.web.pages import page, read_form, render, require_user, see_other
from watercooler.web.session import WebUser, oauth_server
from watercooler.web.settings import SECTIONS

log = logging.getLogger(__name__)

PATH = "/web/settings/moving"
NOTICES = {
    "alias": "The alias is saved. You can now move the old account to this one.",
    "alias_removed": "The alias is removed.",
    "moved": "Your account has moved. Your followers are being moved to the new account.",
}


def _value(form: dict[str, Any], name: str) -> str:
    sent = form.get(name)
    return sent if isinstance(sent, str) else ""


async def _page(
    request: Request,
    viewer: WebUser,
    *,
    error: str | None = None,
    status: int = 200,
    sent: dict[str, str] | None = None,
) -> Response:
    svc = services(request)
    state = await moves.moving(svc, viewer.account)
    domain = svc.config.instance.domain
    context = {
        "sections": SECTIONS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "error": error,
        "aliases": state.aliases,
        "moved_to": state.moved_to,
        "moved_handle": moves.handle_of(state.moved_to, domain) if state.moved_to else None,
        "own_handle": moves.handle_of(viewer.account, domain),
        "sent": sent or {},
    }
    return await render(request, "settings/moving.html", context, viewer=viewer, status=status)


@page
async def moving_page(request: Request) -> Response:
    """GET /web/settings/moving."""
    return await _page(request, await require_user(request))


@page
async def add_alias(request: Request) -> Response:
    """POST /web/settings/moving/aliases: `acct`, the old account (on the new account)."""
    viewer = await require_user(request)
    form = await read_form(request)
    reference = _value(form, "acct")
    try:
        await moves.add_alias(
            services(request), viewer.account, reference, Actor.of_user(viewer.user, "web")
        )
    except moves.MoveError as error:
        return await _page(request, viewer, error=str(error), status=422, sent={"acct": reference})
    return see_other(f"{PATH}?done=alias")


@page
async def remove_alias(request: Request) -> Response:
    """POST /web/settings/moving/aliases/remove: `uri`, an alias to take off."""
    viewer = await require_user(request)
    form = await read_form(request)
    try:
        await moves.remove_alias(
            services(request),
            viewer.account,
            _value(form, "uri"),
            Actor.of_user(viewer.user, "web"),
        )
    except moves.MoveError as error:
        return await _page(request, viewer, error=str(error), status=422)
    return see_other(f"{PATH}?done=alias_removed")


@page
async def move(request: Request) -> Response:
    """POST /web/settings/moving/move: `acct` (the new account) and `current_password`. A
    wrong password counts towards the sign-in lockout, as the password change does."""
    viewer = await require_user(request)
    form = await read_form(request)
    reference = _value(form, "acct")
    server = oauth_server(request)
    address = request.client.host if request.client else "unknown"
    key = (f"user:{viewer.user.id}", address)
    if server.limiter.retry_after(key) is not None:
        message = "Too many wrong passwords for this account from your address. Try again later."
        return await _page(request, viewer, error=message, status=429, sent={"to": reference})
    password = _value(form, "current_password")
    if not await asyncio.to_thread(verify_password, password, viewer.user.password_hash):
        server.limiter.failed(key)
        log.info("move refused user=%s reason=wrong-password", viewer.user.username)
        error = "Your current password is not right."
        return await _page(request, viewer, error=error, status=403, sent={"to": reference})
    server.limiter.succeeded(key)
    try:
        moved = await moves.move_account(
            services(request), viewer.account, reference, Actor.of_user(viewer.user, "web")
        )
    except moves.MoveError as error:
        return await _page(request, viewer, error=str(error), status=422, sent={"to": reference})
    log.info("account moved user=%s to=%s", viewer.user.username, moved.target.uri)
    return see_other(f"{PATH}?done=moved")


routes = [
    Route(PATH, moving_page, methods=["GET"]),
    Route(f"{PATH}/aliases", add_alias, methods=["POST"]),
    Route(f"{PATH}/aliases/remove", remove_alias, methods=["POST"]),
    Route(f"{PATH}/move", move, methods=["POST"]),
]
