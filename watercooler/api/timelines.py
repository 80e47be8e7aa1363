"""Mastodon's timelines (home, public, hashtag) and the bookmarks and favourites lists,
paged by id with `Link` headers. Every status is checked against the viewer.

A page is read in one trip to a reader's thread (store.in_thread): the caller's token, the
page's ids, the viewer's filters, the statuses and all that their entities are made from. A
trip to that thread costs more than most of these statements, and a page used to take
thirty of them. Only the rendering, which needs no database, runs on the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import api_timelines, entity_batches, moderation, threads
from store.api_timelines import Page
from store.db import Connection, db_time
from store.entity_batches import ViewerMarks
from store.in_thread import in_thread
from store.records import StatusRecord
from watercooler.api.entities import EntityRenderer
from watercooler.api.forms import flag
from watercooler.api.pagination import page_params, paged_response
from watercooler.auth import authorize, bearer_token
from watercooler.filters import FilterView
from watercooler.filters import load as load_filters
from watercooler.http import services
from watercooler.services import Services
from watercooler.visibility import can_see


@dataclass(frozen=True, slots=True)
class Shown:
    """What a page shows its viewer: the statuses that pass visibility and filters, the
    viewer's filters and marks, and the page with the ids its `Link` pages by."""

    statuses: list[StatusRecord]
    viewer: int | None
    view: FilterView
    marks: ViewerMarks | None
    page: Page
    paged_ids: Sequence[int]


PageRead = Callable[[Connection, EntityRenderer], Awaitable[Shown]]
"""Reads a page on a connection, in its thread: awaits nothing but the connection."""


async def visible_page(
    conn: Connection,
    renderer: EntityRenderer,
    ids: Sequence[int],
    page: Page,
    viewer: int | None,
    *,
    now: datetime,
    context: str | None,
    paged_ids: Sequence[int] | None = None,
) -> Shown:
    """The statuses of `ids` the viewer may see, in order, loaded for `renderer`. `context`
    is the filter context (home, public...): the viewer's filters of it mark statuses
    `filtered`, and its `hide` filters leave statuses out."""
    view = await load_filters(conn, viewer, now=now, context=context)
    found = await entity_batches.statuses_by_id(conn, ids)
    hidden = await moderation.hidden_statuses(conn, found)
    statuses = []
    for status_id in ids:
        status = found.get(status_id)
        if status is None or not await can_see(conn, status, viewer, hidden=hidden):
            continue
        if await view.hidden(conn, status):
            continue
        statuses.append(status)
    marks = await renderer.fetch(conn, statuses, viewer)
    return Shown(statuses, viewer, view, marks, page, ids if paged_ids is None else paged_ids)


async def answer(request: Request, svc: Services, read: PageRead) -> Response:
    """A page of statuses read by `read` in one trip, rendered, with its `Link`."""
    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        page = await in_thread(conn, read, renderer)
    entities = renderer.render(page.statuses, page.viewer, page.marks, page.view)
    base = svc.config.instance.base_url
    return paged_response(request, base, entities, page.paged_ids, page.page)


async def answer_statuses(
    request: Request, svc: Services, ids: Sequence[int], page: Page, viewer: int | None,
    *, paged_ids: Sequence[int] | None = None, context: str | None = None,
) -> Response:  # fmt: skip
    """A page of statuses as the viewer may see them, with its `Link` (the list timeline's
    too); `paged_ids` are the ids of the rows paged when they are not the statuses'."""
    now = svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        return await visible_page(
            conn, renderer, ids, page, viewer, now=now, context=context, paged_ids=paged_ids
        )

    return await answer(request, svc, read)


def _token(request: Request) -> str:
    token = bearer_token(request)
    if token is None:
        raise HTTPException(401, "The access token is invalid")
    return token


async def home(request: Request) -> Response:
    svc = services(request)
    token, now = _token(request), svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        viewer = (await authorize(conn, token, "read:statuses", now=now)).account.id
        page = page_params(request)
        ids = await api_timelines.home(conn, viewer, page, now=db_time(now))
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context="home")

    return await answer(request, svc, read)


def _locality(request: Request) -> bool | None:
    if flag(request.query_params.get("local")):
        return True
    if flag(request.query_params.get("remote")):
        return False
    return None


async def public(request: Request) -> Response:
    """Signed-in only: an organisation's public posts are not for whoever reaches the server
    (Mastodon's `timeline_preview` off). Shows public and organisation-only (`org`) posts;
    without `local`, those of every peer too: the organisation's timeline."""
    svc = services(request)
    token, now = _token(request), svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        viewer = (await authorize(conn, token, "read:statuses", now=now)).account.id
        page = page_params(request)
        ids = await api_timelines.public(conn, page, local=_locality(request), viewer=viewer)
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context="public")

    return await answer(request, svc, read)


async def tag(request: Request) -> Response:
    svc = services(request)
    token, now = _token(request), svc.clock()
    name = request.path_params["hashtag"].lstrip("#")

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        viewer = (await authorize(conn, token, "read:statuses", now=now)).account.id
        page = page_params(request)
        ids = await api_timelines.tag(conn, name, page, local=_locality(request), viewer=viewer)
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context="public")

    return await answer(request, svc, read)


async def kept_page(
    conn: Connection,
    renderer: EntityRenderer,
    viewer: int,
    page: Page,
    *,
    bookmarks: bool,
    now: datetime,
) -> Shown:
    """A page of the statuses `viewer` bookmarked (or favourited), latest first, paged by
    the bookmark's (favourite's) id: the API's list and the web page's."""
    kept = threads.bookmarked_page if bookmarks else threads.favourited_page
    rows = await kept(conn, viewer, max_id=page.max_id, limit=page.limit)
    ids, paged_ids = [s for _, s in rows], [r for r, _ in rows]
    return await visible_page(
        conn, renderer, ids, page, viewer, now=now, context=None, paged_ids=paged_ids
    )


async def _kept(request: Request, *, bookmarks: bool) -> Response:
    svc = services(request)
    token, now = _token(request), svc.clock()
    scope = "read:bookmarks" if bookmarks else "read:favourites"

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        viewer = (await authorize(conn, token, scope, now=now)).account.id
        page = page_params(request)
        return await kept_page(conn, renderer, viewer, page, bookmarks=bookmarks, now=now)

    return await answer(request, svc, read)


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
