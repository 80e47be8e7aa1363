"""HTTP plumbing shared by the endpoints: JSON responses, content negotiation, error mapping.

Errors are types raised anywhere below; this module alone turns them into status codes.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from federation.errors import SignatureError
from federation.policy import PolicyRejected
from federation.webfinger import BadResource
from store.errors import Busy, NotFound
from watercooler.services import Services

log = logging.getLogger(__name__)

ACTIVITY_JSON = "application/activity+json; charset=utf-8"
_AP_TYPES = ("application/activity+json", "application/ld+json")


class Gone(Exception):
    """The resource existed and was removed or disabled (410)."""


class FastJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def activity_json(document: dict[str, Any], *, status_code: int = 200) -> Response:
    response = FastJSONResponse(document, status_code=status_code, media_type=ACTIVITY_JSON)
    response.headers["Vary"] = "Accept"
    return response


def wants_activity_json(request: Request) -> bool:
    """True when the client asked for ActivityStreams (either media type Mastodon accepts)."""
    accept = request.headers.get("accept", "").lower()
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        if media.strip() in _AP_TYPES and "q=0" not in params.replace(" ", "").split(";"):
            return True
    return False


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return FastJSONResponse({"error": message}, status_code=status, headers=headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, str(exc) or "Record not found")


async def _gone(request: Request, exc: Exception) -> Response:
    return error_response(410, str(exc) or "Gone")


async def _bad_request(request: Request, exc: Exception) -> Response:
    return error_response(400, str(exc))


async def _forbidden(request: Request, exc: Exception) -> Response:
    log.info("refused by peer policy path=%s error=%s", request.url.path, exc)
    return error_response(403, "Forbidden")


async def _unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignatureError)
    log.info("signature refused path=%s reason=%s", request.url.path, exc.reason)
    return error_response(401, f"Request not signed or signature not valid ({exc.reason})")


async def _busy(request: Request, exc: Exception) -> Response:
    """The write lock stayed with another connection past the busy timeout: nothing was
    written, so the client (or the peer's delivery worker) may simply try again."""
    log.warning("database busy path=%s", request.url.path)
    return error_response(
        503, "The database is busy; nothing was saved. Try again.", {"Retry-After": "5"}
    )


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, exc.detail)


EXCEPTION_HANDLERS = {
    NotFound: _not_found,
    Gone: _gone,
    BadResource: _bad_request,
    PolicyRejected: _forbidden,
    SignatureError: _unauthorized,
    HTTPException: _http_exception,
    Busy: _busy,
}
