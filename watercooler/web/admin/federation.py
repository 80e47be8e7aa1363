"""/web/admin/peers, /web/admin/queue and /web/admin/domain_blocks: who this division
federates with and how that goes. The peer table is `watercooler peer status` (the same
`peer_statuses`), the queue table `watercooler queue status` (`summary_by_host`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import deliveries, peers
from watercooler.admin import AdminError
from watercooler.http import services
from watercooler.peering import peer_statuses
from watercooler.web.admin.base import actions, actor, done, field, notice, show
from watercooler.web.pages import page, read_form, require_admin
from watercooler.web.session import WebUser

PEERS = "/web/admin/peers"
QUEUE = "/web/admin/queue"
BLOCKS = "/web/admin/domain_blocks"
DEAD_SHOWN = 50
SEVERITY_LABELS = {
    "reject": "Reject: nothing to or from it",
    "silence": "Silence: kept out of public timelines",
}
NOTICES = {
    "added": "{name} added. The instance actors link within seconds, once {name} lists this"
    " division too.",
    "already": "{name} already is a peer.",
    "removed": "{name} removed: nothing more is sent to, fetched from or accepted from it.",
    "retried": "{name} dead deliveries queued again.",
    "nothing": "There were no dead deliveries to retry.",
    "blocked": "{name} is blocked.",
    "unblocked": "{name} is no longer blocked.",
}


# ----- peers -------------------------------------------------------------------------------


async def _show_peers(
    request: Request, viewer: WebUser, *, status: int = 200, **extra: Any
) -> Response:
    svc = services(request)
    await svc.peering.flush_counts()  # signature failures up to this request
    context = {
        "statuses": await peer_statuses(svc.db),
        "notice": notice(request, NOTICES),
        "entered": "",
        **extra,
    }
    return await show(request, "peers.html", context, viewer=viewer, status=status)


@page
async def peers_page(request: Request) -> Response:
    return await _show_peers(request, await require_admin(request))


@page
async def add_peer(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    domain = field(form, "domain")
    try:
        added = await actions(request).add_peer(
            actor(viewer), domain, name=field(form, "name", 100) or None
        )
    except AdminError as error:
        return await _show_peers(request, viewer, status=422, error=str(error), entered=domain)
    return done(PEERS, "added" if added else "already", domain.lower())


@page
async def remove_peer(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    domain = request.path_params["domain"]
    try:
        await actions(request).remove_peer(actor(viewer), domain)
    except AdminError as error:
        return await _show_peers(request, viewer, status=422, error=str(error))
    return done(PEERS, "removed", domain)


# ----- the delivery queue ------------------------------------------------------------------


@page
async def queue_page(request: Request) -> Response:
    viewer = await require_admin(request)
    async with services(request).db.read() as conn:
        hosts = await deliveries.summary_by_host(conn)
        dead = await deliveries.list_dead(conn, limit=DEAD_SHOWN)
    context = {"hosts": hosts, "dead": dead, "notice": notice(request, NOTICES)}
    return await show(request, "queue.html", context, viewer=viewer)


@page
async def retry_dead(request: Request) -> Response:
    """All dead deliveries, or one host's (`host` field)."""
    viewer = await require_admin(request)
    form = await read_form(request)
    host = field(form, "host") or None
    count = await actions(request).retry_dead(actor(viewer), host=host)
    return done(QUEUE, "retried" if count else "nothing", str(count))


# ----- domain blocks -----------------------------------------------------------------------


async def _show_blocks(
    request: Request, viewer: WebUser, *, status: int = 200, **extra: Any
) -> Response:
    svc = services(request)
    await svc.peering.flush_counts()
    async with svc.db.read() as conn:
        blocks = await peers.all_blocks(conn)
        refused = await peers.counters(conn, kind="refused")
    context = {
        "blocks": blocks,
        "refused": refused,
        "severities": SEVERITY_LABELS,
        "notice": notice(request, NOTICES),
        "entered": "",
        **extra,
    }
    return await show(request, "domain_blocks.html", context, viewer=viewer, status=status)


@page
async def blocks_page(request: Request) -> Response:
    return await _show_blocks(request, await require_admin(request))


@page
async def block_domain(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    domain = field(form, "domain")
    try:
        await actions(request).block_domain(
            actor(viewer),
            domain,
            severity=field(form, "severity") or "reject",
            reason=field(form, "reason", 500),
        )
    except AdminError as error:
        return await _show_blocks(request, viewer, status=422, error=str(error), entered=domain)
    return done(BLOCKS, "blocked", domain.lower())


@page
async def unblock_domain(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    domain = request.path_params["domain"]
    try:
        await actions(request).unblock_domain(actor(viewer), domain)
    except AdminError as error:
        return await _show_blocks(request, viewer, status=422, error=str(error))
    return done(BLOCKS, "unblocked", domain)


routes = [
    Route(PEERS, peers_page, methods=["GET"]),
    Route(PEERS, add_peer, methods=["POST"]),
    Route(PEERS + "/{domain:str}/remove", remove_peer, methods=["POST"]),
    Route(QUEUE, queue_page, methods=["GET"]),
    Route(QUEUE + "/retry", retry_dead, methods=["POST"]),
    Route(BLOCKS, blocks_page, methods=["GET"]),
    Route(BLOCKS, block_domain, methods=["POST"]),
    Route(BLOCKS + "/{domain:str}/unblock", unblock_domain, methods=["POST"]),
]
