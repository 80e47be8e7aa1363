"""Mastodon's lists: CRUD of the signed-in account's lists, their members, the lists that
hold an account, and the list timeline, paged and `Link`ed like the home timeline.

Lists are private to their owner: anyone else's list answers 404, as an unknown one does.
Members must be accounts the owner follows or has asked to follow (Mastodon's rule, 404
otherwise); an exclusive list keeps its members' posts out of the owner's home timeline.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, api_queries, follows, lists
from store.db import Connection
from store.lists import MAX_LISTS, REPLIES_POLICIES, ListRecord
from watercooler.api.entities import account_entities
from watercooler.api.forms import body_params, flag
from watercooler.api.pagination import page_params, paged_response
from watercooler.api.timelines import answer_statuses
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services

MAX_TITLE = 255
MAX_ACCOUNT_IDS = 100
"""Accounts added or removed in one request."""
MEMBERS_LIMIT = 40
MEMBERS_MAX = 80


def list_entity(record: ListRecord) -> dict[str, Any]:
    """Mastodon's List (4.2+)."""
    return {
        "id": str(record.id),
        "title": record.title,
        "replies_policy": record.replies_policy,
        "exclusive": record.exclusive,
    }


def _not_found() -> HTTPException:
    return HTTPException(404, "Record not found")


def _parse_id(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) < 2**63 else None


async def _own_list(
    request: Request, scope: str, key: str = "id"
) -> tuple[Services, Caller, ListRecord]:
    """The caller and their list named in the path; 404 for an unknown list or another's."""
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    list_id = _parse_id(request.path_params[key])
    found = None
    if list_id is not None:
        async with svc.db.read() as conn:
            found = await lists.get(conn, caller.account.id, list_id)
    if found is None:
        raise _not_found()
    return svc, caller, found


def _title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise HTTPException(422, "Validation failed: Title can't be blank")
    if len(value) > MAX_TITLE:
        raise HTTPException(422, f"Validation failed: Title is longer than {MAX_TITLE} characters")
    return value.strip()


def _policy(value: Any) -> str:
    if value not in REPLIES_POLICIES:
        raise HTTPException(422, f"'{value}' is not a valid replies_policy")
    return str(value)


# ----- the lists -----------------------------------------------------------------------------


