"""`GET /api/v1/admin/ediscovery` (a Watercooler extension; Mastodon has no such call): the
eDiscovery export of watercooler.ediscovery for scripts and legal tools.

Parameters: `q` (the search syntax; empty or absent: every status), `since` and `until`
(a date, `2026-01-31`, or an ISO 8601 time; `until` as a date includes that day), `format`
(`jsonl`, the default, or `csv`). Admins only, with `admin:read`; the export is written to
the audit log (origin 'api') before it streams. The answer carries the count in
`X-Ediscovery-Count`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from watercooler import ediscovery
from watercooler.admin import Actor
from watercooler.api.admin_peers import _admin
from watercooler.ediscovery import EdiscoveryError


async def export(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:read")
    params = request.query_params
    try:
        started = await ediscovery.start_export(
            svc.db,
            clock=svc.clock,
            actor=Actor.of_user(caller.user, "api"),
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            query=params.get("q", ""),
            since=ediscovery.parse_moment(params.get("since")),
            until=ediscovery.parse_moment(params.get("until"), end=True),
            fmt=params.get("format", "jsonl"),
        )
    except EdiscoveryError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    headers = {
        "Content-Disposition": f'attachment; filename="{started.file_name}"',
        "X-Ediscovery-Count": str(started.count),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(started.chunks, media_type=started.media_type, headers=headers)


routes = [Route("/api/v1/admin/ediscovery", export, methods=["GET"])]
