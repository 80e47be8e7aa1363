"""Communities (FEP-1b12 groups) in the client API; not a Mastodon resource, so its shape is
ours, and everything a stock app needs works without it: a community is an account with
`group: true` that one follows (joins) and unfollows (leaves), whose statuses are the posts
it shared (boosts), and to which one posts by mentioning it.

- `GET /api/v1/communities`: this instance's communities, then remote groups the caller
  joined or asked to; `POST` creates one (any signed-in user; they moderate it).
- `GET /api/v1/communities/:id`, `PATCH` (moderators and admins): name, description,
  `approval_required`, `moderators[]` (account ids or `name@domain`).
- `POST /api/v1/communities/:id/join` and `/leave`: a follow and its undo, as the Follow
  button does.
- `GET /api/v1/timelines/community/:id` (`pinned=true`: its pins): the posts the community
  shared, newest first, paged as Mastodon pages timelines. A community that needs approval
  is read by its members and moderators only; each post also as the viewer may see it.
- Moderation, by the community's moderators (and the instance's admins):
  `GET .../requests`, `POST .../requests/:account_id/authorize|reject`; `GET .../members`,
  `POST .../members/:account_id/remove|readmit`; `POST .../statuses/:status_id/remove`,
  `/pin`, `/unpin`.

`:id` is the community's account id; a remote group's too (its timeline is what it
announced to us). Errors: 404 for what the caller may not see, 403 for what they may not do,
422 for bad input, as Mastodon answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.errors import FederationError
from outbox.groups import Communities, NewCommunity, is_group
from outbox.publish import PublishError
from store import accounts, api_queries, communities, follows, pins, reactions, statuses
from store.db import Connection
from store.records import AccountRecord, StatusRecord
from watercooler.api.accounts import account_or_404, answer_follow_request, follow_account
from watercooler.api.entities import account_entities, account_entity, status_entity
from watercooler.api.forms import body_params, flag, id_param, text
from watercooler.api.pagination import page_params, paged_response
from watercooler.api.timelines import answer_statuses
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

MAX_LIST = 200


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a viewer stands with a community."""

    member: bool
    requested: bool
    banned: bool
    moderator: bool
    """Moderates it: one of its moderators, or an admin of this instance (local ones)."""


def _not_found() -> HTTPException:
    return HTTPException(404, "Record not found")


async def standing(conn: Connection, group: AccountRecord, me: int, *, admin: bool) -> Standing:
    """Where the account `me` stands with `group`; `admin`: the viewer is an admin here."""
    follow = await follows.get(conn, me, group.id)
    moderator = group.is_local and (admin or await communities.is_moderator(conn, group.id, me))
    return Standing(
        member=follow is not None and follow.state == follows.ACCEPTED,
        requested=follow is not None and follow.state == follows.PENDING,
        banned=await reactions.is_blocked_either_way(conn, group.id, me),
        moderator=moderator,
    )


def may_read(group: AccountRecord, where: Standing) -> bool:
    """An open community is read by anyone signed in here; one that needs approval by its
    members and moderators only (its posts are for them)."""
    if where.banned:
        return False
    return not group.manually_approves_followers or where.member or where.moderator


async def community_or_404(svc: Services, raw_id: str) -> AccountRecord:
    group = await account_or_404(svc, raw_id)
    if not is_group(group):
        raise _not_found()
    return group


async def community_entity(
    svc: Services, conn: Connection, group: AccountRecord, me: int, *, admin: bool
) -> dict[str, Any]:
    """Our Community entity, as `me` (an admin here or not) sees it."""
    where = await standing(conn, group, me, admin=admin)
    moderator_ids = await communities.moderator_ids(conn, group.id) if group.is_local else []
    found = await accounts.get_many(conn, moderator_ids)
    local_domain = svc.config.instance.domain
    moderators = await account_entities(
        conn, [found[i] for i in moderator_ids if i in found], uris=svc.uris,
        local_domain=local_domain,
    )  # fmt: skip
    return {
        "id": str(group.id),
        "name": group.username,
        "display_name": group.display_name or group.username,
        "description": group.note,
        "approval_required": group.manually_approves_followers,
        "local": group.is_local,
        "members_count": await communities.member_count(conn, group.id),
        "account": await account_entity(conn, group, uris=svc.uris, local_domain=local_domain),
        "moderators": moderators,
        "membership": "banned"
        if where.banned
        else "member"
        if where.member
        else "requested"
        if where.requested
        else "none",
        "moderator": where.moderator,
        "url": group.url or group.uri,
    }


async def _answer(svc: Services, group: AccountRecord, caller: Caller) -> Response:
    async with svc.db.read() as conn:
        fresh = await accounts.get_by_id(conn, group.id)
        assert fresh is not None
        return FastJSONResponse(
            await community_entity(svc, conn, fresh, caller.account.id, admin=caller.user.admin)
        )