async def index(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:lists")
    async with svc.db.read() as conn:
        found = await lists.owned(conn, caller.account.id)
    return FastJSONResponse([list_entity(record) for record in found])


async def create(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:lists")
    params = await body_params(request)
    title = _title(params.get("title"))
    policy = _policy(params.get("replies_policy") or "list")
    exclusive = flag(params.get("exclusive"))
    async with svc.db.transaction() as conn:
        if await lists.count_owned(conn, caller.account.id) >= MAX_LISTS:
            raise HTTPException(
                422, "Validation failed: You have reached the maximum number of lists"
            )
        made = await lists.create(
            conn,
            svc.db.new_id(),
            account_id=caller.account.id,
            title=title,
            replies_policy=policy,
            exclusive=exclusive,
            now=svc.clock(),
        )
    return FastJSONResponse(list_entity(made))


async def show(request: Request) -> Response:
    _, _, found = await _own_list(request, "read:lists")
    return FastJSONResponse(list_entity(found))


async def update(request: Request) -> Response:
    """Changes what is sent, keeps the rest (Mastodon's update)."""
    svc, caller, found = await _own_list(request, "write:lists")
    params = await body_params(request)
    title = _title(params["title"]) if "title" in params else found.title
    policy = (
        _policy(params["replies_policy"]) if params.get("replies_policy") else found.replies_policy
    )
    exclusive = flag(params.get("exclusive"), found.exclusive)
    async with svc.db.transaction() as conn:
        await lists.update(conn, found.id, title=title, replies_policy=policy, exclusive=exclusive)
        updated = await lists.get(conn, caller.account.id, found.id)
    assert updated is not None
    return FastJSONResponse(list_entity(updated))


async def destroy(request: Request) -> Response:
    svc, _, found = await _own_list(request, "write:lists")
    async with svc.db.transaction() as conn:
        await lists.delete(conn, found.id)
    return FastJSONResponse({})


async def account_lists(request: Request) -> Response:
    """The caller's lists that hold the account `id`."""
    svc = services(request)
    caller = await authenticate(request, svc, "read:lists")
    account_id = _parse_id(request.path_params["id"])
    async with svc.db.read() as conn:
        if account_id is None or not await api_queries.is_available(conn, account_id):
            raise _not_found()
        found = await lists.containing(conn, caller.account.id, account_id)
    return FastJSONResponse([list_entity(record) for record in found])


# ----- members -------------------------------------------------------------------------------


async def _account_entities(
    conn: Connection, svc: Services, ids: list[int]
) -> list[dict[str, Any]]:
    available = await api_queries.available_ids(conn, ids)  # suspended ones are left out
    found = await accounts.get_many(conn, [i for i in ids if i in available])
    return await account_entities(
        conn,
        [found[i] for i in ids if i in found],
        uris=svc.uris,
        local_domain=svc.config.instance.domain,
    )


async def members(request: Request) -> Response:
    """Members, paged by account id; `limit=0` gives all of them on one page, no `Link`."""
    svc, _, found = await _own_list(request, "read:lists")
    if request.query_params.get("limit", "").strip() == "0":
        async with svc.db.read() as conn:
            ids = await lists.member_ids(conn, found.id, None)
            return FastJSONResponse(await _account_entities(conn, svc, ids))
    page = page_params(request, default=MEMBERS_LIMIT, maximum=MEMBERS_MAX)
    async with svc.db.read() as conn:
        ids = await lists.member_ids(conn, found.id, page)
        entities = await _account_entities(conn, svc, ids)
    return paged_response(request, svc.config.instance.base_url, entities, ids, page)


async def _account_ids(request: Request) -> list[int]:
    """`account_ids[]` of the body (or query): at least one, each an id (else 404)."""
    params = await body_params(request)
    raw = params.get("account_ids")
    if raw is None and "account_ids[]" not in params:
        raw = request.query_params.getlist("account_ids[]") or None
    values = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
    if not values:
        raise HTTPException(422, "Validation failed: account_ids is required")
    if len(values) > MAX_ACCOUNT_IDS:
        raise HTTPException(422, f"Validation failed: at most {MAX_ACCOUNT_IDS} account_ids")
    ids = []
    for value in values:
        parsed = _parse_id(value)
        if parsed is None:
            raise _not_found()
        ids.append(parsed)
    return list(dict.fromkeys(ids))


async def add_members(request: Request) -> Response:
    """All or nothing: every account must be available and followed (or requested) by the
    owner, or be the owner (404 otherwise), and not a member yet (422)."""
    svc, caller, found = await _own_list(request, "write:lists")
    ids = await _account_ids(request)
    owner = caller.account.id
    async with svc.db.transaction() as conn:
        for account_id in ids:
            if not await api_queries.is_available(conn, account_id):
                raise _not_found()
            if account_id != owner and await follows.get(conn, owner, account_id) is None:
                raise _not_found()
            if await lists.is_member(conn, found.id, account_id):
                raise HTTPException(422, "Validation failed: Account has already been taken")
        await lists.add_members(conn, found, ids)
    return FastJSONResponse({})


async def remove_members(request: Request) -> Response:
    svc, _, found = await _own_list(request, "write:lists")
    ids = await _account_ids(request)
    async with svc.db.transaction() as conn:
        await lists.remove_members(conn, found.id, ids)
    return FastJSONResponse({})


# ----- the timeline --------------------------------------------------------------------------


async def timeline(request: Request) -> Response:
    svc, caller, found = await _own_list(request, "read:lists", key="list_id")
    page = page_params(request)
    async with svc.db.read() as conn:
        ids = await lists.timeline(conn, found, page, now=svc.clock())
    # Mastodon's "home" filter context covers lists too.
    return await answer_statuses(request, svc, ids, page, caller.account.id, context="home")


routes = [
    Route("/api/v1/lists", index, methods=["GET"]),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=["GET"]),
    Route("/api/v1/lists/{id}", update, methods=["PUT", "PATCH"]),
    Route("/api/v1/lists/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", members, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_members, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_members, methods=["DELETE"]),
    Route("/api/v1/accounts/{id}/lists", account_lists, methods=["GET"]),
    Route("/api/v1/timelines/list/{list_id}", timeline, methods=["GET"]),
]
