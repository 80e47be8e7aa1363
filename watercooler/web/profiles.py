"""Profile pages for signed-in employees: a colleague's (here or on a peer division) or their
own, with the profile fields, the counts, how the viewer stands to them, a Follow / Unfollow
button, and the posts the viewer may see.

Everything is read with the client API's code: the account as `GET /api/v1/accounts/:id`
shows it (`account_or_404`: available accounts only), the posts as
`GET /api/v1/accounts/:id/statuses` lists them (`profile_status_ids`, then `visible_page`'s
`can_see`), following as `POST /api/v1/accounts/:id/follow` does (`follow_account`: the
publisher, which sends a remote account a real Follow). `/web/@name` and `/web/@name@domain`
find an account as the API's lookup does and go to its page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store.api_timelines import Page
from store.db import Connection
from store.in_thread import in_thread
from store.records import AccountRecord
from watercooler.api.accounts import (
    ProfileFilter,
    account_or_404,
    follow_account,
    lookup_account,
    profile_status_ids,
)
from watercooler.api.entities import EntityRenderer, account_entity, relationship_entity
from watercooler.api.pagination import page_params
from watercooler.api.timelines import Shown, visible_page
from watercooler.http import services
from watercooler.services import Services
from watercooler.web.pages import (
    PageError,
    page,
    read_form,
    render,
    require_user,
    safe_next,
    see_other,
)

log = logging.getLogger(__name__)

MAX_HANDLE = 300
"""`/web/@acct`: a name and a domain, each well under this."""
MAX_PINNED_SHOWN = 20
"""Pinned posts shown atop a profile: five for local people, more from other servers."""


@dataclass(frozen=True, slots=True)
class ProfilePosts:
    """A page of a profile's posts as one viewer sees them, and the id to page on."""

    entities: list[dict[str, Any]]
    older: int | None


async def profile_posts(
    svc: Services,
    account: AccountRecord,
    viewer: int | None,
    bounds: Page,
    wanted: ProfileFilter | None = None,
) -> ProfilePosts:
    """The posts of `account` that the API would list to `viewer` (None: anonymous), each
    checked with `can_see` and rendered as the API's Status entities, in one trip. `older`
    is the `max_id` of the next page, when this one is full. `wanted`: as the API's filters
    (`pinned=true`: the pinned posts, latest pin first)."""
    ids = await profile_status_ids(svc, account, viewer, bounds, wanted or ProfileFilter())
    now = svc.clock()

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        return await visible_page(conn, renderer, ids, bounds, viewer, now=now, context="account")

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    entities = renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)
    older = min(ids) if len(ids) >= bounds.limit else None
    return ProfilePosts(entities, older)


async def pinned_posts(
    svc: Services, account: AccountRecord, viewer: int | None, bounds: Page
) -> list[dict[str, Any]]:
    """The pinned posts `viewer` may see, latest pin first, to head the first page of a
    profile as Mastodon's apps and pages do (none on older pages)."""
    if bounds.max_id is not None:
        return []
    first = Page(limit=MAX_PINNED_SHOWN)
    return (await profile_posts(svc, account, viewer, first, ProfileFilter(pinned=True))).entities


def has_own_header(account: AccountRecord) -> bool:
    """Did the person set a header image (else the entity names the default one)?"""
    return bool(account.header_file if account.is_local else account.header_remote_url)


def has_own_avatar(account: AccountRecord) -> bool:
    """Did the person set an avatar? Without one the pages show their initial, not the
    default image the entity names."""
    return bool(account.avatar_file if account.is_local else account.avatar_remote_url)


@page
async def profile_page(request: Request) -> Response:
    """GET /web/accounts/{id}[?max_id=]: anyone the API shows, local or remote."""
    viewer = await require_user(request)
    svc = services(request)
    account = await account_or_404(svc, request.path_params["id"])
    bounds = page_params(request)
    me = viewer.account.id
    async with svc.db.read() as conn:
        entity = await account_entity(
            conn, account, uris=svc.uris, local_domain=svc.config.instance.domain
        )
        relationship = None
        if account.id != me:
            relationship = await relationship_entity(conn, me, account.id, now=svc.clock())
    posts = await profile_posts(svc, account, me, bounds)
    pinned = await pinned_posts(svc, account, me, bounds)
    here = request.url.path
    context = {
        "account": entity,
        "relationship": relationship,
        "own": account.id == me,
        "is_local": account.is_local,
        "has_header": has_own_header(account),
        "has_avatar": has_own_avatar(account),
        "statuses": posts.entities,
        "pinned": pinned,
        "older": f"{here}?max_id={posts.older}" if posts.older else None,
        "newest": bounds.max_id is None,
        "card_back": here if bounds.max_id is None else f"{here}?max_id={bounds.max_id}",
    }
    return await render(request, "profile.html", context, viewer=viewer)


async def _follow_target(request: Request) -> tuple[Services, AccountRecord, dict[str, Any]]:
    """The account a Follow / Unfollow form names, after the form's CSRF check."""
    fields = await read_form(request)
    svc = services(request)
    return svc, await account_or_404(svc, request.path_params["id"]), fields


@page
async def follow_page(request: Request) -> Response:
    """POST /web/accounts/{id}/follow: follow, or ask to (a locked or remote account)."""
    viewer = await require_user(request)
    svc, target, fields = await _follow_target(request)
    await follow_account(svc, viewer.account, target)
    log.info("web follow target=%s user=%s", target.id, viewer.user.username)
    return see_other(safe_next(fields.get("next"), f"/web/accounts/{target.id}"))


@page
async def unfollow_page(request: Request) -> Response:
    """POST /web/accounts/{id}/unfollow: stop following, or withdraw a request, as the
    API's unfollow does (a remote account gets the Undo)."""
    viewer = await require_user(request)
    svc, target, fields = await _follow_target(request)
    await svc.publisher.unfollow(viewer.account, target)
    log.info("web unfollow target=%s user=%s", target.id, viewer.user.username)
    return see_other(safe_next(fields.get("next"), f"/web/accounts/{target.id}"))


@page
async def handle_page(request: Request) -> Response:
    """GET /web/@name or /web/@name@domain: the account's page, found as the API's lookup
    finds it (a remote one not known yet through WebFinger, peer policy applying); for a
    community (a `Group`), its community page, where one joins, reads and writes."""
    await require_user(request)
    text = request.path_params["acct"].strip()
    found = await lookup_account(services(request), text) if len(text) <= MAX_HANDLE else None
    if found is None:
        raise PageError(404, f"No one is known here as @{text.removeprefix('@')}.")
    if found.actor_type == "Group":
        return see_other(f"/web/communities/{found.id}")
    return see_other(f"/web/accounts/{found.id}")


routes = [
    Route("/web/accounts/{id}", profile_page),
    Route("/web/accounts/{id}/follow", follow_page, methods=["POST"]),
    Route("/web/accounts/{id}/unfollow", unfollow_page, methods=["POST"]),
    Route("/web/@{acct:str}", handle_page),
]
