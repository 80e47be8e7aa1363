"""Community pages (FEP-1b12 groups): the list with a form to make one, and a community's
page: who it is, joining and leaving, writing to it, its pinned posts first and then what it
shared, and, for its moderators, its settings, the requests to join, the members, and a
Remove and Pin button on each post.

Everything goes through the client API's code (`watercooler.api.communities`: standing,
who may read, the entity; `outbox.groups.Communities`: creating, announcing, moderating), and
the posts are read as the API's community timeline reads them (`visible_page`, `can_see`),
so a page shows exactly what an app shows the same person.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.groups import Communities, NewCommunity
from outbox.publish import PublishError
from store import accounts, communities, statuses
from store.api_timelines import Page
from store.db import Connection
from store.in_thread import in_thread
from store.records import AccountRecord
from watercooler.api.accounts import account_or_404, answer_follow_request, follow_account
from watercooler.api.communities import (
    community_entity,
    community_or_404,
    may_read,
    resolve_moderators,
    standing,
)
from watercooler.api.entities import EntityRenderer, account_entities
from watercooler.api.forms import flag, id_param
from watercooler.api.pagination import page_params
from watercooler.api.timelines import Shown, visible_page
from watercooler.http import services
from watercooler.services import Services
from watercooler.visibility import can_see
from watercooler.web.pages import PageError, page, read_form, render, require_user, see_other
from watercooler.web.session import WebUser

log = logging.getLogger(__name__)

POST_VISIBILITIES = {
    "public": "Public",
    "unlisted": "Unlisted",
    "org": "Organisation (every employee, every division)",
}
"""What a post to a community may be: it is passed on to every member."""
MAX_POST = 5000


def _text(fields: dict[str, Any], name: str, limit: int) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        return ""
    if len(value) > limit:
        raise PageError(422, f"The {name.replace('_', ' ')} is too long.")
    return value.strip()


async def _posts(
    svc: Services, group: AccountRecord, viewer: int, bounds: Page, *, pinned: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """The community's pinned posts or a page of what it shared, as the viewer may see them;
    and the `max_id` of the next page when this one is full."""
    now = svc.clock()
    async with svc.db.read() as conn:
        if pinned:
            ids = await communities.pinned_ids(conn, group.id)
            rows = [(i, i) for i in ids]
        else:
            rows = await communities.timeline_page(conn, group.id, bounds)

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        return await visible_page(
            conn, renderer, [post for _, post in rows], bounds, viewer, now=now,
            context=None, paged_ids=[share for share, _ in rows],
        )  # fmt: skip

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    entities = renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)
    older = rows[-1][0] if not pinned and len(rows) >= bounds.limit else None
    return entities, older


async def _group(request: Request) -> tuple[Services, WebUser, AccountRecord]:
    viewer = await require_user(request)
    svc = services(request)
    return svc, viewer, await community_or_404(svc, request.path_params["id"])


async def _moderating(request: Request) -> tuple[Services, WebUser, AccountRecord, dict[str, Any]]:
    """A moderator's form: the CSRF check, then 403 for anyone who does not moderate it."""
    fields = await read_form(request)
    svc, viewer, group = await _group(request)
    async with svc.db.read() as conn:
        where = await standing(conn, group, viewer.account.id, admin=viewer.user.admin)
    if not where.moderator:
        raise PageError(403, "Only the community's moderators may do this.")
    return svc, viewer, group, fields


def _back(group: AccountRecord, anchor: str = "") -> Response:
    return see_other(f"/web/communities/{group.id}{anchor}")


@page
async def list_page(request: Request) -> Response:
    """GET /web/communities: this division's communities, the remote ones joined, a form."""
    viewer = await require_user(request)
    svc = services(request)
    async with svc.db.read() as conn:
        ids = await communities.group_ids(conn, member_id=viewer.account.id)
        found = await accounts.get_many(conn, ids)
        shown = [
            await community_entity(svc, conn, found[i], viewer.account.id, admin=viewer.user.admin)
            for i in ids
            if i in found
        ]
    return await render(request, "communities.html", {"communities": shown}, viewer=viewer)


@page
async def create_page(request: Request) -> Response:
    """POST /web/communities: make one; the maker moderates it."""
    fields = await read_form(request)
    viewer = await require_user(request)
    svc = services(request)
    moderators = await resolve_moderators(svc, _text(fields, "moderators", 2000))
    new = NewCommunity(
        name=_text(fields, "name", 30),
        display_name=_text(fields, "display_name", 100),
        description=_text(fields, "description", 1000),
        approval_required=flag(fields.get("approval_required")),
        moderators=[m for m in moderators if m.id != viewer.account.id],
    )
    try:
        group = await Communities(svc.publisher).create(viewer.account, new)
    except PublishError as error:
        raise PageError(422, str(error)) from error
    log.info("web community created community=%s user=%s", group.uri, viewer.user.username)
    return _back(group)


