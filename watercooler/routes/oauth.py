"""OAuth 2 endpoints: app registration, the sign-in and consent pages, token, revoke, and the
RFC 8414 metadata. The rules are in watercooler/oauth.py; this module speaks HTTP and HTML.

The pages are the web pages' templates (templates/oauth/, extending base.html), without
JavaScript. Every form carries a CSRF token bound to a short-lived MACed cookie and to the
browser's session; the session cookie is an opaque random secret whose digest the database
keeps. Both cookies are HttpOnly and SameSite=Lax, and Secure (with the `__Host-` prefix)
when the instance runs on https. That scheme lives in watercooler/web/session.py, shared with
the web pages: one session, one sign-in. A person with a one-time password chooses their own
on the web's password form before any app gets a code.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import logging
from collections.abc import Iterable
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from store.records import UserRecord
from watercooler.auth import bearer_token
from watercooler.http import FastJSONResponse
from watercooler.oauth import (
    OOB,
    SCOPE_DESCRIPTIONS,
    AuthorizationRequest,
    AuthorizeError,
    InvalidApplication,
    OAuthError,
    OAuthServer,
    SignInFailed,
    application_json,
    credential_application_json,
    one,
    redirect_location,
)
from watercooler.web.pages import PASSWORD_PATH, render
from watercooler.web.security import CONTENT_SECURITY_POLICY, PAGE_HEADERS
from watercooler.web.session import (
    WebUser,
    csrf_ok,
    oauth_server,
    session_cookie_name,
    set_session_cookie,
    signed_in,
)
from watercooler.web.sso import sign_in_options

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_CORS = {"Access-Control-Allow-Origin": "*"}


# -- request parameters ----------------------------------------------------------------------


def _collect(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as a dict; `name[]` and repeated names become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        name = key[:-2] if key.endswith("[]") else key
        if name in result:
            existing = result[name]
            result[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            result[name] = [value] if key.endswith("[]") else value
    return result


def _multipart(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """Text fields of a multipart/form-data body (files are not expected here)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    pairs = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True) or b""
        pairs.append((str(name), payload.decode("utf-8", "replace")))
    return pairs


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise OAuthError("invalid_request", f"The body is larger than {MAX_BODY} bytes.", 413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise OAuthError("invalid_request", f"The body is larger than {MAX_BODY} bytes.", 413)
    return bytes(body)


async def request_params(request: Request) -> dict[str, Any]:
    """Query parameters overlaid with the body's: JSON, urlencoded or multipart, as Mastodon
    (Rails) reads them. A body that does not parse is an `invalid_request`."""
    params = _collect(request.query_params.multi_items())
    if request.method != "POST":
        return params
    body = await _read_body(request)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    try:
        if media_type == "application/json" or (media_type.endswith("+json") and body):
            document = orjson.loads(body or b"{}")
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            params.update(document)
        elif media_type == "application/x-www-form-urlencoded" or (not media_type and body):
            params.update(_collect(parse_qsl(body.decode("utf-8"), keep_blank_values=True)))
        elif media_type == "multipart/form-data":
            params.update(_collect(_multipart(content_type, body)))
    except (ValueError, UnicodeDecodeError) as error:
        raise OAuthError(
            "invalid_request", f"The request body could not be read: {error}"
        ) from error
    return params


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _client_credentials(request: Request, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic (RFC 6749 2.3.1) or from the body."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return one(params, "client_id"), one(params, "client_secret")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise OAuthError(
            "invalid_client", "The Basic authorization header is malformed.", 401
        ) from error
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError("invalid_client", "The Basic authorization header is malformed.", 401)
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    body_id = one(params, "client_id")
    if body_id is not None and body_id != client_id:
        raise OAuthError("invalid_request", "client_id differs from the Authorization header.")
    return client_id, secret


def _oauth_error(request: Request, error: OAuthError) -> Response:
    headers = {**_NO_STORE, **_CORS}
    if error.status == 401 and request.headers.get("authorization", "").lower().startswith("basic"):
        headers["WWW-Authenticate"] = 'Basic realm="Watercooler"'
    if error.status == 429:
        headers["Retry-After"] = "900"
    return FastJSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


def _preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            **_CORS,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


# -- JSON endpoints --------------------------------------------------------------------------


async def create_app_endpoint(request: Request) -> Response:
    """POST /api/v1/apps."""
    if request.method == "OPTIONS":
        return _preflight()
    server = oauth_server(request)
    try:
        params = await request_params(request)
        app, client_secret = await server.register(params)
    except OAuthError as error:
        return FastJSONResponse(
            {"error": error.description}, status_code=error.status, headers=_CORS
        )
    except InvalidApplication as error:
        return FastJSONResponse(
            {"error": f"Validation failed: {error}"}, status_code=422, headers=_CORS
        )
    return FastJSONResponse(
        credential_application_json(app, client_secret), headers={**_NO_STORE, **_CORS}
    )


async def verify_app_credentials(request: Request) -> Response:
    """GET /api/v1/apps/verify_credentials: any live token, user or app, of any scope."""
    if request.method == "OPTIONS":
        return _preflight()
    token = bearer_token(request)
    owner = await oauth_server(request).token_owner(token) if token else None
    if owner is None:
        return FastJSONResponse(
            {"error": "The access token is invalid"}, status_code=401, headers=_CORS
        )
    if owner.application is None:
        # A token made with `watercooler token create` belongs to no registered app.
        document: dict[str, Any] = {
            "name": "Watercooler CLI",
            "website": None,
            "scopes": list(owner.scopes),
            "redirect_uri": OOB,
            "redirect_uris": [OOB],
        }
    else:
        document = application_json(owner.application)
    return FastJSONResponse(document, headers=_CORS)


async def token_endpoint(request: Request) -> Response:
    """POST /oauth/token."""
    if request.method == "OPTIONS":
        return _preflight()
    server = oauth_server(request)
    try:
        params = await request_params(request)
        app = await server.client(*_client_credentials(request, params))
        grant = await server.token(app, params, _address(request))
    except OAuthError as error:
        return _oauth_error(request, error)
    return FastJSONResponse(grant.as_json(), headers={**_NO_STORE, **_CORS})


async def revoke_endpoint(request: Request) -> Response:
    """POST /oauth/revoke."""
    if request.method == "OPTIONS":
        return _preflight()
    server = oauth_server(request)
    try:
        params = await request_params(request)
        app = await server.client(*_client_credentials(request, params))
        await server.revoke(app, one(params, "token"))
    except OAuthError as error:
        return _oauth_error(request, error)
    return FastJSONResponse({}, headers=_CORS)


async def metadata_endpoint(request: Request) -> Response:
    """GET /.well-known/oauth-authorization-server (RFC 8414)."""
    return FastJSONResponse(oauth_server(request).metadata(), headers=_CORS)


# -- pages -----------------------------------------------------------------------------------
# Rendered from templates/oauth/*.html, extending the web pages' base.html (one stylesheet, one
# layout). The headers are the pages' own (watercooler.web.security) less `form-action`, which
# browsers apply to the redirect that follows the consent form, and that goes to the app's own
# (often custom-scheme) redirect URI; no Referer leaves these pages (the URLs carry codes).

_PAGE_HEADERS = {
    **PAGE_HEADERS,
    **_NO_STORE,
    "Content-Security-Policy": "; ".join(
        part for part in CONTENT_SECURITY_POLICY.split("; ") if not part.startswith("form-action")
    ),
    "Referrer-Policy": "no-referrer",
}


async def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    viewer: WebUser | None = None,
) -> HTMLResponse:
    """`templates/oauth/<template>` through `pages.render` (the CSRF cookie and token with
    it), with the OAuth pages' headers."""
    response = await render(request, f"oauth/{template}", context, viewer=viewer, status=status)
    for name, value in _PAGE_HEADERS.items():
        response.headers[name] = value
    return response


