"""Mastodon's statuses API: post, read, edit, delete, thread context, boosts, favourites,
bookmarks. Each endpoint parses, calls the publisher or a query, and answers an entity.
Visibility is checked on every read (watercooler.visibility.can_see)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.publish import MediaDetails, PublishError
from store import accounts, statuses, threads
from store.records import AccountRecord, StatusRecord
from watercooler.api.entities import account_entities, status_entities, status_entity
from watercooler.api.entities import iso as entity_time
from watercooler.api.forms import body_params, flag, id_param, text
from watercooler.api.polls import poll_draft
from watercooler.auth import Caller, authenticate, bearer_token
from watercooler.filters import load as load_filters
from watercooler.http import FastJSONResponse, services
from watercooler.media import MediaRejected, check_description, parse_focus
from watercooler.services import Services
from watercooler.thread_view import visible_context
from watercooler.visibility import can_see, default_visibility

VISIBILITIES = ("public", "unlisted", "org", "private", "direct")
"""Mastodon's four and `org`: every signed-in employee of this and every peer instance."""
LOCAL_VISIBILITY = "local"
"""Akkoma's and Pleroma's name for a local-only post: taken as public and `local_only`."""


async def _optional_caller(request: Request, svc: Services, scope: str) -> Caller | None:
    return await authenticate(request, svc, scope) if bearer_token(request) else None


async def _visible_status(svc: Services, status_id: str, viewer: int | None) -> StatusRecord:
    parsed = id_param(status_id, "id")
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, parsed) if parsed else None
        if status is None or not await can_see(conn, status, viewer):
            raise HTTPException(404, "Record not found")
    return status


async def _entity(
    svc: Services, status: StatusRecord, viewer: int | None, *, filtered: bool = False
) -> dict[str, Any]:
    """`filtered`: fill the status's `filtered` with the viewer's filters (every context)."""
    async with svc.db.read() as conn:
        view = await load_filters(conn, viewer, now=svc.clock(), context=None) if filtered else None
        return await status_entity(
            conn,
            status,
            viewer_account_id=viewer,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            filters=view,
        )


def _media_ids(value: Any) -> list[int]:
    """`media_ids[]` (a form list, a JSON list, or one id): the uploads to attach, in order."""
    if value in (None, ""):
        return []
    values = value if isinstance(value, list) else [value]
    return [parsed for v in values if (parsed := id_param(v, "media_ids")) is not None]


def _media_attributes(value: Any) -> dict[int, MediaDetails]:
    """An edit's `media_attributes`: `[{id, description, focus}]` (or `{"0": {...}}`), new alt
    text and focal points for the post's attachments."""
    if value in (None, ""):
        return {}
    entries = list(value.values()) if isinstance(value, dict) else value
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise HTTPException(422, "Validation failed: media_attributes is a list of objects")
    found: dict[int, MediaDetails] = {}
    for entry in entries:
        media_id = id_param(entry.get("id"), "media_attributes id")
        if media_id is None:
            continue
        try:
            description = entry.get("description")
            found[media_id] = MediaDetails(
                description=None if description is None else check_description(description),
                focus=parse_focus(entry.get("focus")),
            )
        except MediaRejected as error:
            raise HTTPException(error.status, error.message) from error
    return found


def _json(value: Any) -> Response:
    return FastJSONResponse(value)


