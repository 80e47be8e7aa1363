"""/web/admin/users: the local users; create one with a one-time password (shown once, on
the answer to the form, never stored in clear), disable and enable again, reset a password,
grant or take away the admin role and the roles of store.roles (announcer)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import roles, users
from watercooler.accounts import AccountError
from watercooler.admin import AdminError
from watercooler.http import services
from watercooler.web.admin.base import actions, actor, done, field, notice, show
from watercooler.web.pages import page, read_form, require_admin
from watercooler.web.session import WebUser

PATH = "/web/admin/users"
NOTICES = {
    "disabled": "{name} is disabled: sign-in, tokens and sessions stop; the profile answers 410.",
    "enabled": "{name} is enabled again and may sign in; older tokens and sessions stay ended.",
    "made_admin": "{name} is now an admin.",
    "unmade_admin": "{name} is no longer an admin.",
    "granted_role": "{name} now has the role.",
    "revoked_role": "{name} no longer has the role.",
}


async def _show(
    request: Request,
    viewer: WebUser,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    async with services(request).db.read() as conn:
        listed = await users.list_users(conn)
        held = await roles.all_roles(conn)
    context = {
        "users": listed,
        "roles": held,
        "known_roles": roles.KNOWN_ROLES,
        "notice": notice(request, NOTICES),
        **extra,
    }
    return await show(request, "users.html", context, viewer=viewer, status=status)


@page
async def users_page(request: Request) -> Response:
    return await _show(request, await require_admin(request))


@page
async def create_user(request: Request) -> Response:
    """The answer shows the one-time password; it is not kept anywhere readable."""
    viewer = await require_admin(request)
    form = await read_form(request)
    username = field(form, "username", 64)
    try:
        created = await actions(request).create_user(
            actor(viewer),
            username,
            admin=form.get("admin") == "1",
            email=field(form, "email", 320) or None,
        )
    except (AccountError, AdminError) as error:
        return await _show(request, viewer, status=422, error=str(error), username=username)
    return await _show(
        request,
        viewer,
        one_time={"username": created.account.username, "password": created.generated_password},
    )


@page
async def reset_password(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    name = request.path_params["name"]
    try:
        password = await actions(request).reset_password(actor(viewer), name)
    except AdminError as error:
        return await _show(request, viewer, status=422, error=str(error))
    return await _show(request, viewer, one_time={"username": name, "password": password})


async def _set_disabled(request: Request, disabled: bool) -> Response:
    """Disable a user, or enable them again (the same form, the same refusals)."""
    viewer = await require_admin(request)
    await read_form(request)
    name = request.path_params["name"]
    admin = actions(request)
    change = admin.disable_user if disabled else admin.enable_user
    try:
        await change(actor(viewer), name)
    except AdminError as error:
        return await _show(request, viewer, status=422, error=str(error))
    return done(PATH, "disabled" if disabled else "enabled", name)


@page
async def disable_user(request: Request) -> Response:
    return await _set_disabled(request, True)


@page
async def enable_user(request: Request) -> Response:
    return await _set_disabled(request, False)


@page
async def set_admin(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    name = request.path_params["name"]
    wanted = form.get("admin") == "1"
    try:
        await actions(request).set_admin(actor(viewer), name, wanted)
    except AdminError as error:
        return await _show(request, viewer, status=422, error=str(error))
    return done(PATH, "made_admin" if wanted else "unmade_admin", name)


@page
async def set_role(request: Request) -> Response:
    """Grant or take away a role (`role`, `granted` = 1 or 0): the announcer toggle."""
    viewer = await require_admin(request)
    form = await read_form(request)
    name = request.path_params["name"]
    wanted = form.get("granted") == "1"
    try:
        await actions(request).set_role(actor(viewer), name, field(form, "role", 64), wanted)
    except AdminError as error:
        return await _show(request, viewer, status=422, error=str(error))
    return done(PATH, "granted_role" if wanted else "revoked_role", name)


routes = [
    Route(PATH, users_page, methods=["GET"]),
    Route(PATH, create_user, methods=["POST"]),
    Route(PATH + "/{name:str}/reset_password", reset_password, methods=["POST"]),
    Route(PATH + "/{name:str}/disable", disable_user, methods=["POST"]),
    Route(PATH + "/{name:str}/enable", enable_user, methods=["POST"]),
    Route(PATH + "/{name:str}/admin", set_admin, methods=["POST"]),
    Route(PATH + "/{name:str}/role", set_role, methods=["POST"]),
]
