"""Exports and imports in the web pages: a person's archive and CSV lists
(/web/settings/export), the follows import (/web/settings/import), and the admins'
eDiscovery export (/web/admin/ediscovery).

Every download is a POSTed form with its CSRF token, so another site cannot make a browser
build archives. The archive is written into a temporary file (watercooler.archive) and
streamed from it; an eDiscovery export streams as it is read (watercooler.ediscovery),
after its audit row is written. An import is stored and done by its worker
(watercooler.follows_import), never in the request; the page shows each row's outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from store import accounts, exports
from store.records import AccountRecord
from watercooler import archive, ediscovery
from watercooler.api.media import upload_params
from watercooler.ediscovery import EdiscoveryError
from watercooler.follows_import import (
    MAX_BYTES,
    MAX_ROWS,
    ImportRefused,
    read_follows_csv,
    start_import,
)
from watercooler.http import services
from watercooler.services import Services
from watercooler.web.admin.base import actor, field, show
from watercooler.web.pages import (
    PageError,
    check_csrf,
    page,
    read_form,
    render,
    require_admin,
    require_user,
    see_other,
)
from watercooler.web.security import PAGE_HEADERS
from watercooler.web.session import WebUser
from watercooler.web.settings import SECTIONS

EXPORT_PATH = "/web/settings/export"
IMPORT_PATH = "/web/settings/import"
EDISCOVERY_PATH = "/web/admin/ediscovery"
IMPORTS_SHOWN = 5
ROWS_SHOWN = 1000
CSV_TYPE = "text/csv; charset=utf-8"
NOTICES = {"queued": "Your import has started. This page shows how far it got; reload it."}
LISTS: dict[str, Callable[[Services, AccountRecord], Awaitable[str]]] = {
    "following_accounts": archive.following_csv,
    "blocked_accounts": archive.blocked_csv,
    "muted_accounts": archive.muted_csv,
    "lists": archive.lists_csv,
}
"""The CSV lists one may download, by file name (Mastodon's names)."""


def _download_headers(file_name: str) -> dict[str, str]:
    return {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{file_name}"'}


async def _settings_page(
    request: Request,
    viewer: WebUser,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""))
    shared = {"sections": SECTIONS, "notice": notice, "error": None}
    return await render(
        request, f"settings/{template}", {**shared, **context}, viewer=viewer, status=status
    )


# ----- the person's own exports ----------------------------------------------------------------


@page
async def export_page(request: Request) -> Response:
    """GET /web/settings/export: the archive and the CSV lists."""
    viewer = await require_user(request)
    return await _settings_page(request, viewer, "export.html", {"lists": list(LISTS)})


@page
async def download_archive(request: Request) -> Response:
    """POST /web/settings/export/archive: the viewer's own archive (a zip)."""
    viewer = await require_user(request)
    await read_form(request)
    svc = services(request)
    file, _ = await archive.archive_file(svc, viewer.account)
    name = archive.archive_name(viewer.account, svc)
    return StreamingResponse(
        archive.file_chunks(file), media_type="application/zip", headers=_download_headers(name)
    )


@page
async def admin_archive(request: Request) -> Response:
    """POST /web/admin/accounts/{id}/archive: a local person's archive, for an admin
    (audited as 'archive.export', origin 'web')."""
    viewer = await require_admin(request)
    await read_form(request)
    svc = services(request)
    value = request.path_params["id"]
    author = None
    if value.isdigit() and 0 < int(value) < 2**63:
        async with svc.db.read() as conn:
            author = await accounts.get_by_id(conn, int(value))
    if author is None or not author.is_local or author.actor_type == "Application":
        raise PageError(404, "There is no such person on this division.")
    file, _ = await archive.archive_for_admin(svc, actor(viewer), author)
    return StreamingResponse(
        archive.file_chunks(file),
        media_type="application/zip",
        headers=_download_headers(archive.archive_name(author, svc)),
    )


@page
async def download_list(request: Request) -> Response:
    """POST /web/settings/export/{name}.csv: one of the CSV lists."""
    viewer = await require_user(request)
    await read_form(request)
    make = LISTS.get(request.path_params["name"])
    if make is None:
        return await _settings_page(
            request, viewer, "export.html", {"lists": list(LISTS)}, status=404
        )
    text = await make(services(request), viewer.account)
    name = f"{request.path_params['name']}.csv"
    return Response(text, media_type=CSV_TYPE, headers=_download_headers(name))


# ----- the follows import ----------------------------------------------------------------------


async def _import_page(
    request: Request, viewer: WebUser, *, error: str | None = None, status: int = 200
) -> Response:
    svc = services(request)
    async with svc.db.read() as conn:
        found = await exports.imports_of(conn, viewer.account.id, limit=IMPORTS_SHOWN)
        shown = []
        for job in found:
            counts = await exports.row_counts(conn, job.id)
            rows = await exports.import_rows(conn, job.id, limit=ROWS_SHOWN)
            shown.append({"job": job, "counts": counts, "rows": rows})
    context = {
        "imports": shown,
        "max_kb": MAX_BYTES // 1000,
        "max_rows": MAX_ROWS,
        "error": error,
    }
    return await _settings_page(request, viewer, "import.html", context, status=status)


@page
async def import_page(request: Request) -> Response:
    """GET /web/settings/import: the upload form and the recent imports' outcomes."""
    return await _import_page(request, await require_user(request))


@page
async def upload_import(request: Request) -> Response:
    """POST /web/settings/import: a CSV file of follows (multipart), `mode` merge or
    overwrite. Refused files get the form again with the reason and a 4xx."""
    viewer = await require_user(request)
    form, files = await upload_params(request)
    await check_csrf(request, form)
    upload = files.get("file")
    mode = form.get("mode") if isinstance(form.get("mode"), str) else "merge"
    svc = services(request)
    try:
        if upload is None or not upload.data:
            raise ImportRefused(422, "Choose a CSV file to import.")
        rows = read_follows_csv(upload.data)
        await start_import(
            svc.db,
            viewer.account,
            rows,
            mode=str(mode),
            file_name=upload.filename or "",
            now=svc.clock(),
        )
    except ImportRefused as refused:
        return await _import_page(request, viewer, error=str(refused), status=refused.status)
    svc.workers.follow_imports.notify()
    return see_other(f"{IMPORT_PATH}?done=queued")


# ----- eDiscovery ------------------------------------------------------------------------------


async def _ediscovery_page(
    request: Request,
    viewer: WebUser,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    values = form or {"query": "", "since": "", "until": "", "format": "jsonl"}
    context = {"form": values, "formats": ediscovery.FORMATS, "error": error}
    return await show(request, "ediscovery.html", context, viewer=viewer, status=status)


@page
async def ediscovery_page(request: Request) -> Response:
    """GET /web/admin/ediscovery: the export form."""
    return await _ediscovery_page(request, await require_admin(request))


@page
async def ediscovery_export(request: Request) -> Response:
    """POST /web/admin/ediscovery: the export, streamed (audited before it starts)."""
    viewer = await require_admin(request)
    form = await read_form(request)
    values = {name: field(form, name, ediscovery.MAX_QUERY) for name in ("query", "since")}
    values |= {name: field(form, name, 40) for name in ("until", "format")}
    svc = services(request)
    try:
        export = await ediscovery.start_export(
            svc.db,
            clock=svc.clock,
            actor=actor(viewer),
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            query=values["query"],
            since=ediscovery.parse_moment(values["since"]),
            until=ediscovery.parse_moment(values["until"], end=True),
            fmt=values["format"],
        )
    except EdiscoveryError as error:
        return await _ediscovery_page(request, viewer, form=values, error=str(error), status=422)
    headers = _download_headers(export.file_name) | {"X-Ediscovery-Count": str(export.count)}
    return StreamingResponse(export.chunks, media_type=export.media_type, headers=headers)


routes = [
    Route(EXPORT_PATH, export_page, methods=["GET"]),
    Route(EXPORT_PATH + "/archive", download_archive, methods=["POST"]),
    Route(EXPORT_PATH + "/{name:str}.csv", download_list, methods=["POST"]),
    Route(IMPORT_PATH, import_page, methods=["GET"]),
    Route(IMPORT_PATH, upload_import, methods=["POST"]),
    Route(EDISCOVERY_PATH, ediscovery_page, methods=["GET"]),
    Route(EDISCOVERY_PATH, ediscovery_export, methods=["POST"]),
    Route("/web/admin/accounts/{id}/archive", admin_archive, methods=["POST"]),
]
