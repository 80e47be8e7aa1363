"""Mastodon's search and hashtags API: `/api/v2/search` over accounts, statuses and
hashtags (`resolve=true` fetches a remote account by `@name@domain` or URL, or a remote
post by URL), a hashtag's entity, following and unfollowing it, and the followed list.

Statuses are found through the full-text index with Mastodon's operators
(watercooler.search_syntax), newest first or, with `order=relevance` (our extension), by
bm25 among the newest matches. Visibility is part of the query (store.api_search), and every
status answered is checked once more with watercooler.visibility.can_see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.errors import FederationError
from federation.policy import ALLOWLIST
from inbox.from_as import note_from, store_note
from store import api_queries, api_search, moderation, statuses
from store.db import Connection
from store.records import StatusRecord
from watercooler import search_syntax
from watercooler.api.accounts import _entities, _resolve, _split_handle
from watercooler.api.entities import status_entities
from watercooler.api.forms import flag, id_param
from watercooler.api.pagination import int_param, page_params, paged_response
from watercooler.auth import authenticate, bearer_token
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

DEFAULT_LIMIT = 20
MAX_LIMIT = 40
MAX_OFFSET = 10_000
TYPES = ("accounts", "statuses", "hashtags")
ORDERS = ("newest", "relevance")
_TAG_NAME = re.compile(r"^\w{1,100}$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def tag_name(raw: str) -> str:
    """A path's hashtag as stored (no `#`, lower case), or 404 for what cannot be one."""
    name = raw.strip().removeprefix("#").lower()
    if not _TAG_NAME.match(name):
        raise HTTPException(404, "Record not found")
    return name


def _tag_entity(svc: Services, name: str, following: bool) -> dict[str, Any]:
    return {"name": name, "url": svc.uris.tag(name), "history": [], "following": following}


async def _status_entities(
    conn: Connection, svc: Services, found: list[StatusRecord], viewer: int
) -> list[dict[str, Any]]:
    return await status_entities(
        conn,
        found,
        viewer_account_id=viewer,
        uris=svc.uris,
        local_domain=svc.config.instance.domain,
    )


async def _known_by_url(svc: Services, url: str) -> tuple[int | None, StatusRecord | None]:
    """(account id, status) already in our store for `url`."""
    local = svc.uris.local_status(url)
    async with svc.db.read() as conn:
        status_id = local[1] if local else await api_search.status_id_by_url(conn, url)
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        account_id = None if status else await api_search.account_id_by_url(conn, url)
    return account_id, status


