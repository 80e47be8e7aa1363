"""The browser session and CSRF tokens, shared by the OAuth pages and the web pages.

One scheme for both: the session cookie is an opaque random secret whose digest the database
keeps (`OAuthServer.start_session` / `session_user`); a form's CSRF token is bound to a
short-lived MACed cookie and to that session (`watercooler.oauth_rules.Csrf`). Both cookies
are HttpOnly and SameSite=Lax, and Secure with the `__Host-` prefix on https.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from store import accounts
from store.records import AccountRecord, UserRecord
from watercooler.accounts import hash_token
from watercooler.oauth import SESSION_LIFETIME, OAuthServer
from watercooler.services import Services

CSRF_COOKIE_AGE = 3600
CSRF_FIELD = "csrf_token"


def oauth_server(connection: HTTPConnection) -> OAuthServer:
    """The instance's authorization server, made on first use (tests may install their own
    as `app.state.oauth` before the first request)."""
    server: OAuthServer | None = getattr(connection.app.state, "oauth", None)
    if server is None:
        server = OAuthServer(connection.app.state.services)
        connection.app.state.oauth = server
    return server


def session_cookie_name(server: OAuthServer) -> str:
    return "__Host-wc_session" if server.secure_cookies else "wc_session"


def csrf_cookie_name(server: OAuthServer) -> str:
    return "__Host-wc_csrf" if server.secure_cookies else "wc_csrf"


def set_cookie(response: Response, server: OAuthServer, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        secure=server.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def set_session_cookie(response: Response, server: OAuthServer, session: str) -> None:
    age = int(SESSION_LIFETIME.total_seconds())
    set_cookie(response, server, session_cookie_name(server), session, age)


def clear_session_cookie(response: Response, server: OAuthServer) -> None:
    response.delete_cookie(
        session_cookie_name(server),
        path="/",
        secure=server.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def session_cookie(connection: HTTPConnection) -> str | None:
    return connection.cookies.get(session_cookie_name(oauth_server(connection)))


def _binding(connection: HTTPConnection, server: OAuthServer) -> str:
    """What a CSRF token is bound to besides its cookie: the browser's session, if any."""
    session = connection.cookies.get(session_cookie_name(server))
    return hash_token(session) if session else "-"


async def issue_csrf(request: Request, server: OAuthServer) -> tuple[str, str]:
    """(cookie value, form token) for a page about to be shown."""
    csrf = await server.csrf()
    cookie = request.cookies.get(csrf_cookie_name(server))
    return csrf.issue(cookie, _binding(request, server))


def set_csrf_cookie(response: Response, server: OAuthServer, cookie: str) -> None:
    set_cookie(response, server, csrf_cookie_name(server), cookie, CSRF_COOKIE_AGE)


async def csrf_ok(request: Request, server: OAuthServer, token: str | None) -> bool:
    """Does the form's `token` match this browser's CSRF cookie and session?"""
    csrf = await server.csrf()
    cookie = request.cookies.get(csrf_cookie_name(server))
    return csrf.verify(cookie, token, _binding(request, server))


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in employee of a page: the user (login, role) and their account."""

    user: UserRecord
    account: AccountRecord


async def signed_in(connection: HTTPConnection) -> WebUser | None:
    """The browser's user, or None without a live session (or for a disabled account)."""
    server = oauth_server(connection)
    user = await server.session_user(session_cookie(connection))
    if user is None or user.disabled:
        return None
    svc: Services = connection.app.state.services
    async with svc.db.read() as conn:
        account = await accounts.get_by_id(conn, user.account_id)
    return WebUser(user, account) if account is not None else None


async def settled_user(connection: HTTPConnection) -> WebUser | None:
    """`signed_in`, but None too while the person still has a one-time password: what reads
    outside the pages (the event stream, live cards) takes, so that nothing is shown before
    they chose their own (the pages send them to the password form instead)."""
    viewer = await signed_in(connection)
    return None if viewer is None or viewer.user.must_change_password else viewer
