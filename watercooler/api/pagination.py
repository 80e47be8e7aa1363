"""Mastodon's paging of lists: `max_id`, `since_id`, `min_id`, `limit` in, `Link` out.

`max_id` pages back in time, `since_id` gives the newest items after an id and `min_id` the
oldest ones after it (still answered newest first). The `Link` header points at the next
(older) page with `max_id` and the previous (newer) one with `min_id`, keeping the other
query parameters, as Mastodon builds it. The ids are those of the rows paged (a follow, a
block), which are not always the ids of the entities answered (accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from store.api_timelines import Page
from watercooler.http import FastJSONResponse

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
MAX_ID = 2**63 - 1
_BOUNDS = ("max_id", "since_id", "min_id")


def _id(request: Request, name: str) -> int | None:
    value = request.query_params.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_ID:
        raise HTTPException(400, f"{name} must be an id")
    return int(value)


def int_param(request: Request, name: str, default: int, *, maximum: int, minimum: int = 1) -> int:
    """An integer query parameter; above `maximum` it is capped (as Mastodon caps `limit`),
    not a number or below `minimum` is a 400."""
    value = request.query_params.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise HTTPException(400, f"{name} must be a number") from None
    if number < minimum:
        raise HTTPException(400, f"{name} must be at least {minimum}")
    return min(number, maximum)


def page_params(
    request: Request, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Page:
    return Page(
        max_id=_id(request, "max_id"),
        since_id=_id(request, "since_id"),
        min_id=_id(request, "min_id"),
        limit=int_param(request, "limit", default, maximum=maximum),
    )


def link_header(request: Request, base_url: str, ids: Sequence[int], page: Page) -> str | None:
    """The `Link` of a page whose rows have `ids` (newest first): `next` while the page is
    full, `prev` unless it is empty; None for an empty page. Both keep the request's other
    query parameters, in their order."""
    if not ids:
        return None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _BOUNDS]
    start = f"{base_url}{request.url.path}?" + (f"{urlencode(kept)}&" if kept else "")
    links = []
    if len(ids) >= page.limit:
        links.append(f'<{start}max_id={min(ids)}>; rel="next"')
    links.append(f'<{start}min_id={max(ids)}>; rel="prev"')
    return ", ".join(links)


def paged_response(
    request: Request, base_url: str, entities: list[Any], ids: Sequence[int], page: Page
) -> Response:
    """A JSON list with its `Link` header; `ids` are the paged rows' ids, even those whose
    entity was left out (so that paging carries on past them)."""
    response = FastJSONResponse(entities)
    link = link_header(request, base_url, ids, page)
    if link is not None:
        response.headers["Link"] = link
    return response
