"""Signing in and out of the web pages, with the OAuth pages' session (one sign-in for both)
and their password check, lockout and logging (`OAuthServer.check_credentials`)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watercooler.oauth import SignInFailed
from watercooler.web.pages import PASSWORD_PATH, page, read_form, render, safe_next, see_other
from watercooler.web.session import (
    clear_session_cookie,
    oauth_server,
    session_cookie,
    set_session_cookie,
    signed_in,
)
from watercooler.web.sso import sign_in_options

log = logging.getLogger(__name__)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@page
async def sign_in_page(request: Request) -> Response:
    """GET /web/sign_in: the form; a signed-in browser goes straight on."""
    target = safe_next(request.query_params.get("next"))
    if await signed_in(request) is not None:
        return see_other(target)
    context = {"next": target, "login": "", **sign_in_options(request, target)}
    return await render(request, "sign_in.html", context, viewer=None)


@page
async def sign_in(request: Request) -> Response:
    """POST /web/sign_in: check the password, start a session, go where the person was."""
    form = await read_form(request)
    target = safe_next(form.get("next"))
    login = str(form.get("username") or "").strip()[:320]
    password = str(form.get("password") or "")
    server = oauth_server(request)
    try:
        user = await server.check_credentials(login, password, _address(request))
    except SignInFailed as failure:
        context = {"next": target, "login": login, "message": str(failure)}
        context.update(sign_in_options(request, target), password_form=True)
        return await render(request, "sign_in.html", context, viewer=None, status=failure.status)
    if user.must_change_password:  # a one-time password: choose one's own first
        target = f"{PASSWORD_PATH}?next={quote(target, safe='')}"
    response = see_other(target)
    session = await server.start_session(user, address=_address(request), method="password")
    set_session_cookie(response, server, session)
    return response


@page
async def sign_out(request: Request) -> Response:
    """POST /web/sign_out: the session ends on the server and the browser forgets it."""
    viewer = await signed_in(request)
    await read_form(request)
    user = viewer.user if viewer is not None else None
    await oauth_server(request).end_session(session_cookie(request), user=user)
    if viewer is not None:
        log.info("web sign-out user=%s", viewer.user.username)
    response = see_other("/web/sign_in")
    clear_session_cookie(response, oauth_server(request))
    return response


routes = [
    Route("/web/sign_in", sign_in_page, methods=["GET"]),
    Route("/web/sign_in", sign_in, methods=["POST"]),
    Route("/web/sign_out", sign_out, methods=["POST"]),
]