async def resolve_moderators(svc: Services, names: Any) -> list[AccountRecord]:
    """Accounts named by id, `name` (local) or `name@domain` (looked up through WebFinger);
    422 for one that cannot be found."""
    if names is None:
        return []
    if isinstance(names, str):
        names = [n for n in names.replace(",", " ").split() if n]
    if not isinstance(names, list) or not all(isinstance(n, str | int) for n in names):
        raise HTTPException(422, "Validation failed: moderators must be a list")
    found: list[AccountRecord] = []
    for raw in names:
        name = str(raw).strip().lstrip("@")
        account: AccountRecord | None = None
        if name.isdigit():
            async with svc.db.read() as conn:
                account = await accounts.get_by_id(conn, int(name))
        elif "@" in name:
            username, _, domain = name.partition("@")
            if domain in (svc.config.instance.domain, svc.uris.base_url.split("://")[-1]):
                async with svc.db.read() as conn:
                    account = await accounts.get_local(conn, username)
            else:
                try:
                    account = await svc.actors.resolve_handle(username, domain)
                except FederationError:
                    account = None
        else:
            async with svc.db.read() as conn:
                account = await accounts.get_local(conn, name)
        if account is None or account.actor_type != "Person":
            raise HTTPException(422, f"Validation failed: no person {name!r} for moderators")
        if all(a.id != account.id for a in found):
            found.append(account)
    return found


async def _caller_and_group(
    request: Request, scope: str, *, moderate: bool = False
) -> tuple[Services, Caller, AccountRecord]:
    """The caller and the community; `moderate`: only its moderators (403 for others)."""
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    group = await community_or_404(svc, request.path_params["id"])
    if moderate:
        async with svc.db.read() as conn:
            where = await standing(conn, group, caller.account.id, admin=caller.user.admin)
        if not where.moderator:
            raise HTTPException(403, "Only the community's moderators may do this")
    return svc, caller, group


# ----- the list, one community, creating and changing ------------------------------------


