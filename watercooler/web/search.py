"""The search page (posts, people, hashtags, with Mastodon's operators) and a hashtag's
timeline. Both read with the API's own code: `watercooler.api.search.run_search` (the same
index, the same visibility in the query and `can_see` after it) and the hashtag timeline's
query with `visible_page`, so the page finds exactly what an app would, never more."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import api_timelines
from store.api_timelines import Page
from store.db import Connection
from store.in_thread import in_thread
from watercooler.api.entities import EntityRenderer
from watercooler.api.pagination import int_param, page_params
from watercooler.api.search import MAX_OFFSET, TYPES, SearchQuery, run_search, tag_name
from watercooler.api.timelines import Shown, visible_page
from watercooler.http import services
from watercooler.services import Services
from watercooler.web.directory import person_cards
from watercooler.web.pages import PageError, page, render, require_user

PATH = "/web/search"
PAGE_SIZE = 20
MAX_QUERY = 500
TYPE_LABELS = {"": "Everything", "statuses": "Posts", "accounts": "People", "hashtags": "Hashtags"}
assert set(TYPE_LABELS) == {"", *TYPES}
_HANDLE = re.compile(r"^@?[\w.-]+@[\w.-]+\.\w+$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)

OPERATORS = [
    ("word", "posts with the word (any case, accents ignored)"),
    ('"two words"', "the exact phrase"),
    ("plan*", "words that begin with plan"),
    ("-word", 'posts without the word (also -"a phrase", -#tag, -has:media)'),
    ("#tag", "posts with the hashtag"),
    ("from:me, from:name, from:@name@domain", "posts by that person"),
    ("has:media, image, video, audio, link, poll", "posts with that attached or linked"),
    ("is:reply, is:sensitive", "replies; posts with a content warning"),
    ("language:en", "posts in that language"),
    ("before:2026-01-31, after:…, during:…", "posts written before, after or on that day (UTC)"),
    ("in:library", "your own posts, mentions of you, your bookmarks and favourites"),
    ("in:public", "public posts only"),
    ("@name@domain", "a colleague on another division (looked up there if need be)"),
]
"""What watercooler.search_syntax understands, as the help says it."""


def _resolves(q: str) -> bool:
    """Look the query up on its instance when it names one: `@name@domain` (as Mastodon's
    own web does) or a link to a post or profile. Peer policy still decides what is
    fetched."""
    return bool(_HANDLE.match(q) or _URL.match(q))


@page
async def search_page(request: Request) -> Response:
    """GET /web/search?q=&type=&offset=: the box, its help, and what it finds."""
    viewer = await require_user(request)
    svc = services(request)
    q = request.query_params.get("q", "").strip()[:MAX_QUERY]
    kind = request.query_params.get("type", "").strip()
    if kind not in TYPE_LABELS:
        kind = ""
    offset = int_param(request, "offset", 0, maximum=MAX_OFFSET, minimum=0)
    context: dict[str, Any] = {
        "q": q,
        "kind": kind,
        "kinds": TYPE_LABELS,
        "operators": OPERATORS,
        "offset": offset,
        "people": [],
        "statuses": [],
        "hashtags": [],
        "more": None,
        "back": PATH,
    }
    if q:
        wanted = SearchQuery(q=q, kind=kind, limit=PAGE_SIZE, offset=offset, resolve=_resolves(q))
        found = await run_search(svc, viewer.account.id, wanted)
        full = any(
            len(found_list) >= PAGE_SIZE
            for found_list in (found.accounts, found.statuses, found.hashtags)
        )
        base = [("q", q), *([("type", kind)] if kind else [])]
        context.update(
            people=await person_cards(svc, viewer.account.id, found.accounts),
            statuses=found.statuses,
            hashtags=found.hashtags,
            more=f"{PATH}?{urlencode([*base, ('offset', offset + PAGE_SIZE)])}" if full else None,
            back=f"{PATH}?{urlencode([*base, *([('offset', offset)] if offset else [])])}",
        )
    context["card_back"] = context["back"]
    return await render(request, "search.html", context, viewer=viewer)


async def tag_timeline(
    svc: Services, name: str, viewer: int, page: Page
) -> tuple[Shown, list[dict[str, Any]]]:
    """A page of the hashtag's posts as the API's `GET /api/v1/timelines/tag/:hashtag` reads
    it (every division's, public and org), in one trip to the reader's thread."""
    now = svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        ids = await api_timelines.tag(conn, name, page, local=None, viewer=viewer)
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context="public")

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    return shown, renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)


@page
async def tag_page(request: Request) -> Response:
    """GET /web/tags/{name}[?max_id=]: the posts with a hashtag, newest first."""
    viewer = await require_user(request)
    svc = services(request)
    try:
        name = tag_name(request.path_params["name"])
    except HTTPException as error:
        raise PageError(404, "That is not a hashtag.") from error
    bounds = page_params(request)
    shown, entities = await tag_timeline(svc, name, viewer.account.id, bounds)
    paged = shown.paged_ids
    path = f"/web/tags/{quote(name)}"
    context = {
        "tag": name,
        "statuses": entities,
        "older": f"{path}?max_id={paged[-1]}" if len(paged) >= bounds.limit else None,
        "newest": bounds.max_id is None,
        "tag_path": path,
        "card_back": path if bounds.max_id is None else f"{path}?max_id={bounds.max_id}",
    }
    return await render(request, "tag.html", context, viewer=viewer)


routes = [Route(PATH, search_page), Route("/web/tags/{name}", tag_page)]
