"""The directory feed at `/actor/directory` (federation.directory): who works here, for peers.

Served only on a GET signed by an actor of a peer, in either federation mode: an unsigned or
badly signed request gets 401, anyone else (a non-peer, even one `open` mode federates
with) 403, counted as a refusal of its domain.
"""

from __future__ import annotations

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.directory import FEED_SUFFIX
from federation.policy import PolicyRejected, domain_of
from federation.uris import INSTANCE_ACTOR_PATH
from outbox.directory import feed_collection, feed_page
from watercooler.documents import activity_bytes
from watercooler.http import activity_json, services
from watercooler.signed import verify_signed

MAX_SINCE = 2**63 - 1


async def directory_feed(request: Request) -> Response:
    svc = services(request)
    verified = await verify_signed(request, svc)
    domain = domain_of(verified.owner)
    if not svc.policy.is_peer(domain):
        svc.policy.refused(domain)
        raise PolicyRejected(domain)
    raw = request.query_params.get("since")
    if raw is None:
        return activity_json(await feed_collection(svc.db, svc.uris))
    if not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_SINCE:
        raise HTTPException(400, "since must be a change number")
    page = await feed_page(svc.db, svc.uris, int(raw))
    return activity_bytes(orjson.dumps(page))


routes = [Route(INSTANCE_ACTOR_PATH + FEED_SUFFIX, directory_feed)]