async def create_status(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:statuses")
    params = await body_params(request)
    key = request.headers.get("idempotency-key")
    if key:
        async with svc.db.read() as conn:
            earlier = await threads.idempotent_status(conn, caller.account.id, key[:200])
            done = await statuses.get_by_id(conn, earlier) if earlier else None
        if done is not None:
            return _json(await _entity(svc, done, caller.account.id))
    visibility = params.get("visibility") or None
    local_only = flag(params.get("local_only"))
    if visibility == LOCAL_VISIBILITY:
        visibility, local_only = "public", True
    if visibility is None:
        async with svc.db.read() as conn:
            visibility = await default_visibility(
                conn, caller.account.id, svc.config.instance.default_visibility
            )
    if visibility not in VISIBILITIES:
        raise HTTPException(422, f"Validation failed: visibility {visibility!r} is not valid")
    parent = None
    reply_to = id_param(params.get("in_reply_to_id"), "in_reply_to_id")
    if reply_to is not None:
        parent = await _visible_status(svc, str(reply_to), caller.account.id)
    try:
        status = await svc.publisher.post(
            caller.account,
            text(params.get("status"), "status"),
            visibility=visibility,
            spoiler_text=text(params.get("spoiler_text"), "spoiler_text", limit=500),
            sensitive=flag(params.get("sensitive")),
            in_reply_to=parent,
            language=params.get("language") or None,
            media_ids=_media_ids(params.get("media_ids")),
            application_id=caller.application_id,
            local_only=local_only,
            question=flag(params.get("question")),  # ours: outbox.questions
            poll=poll_draft(params),
        )
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    if key:
        async with svc.db.transaction() as conn:
            await threads.remember_idempotency(
                conn, caller.account.id, key[:200], status.id, svc.clock()
            )
    return _json(await _entity(svc, status, caller.account.id))


async def get_status(request: Request) -> Response:
    svc = services(request)
    caller = await _optional_caller(request, svc, "read:statuses")
    viewer = caller.account.id if caller else None
    status = await _visible_status(svc, request.path_params["id"], viewer)
    return _json(await _entity(svc, status, viewer, filtered=True))


async def _own(request: Request, scope: str) -> tuple[Services, Caller, StatusRecord]:
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    status = await _visible_status(svc, request.path_params["id"], caller.account.id)
    if status.account_id != caller.account.id or status.reblog_of_id is not None:
        raise HTTPException(404, "Record not found")
    return svc, caller, status


async def delete_status(request: Request) -> Response:
    svc, caller, status = await _own(request, "write:statuses")
    entity = await _entity(svc, status, caller.account.id)
    await svc.publisher.delete(caller.account, status)
    return _json({**entity, "text": status.text})  # the source, for "delete and redraft"


async def edit_status(request: Request) -> Response:
    svc, caller, status = await _own(request, "write:statuses")
    params = await body_params(request)
    try:
        await svc.publisher.edit(
            caller.account,
            status,
            text(params.get("status"), "status"),
            spoiler_text=text(params.get("spoiler_text"), "spoiler_text", limit=500)
            if "spoiler_text" in params
            else None,
            sensitive=flag(params.get("sensitive")) if "sensitive" in params else None,
            media_ids=_media_ids(params.get("media_ids")) if "media_ids" in params else None,
            media_attributes=_media_attributes(params.get("media_attributes")),
        )
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    async with svc.db.read() as conn:
        edited = await statuses.get_by_id(conn, status.id)
    assert edited is not None
    return _json(await _entity(svc, edited, caller.account.id))


async def status_source(request: Request) -> Response:
    _, _, status = await _own(request, "read:statuses")
    return _json({"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text})


async def status_context(request: Request) -> Response:
    svc = services(request)
    caller = await _optional_caller(request, svc, "read:statuses")
    viewer = caller.account.id if caller else None
    status = await _visible_status(svc, request.path_params["id"], viewer)
    async with svc.db.read() as conn:
        context = await visible_context(conn, status, viewer, now=svc.clock())
        ancestors, descendants = context.ancestors, context.descendants
        rendered = await status_entities(
            conn,
            [*ancestors, *descendants],
            viewer_account_id=viewer,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
            filters=context.filters,
        )
        entity = {
            "ancestors": rendered[: len(ancestors)],
            "descendants": rendered[len(ancestors) :],
        }
    return _json(entity)


async def _bookmark(svc: Services, me: AccountRecord, status: StatusRecord) -> None:
    async with svc.db.transaction() as conn:
        await threads.add_bookmark(conn, svc.db.new_id(), me.id, status.id, svc.clock())


async def _unbookmark(svc: Services, me: AccountRecord, status: StatusRecord) -> None:
    async with svc.db.transaction() as conn:
        await threads.remove_bookmark(conn, me.id, status.id)


Interaction = Callable[[Services, AccountRecord, StatusRecord], Awaitable[object]]
INTERACTIONS: dict[str, Interaction] = {
    "reblog": lambda svc, me, status: svc.publisher.boost(me, status),
    "unreblog": lambda svc, me, status: svc.publisher.unboost(me, status),
    "favourite": lambda svc, me, status: svc.publisher.like(me, status),
    "unfavourite": lambda svc, me, status: svc.publisher.unlike(me, status),
    "bookmark": _bookmark,
    "unbookmark": _unbookmark,
}
"""What `POST /api/v1/statuses/:id/{name}` does to a status the caller may see (a boost's
original, not the boost); the web pages' buttons do the same. May raise PublishError."""


async def _interaction(request: Request, action: str) -> Response:
    svc = services(request)
    scope = {
        "reblog": "write:statuses",
        "favourite": "write:favourites",
        "bookmark": "write:bookmarks",
    }
    caller = await authenticate(request, svc, scope[action.removeprefix("un")])
    status = await _visible_status(svc, request.path_params["id"], caller.account.id)
    if status.reblog_of_id is not None:
        async with svc.db.read() as conn:
            original = await statuses.get_by_id(conn, status.reblog_of_id)
        if original is None:
            raise HTTPException(404, "Record not found")
        status = original
    me = caller.account
    try:
        done = await INTERACTIONS[action](svc, me, status)
    except PublishError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    if action == "reblog":  # the answer is the boost itself
        assert isinstance(done, StatusRecord)
        return _json(await _entity(svc, done, me.id))
    async with svc.db.read() as conn:
        fresh = await statuses.get_by_id(conn, status.id)
    assert fresh is not None
    return _json(await _entity(svc, fresh, me.id))


def _action(name: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _interaction(request, name)

    endpoint.__name__ = f"{name}_status"
    return endpoint


async def _accounts_of(request: Request, reblogs: bool) -> Response:
    svc = services(request)
    caller = await _optional_caller(request, svc, "read:accounts")
    viewer = caller.account.id if caller else None
    status = await _visible_status(svc, request.path_params["id"], viewer)
    query = threads.reblogged_by if reblogs else threads.favourited_by
    async with svc.db.read() as conn:
        ids = await query(conn, status.id, limit=40)
        found = await accounts.get_many(conn, ids)
        result = await account_entities(
            conn,
            [found[i] for i in ids if i in found],
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )
    return _json(result)


async def favourited_by(request: Request) -> Response:
    return await _accounts_of(request, reblogs=False)


async def reblogged_by(request: Request) -> Response:
    return await _accounts_of(request, reblogs=True)


async def status_history(request: Request) -> Response:
    """Every version of a status, oldest first; an unedited status has one version."""
    svc = services(request)
    caller = await _optional_caller(request, svc, "read:statuses")
    viewer = caller.account.id if caller else None
    status = await _visible_status(svc, request.path_params["id"], viewer)
    entity = await _entity(svc, status, viewer)
    async with svc.db.read() as conn:
        versions = await statuses.versions(conn, status.id)
    if not versions:
        versions = [(status.content, status.spoiler_text, status.sensitive, status.created_at)]
    return _json(
        [
            {
                "content": content,
                "spoiler_text": spoiler,
                "sensitive": sensitive,
                "created_at": entity_time(at),
                "account": entity["account"],
                "poll": None,
                "media_attachments": [],
                "emojis": [],
            }
            for content, spoiler, sensitive, at in versions
        ]
    )


routes = [
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses/{id}", get_status, methods=["GET"]),
    Route("/api/v1/statuses/{id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{id}", edit_status, methods=["PUT"]),
    Route("/api/v1/statuses/{id}/source", status_source),
    Route("/api/v1/statuses/{id}/history", status_history),
    Route("/api/v1/statuses/{id}/context", status_context),
    Route("/api/v1/statuses/{id}/favourited_by", favourited_by),
    Route("/api/v1/statuses/{id}/reblogged_by", reblogged_by),
    *(
        Route(f"/api/v1/statuses/{{id}}/{name}", _action(name), methods=["POST"])
        for name in ("reblog", "unreblog", "favourite", "unfavourite", "bookmark", "unbookmark")
    ),
]
