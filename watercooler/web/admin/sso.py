"""/web/admin/sso: the single sign-on identities behind local users, with IT's link (a user
and the identity's `sub` at the configured issuer) and an unlink button on each. The same
code as `watercooler sso link/unlink` and the admin API (`watercooler.sso_links`), so each
change is the same audit row, origin 'web'."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import oidc, users
from watercooler.admin import AdminError
from watercooler.http import services
from watercooler.sso_links import MAX_SUBJECT, change_link
from watercooler.web.admin.base import actor, done, field, notice, show
from watercooler.web.pages import page, read_form, require_admin
from watercooler.web.session import WebUser

PATH = "/web/admin/sso"
MAX_ISSUER = 2048
NOTICES = {
    "linked": "{name} may now sign in with that identity.",
    "unlinked": "That identity no longer signs in as {name}.",
}


async def _show(request: Request, viewer: WebUser, *, status: int = 200, **extra: Any) -> Response:
    svc = services(request)
    async with svc.db.read() as conn:
        listed = await oidc.list_identities(conn)
    context = {
        "identities": listed,
        "issuer": str(svc.config.oidc.issuer).rstrip("/") if svc.config.oidc else None,
        "max_subject": MAX_SUBJECT,
        "notice": notice(request, NOTICES),
        **extra,
    }
    return await show(request, "sso.html", context, viewer=viewer, status=status)


@page
async def sso_page(request: Request) -> Response:
    return await _show(request, await require_admin(request))


async def _change(request: Request, *, link: bool) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    username = field(form, "username", 64)
    subject = form.get("subject")
    subject = subject if isinstance(subject, str) else ""  # exact: a `sub` is not trimmed
    svc = services(request)
    issuer = str(svc.config.oidc.issuer).rstrip("/") if svc.config.oidc else ""
    if not link:
        issuer = field(form, "issuer", MAX_ISSUER).rstrip("/")  # the listed identity's
    try:
        async with svc.db.read() as conn:
            user = await users.get_by_username(conn, username)
        if user is None:
            raise AdminError(f"There is no user {username!r}.")
        if not issuer:
            raise AdminError("Single sign-on is not configured ([oidc] issuer).")
        await change_link(
            svc.db,
            user=user,
            issuer=issuer,
            subject=subject,
            link=link,
            actor=actor(viewer),
            now=svc.clock(),
        )
    except AdminError as error:
        sent = {"username": username, "subject": subject[:MAX_SUBJECT]} if link else {}
        return await _show(request, viewer, status=422, error=str(error), sent=sent)
    return done(PATH, "linked" if link else "unlinked", username)


@page
async def link(request: Request) -> Response:
    return await _change(request, link=True)


@page
async def unlink(request: Request) -> Response:
    return await _change(request, link=False)


routes = [
    Route(PATH, sso_page, methods=["GET"]),
    Route(f"{PATH}/link", link, methods=["POST"]),
    Route(f"{PATH}/unlink", unlink, methods=["POST"]),
]
