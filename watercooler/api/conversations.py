"""Mastodon's conversations: the direct messages of the signed-in account grouped by thread
and participants (`GET /api/v1/conversations`, mark read, delete).

The rows are kept by `store.conversations` as direct statuses are posted, received and
deleted; this module only pages them and builds the Conversation entity, whose last status
is checked against the viewer like every other status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, api_queries, conversations, moderation, statuses
from store.conversations import ConversationRecord
from store.db import Connection
from store.records import AccountRecord, StatusRecord
from watercooler.api.entities import EntityRenderer
from watercooler.api.pagination import page_params, paged_response
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see


async def conversation_entity(
    conn: Connection, svc: Services, viewer: AccountRecord, conversation: ConversationRecord
) -> dict[str, Any] | None:
    """Mastodon's Conversation for its owner `viewer`: the other participants (the owner
    alone for notes to oneself, as Mastodon shows them) and the last status; None when that
    status is no longer there for the viewer."""
    (entity,) = await conversation_entities(conn, svc, viewer, [conversation])
    return entity


async def conversation_entities(
    conn: Connection,
    svc: Services,
    viewer: AccountRecord,
    records: Sequence[ConversationRecord],
) -> list[dict[str, Any] | None]:
    """`conversation_entity` of each conversation, rendered in batches."""
    last = await statuses.get_many(conn, [c.last_status_id for c in records])
    participant_ids = [i for c in records for i in c.participant_ids]
    available = await api_queries.available_ids(conn, participant_ids)
    people = await accounts.get_many(conn, [i for i in participant_ids if i in available])
    hidden = await moderation.hidden_statuses(conn, last)
    kept: list[tuple[int, StatusRecord, list[AccountRecord]]] = []
    for index, conversation in enumerate(records):
        status = last.get(conversation.last_status_id)
        if status is None or not await can_see(conn, status, viewer.id, hidden=hidden):
            continue
        members = [people[i] for i in conversation.participant_ids if i in people]
        kept.append((index, status, members or [viewer]))
    renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
    members_shown = await renderer.accounts([m for _, _, members in kept for m in members])
    statuses_shown = await renderer.statuses(
        [status for _, status, _ in kept], viewer_account_id=viewer.id
    )
    entities: list[dict[str, Any] | None] = [None] * len(records)
    start = 0
    for (index, _, members), status_shown in zip(kept, statuses_shown, strict=True):
        entities[index] = {
            "id": str(records[index].id),
            "unread": records[index].unread,
            "accounts": members_shown[start : start + len(members)],
            "last_status": status_shown,
        }
        start += len(members)
    return entities


async def conversation_entity_for_status(
    svc: Services, viewer: AccountRecord, status: StatusRecord
) -> dict[str, Any] | None:
    """The viewer's Conversation that holds this direct status (for the `direct` stream);
    None when it is in none of theirs."""
    async with svc.db.read() as conn:
        conversation = await conversations.for_status(conn, viewer.id, status.id)
        if conversation is None:
            return None
        return await conversation_entity(conn, svc, viewer, conversation)


async def _own(request: Request, scope: str) -> tuple[Services, Caller, ConversationRecord]:
    svc = services(request)
    caller = await authenticate(request, svc, scope)
    raw = request.path_params["id"]
    found = None
    if raw.isascii() and raw.isdigit() and int(raw) < 2**63:
        async with svc.db.read() as conn:
            found = await conversations.get(conn, caller.account.id, int(raw))
    if found is None:
        raise HTTPException(404, "Record not found")
    return svc, caller, found


async def index(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses")
    page = page_params(request)
    async with svc.db.read() as conn:
        found = await conversations.page(conn, caller.account.id, page)
        rendered = await conversation_entities(conn, svc, caller.account, found)
        entities = [entity for entity in rendered if entity is not None]
    return paged_response(
        request, svc.config.instance.base_url, entities, [c.last_status_id for c in found], page
    )


async def read(request: Request) -> Response:
    svc, caller, conversation = await _own(request, "write:conversations")
    async with svc.db.transaction() as conn:
        await conversations.mark_read(conn, conversation.id)
    async with svc.db.read() as conn:
        updated = await conversations.get(conn, caller.account.id, conversation.id)
        entity = await conversation_entity(conn, svc, caller.account, updated) if updated else None
    if entity is None:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse(entity)


async def remove(request: Request) -> Response:
    svc, _, conversation = await _own(request, "write:conversations")
    async with svc.db.transaction() as conn:
        await conversations.delete(conn, conversation.id)
    return FastJSONResponse({})


routes = [
    Route("/api/v1/conversations", index),
    Route("/api/v1/conversations/", index),  # Mastodon.py asks with the slash
    Route("/api/v1/conversations/{id}", remove, methods=["DELETE"]),
    Route("/api/v1/conversations/{id}/read", read, methods=["POST"]),
]
