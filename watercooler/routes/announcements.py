"""`/announcements/{id}`: our announcement objects (docs/federation.md, "Announcements"),
served only on a signed GET whose signer is on a peer instance, as organisation-only posts
are. A withdrawn one answers 410; anyone else gets 404 (nothing says it exists)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.policy import domain_of
from store import announcements as stored
from store.errors import NotFound
from watercooler.announcements import publisher_of
from watercooler.http import Gone, activity_json, services
from watercooler.signed import verify_signed


async def announcement_document(request: Request) -> Response:
    svc = services(request)
    if "signature" not in request.headers and "signature-input" not in request.headers:
        raise NotFound("no such announcement")
    verified = await verify_signed(request, svc)
    if not svc.policy.is_peer(domain_of(verified.owner)):
        raise NotFound("no such announcement")
    try:
        announcement_id = int(request.path_params["id"])
    except ValueError as error:
        raise NotFound("no such announcement") from error
    async with svc.db.read() as conn:
        record = await stored.get_by_id(conn, announcement_id)
    if record is None or not record.local:
        raise NotFound("no such announcement")
    if record.withdrawn_at is not None:
        raise Gone("announcement withdrawn")
    return activity_json(await publisher_of(svc).document(record))


routes = [Route("/announcements/{id}", announcement_document, methods=["GET"])]
