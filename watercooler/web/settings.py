"""The employee's settings: profile (names, bio, fields, avatar, directory listing, follower
approval), preferences (the default visibility of posts), password, and the apps that hold
access to the account.

A profile or preference is saved by the client API's own code
(`watercooler.api.accounts.read_credentials_change` / `save_credentials`, what
`PATCH /api/v1/accounts/update_credentials` does), so a change made here reaches peers as an
`Update` of the actor exactly as one made in an app. The password and the apps go through the
authorization server (`watercooler.oauth.OAuthServer`), which owns passwords, sessions and
tokens. An employee with a one-time password is held on the password form
(`pages.PasswordChangeRequired`) until they choose their own.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watercooler.api.accounts import (
    MAX_DISPLAY_NAME,
    MAX_FIELD_TEXT,
    MAX_NOTE,
    read_credentials_change,
    save_credentials,
)
from watercooler.api.entities import MAX_PROFILE_FIELDS, credential_account_entity
from watercooler.api.media import Upload, upload_params
from watercooler.http import services
from watercooler.oauth import PasswordRefused
from watercooler.passwords import MIN_PASSWORD
from watercooler.visibility import default_visibility
from watercooler.web.pages import (
    PASSWORD_PATH,
    PageError,
    check_csrf,
    page,
    read_form,
    render,
    require_user,
    safe_next,
    see_other,
)
from watercooler.web.session import WebUser, oauth_server, session_cookie
from watercooler.web.timelines import VISIBILITY_LABELS

PROFILE_PATH = "/web/settings"
PREFERENCES_PATH = "/web/settings/preferences"
APPS_PATH = "/web/settings/apps"
SECTIONS = (
    (PROFILE_PATH, "Profile"),
    (PREFERENCES_PATH, "Preferences"),
    (PASSWORD_PATH, "Password"),
    (APPS_PATH, "Authorised apps"),
    ("/web/settings/moving", "Moving"),  # watercooler.web.moving
    ("/web/settings/export", "Export"),  # watercooler.web.exports
    ("/web/settings/import", "Import follows"),  # watercooler.web.exports
)
DEFAULT_CHOICES = ("public", "unlisted", "org", "private")
"""The default visibilities offered (the API also takes `direct`; the page keeps it if set)."""
NOTICES = {
    "profile": "Your profile is saved.",
    "preferences": "Your preferences are saved.",
    "password": "Your password is changed. Your other browsers are signed out.",
    "password_apps": "Your password is changed. Your other browsers and every app are signed out.",
    "revoked": "The app's access is withdrawn: it is signed out.",
}
CLI_APP = "cli"
"""The path name of the tokens made with `watercooler token create` (they have no app)."""


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


async def _show(
    request: Request,
    viewer: WebUser,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    """A settings page (`templates/settings/<template>`) with its section navigation."""
    shared = {"sections": SECTIONS, "notice": _notice(request), "error": None}
    return await render(
        request, f"settings/{template}", {**shared, **context}, viewer=viewer, status=status
    )


async def _own_entity(request: Request, viewer: WebUser) -> dict[str, Any]:
    """The viewer's own Account as `verify_credentials` answers it (with `source`)."""
    svc = services(request)
    async with svc.db.read() as conn:
        privacy = await default_visibility(
            conn, viewer.account.id, svc.config.instance.default_visibility
        )
        return await credential_account_entity(
            conn,
            viewer.account,
            viewer.user,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            privacy=privacy,
        )


# ----- profile -------------------------------------------------------------------------------


def _profile_form(entity: dict[str, Any]) -> dict[str, Any]:
    """The profile form's values from the saved profile, with every field row shown."""
    fields = [(f["name"], f["value"]) for f in entity["source"]["fields"]]
    fields += [("", "")] * (MAX_PROFILE_FIELDS - len(fields))
    return {
        "display_name": entity["display_name"],
        "note": entity["source"]["note"],
        "fields": fields,
        "discoverable": bool(entity["discoverable"]),
        "locked": bool(entity["locked"]),
    }


def _submitted(form: dict[str, Any]) -> dict[str, Any]:
    """The profile form's values as sent (to show them again with the reason for a refusal)."""

    def value(name: str) -> str:
        sent = form.get(name)
        return sent if isinstance(sent, str) else ""

    return {
        "display_name": value("display_name"),
        "note": value("note"),
        "fields": [
            (value(f"fields_attributes[{i}][name]"), value(f"fields_attributes[{i}][value]"))
            for i in range(MAX_PROFILE_FIELDS)
        ],
        "discoverable": form.get("discoverable") == "1",
        "locked": form.get("locked") == "1",
    }