async def _bad_request(request: Request, message: str) -> HTMLResponse:
    context = {"title": "Bad request", "message": message, "hint": None}
    return await _page(request, "error.html", context, status=400)


async def _csrf_ok(request: Request, server: OAuthServer, params: dict[str, Any]) -> bool:
    return await csrf_ok(request, server, one(params, "csrf_token"))


async def _csrf_refused(request: Request) -> HTMLResponse:
    log.info("oauth form refused: CSRF token missing or wrong")
    context = {
        "title": "This form has expired",
        "message": "The form was too old or did not come from this site, so nothing was done.",
        "hint": "Go back to the application and sign in again.",
    }
    return await _page(request, "error.html", context, status=403)


def _scope_text(scope: str) -> str:
    if scope in SCOPE_DESCRIPTIONS:
        return SCOPE_DESCRIPTIONS[scope]
    prefix, _, noun = scope.rpartition(":")
    verb = {
        "read": "read",
        "write": "modify",
        "admin:read": "read server-wide",
        "admin:write": "modify server-wide",
    }.get(prefix, prefix)
    return f"{verb} {noun.replace('_', ' ')}"


async def _sign_in_page(
    request: Request,
    server: OAuthServer,
    auth: AuthorizationRequest,
    *,
    message: str | None = None,
    login: str = "",
    status: int = 200,
) -> Response:
    context = {
        "app_name": auth.application.name,
        "hidden": auth.params(),
        "message": message,
        "login": login,
        **sign_in_options(request, f"/oauth/authorize?{urlencode(auth.params())}"),
    }
    if message:  # a password was tried: the form again, with the reason
        context["password_form"] = True
    return await _page(request, "sign_in.html", context, status=status)


async def _consent_page(
    request: Request, server: OAuthServer, auth: AuthorizationRequest, user: UserRecord
) -> Response:
    app = auth.application
    context = {
        "app_name": app.name,
        "username": user.username,
        "scopes": [(scope, _scope_text(scope)) for scope in auth.scopes],
        "website": app.website,
        "oob": auth.redirect_uri == OOB,
        "redirect_uri": auth.redirect_uri,
        "hidden": auth.params(),
        "switch": f"/oauth/authorize?{urlencode({**auth.params(), 'force_login': 'true'})}",
    }
    return await _page(request, "consent.html", context, viewer=await signed_in(request))


