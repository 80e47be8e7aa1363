"""The single sign-on pages: /web/sso/start sends the browser to the OpenID provider,
/web/sso/callback brings it back signed in (a session exactly as the password sign-in makes)
and on to where it was going — a page, or /oauth/authorize for an app signing in.

The sign-in is bound to the browser by a random cookie (`wc_sso`, HttpOnly, SameSite=Lax so
that it comes back on the IdP's top-level redirect, ten minutes) whose digest the pending
sign-in row keeps (store/oidc.py): a callback from another browser (login CSRF) or a second
time finds nothing. The rules are in watercooler/sso.py.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from watercooler.http import services
from watercooler.oidc import OidcClient, OidcError
from watercooler.sso import LOGIN_LIFETIME, SignInRefused, SingleSignOn
from watercooler.web.pages import PageError, error_page, page, safe_next
from watercooler.web.session import oauth_server, set_cookie, set_session_cookie

log = logging.getLogger(__name__)

START_PATH = "/web/sso/start"
CALLBACK_PATH = "/web/sso/callback"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def single_sign_on(request: Request) -> SingleSignOn | None:
    """The instance's single sign-on, made on first use; None without an [oidc] section.
    (Tests may install their own as `app.state.sso` before the first request.)"""
    existing: SingleSignOn | None = getattr(request.app.state, "sso", None)
    if existing is not None:
        return existing
    svc = services(request)
    if svc.config.oidc is None:
        return None
    client = OidcClient(
        svc.config.oidc,
        f"{svc.config.instance.base_url}{CALLBACK_PATH}",
        clock=svc.clock,
        ca_file=svc.config.federation.ca_file,
    )
    sso = SingleSignOn(svc, client)
    request.app.state.sso = sso
    return sso


async def close(app: Starlette) -> None:
    """At shutdown: the provider's HTTP client."""
    sso: SingleSignOn | None = getattr(app.state, "sso", None)
    if sso is not None:
        await sso.client.aclose()


def sign_in_options(request: Request, target: str) -> dict[str, Any]:
    """What the sign-in pages offer: `sso` (the button's URL and name, or None) and
    `password_form` (False when password sign-in is off, unless `?admin=1`: the break-glass
    form, which only admins get through)."""
    svc = services(request)
    auth, oidc = svc.config.auth, svc.config.oidc
    sso = None
    if oidc is not None:
        sso = {"url": f"{START_PATH}?{urlencode({'next': target})}", "name": oidc.display_name}
    break_glass = auth.admin_password_sign_in and request.query_params.get("admin") == "1"
    return {
        "sso": sso,
        "password_form": auth.password_sign_in or break_glass,
        "break_glass": not auth.password_sign_in and auth.admin_password_sign_in,
    }


def _browser_cookie(request: Request) -> str:
    server = oauth_server(request)
    return "__Host-wc_sso" if server.secure_cookies else "wc_sso"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@page
async def start(request: Request) -> Response:
    """GET /web/sso/start?next=PATH: to the provider's authorization endpoint."""
    sso = single_sign_on(request)
    if sso is None:
        raise PageError(404, "Single sign-on is not set up on this instance.")
    target = safe_next(request.query_params.get("next"))
    name = _browser_cookie(request)
    browser = request.cookies.get(name)
    if not browser or len(browser) > 100:
        browser = secrets.token_urlsafe(32)
    try:
        url = await sso.start(target, browser)
    except OidcError as error:
        log.warning("sso start failed reason=%s detail=%s", error.reason, error.detail)
        message = f"{sso.config.display_name} cannot be reached just now. Try again, or ask IT."
        raise PageError(502, message) from error
    response = RedirectResponse(url, status_code=303, headers=_NO_STORE)
    age = int(LOGIN_LIFETIME.total_seconds())
    set_cookie(response, oauth_server(request), name, browser, age)
    return response


@page
async def callback(request: Request) -> Response:
    """GET /web/sso/callback?code&state: signed in, on to where the person was going."""
    sso = single_sign_on(request)
    if sso is None:
        raise PageError(404, "Single sign-on is not set up on this instance.")
    params = {key: value[:2048] for key, value in request.query_params.items()}
    try:
        done = await sso.finish(
            params, request.cookies.get(_browser_cookie(request)), _address(request)
        )
    except SignInRefused as refused:
        answer = await error_page(request, refused.status, refused.message)
        answer.headers.update(_NO_STORE)
        return answer
    server = oauth_server(request)
    response = RedirectResponse(safe_next(done.next_url), status_code=303, headers=_NO_STORE)
    set_session_cookie(response, server, await server.start_session(done.user))
    return response


routes = [
    Route(START_PATH, start, methods=["GET"]),
    Route(CALLBACK_PATH, callback, methods=["GET"]),
]
