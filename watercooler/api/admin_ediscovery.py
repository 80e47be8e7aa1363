"""`GET /api/v1/admin/ediscovery` (a Watercooler extension; Mastodon has no such call): the
eDiscovery export of watercooler.ediscovery for scripts and legal tools.

Parameters: `q` (the search syntax; empty or absent: every status), `since` and `until`
(a date, `2026-01-31`, or an ISO 8601 time; `until` as a date includes that day), `format`
(`jsonl`, the default, or `csv`). Admins only, with `admin:read`; the export is written to
the audit log (origin 'api') before it streams. The answer carries the count in
`X-Ediscovery-Count`. Also a person's archive, for an admin:
`/api/v1/admin/accounts/:id/archive`.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from store import accounts
from watercooler import archive, ediscovery
from watercooler.admin import Actor
from watercooler.api.admin_auth import admin_caller as _admin
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


async def account_archive(request: Request) -> Response:
    """GET /api/v1/admin/accounts/:id/archive: a local person's archive (a zip in Mastodon's
    layout, watercooler.archive), for an admin; recorded as 'archive.export' (origin 'api')."""
    svc, caller = await _admin(request, "admin:read")
    value = request.path_params["id"]
    author = None
    if value.isdigit() and 0 < int(value) < 2**63:
        async with svc.db.read() as conn:
            author = await accounts.get_by_id(conn, int(value))
    if author is None or not author.is_local or author.actor_type == "Application":
        raise HTTPException(404, "Record not found")
    file, summary = await archive.archive_for_admin(svc, Actor.of_user(caller.user, "api"), author)
    headers = {
        "Content-Disposition": f'attachment; filename="{archive.archive_name(author, svc)}"',
        "X-Archive-Statuses": str(summary.statuses),
        "Cache-Control": "no-store",
    }
    return StreamingResponse(
        archive.file_chunks(file), media_type="application/zip", headers=headers
    )


routes = [
    Route("/api/v1/admin/ediscovery", export, methods=["GET"]),
    Route("/api/v1/admin/accounts/{id}/archive", account_archive, methods=["GET"]),
]