async def _fetch_by_url(
    svc: Services, url: str, *, want_statuses: bool, want_accounts: bool
) -> tuple[int | None, StatusRecord | None]:
    """A remote post or actor at `url`, fetched and stored; (None, None) if neither."""
    if svc.uris.local_status(url) is not None:
        return None, None
    if want_statuses:
        ctx = svc.workers.inbox.ctx
        try:
            status = await store_note(ctx, await note_from(ctx, None, url))
        except FederationError:
            status = None
        if status is not None:
            return None, status
    if want_accounts:
        account = await svc.actors.get(url)
        if account is not None:
            return account.id, None
    return None, None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search as the API and the search page ask it (parameters already checked)."""

    q: str
    kind: str = ""
    """"" (all), or one of TYPES."""
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    account_id: int | None = None
    resolve: bool = False
    """Fetch what `q` names (`@name@domain`, a URL) when we do not know it yet."""
    following: bool = False
    order: str = "newest"
    max_id: int | None = None
    min_id: int | None = None


@dataclass(frozen=True, slots=True)
class SearchResults:
    """Mastodon's Search: entities of accounts, statuses (each visible to the viewer) and
    hashtags."""

    accounts: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    hashtags: list[dict[str, Any]]


async def run_search(svc: Services, viewer: int, query: SearchQuery) -> SearchResults:
    """What `viewer` finds for `query`: one function for `/api/v2/search` and the web page,
    so that a page never shows more than the API would."""
    q, limit, offset = query.q, query.limit, query.offset
    resolve = query.resolve and offset == 0
    want = {name: query.kind in ("", name) for name in TYPES}
    account_ids: list[int] = []
    found: list[StatusRecord] = []
    hashtags: list[dict[str, Any]] = []

    if _URL.match(q):
        account_id, status = await _known_by_url(svc, q)
        if account_id is None and status is None and resolve:
            account_id, status = await _fetch_by_url(
                svc, q, want_statuses=want["statuses"], want_accounts=want["accounts"]
            )
        if offset == 0 and want["accounts"] and account_id is not None:
            account_ids.append(account_id)
        if offset == 0 and want["statuses"] and status is not None:
            found.append(status)
    else:
        if want["accounts"]:
            name, domain = _split_handle(q, svc.config.instance.domain)
            if domain and name and resolve:
                resolved = await _resolve(svc, name, domain)
                if resolved is not None:
                    account_ids.append(resolved.id)
            if name:  # several words too: a name and a department, say
                async with svc.db.read() as conn:
                    account_ids += await api_queries.search_account_ids(
                        conn,
                        name,
                        domain=domain,
                        local_only="@" in q.removeprefix("@") and domain is None,
                        following_of=viewer if query.following else None,
                        limit=limit,
                        offset=offset,
                        peers_only=svc.policy.mode == ALLOWLIST,
                    )
        if want["statuses"]:
            async with svc.db.read() as conn:
                wanted = await search_syntax.parse(
                    conn,
                    q,
                    viewer=viewer,
                    local_domain=svc.config.instance.domain,
                    account_id=query.account_id,
                    by_relevance=query.order == "relevance",
                )
                ids = await api_search.status_ids_matching(
                    conn,
                    wanted,
                    viewer,
                    now=svc.clock(),
                    limit=limit,
                    offset=offset,
                    max_id=query.max_id,
                    min_id=query.min_id,
                )
                by_id = await statuses.get_many(conn, ids)
            found = [by_id[status_id] for status_id in ids if status_id in by_id]
        prefix = q.removeprefix("#").lower()
        if want["hashtags"] and _TAG_NAME.match(prefix):
            async with svc.db.read() as conn:
                rows = await api_search.hashtags_by_prefix(conn, prefix, limit=limit, offset=offset)
                followed = await api_search.followed_tag_names(conn, viewer, [n for n, _ in rows])
            hashtags = [_tag_entity(svc, name, name in followed) for name, _ in rows]

    async with svc.db.read() as conn:
        hidden = await moderation.hidden_statuses(conn, [s.id for s in found])
        status_entities = await _status_entities(
            conn, svc, [s for s in found if await can_see(conn, s, viewer, hidden=hidden)], viewer
        )
    return SearchResults(
        accounts=await _entities(svc, list(dict.fromkeys(account_ids))[:limit]),
        statuses=status_entities,
        hashtags=hashtags,
    )


async def search(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:search")
    query = request.query_params
    q = query.get("q", "").strip()
    if not q:
        raise HTTPException(400, "Missing parameter: q")
    kind = query.get("type", "").strip()
    if kind and kind not in TYPES:
        raise HTTPException(400, f"type must be one of {', '.join(TYPES)}")
    limit = int_param(request, "limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = int_param(request, "offset", 0, maximum=MAX_OFFSET, minimum=0)
    author = id_param(query.get("account_id"), "account_id")
    order = query.get("order", "newest").strip() or "newest"
    if order not in ORDERS:
        raise HTTPException(400, f"order must be one of {', '.join(ORDERS)}")
    by_words = kind in ("", "statuses") and not _URL.match(q)  # only they page by id
    wanted = SearchQuery(
        q=q,
        kind=kind,
        limit=limit,
        offset=offset,
        account_id=author,
        resolve=flag(query.get("resolve")),
        following=flag(query.get("following")),
        order=order,
        max_id=id_param(query.get("max_id"), "max_id") if by_words else None,
        min_id=id_param(query.get("min_id"), "min_id") if by_words else None,
    )
    found = await run_search(svc, caller.account.id, wanted)
    return FastJSONResponse(
        {"accounts": found.accounts, "statuses": found.statuses, "hashtags": found.hashtags}
    )


async def get_tag(request: Request) -> Response:
    svc = services(request)
    name = tag_name(request.path_params["name"])
    following = False
    if bearer_token(request):
        caller = await authenticate(request, svc, "read:follows")
        async with svc.db.read() as conn:
            following = bool(await api_search.followed_tag_names(conn, caller.account.id, [name]))
    return FastJSONResponse(_tag_entity(svc, name, following))


async def _set_following(request: Request, *, follow: bool) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:follows")
    name = tag_name(request.path_params["name"])
    async with svc.db.transaction() as conn:
        if follow:
            await api_search.follow_tag(conn, svc.db.new_id(), caller.account.id, name, svc.clock())
        else:
            await api_search.unfollow_tag(conn, caller.account.id, name)
    return FastJSONResponse(_tag_entity(svc, name, follow))


async def follow_tag(request: Request) -> Response:
    return await _set_following(request, follow=True)


async def unfollow_tag(request: Request) -> Response:
    return await _set_following(request, follow=False)


async def followed_tags(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:follows")
    page = page_params(request, default=100, maximum=200)
    async with svc.db.read() as conn:
        rows = await api_search.followed_tag_page(conn, caller.account.id, page)
    entities = [_tag_entity(svc, name, True) for _, name in rows]
    return paged_response(
        request, svc.config.instance.base_url, entities, [row_id for row_id, _ in rows], page
    )


routes = [
    Route("/api/v2/search", search),
    Route("/api/v1/tags/{name}", get_tag),
    Route("/api/v1/tags/{name}/follow", follow_tag, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow_tag, methods=["POST"]),
    Route("/api/v1/followed_tags", followed_tags),
]