async def list_communities(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:accounts")
    async with svc.db.read() as conn:
        ids = await communities.group_ids(conn, member_id=caller.account.id)
        found = await accounts.get_many(conn, ids[:MAX_LIST])
        entities = [
            await community_entity(svc, conn, found[i], caller.account.id, admin=caller.user.admin)
            for i in ids[:MAX_LIST]
            if i in found
        ]
    return FastJSONResponse(entities)


async def create(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:accounts")
    params = await body_params(request)
    new = NewCommunity(
        name=text(params.get("name"), "name", limit=30).strip(),
        display_name=text(params.get("display_name"), "display_name", limit=100).strip(),
        description=text(params.get("description"), "description", limit=1000).strip(),
        approval_required=flag(params.get("approval_required")),
        moderators=[
            m for m in await resolve_moderators(svc, params.get("moderators"))
            if m.id != caller.account.id
        ],
    )  # fmt: skip
    try:
        group = await Communities(svc.publisher).create(caller.account, new)
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return await _answer(svc, group, caller)


async def show(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:accounts")
    group = await community_or_404(svc, request.path_params["id"])
    return await _answer(svc, group, caller)


async def change(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:accounts", moderate=True)
    params = await body_params(request)
    moderators = None
    if "moderators" in params:
        moderators = await resolve_moderators(svc, params["moderators"])
    try:
        group = await Communities(svc.publisher).update(
            group,
            display_name=text(params["display_name"], "display_name", limit=100).strip()
            if "display_name" in params
            else None,
            description=text(params["description"], "description", limit=1000).strip()
            if "description" in params
            else None,
            approval_required=flag(params["approval_required"])
            if "approval_required" in params
            else None,
            moderators=moderators,
        )
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return await _answer(svc, group, caller)


# ----- joining and leaving ---------------------------------------------------------------


async def join(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:follows")
    await follow_account(svc, caller.account, group)
    return await _answer(svc, group, caller)


async def leave(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:follows")
    await svc.publisher.unfollow(caller.account, group)
    return await _answer(svc, group, caller)


# ----- the timeline ------------------------------------------------------------------------


async def timeline(request: Request) -> Response:
    """The posts the community shared (the originals, paged by the share), or with
    `pinned=true` the ones it pinned; only for those who may read it."""
    svc, caller, group = await _caller_and_group(request, "read:statuses")
    page = page_params(request)
    async with svc.db.read() as conn:
        if not may_read(
            group, await standing(conn, group, caller.account.id, admin=caller.user.admin)
        ):
            raise _not_found()
        if flag(request.query_params.get("pinned")):
            pinned = await communities.pinned_ids(conn, group.id)
            rows = [(i, i) for i in pinned[: page.limit]] if page.max_id is None else []
        else:
            rows = await communities.timeline_page(conn, group.id, page)
    ids = [post for _, post in rows]
    return await answer_statuses(
        request, svc, ids, page, caller.account.id, paged_ids=[share for share, _ in rows]
    )


# ----- moderation --------------------------------------------------------------------------


async def _member(svc: Services, request: Request) -> AccountRecord:
    return await account_or_404(svc, request.path_params["account_id"])


async def requests(request: Request) -> Response:
    svc, _, group = await _caller_and_group(request, "read:follows", moderate=True)
    page = page_params(request, default=40, maximum=80)
    async with svc.db.read() as conn:
        rows = await api_queries.follow_request_page(conn, group.id, page)
        found = await accounts.get_many(conn, [a for _, a in rows])
        entities = await account_entities(
            conn, [found[a] for _, a in rows if a in found], uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )  # fmt: skip
    return paged_response(
        request, svc.config.instance.base_url, entities, [r for r, _ in rows], page
    )


async def _answer_request(request: Request, *, accept: bool) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:follows", moderate=True)
    follower = await _member(svc, request)
    await answer_follow_request(svc, group, follower, accept=accept)
    return await _answer(svc, group, caller)


async def authorize_request(request: Request) -> Response:
    return await _answer_request(request, accept=True)


async def reject_request(request: Request) -> Response:
    return await _answer_request(request, accept=False)


async def members(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "read:accounts")
    async with svc.db.read() as conn:
        if not may_read(
            group, await standing(conn, group, caller.account.id, admin=caller.user.admin)
        ):
            raise _not_found()
        ids = await communities.member_ids(conn, group.id)
        found = await accounts.get_many(conn, ids)
        entities = await account_entities(
            conn, [found[i] for i in ids if i in found], uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )  # fmt: skip
    return FastJSONResponse(entities)


async def remove_member(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:blocks", moderate=True)
    member = await _member(svc, request)
    try:
        await Communities(svc.publisher).remove_member(group, member)
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return await _answer(svc, group, caller)


async def readmit(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:blocks", moderate=True)
    await Communities(svc.publisher).readmit(group, await _member(svc, request))
    return await _answer(svc, group, caller)


async def _shared_status(
    request: Request, svc: Services, caller: Caller, group: AccountRecord
) -> StatusRecord:
    """A post the community shared and the caller may see; 404 otherwise."""
    status_id = id_param(request.path_params["status_id"], "status_id")
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        if status is None or not await can_see(conn, status, caller.account.id):
            raise _not_found()
        if await statuses.get_boost(conn, group.id, status.id) is None:
            raise _not_found()
    return status


async def _status_answer(svc: Services, caller: Caller, status: StatusRecord) -> Response:
    async with svc.db.read() as conn:
        fresh = await statuses.get_by_id(conn, status.id)
        assert fresh is not None
        entity = await status_entity(
            conn, fresh, viewer_account_id=caller.account.id, uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )  # fmt: skip
    return FastJSONResponse(entity)


async def remove_status(request: Request) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:statuses", moderate=True)
    status = await _shared_status(request, svc, caller, group)
    await Communities(svc.publisher).remove_post(group, status)
    return await _status_answer(svc, caller, status)


async def _pin(request: Request, *, pin: bool) -> Response:
    svc, caller, group = await _caller_and_group(request, "write:accounts", moderate=True)
    status = await _shared_status(request, svc, caller, group)
    community = Communities(svc.publisher)
    try:
        await (community.pin(group, status) if pin else community.unpin(group, status))
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    response = await _status_answer(svc, caller, status)
    async with svc.db.read() as conn:
        pinned = await pins.is_pinned(conn, group.id, status.id)
    response.headers["X-Community-Pinned"] = "true" if pinned else "false"
    return response


async def pin(request: Request) -> Response:
    return await _pin(request, pin=True)


async def unpin(request: Request) -> Response:
    return await _pin(request, pin=False)


_BASE = "/api/v1/communities/{id}"
routes = [
    Route("/api/v1/communities", list_communities),
    Route("/api/v1/communities", create, methods=["POST"]),
    Route(_BASE, show),
    Route(_BASE, change, methods=["PATCH"]),
    Route(f"{_BASE}/join", join, methods=["POST"]),
    Route(f"{_BASE}/leave", leave, methods=["POST"]),
    Route("/api/v1/timelines/community/{id}", timeline),
    Route(f"{_BASE}/requests", requests),
    Route(f"{_BASE}/requests/{{account_id}}/authorize", authorize_request, methods=["POST"]),
    Route(f"{_BASE}/requests/{{account_id}}/reject", reject_request, methods=["POST"]),
    Route(f"{_BASE}/members", members),
    Route(f"{_BASE}/members/{{account_id}}/remove", remove_member, methods=["POST"]),
    Route(f"{_BASE}/members/{{account_id}}/readmit", readmit, methods=["POST"]),
    Route(f"{_BASE}/statuses/{{status_id}}/remove", remove_status, methods=["POST"]),
    Route(f"{_BASE}/statuses/{{status_id}}/pin", pin, methods=["POST"]),
    Route(f"{_BASE}/statuses/{{status_id}}/unpin", unpin, methods=["POST"]),
]