async def _profile_page(
    request: Request,
    viewer: WebUser,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    entity = await _own_entity(request, viewer)
    context = {
        "me": entity,
        "form": form if form is not None else _profile_form(entity),
        "error": error,
        "limits": {
            "display_name": MAX_DISPLAY_NAME,
            "note": MAX_NOTE,
            "field": MAX_FIELD_TEXT,
        },
    }
    return await _show(request, viewer, "profile.html", context, status=status)


@page
async def profile_page(request: Request) -> Response:
    """GET /web/settings: the profile form."""
    return await _profile_page(request, await require_user(request))


@page
async def save_profile(request: Request) -> Response:
    """POST /web/settings: save the profile as update_credentials does. Unticked boxes are
    not sent by a browser, so both are always given here (the API keeps what is not sent)."""
    viewer = await require_user(request)
    form, files = await upload_params(request)
    await check_csrf(request, form)
    params: dict[str, Any] = {
        key: value
        for key, value in form.items()
        if key in ("display_name", "note") or key.startswith("fields_attributes[")
    }
    params["discoverable"] = "1" if form.get("discoverable") == "1" else "0"
    params["locked"] = "1" if form.get("locked") == "1" else "0"
    avatar = files.get("avatar")
    uploads: dict[str, Upload] = {"avatar": avatar} if avatar is not None and avatar.data else {}
    try:
        change = read_credentials_change(params, uploads)
        await save_credentials(services(request), viewer.account, change)
    except HTTPException as error:
        message = str(error.detail).removeprefix("Validation failed: ")
        return await _profile_page(
            request, viewer, form=_submitted(form), error=message, status=error.status_code
        )
    return see_other(f"{PROFILE_PATH}?done=profile")


# ----- preferences ---------------------------------------------------------------------------


async def _preferences_page(
    request: Request, viewer: WebUser, *, error: str | None = None, status: int = 200
) -> Response:
    entity = await _own_entity(request, viewer)
    current = entity["source"]["privacy"]
    choices = [*DEFAULT_CHOICES, *([current] if current not in DEFAULT_CHOICES else [])]
    context = {
        "choices": [(name, VISIBILITY_LABELS[name]) for name in choices],
        "current": current,
        "error": error,
    }
    return await _show(request, viewer, "preferences.html", context, status=status)


@page
async def preferences_page(request: Request) -> Response:
    """GET /web/settings/preferences."""
    return await _preferences_page(request, await require_user(request))


@page
async def save_preferences(request: Request) -> Response:
    """POST /web/settings/preferences: the default visibility, as `source[privacy]`."""
    viewer = await require_user(request)
    form = await read_form(request)
    wanted = form.get("privacy")
    if not isinstance(wanted, str) or not wanted:
        return await _preferences_page(request, viewer, error="Choose a visibility.", status=422)
    try:
        change = read_credentials_change({"source[privacy]": wanted}, {})
        await save_credentials(services(request), viewer.account, change)
    except HTTPException as error:
        message = str(error.detail).removeprefix("Validation failed: ")
        return await _preferences_page(request, viewer, error=message, status=error.status_code)
    return see_other(f"{PREFERENCES_PATH}?done=preferences")


# ----- password ------------------------------------------------------------------------------


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _password_page(
    request: Request,
    viewer: WebUser,
    *,
    next_path: str,
    error: str | None = None,
    status: int = 200,
) -> Response:
    forced = viewer.user.must_change_password
    context = {
        "forced": forced,
        "sections": () if forced else SECTIONS,  # nothing else opens before the change
        "next": next_path,
        "min_password": MIN_PASSWORD,
        "error": error,
    }
    return await _show(request, viewer, "password.html", context, status=status)


@page
async def password_page(request: Request) -> Response:
    """GET /web/settings/password; where a person with a one-time password is sent."""
    viewer = await require_user(request)
    next_path = safe_next(request.query_params.get("next"))
    return await _password_page(request, viewer, next_path=next_path)


@page
async def change_password(request: Request) -> Response:
    """POST /web/settings/password: current, new and again. This browser stays signed in,
    the others are signed out; apps stay unless the person asks (OAuthServer.change_password
    says why). After a forced change the person goes where they were going."""
    viewer = await require_user(request)
    form = await read_form(request)
    next_path = safe_next(form.get("next"))

    def value(name: str) -> str:
        sent = form.get(name)
        return sent if isinstance(sent, str) else ""

    new = value("new_password")
    if new != value("confirm_password"):
        return await _password_page(
            request,
            viewer,
            next_path=next_path,
            error="The new password and its repetition differ.",
            status=422,
        )
    end_apps = form.get("end_app_tokens") == "1"
    try:
        await oauth_server(request).change_password(
            viewer.user,
            value("current_password"),
            new,
            address=_address(request),
            session=session_cookie(request),
            end_app_tokens=end_apps,
        )
    except PasswordRefused as refused:
        return await _password_page(
            request, viewer, next_path=next_path, error=str(refused), status=refused.status
        )
    if viewer.user.must_change_password:
        return see_other(next_path)
    return see_other(f"{PASSWORD_PATH}?done={'password_apps' if end_apps else 'password'}")


# ----- authorised apps -----------------------------------------------------------------------


@page
async def apps_page(request: Request) -> Response:
    """GET /web/settings/apps: the applications holding live tokens of this account."""
    viewer = await require_user(request)
    found = await oauth_server(request).authorized_applications(viewer.user)
    context = {"apps": found, "cli_app": CLI_APP}
    return await _show(request, viewer, "apps.html", context)


@page
async def revoke_app(request: Request) -> Response:
    """POST /web/settings/apps/{id}/revoke: every token of that app for this account ends."""
    viewer = await require_user(request)
    await read_form(request)
    raw = request.path_params["id"]
    if raw == CLI_APP:
        application_id = None
    elif raw.isdigit() and int(raw) < 2**63:
        application_id = int(raw)
    else:
        raise PageError(404, "There is no such app.")
    await oauth_server(request).revoke_application(viewer.user, application_id)
    return see_other(f"{APPS_PATH}?done=revoked")


routes = [
    Route(PROFILE_PATH, profile_page, methods=["GET"]),
    Route(PROFILE_PATH, save_profile, methods=["POST"]),
    Route(PREFERENCES_PATH, preferences_page, methods=["GET"]),
    Route(PREFERENCES_PATH, save_preferences, methods=["POST"]),
    Route(PASSWORD_PATH, password_page, methods=["GET"]),
    Route(PASSWORD_PATH, change_password, methods=["POST"]),
    Route(APPS_PATH, apps_page, methods=["GET"]),
    Route(APPS_PATH + "/{id:str}/revoke", revoke_app, methods=["POST"]),
]
