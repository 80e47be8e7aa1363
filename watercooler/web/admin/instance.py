"""/web/admin (the overview) and /web/admin/settings (what may change at run time); the audit
log's page is `audit`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import audit, deliveries, peers, users
from watercooler.admin import AdminError
from watercooler.http import services
from watercooler.instance_settings import SETTINGS, SettingError, current
from watercooler.peering import peer_statuses
from watercooler.web.admin.base import actions, actor, done, field, notice, show
from watercooler.web.pages import page, read_form, require_admin
from watercooler.web.session import WebUser
from watercooler.web.timelines import VISIBILITY_LABELS

SETTINGS_PATH = "/web/admin/settings"
RECENT = 10
NOTICES = {"saved": "Saved: {name}.", "unchanged": "Nothing changed."}


@page
async def overview(request: Request) -> Response:
    viewer = await require_admin(request)
    svc = services(request)
    statuses = await peer_statuses(svc.db)
    async with svc.db.read() as conn:
        listed = await users.list_users(conn)
        queue = await deliveries.counts(conn)
        blocks = await peers.all_blocks(conn)
        recent = await audit.page(conn, limit=RECENT)
    linked = [s for s in statuses if s.link.outgoing == s.link.incoming == "accepted"]
    context = {
        "user_count": sum(not u.disabled for u in listed),
        "admin_count": sum(u.admin and not u.disabled for u in listed),
        "disabled_count": sum(u.disabled for u in listed),
        "peer_count": len(statuses),
        "linked_count": len(linked),
        "queued": queue["pending"] + queue["retrying"],
        "dead": queue["dead"],
        "block_count": len(blocks),
        "recent": recent,
    }
    return await show(request, "overview.html", context, viewer=viewer)


# ----- settings ----------------------------------------------------------------------------


async def _show_settings(
    request: Request, viewer: WebUser, *, status: int = 200, **extra: Any
) -> Response:
    context = {
        "settings": SETTINGS,
        "values": current(services(request).config),
        "visibilities": VISIBILITY_LABELS,
        "notice": notice(request, NOTICES),
        **extra,
    }
    return await show(request, "settings.html", context, viewer=viewer, status=status)


@page
async def settings_page(request: Request) -> Response:
    return await _show_settings(request, await require_admin(request))


@page
async def save_settings(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    wanted = {s.key: field(form, s.key, 4000) for s in SETTINGS if s.key in form}
    try:
        changed = await actions(request).change_settings(actor(viewer), wanted)
    except (SettingError, AdminError) as error:
        return await _show_settings(request, viewer, status=422, error=str(error))
    if not changed:
        return done(SETTINGS_PATH, "unchanged")
    labels = {s.key: s.label.lower() for s in SETTINGS}
    return done(SETTINGS_PATH, "saved", ", ".join(labels[key] for key in changed))


routes = [
    Route("/web/admin", overview, methods=["GET"]),
    Route(SETTINGS_PATH, settings_page, methods=["GET"]),
    Route(SETTINGS_PATH, save_settings, methods=["POST"]),
]
