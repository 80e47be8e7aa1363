"""Mastodon's timelines (home, public, hashtag) and the bookmarks and favourites lists,
paged by id with `Link` headers. Every status is checked against the viewer."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import api_timelines, statuses, threads
from store.api_timelines import Page
from store.db import db_time
from watercooler.api.entities import status_entities
from watercooler.api.forms import flag
from watercooler.api.pagination import page_params, paged_response
from watercooler.auth import authenticate
from watercooler.filters import load as load_filters
from watercooler.http import services
from watercooler.services import Services
from watercooler.visibility import can_see


async def _answer(
    request: Request, svc: Services, ids: Sequence[int], page: Page, viewer: int | None,
    *, paged_ids: Sequence[int] | None = None, context: str | None = None,
) -> Response:  # fmt: skip
    """`context` is the filter context (home, public...): the viewer's filters of it mark
    statuses `filtered`, and its `hide` filters leave statuses out."""
    async with svc.db.read() as conn:
        view = await load_filters(conn, viewer, now=svc.clock(), context=context)
        found = await statuses.get_many(conn, ids)
        shown = []
        for status_id in ids:
            status = found.get(status_id)
            if status is None or not await can_see(conn, status, viewer):
                continue
            if await view.hidden(conn, status):
                continue
            shown.append(status)
        entities = await status_entities(
            conn,
            shown,
            viewer_account_id=viewer,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            filters=view,
        )
    base = svc.config.instance.base_url
    return paged_response(
        request, base, entities, paged_ids if paged_ids is not None else ids, page
    )


answer_statuses = _answer
"""A page of statuses as the viewer may see them, with its `Link` (the list timeline's too)."""


async def home(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses")
    page = page_params(request)
    async with svc.db.read() as conn:
        ids = await api_timelines.home(conn, caller.account.id, page, now=db_time(svc.clock()))
    return await _answer(request, svc, ids, page, caller.account.id, context="home")


def _locality(request: Request) -> bool | None:
    if flag(request.query_params.get("local")):
        return True
    if flag(request.query_params.get("remote")):
        return False
    return None


async def public(request: Request) -> Response:
    """Signed-in only: an organisation's public posts are not for whoever reaches the server
    (Mastodon's `timeline_preview` off)."""
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses")
    page = page_params(request)
    async with svc.db.read() as conn:
        ids = await api_timelines.public(conn, page, local=_locality(request))
    return await _answer(request, svc, ids, page, caller.account.id, context="public")


async def tag(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses")
    page = page_params(request)
    name = request.path_params["hashtag"].lstrip("#")
    async with svc.db.read() as conn:
        ids = await api_timelines.tag(conn, name, page, local=_locality(request))
    return await _answer(request, svc, ids, page, caller.account.id, context="public")


async def _kept(request: Request, *, bookmarks: bool) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:bookmarks" if bookmarks else "read:favourites")
    page = page_params(request)
    query = threads.bookmarked_page if bookmarks else threads.favourited_page
    async with svc.db.read() as conn:
        rows = await query(conn, caller.account.id, max_id=page.max_id, limit=page.limit)
    return await _answer(
        request, svc, [s for _, s in rows], page, caller.account.id, paged_ids=[r for r, _ in rows]
    )


async def bookmarks(request: Request) -> Response:
    return await _kept(request, bookmarks=True)


async def favourites(request: Request) -> Response:
    return await _kept(request, bookmarks=False)


routes = [
    Route("/api/v1/timelines/home", home),
    Route("/api/v1/timelines/public", public),
    Route("/api/v1/timelines/tag/{hashtag}", tag),
    Route("/api/v1/bookmarks", bookmarks),
    Route("/api/v1/favourites", favourites),
]
