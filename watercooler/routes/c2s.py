"""ActivityPub client-to-server: `POST /users/{name}/outbox` and `GET /users/{name}/inbox`.

A bearer token of the account itself is required. The outbox takes a Create (or a bare
object), Follow, Like, Announce, Undo, Update, Delete and Block, carries them out exactly
as the other front doors do (outbox.publish), and answers 201 with `Location` and the
activity as published.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation import activities
from federation.activities import parse_activity
from federation.astools import get_id
from federation.errors import FederationError, ParseError
from federation.objects import parse_object
from federation.policy import PolicyRejected
from inbox.from_as import note_from, store_note
from outbox.addressing import visibility_of
from outbox.publish import PublishError
from store import accounts, follows, inbox_items, reactions, statuses
from store import activities as stored_activities
from store.records import AccountRecord, StatusRecord
from watercooler.api.forms import body_params
from watercooler.auth import Caller, authenticate
from watercooler.http import activity_json, error_response, services
from watercooler.services import Services
from watercooler.visibility import can_see

MAX_BODY = 256 * 1024
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_OBJECT_TYPES = ("Note", "Article", "Question", "Page")


async def _caller(request: Request, scope: str) -> tuple[Services, Caller]:
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    if caller.account.username.lower() != request.path_params["username"].lower():
        raise HTTPException(403, "This is not your outbox")
    return svc, caller


async def _status_by_uri(svc: Services, uri: str, viewer: AccountRecord) -> StatusRecord:
    """The status at `uri` as `viewer` may see it (fetched if new); 404 otherwise."""
    async with svc.db.read() as conn:
        status = await statuses.get_by_uri(conn, uri)
    if status is None and svc.uris.local_status(uri) is None:
        try:
            status = await store_note(
                svc.workers.inbox.ctx, await note_from(svc.workers.inbox.ctx, None, uri)
            )
        except FederationError as error:
            raise HTTPException(422, f"cannot fetch {uri}: {error}") from error
    if status is None or status.deleted_at is not None:
        raise HTTPException(404, f"no status {uri}")
    async with svc.db.read() as conn:
        if not await can_see(conn, status, viewer.id):
            raise HTTPException(404, f"no status {uri}")
    return status


async def _actor_by_uri(svc: Services, uri: str) -> AccountRecord:
    username = svc.uris.local_username(uri)
    async with svc.db.read() as conn:
        account = await accounts.get_local(conn, username) if username else None
    if account is None and username is None:
        account = await svc.actors.get(uri)
    if account is None:
        raise HTTPException(404, f"no actor {uri}")
    return account


async def _create(svc: Services, me: AccountRecord, obj: dict[str, Any]) -> dict[str, Any]:
    source = obj.get("source")
    text = source.get("content") if isinstance(source, dict) else obj.get("content")
    if not isinstance(text, str):
        raise HTTPException(422, "the object needs content")
    # A client's object has no id yet; a placeholder lets the shared parser read the rest.
    parsed = parse_object({**obj, "id": obj.get("id") or svc.uris.actor(me.username) + "/draft"})
    # The client is our own user: its `wc:orgOnly` marker is believed (organisation-only).
    visibility = visibility_of(
        parsed.to, parsed.cc, followers_url=me.followers_url, org_only=parsed.org_only
    )
    parent = await _status_by_uri(svc, parsed.in_reply_to, me) if parsed.in_reply_to else None
    collections = {me.followers_url, me.following_url, AS_PUBLIC}
    addressed = [iri for iri in (*parsed.to, *parsed.cc) if iri not in collections]
    recipients = []
    for iri in dict.fromkeys(addressed):
        if iri.rstrip("/").endswith(("/followers", "/following")):
            continue  # another actor's collection: not something we can deliver to
        try:
            recipients.append(await _actor_by_uri(svc, iri))
        except HTTPException:
            continue  # an addressee we cannot find is skipped, as Mastodon skips it
    status = await svc.publisher.post(
        me,
        text,
        visibility=visibility,
        spoiler_text=parsed.summary or "",
        sensitive=parsed.sensitive,
        in_reply_to=parent,
        language=parsed.language,
        recipients=recipients,
    )
    async with svc.db.read() as conn:
        body = await stored_activities.get_body(conn, status.activity_uri or "")
    assert body is not None
    return json.loads(body)


async def _undo(svc: Services, me: AccountRecord, activity: Any) -> dict[str, Any] | None:
    inner = activity.object or {}
    inner_id = activity.object_id
    kind = activity.object_type
    async with svc.db.read() as conn:
        if kind in (None, "Like") and inner_id:
            found = await reactions.favourite_by_uri(conn, inner_id)
            if found is not None and found[0] == me.id:
                liked = await statuses.get_by_id(conn, found[1])
                if liked is not None:
                    return await svc.publisher.unlike(me, liked)
        if kind in (None, "Block") and inner_id:
            found = await reactions.block_by_uri(conn, inner_id)
            blocked = (
                await accounts.get_by_id(conn, found[1]) if found and found[0] == me.id else None
            )
            if blocked is not None:
                return await svc.publisher.unblock(me, blocked)
        if kind in (None, "Follow") and inner_id:
            record = await follows.get_by_uri(conn, inner_id)
            target = await accounts.get_by_id(conn, record.target_account_id) if record else None
            if record is not None and target is not None and record.account_id == me.id:
                return await svc.publisher.unfollow(me, target)
        if kind in (None, "Announce") and inner_id:
            boost = await statuses.get_by_uri(conn, inner_id)
            if boost and boost.account_id == me.id and boost.reblog_of_id:
                original = await statuses.get_by_id(conn, boost.reblog_of_id)
                if original is not None:
                    return await svc.publisher.unboost(me, original)
    if kind in (None, "Like"):
        liked = get_id(inner.get("object")) if inner else None
        if liked:
            status = await _status_by_uri(svc, liked, me)
            return await svc.publisher.unlike(me, status)
    if kind == "Block":
        blocked = get_id(inner.get("object"))
        if blocked:
            return await svc.publisher.unblock(me, await _actor_by_uri(svc, blocked))
    raise HTTPException(422, "nothing of yours to undo")


async def _perform(
    svc: Services, me: AccountRecord, document: dict[str, Any]
) -> dict[str, Any] | None:
    kind = document.get("type")
    if kind in _OBJECT_TYPES:
        return await _create(svc, me, document)
    activity = parse_activity({**document, "actor": me.uri})
    if activity.type == "Create":
        if not isinstance(activity.object, dict):
            raise HTTPException(422, "Create needs an embedded object")
        return await _create(svc, me, activity.object)
    if activity.object_id is None:
        raise HTTPException(422, f"{activity.type} needs an object")
    if activity.type == "Follow":
        target = await _actor_by_uri(svc, activity.object_id)
        record = await svc.publisher.follow(me, target)
        return activities.follow(record.uri, me.uri, target.uri, published=record.created_at)
    if activity.type == "Like":
        await svc.publisher.like(me, await _status_by_uri(svc, activity.object_id, me))
        async with svc.db.read() as conn:
            status = await statuses.get_by_uri(conn, activity.object_id)
            uri = await reactions.favourite_uri(conn, me.id, status.id) if status else None
            body = await stored_activities.get_body(conn, uri or "")
        return json.loads(body) if body else None
    if activity.type == "Announce":
        boost = await svc.publisher.boost(me, await _status_by_uri(svc, activity.object_id, me))
        async with svc.db.read() as conn:
            body = await stored_activities.get_body(conn, boost.uri)
        return json.loads(body) if body else None
    if activity.type == "Undo":
        return await _undo(svc, me, activity)
    if activity.type in ("Update", "Delete"):
        status = await _status_by_uri(svc, activity.object_id, me)
        if status.account_id != me.id:
            raise HTTPException(403, "not your status")
        if activity.type == "Delete":
            return await svc.publisher.delete(me, status)
        obj = activity.object or {}
        source = obj.get("source")
        text = source.get("content") if isinstance(source, dict) else obj.get("content")
        if not isinstance(text, str):
            raise HTTPException(422, "Update needs the new content")
        summary = obj.get("summary")
        return await svc.publisher.edit(
            me, status, text, spoiler_text=summary if isinstance(summary, str) else None
        )
    if activity.type == "Block":
        return await svc.publisher.block(me, await _actor_by_uri(svc, activity.object_id))
    raise HTTPException(422, f"{activity.type} is not supported in the outbox")


async def post_outbox(request: Request) -> Response:
    svc, caller = await _caller(request, "write")
    body = await request.body()
    if len(body) > MAX_BODY:
        return error_response(413, "body too large")
    try:
        document = json.loads(body)
    except ValueError:
        return error_response(400, "body is not JSON")
    if not isinstance(document, dict):
        return error_response(400, "body is not a JSON object")
    try:
        result = await _perform(svc, caller.account, document)
    except (ParseError, PublishError) as error:
        return error_response(422, str(error))
    if result is None:
        return error_response(422, "nothing changed")
    response = activity_json(result, status_code=201)
    response.headers["Location"] = result["id"]
    return response


async def get_inbox(request: Request) -> Response:
    svc, caller = await _caller(request, "read")
    base = caller.account.inbox_url or svc.uris.inbox(caller.account.username)
    max_id = request.query_params.get("max_id")
    async with svc.db.read() as conn:
        rows = await inbox_items.for_account(
            conn,
            caller.account.id,
            max_id=int(max_id) if max_id and max_id.isdigit() else None,
            limit=20,
        )
    items = [await _embedded(svc, json.loads(body)) for _, body in rows]
    page: dict[str, Any] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}?{request.url.query}" if request.url.query else base,
        "type": "OrderedCollectionPage",
        "partOf": base,
        "orderedItems": items,
    }
    if len(rows) == 20:
        page["next"] = f"{base}?max_id={rows[-1][0]}"
    return activity_json(page)


async def _embedded(svc: Services, activity: dict[str, Any]) -> dict[str, Any]:
    """The activity with its object embedded (from our copy) when it came as an IRI."""
    obj = activity.get("object")
    if isinstance(obj, str):
        async with svc.db.read() as conn:
            status = await statuses.get_by_uri(conn, obj)
        if status is not None and status.local and status.deleted_at is None:
            activity = {**activity, "object": await svc.publisher.note_json(status)}
    return activity


async def proxy(request: Request) -> Response:
    """ActivityPub's `proxyUrl`: a signed-in client asks us to fetch `id` for it. The fetch
    is ours — signed by the instance actor, under peer policy, the SSRF guard and the size
    and redirect limits — so a client reaches only what this server may reach."""
    svc = services(request)
    caller = await authenticate(request, svc, "read")
    params = await body_params(request)
    target = params.get("id")
    if not isinstance(target, str) or not target.startswith(("https://", "http://")):
        return error_response(400, "id must be an http(s) URL")
    local = svc.uris.local_status(target)
    if local is not None:
        status = await _status_by_uri(svc, target, caller.account)
        return activity_json(await svc.publisher.note_json(status))
    try:
        document = await svc.fetcher.fetch_json(target)
    except PolicyRejected:
        raise
    except FederationError as error:
        return error_response(502, f"could not fetch {target}: {error}")
    return activity_json(document)


routes = [
    Route("/proxy", proxy, methods=["POST"]),
    Route("/users/{username:str}/outbox", post_outbox, methods=["POST"]),
    Route("/users/{username:str}/inbox", get_inbox, methods=["GET"]),
]
