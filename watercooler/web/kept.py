"""The viewer's bookmarks and favourites: the posts they kept, latest kept first, read with
the API's own function (watercooler.api.timelines.kept_page: paged by the bookmark's or the
favourite's id, each post checked with `can_see`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store.api_timelines import Page
from store.db import Connection
from store.in_thread import in_thread
from watercooler.api.entities import EntityRenderer
from watercooler.api.pagination import page_params
from watercooler.api.timelines import Shown, kept_page
from watercooler.http import services
from watercooler.services import Services
from watercooler.web.pages import Endpoint, page, render, require_user

TITLES = {"bookmarks": "Bookmarks", "favourites": "Favourites"}


async def kept(
    svc: Services, viewer: int, bounds: Page, *, bookmarks: bool
) -> tuple[list[dict[str, Any]], list[int]]:
    """(the entities of a page of kept posts, the ids of the rows paged), in one trip."""
    now = svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        return await kept_page(conn, renderer, viewer, bounds, bookmarks=bookmarks, now=now)

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    entities = renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)
    return entities, list(shown.paged_ids)


def _kept_page(kind: str) -> Endpoint:
    path = f"/web/{kind}"

    @page
    async def endpoint(request: Request) -> Response:
        viewer = await require_user(request)
        bounds = page_params(request)
        entities, paged = await kept(
            services(request), viewer.account.id, bounds, bookmarks=kind == "bookmarks"
        )
        context = {
            "title": TITLES[kind],
            "kind": kind,
            "statuses": entities,
            "older": f"{path}?max_id={paged[-1]}" if len(paged) >= bounds.limit else None,
            "newest": bounds.max_id is None,
            "card_back": path if bounds.max_id is None else f"{path}?max_id={bounds.max_id}",
        }
        return await render(request, "kept.html", context, viewer=viewer)

    endpoint.__name__ = f"{kind}_page"
    return endpoint


routes = [Route(f"/web/{kind}", _kept_page(kind)) for kind in TITLES]
