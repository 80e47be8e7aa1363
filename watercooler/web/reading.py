"""Statuses as the web pages read them: with the client API's queries, its visibility check
(`watercooler.visibility.can_see`, inside `visible_page`) and its entities, so a page shows
exactly what an app shows the same person, rendered from the same Mastodon entities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from store import api_timelines, statuses
from store.api_timelines import Page
from store.db import Connection, db_time
from store.in_thread import in_thread
from store.records import StatusRecord
from watercooler.api.entities import EntityRenderer, status_entities
from watercooler.api.timelines import Shown, visible_page
from watercooler.filters import load as load_filters
from watercooler.services import Services
from watercooler.thread_view import visible_context
from watercooler.visibility import can_see

Timeline = Literal["home", "org", "local"]


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """The entities shown, and the ids to page on (older: `max_id` = the last)."""

    entities: list[dict[str, Any]]
    paged_ids: Sequence[int]


async def timeline(svc: Services, kind: Timeline, viewer: int, page: Page) -> TimelinePage:
    """A page of the home, organisation (public + org, every peer) or local timeline."""
    now = svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        if kind == "home":
            ids = await api_timelines.home(conn, viewer, page, now=db_time(now))
        else:
            local = True if kind == "local" else None
            ids = await api_timelines.public(conn, page, local=local, viewer=viewer)
        context = "home" if kind == "home" else "public"
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context=context)

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    entities = renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)
    return TimelinePage(entities, shown.paged_ids)


async def visible_status(svc: Services, status_id: int, viewer: int | None) -> StatusRecord | None:
    """The status if `viewer` (None: an anonymous visitor) may see it."""
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, status_id)
        if status is None or not await can_see(conn, status, viewer):
            return None
    return status


async def entities(
    svc: Services, found: Sequence[StatusRecord], viewer: int | None
) -> list[dict[str, Any]]:
    """The entities of statuses already checked with `can_see`."""
    async with svc.db.read() as conn:
        view = await load_filters(conn, viewer, now=svc.clock(), context=None)
        return await status_entities(
            conn,
            found,
            viewer_account_id=viewer,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            filters=view,
        )


@dataclass(frozen=True, slots=True)
class Thread:
    ancestors: list[StatusRecord]
    status: StatusRecord
    descendants: list[StatusRecord]


async def thread(svc: Services, status: StatusRecord, viewer: int) -> Thread:
    """A status with the ancestors and replies the viewer may see, walked as the API's
    `GET /api/v1/statuses/:id/context` walks them (bounded depth and size)."""
    async with svc.db.read() as conn:
        context = await visible_context(conn, status, viewer, now=svc.clock())
    return Thread(context.ancestors, status, context.descendants)