@page
async def community_page(request: Request) -> Response:
    """GET /web/communities/{id}[?max_id=]: the community, its pins first, what it shared."""
    svc, viewer, group = await _group(request)
    me = viewer.account.id
    bounds = page_params(request)
    async with svc.db.read() as conn:
        where = await standing(conn, group, me, admin=viewer.user.admin)
        entity = await community_entity(svc, conn, group, me, admin=viewer.user.admin)
        requests: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        if where.moderator:
            asked = await communities.pending_ids(conn, group.id)
            joined = await communities.member_ids(conn, group.id)
            found = await accounts.get_many(conn, [*asked, *joined])
            local_domain = svc.config.instance.domain
            requests = await account_entities(
                conn, [found[i] for i in asked if i in found], uris=svc.uris,
                local_domain=local_domain,
            )  # fmt: skip
            members = await account_entities(
                conn, [found[i] for i in joined if i in found and i != me], uris=svc.uris,
                local_domain=local_domain,
            )  # fmt: skip
    readable = may_read(group, where)
    pinned: list[dict[str, Any]] = []
    shared: list[dict[str, Any]] = []
    older = None
    if readable:
        if bounds.max_id is None:
            pinned, _ = await _posts(svc, group, me, bounds, pinned=True)
        shared, older = await _posts(svc, group, me, bounds, pinned=False)
    here = request.url.path
    context = {
        "community": entity,
        "readable": readable,
        "pinned": pinned,
        "statuses": [s for s in shared if s["id"] not in {p["id"] for p in pinned}],
        "pinned_ids": [p["id"] for p in pinned],
        "requests": requests,
        "members": members,
        "visibilities": POST_VISIBILITIES,
        "older": f"{here}?max_id={older}" if older else None,
        "newest": bounds.max_id is None,
        "card_back": here if bounds.max_id is None else f"{here}?max_id={bounds.max_id}",
        "handle": group.username if group.is_local else f"{group.username}@{group.domain}",
    }
    return await render(request, "community.html", context, viewer=viewer)


@page
async def join_page(request: Request) -> Response:
    """POST /web/communities/{id}/join: follow it (a request, where it needs approval)."""
    await read_form(request)
    svc, viewer, group = await _group(request)
    await follow_account(svc, viewer.account, group)
    return _back(group)


@page
async def leave_page(request: Request) -> Response:
    await read_form(request)
    svc, viewer, group = await _group(request)
    await svc.publisher.unfollow(viewer.account, group)
    return _back(group)


@page
async def post_page(request: Request) -> Response:
    """POST /web/communities/{id}/post: a post addressed to the community (as a mention
    would, without naming it in the text), which it passes on to its members."""
    fields = await read_form(request)
    svc, viewer, group = await _group(request)
    text = _text(fields, "status", MAX_POST)
    visibility = fields.get("visibility", "public")
    if visibility not in POST_VISIBILITIES:
        raise PageError(422, "Choose who may see the post.")
    try:
        await svc.publisher.post(viewer.account, text, visibility=visibility, recipients=[group])
    except PublishError as error:
        raise PageError(422, str(error)) from error
    return _back(group)


@page
async def settings_page(request: Request) -> Response:
    """POST /web/communities/{id}/settings: a moderator changes the name, description,
    approval and moderators."""
    svc, _, group, fields = await _moderating(request)
    moderators = await resolve_moderators(svc, _text(fields, "moderators", 2000))
    try:
        await Communities(svc.publisher).update(
            group,
            display_name=_text(fields, "display_name", 100),
            description=_text(fields, "description", 1000),
            approval_required=flag(fields.get("approval_required")),
            moderators=moderators,
        )
    except PublishError as error:
        raise PageError(422, str(error)) from error
    return _back(group)


@page
async def moderate_post_page(request: Request) -> Response:
    """POST /web/communities/{id}/statuses/{status_id}/{remove|pin|unpin}."""
    svc, viewer, group, _ = await _moderating(request)
    action = request.path_params["action"]
    status_id = id_param(request.path_params["status_id"], "status_id")
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        if status is None or not await can_see(conn, status, viewer.account.id):
            raise PageError(404, "That post does not exist or is not visible to you.")
    community = Communities(svc.publisher)
    try:
        if action == "remove":
            await community.remove_post(group, status)
        elif action == "pin":
            await community.pin(group, status)
        elif action == "unpin":
            await community.unpin(group, status)
        else:
            raise PageError(404, "No such action.")
    except PublishError as error:
        raise PageError(422, str(error)) from error
    return _back(group)


@page
async def moderate_account_page(request: Request) -> Response:
    """POST /web/communities/{id}/accounts/{account_id}/{authorize|reject|remove|readmit}."""
    svc, _, group, _ = await _moderating(request)
    action = request.path_params["action"]
    account = await account_or_404(svc, request.path_params["account_id"])
    community = Communities(svc.publisher)
    try:
        if action in ("authorize", "reject"):
            await answer_follow_request(svc, group, account, accept=action == "authorize")
        elif action == "remove":
            await community.remove_member(group, account)
        elif action == "readmit":
            await community.readmit(group, account)
        else:
            raise PageError(404, "No such action.")
    except PublishError as error:
        raise PageError(422, str(error)) from error
    return _back(group, "#moderation")


routes = [
    Route("/web/communities", list_page),
    Route("/web/communities", create_page, methods=["POST"]),
    Route("/web/communities/{id}", community_page),
    Route("/web/communities/{id}/join", join_page, methods=["POST"]),
    Route("/web/communities/{id}/leave", leave_page, methods=["POST"]),
    Route("/web/communities/{id}/post", post_page, methods=["POST"]),
    Route("/web/communities/{id}/settings", settings_page, methods=["POST"]),
    Route(
        "/web/communities/{id}/statuses/{status_id}/{action}", moderate_post_page, methods=["POST"]
    ),
    Route(
        "/web/communities/{id}/accounts/{account_id}/{action}",
        moderate_account_page,
        methods=["POST"],
    ),
]
