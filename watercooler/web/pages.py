"""Rendering a page: the Jinja2 environment (autoescape on), the security headers every page
carries, and the `page` wrapper that turns the web layer's exceptions into answers.

A template gets, besides its own context: `viewer` (WebUser or None), `csrf_token` (for every
form, field name `csrf_token`), `instance_name`, `domain`, `path` (the request's path, to
mark the current navigation link), `static(name)` (a static file's URL), and for the
announcements banner `announcements` and `can_announce` (watercooler.announcements).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from store import roles
from store.errors import Busy
from watercooler.announcements import banner
from watercooler.api.media import upload_params
from watercooler.http import services
from watercooler.web.security import PAGE_HEADERS
from watercooler.web.session import (
    CSRF_FIELD,
    WebUser,
    csrf_ok,
    issue_csrf,
    oauth_server,
    set_csrf_cookie,
    signed_in,
)
from watercooler.web.static import static_url
from watercooler.web.text import register_filters

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SIGN_IN_PATH = "/web/sign_in"
BUSY_MESSAGE = "The database is busy, so nothing was saved. Try again in a few seconds."
PASSWORD_PATH = "/web/settings/password"
NO_BANNER: dict[str, Any] = {"announcements": [], "can_announce": False}
"""The banner's context for a visitor without a session (watercooler.announcements.banner)."""

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
register_filters(environment)


class PageError(Exception):
    """A page that cannot be shown or a form that cannot be done: its status and a message
    for the person (rendered in error.html)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SignInRequired(Exception):
    """The page needs a signed-in employee: the browser goes to the sign-in page and back."""


class PasswordChangeRequired(Exception):
    """The employee still has a one-time password: every page but the password form sends
    them there first (and back after)."""


async def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    viewer: WebUser | None,
    status: int = 200,
) -> HTMLResponse:
    """`template` with the shared context, the security headers and a fresh CSRF cookie."""
    server = oauth_server(request)
    cookie, token = await issue_csrf(request, server)
    config = services(request).config.instance
    shared = {
        "viewer": viewer,
        "csrf_token": token,
        "instance_name": config.name or config.domain,
        "domain": config.domain,
        "path": request.url.path,
        "static": static_url,
        **(await banner(services(request), viewer.user, viewer.account) if viewer else NO_BANNER),
        "can_moderate": viewer is not None and await _may_moderate(request, viewer),
    }
    body = environment.get_template(template).render({**shared, **(context or {})})
    response = HTMLResponse(body, status_code=status, headers=dict(PAGE_HEADERS))
    set_csrf_cookie(response, server, cookie)
    return response


async def _may_moderate(request: Request, viewer: WebUser) -> bool:
    """Does the viewer work the report queue (the navigation's Reports link)?"""
    if viewer.user.admin:
        return True
    async with services(request).db.read() as conn:
        return await roles.may_moderate(conn, viewer.user)


async def require_user(request: Request) -> WebUser:
    """The signed-in employee, or SignInRequired; PasswordChangeRequired while they have a
    one-time password (an admin's, at first sign-in or after a reset)."""
    viewer = await signed_in(request)
    if viewer is None:
        raise SignInRequired
    if viewer.user.must_change_password and request.url.path != PASSWORD_PATH:
        raise PasswordChangeRequired
    return viewer


async def require_admin(request: Request) -> WebUser:
    """The signed-in employee if they are an admin: SignInRequired, else PageError 403."""
    viewer = await require_user(request)
    if not viewer.user.admin:
        raise PageError(403, "This page is for the instance's administrators.")
    return viewer


async def require_moderator(request: Request) -> WebUser:
    """The signed-in employee if they are staff (an admin, or a holder of the moderator
    role): SignInRequired, else PageError 403."""
    viewer = await require_user(request)
    if not await _may_moderate(request, viewer):
        raise PageError(403, "This page is for the division's administrators and moderators.")
    return viewer


async def read_form(request: Request) -> dict[str, Any]:
    """A POSTed form's fields (bounded; multipart files are left out here), after its CSRF
    token was checked: PageError 403 without a valid one, so nothing is done."""
    fields, _ = await upload_params(request)
    await check_csrf(request, fields)
    return fields


async def check_csrf(request: Request, fields: Mapping[str, Any]) -> None:
    token = fields.get(CSRF_FIELD)
    if not isinstance(token, str) or not await csrf_ok(request, oauth_server(request), token):
        log.info("web form refused: CSRF token missing or wrong path=%s", request.url.path)
        raise PageError(403, "This form has expired or did not come from this site.")


def safe_next(value: object, default: str = "/web/home") -> str:
    """A local path to go to after a form, never another site (an open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return default
    return value


def see_other(location: str) -> RedirectResponse:
    """After a POST: the browser GETs `location` (303), so reloading does not post again."""
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


Endpoint = Callable[[Request], Awaitable[Response]]


def page(endpoint: Endpoint) -> Endpoint:
    """Wrap a page endpoint: SignInRequired goes to the sign-in page (and back after),
    PageError and HTTPException (from the API helpers reused here) become an error page."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except SignInRequired:
            return see_other(f"{SIGN_IN_PATH}?next={quote(_back(request), safe='')}")
        except PasswordChangeRequired:
            return see_other(f"{PASSWORD_PATH}?next={quote(_back(request), safe='')}")
        except PageError as error:
            return await error_page(request, error.status, error.message)
        except HTTPException as error:
            return await error_page(request, error.status_code, str(error.detail))
        except Busy:
            log.warning("web page: database busy path=%s", request.url.path)
            answer = await error_page(request, 503, BUSY_MESSAGE)
            answer.headers["Retry-After"] = "5"
            return answer

    return wrapped


def _back(request: Request) -> str:
    """Where to come back to after signing in or choosing a password: the page asked for (a
    GET, with its query), or home after a form (it is not sent again)."""
    if request.method != "GET":
        return "/web/home"
    return f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path


async def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    viewer = await signed_in(request)
    return await render(
        request, "error.html", {"status": status, "message": message}, viewer=viewer, status=status
    )
