"""The instance as apps discover it, and the small per-user documents they read at start-up:
instance v1 and v2, peers, weekly activity, custom emojis, preferences, markers; and the
default images the entities point at. (Filters: watercooler.api.filters; announcements:
watercooler.api.announcements.)

The two instance documents answer without a token, even on a closed instance: apps read them
before anyone signs in, and refuse the server if they cannot (INTEROP.md).
"""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, timedelta
from functools import cache
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, api_queries, statuses, users
from watercooler.api.entities import (
    DEFAULT_AVATAR_PATH,
    DEFAULT_HEADER_PATH,
    ICON_PATH,
    ICON_SIZE,
    THUMBNAIL_PATH,
    account_entity,
    instance_v1,
    instance_v2,
    marker_entity,
)
from watercooler.api.forms import body_params, id_param
from watercooler.auth import authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import default_visibility

ACTIVITY_WEEKS = 12
MARKER_TIMELINES = ("home", "notifications")
_IMAGE_CACHE = {"Cache-Control": "public, max-age=86400"}


async def _body(request: Request) -> dict[str, Any]:
    """The request's parameters. Uploaded files are closed here (none is kept), which
    `body_params` leaves open."""
    try:
        return await body_params(request)
    finally:
        await request.close()


async def _contact(svc: Services) -> tuple[dict[str, Any] | None, str]:
    """The first admin's Account entity and e-mail: who runs this instance."""
    async with svc.db.read() as conn:
        admin = await api_queries.first_admin(conn)
        account = await accounts.get_by_id(conn, admin[0]) if admin else None
        if account is None:
            return None, ""
        entity = await account_entity(
            conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
        )
    return entity, (admin[1] if admin else None) or ""


async def _peer_domains(svc: Services) -> list[str]:
    async with svc.db.read() as conn:
        known = await api_queries.known_remote_domains(conn)
    own = svc.config.instance.domain
    return sorted((set(known) | svc.config.peer_domains) - {own})


async def instance_v1_endpoint(request: Request) -> Response:
    svc = services(request)
    contact, email = await _contact(svc)
    async with svc.db.read() as conn:
        user_count = await users.count_active(conn)
        status_count = await statuses.count_local(conn)
    document = instance_v1(
        svc.config,
        contact_account=contact,
        email=email,
        user_count=user_count,
        status_count=status_count,
        domain_count=len(await _peer_domains(svc)),
    )
    return FastJSONResponse(document)


async def instance_v2_endpoint(request: Request) -> Response:
    svc = services(request)
    contact, email = await _contact(svc)
    async with svc.db.read() as conn:
        active = await users.count_active_since(conn, svc.clock() - timedelta(days=30))
    return FastJSONResponse(
        instance_v2(svc.config, contact_account=contact, email=email, active_month=active)
    )


async def peers(request: Request) -> Response:
    return FastJSONResponse(await _peer_domains(services(request)))


async def activity(request: Request) -> Response:
    """Twelve weeks, this one first, each from Monday 00:00 UTC; counts as strings."""
    svc = services(request)
    today = svc.clock().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=today.weekday())
    weeks = []
    async with svc.db.read() as conn:
        for _ in range(ACTIVITY_WEEKS):
            posts, logins, registrations = await api_queries.activity_between(
                conn, start, start + timedelta(days=7)
            )
            weeks.append(
                {
                    "week": str(int(start.timestamp())),
                    "statuses": str(posts),
                    "logins": str(logins),
                    "registrations": str(registrations),
                }
            )
            start -= timedelta(days=7)
    return FastJSONResponse(weeks)


async def custom_emojis(request: Request) -> Response:
    return FastJSONResponse([])


async def preferences(request: Request) -> Response:
    """The defaults apps apply when composing and reading: the visibility is the user's own
    (`source[privacy]`) or else the instance's `default_visibility`; the rest are fixed."""
    svc = services(request)
    caller = await authenticate(request, svc, "read:accounts")
    async with svc.db.read() as conn:
        visibility = await default_visibility(
            conn, caller.account.id, svc.config.instance.default_visibility
        )
    return FastJSONResponse(
        {
            "posting:default:visibility": visibility,
            "posting:default:sensitive": False,
            "posting:default:language": None,
            "reading:expand:media": "default",
            "reading:expand:spoilers": False,
        }
    )


# ----- markers -------------------------------------------------------------------------------


def _requested_timelines(request: Request) -> list[str]:
    names = request.query_params.getlist("timeline[]") + request.query_params.getlist("timeline")
    return [name for name in names if name in MARKER_TIMELINES]


async def get_markers(request: Request) -> Response:
    """Only the timelines asked for (`timeline[]=home`), as Mastodon answers."""
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses")
    async with svc.db.read() as conn:
        found = await api_queries.markers(conn, caller.account.id, _requested_timelines(request))
    return FastJSONResponse({marker.timeline: marker_entity(marker) for marker in found})


def _last_read_id(params: dict[str, Any], timeline: str) -> int | None:
    """`home[last_read_id]=...` from a form, or `{"home": {"last_read_id": ...}}` in JSON;
    None when the timeline is not in the request."""
    nested = params.get(timeline)
    if isinstance(nested, dict):
        value = nested.get("last_read_id")
    elif f"{timeline}[last_read_id]" in params:
        value = params[f"{timeline}[last_read_id]"]
    else:
        return None
    parsed = id_param(value, f"{timeline}[last_read_id]")
    if parsed is None:
        raise HTTPException(422, f"Validation failed: {timeline}[last_read_id] is missing")
    return parsed


async def save_markers(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:statuses")
    params = await _body(request)
    wanted = {
        timeline: last_read_id
        for timeline in MARKER_TIMELINES
        if (last_read_id := _last_read_id(params, timeline)) is not None
    }
    saved = {}
    async with svc.db.transaction() as conn:
        for timeline, last_read_id in wanted.items():
            marker = await api_queries.save_marker(
                conn, caller.account.id, timeline, last_read_id, svc.clock()
            )
            saved[timeline] = marker_entity(marker)
    return FastJSONResponse(saved)


# ----- images --------------------------------------------------------------------------------


@cache
def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A one-colour PNG (8-bit RGB), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


_IMAGES = {
    DEFAULT_AVATAR_PATH: (120, 120, (0x9B, 0xAE, 0xC8)),
    DEFAULT_HEADER_PATH: (3, 1, (0x60, 0x64, 0x84)),
    THUMBNAIL_PATH: (1200, 630, (0x28, 0x2C, 0x37)),
    ICON_PATH: (ICON_SIZE, ICON_SIZE, (0x28, 0x2C, 0x37)),
}


async def default_image(request: Request) -> Response:
    width, height, rgb = _IMAGES[request.url.path]
    return Response(solid_png(width, height, rgb), media_type="image/png", headers=_IMAGE_CACHE)


routes = [
    Route("/api/v1/instance", instance_v1_endpoint),
    Route("/api/v1/instance/", instance_v1_endpoint),
    Route("/api/v2/instance", instance_v2_endpoint),
    Route("/api/v2/instance/", instance_v2_endpoint),
    Route("/api/v1/instance/peers", peers),
    Route("/api/v1/instance/activity", activity),
    Route("/api/v1/custom_emojis", custom_emojis),
    Route("/api/v1/preferences", preferences),
    Route("/api/v1/markers", get_markers, methods=["GET"]),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
    *(Route(path, default_image) for path in _IMAGES),
]