async def _authorize_failed(request: Request, error: AuthorizeError) -> Response:
    if error.redirect_uri is not None:
        params = {"error": error.error, "error_description": error.description}
        if error.state is not None:
            params["state"] = error.state
        location = redirect_location(error.redirect_uri, params, error.response_mode)
        return RedirectResponse(location, status_code=302, headers=_NO_STORE)
    context = {"description": error.description, "error": error.error}
    return await _page(request, "failed.html", context, status=400)


def _choose_password(auth: AuthorizationRequest) -> Response:
    """A person with a one-time password chooses their own before any app gets a code, then
    comes back to this consent page (the password form's `next`)."""
    back = f"/oauth/authorize?{urlencode(auth.params())}"
    return RedirectResponse(
        f"{PASSWORD_PATH}?next={quote(back, safe='')}", status_code=303, headers=_NO_STORE
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


async def authorize_page(request: Request) -> Response:
    """GET /oauth/authorize: the sign-in form, or the consent page for a signed-in browser."""
    server = oauth_server(request)
    params = _collect(request.query_params.multi_items())
    try:
        auth = await server.authorization_request(params)
    except AuthorizeError as error:
        return await _authorize_failed(request, error)
    user = await server.session_user(request.cookies.get(session_cookie_name(server)))
    if user is None or _truthy(one(params, "force_login")):
        return await _sign_in_page(request, server, auth)
    if user.must_change_password:
        return _choose_password(auth)
    return await _consent_page(request, server, auth, user)


async def sign_in(request: Request) -> Response:
    """POST /oauth/sign_in: check the password, start a session, go on to the consent page
    (by way of the password form for a one-time password)."""
    server = oauth_server(request)
    try:
        params = await request_params(request)
    except OAuthError as error:
        return await _bad_request(request, error.description)
    if not await _csrf_ok(request, server, params):
        return await _csrf_refused(request)
    try:
        auth = await server.authorization_request(params)
    except AuthorizeError as error:
        return await _authorize_failed(request, error)
    login, password = (one(params, "username") or "").strip(), one(params, "password") or ""
    try:
        user = await server.check_credentials(login, password, _address(request))
    except SignInFailed as failure:
        return await _sign_in_page(
            request, server, auth, message=str(failure), login=login, status=failure.status
        )
    session = await server.start_session(user, address=_address(request), method="password")
    if user.must_change_password:
        response = _choose_password(auth)
    else:
        location = f"/oauth/authorize?{urlencode(auth.params())}"
        response = RedirectResponse(location, status_code=303, headers=_NO_STORE)
    set_session_cookie(response, server, session)
    return response


async def decide(request: Request) -> Response:
    """POST /oauth/authorize: the consent form's Authorize or Deny."""
    server = oauth_server(request)
    try:
        params = await request_params(request)
    except OAuthError as error:
        return await _bad_request(request, error.description)
    if not await _csrf_ok(request, server, params):
        return await _csrf_refused(request)
    try:
        auth = await server.authorization_request(params)
    except AuthorizeError as error:
        return await _authorize_failed(request, error)
    user = await server.session_user(request.cookies.get(session_cookie_name(server)))
    if user is None:
        return await _sign_in_page(
            request, server, auth, message="Your session has ended; sign in again.", status=401
        )
    if user.must_change_password:
        return _choose_password(auth)
    decision = one(params, "decision")
    if decision == "deny":
        log.info("oauth denied app=%s user=%s", auth.application.id, user.username)
        if auth.redirect_uri == OOB:
            context = {"app_name": auth.application.name}
            return await _page(request, "denied.html", context)
        location = auth.respond({"error": "access_denied"})
        return RedirectResponse(location, status_code=302, headers=_NO_STORE)
    if decision != "authorize":
        return await _bad_request(request, "Choose Authorize or Deny.")
    code = await server.issue_code(auth, user)
    if auth.redirect_uri == OOB:
        context = {"app_name": auth.application.name, "code": code}
        return await _page(request, "code.html", context)
    return RedirectResponse(auth.respond({"code": code}), status_code=302, headers=_NO_STORE)


routes = [
    Route("/api/v1/apps", create_app_endpoint, methods=["POST", "OPTIONS"]),
    Route("/api/v1/apps/verify_credentials", verify_app_credentials, methods=["GET", "OPTIONS"]),
    Route("/oauth/authorize", authorize_page, methods=["GET"]),
    Route("/oauth/authorize/", authorize_page, methods=["GET"]),  # toot links here
    Route("/oauth/authorize", decide, methods=["POST"]),
    Route("/oauth/authorize/", decide, methods=["POST"]),
    Route("/oauth/sign_in", sign_in, methods=["POST"]),
    Route("/oauth/token", token_endpoint, methods=["POST", "OPTIONS"]),
    Route("/oauth/revoke", revoke_endpoint, methods=["POST", "OPTIONS"]),
    Route("/.well-known/oauth-authorization-server", metadata_endpoint, methods=["GET"]),
]
