"""Announcements in the client API, as stock Mastodon apps read them, and their management.

Readers (any signed-in employee): `GET /api/v1/announcements` (the active ones: started, not
ended, not withdrawn; `with_dismissed`), `POST /api/v1/announcements/:id/dismiss`, `PUT` and
`DELETE /api/v1/announcements/:id/reactions/:name` (unicode emoji). Entities are Mastodon's
`Announcement`.

Management (admins and announcers; others 403): `GET` / `POST /api/v1/admin/announcements`,
`PUT` / `DELETE /api/v1/admin/announcements/:id` with `text`, `starts_at`, `ends_at`,
`all_day`. Mastodon has no public API for this; the answers keep its entity's shape. Each
change is written to the audit log (origin 'api') and sent to every peer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.astools import parse_datetime
from federation.uris import Uris
from outbox.announcements import AnnouncementError, Draft, Editor, UnknownAnnouncement
from store import accounts
from store import announcements as stored
from store.announcements import AnnouncementRecord
from store.db import Connection
from store.records import AccountRecord
from watercooler.announcements import (
    from_peers,
    is_unicode_emoji,
    may_announce,
    publisher_of,
)
from watercooler.api.entities import iso
from watercooler.api.forms import body_params, flag, id_param, text
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services


def _acct(account: AccountRecord) -> str:
    return account.username if account.domain is None else f"{account.username}@{account.domain}"


async def entities(
    conn: Connection,
    records: Sequence[AnnouncementRecord],
    uris: Uris,
    *,
    reader: AccountRecord,
) -> list[dict[str, Any]]:
    """Mastodon's Announcement entity of each record, as `reader` sees it (`read`: dismissed
    by them; `reactions[].me`: theirs). Mentions are the accounts known here."""
    ids = [r.id for r in records]
    dismissed = await stored.dismissed_ids(conn, reader.id, ids)
    reactions = await stored.reactions(conn, ids, reader.id)
    found: list[dict[str, Any]] = []
    for record in records:
        mentioned = [await accounts.get_by_id(conn, i) for i in record.mention_ids]
        found.append(
            {
                "id": str(record.id),
                "content": record.content,
                "starts_at": iso(record.starts_at) if record.starts_at else None,
                "ends_at": iso(record.ends_at) if record.ends_at else None,
                "all_day": record.all_day,
                "published_at": iso(record.published_at),
                "updated_at": iso(record.updated_at),
                "read": record.id in dismissed,
                "mentions": [
                    {
                        "id": str(a.id),
                        "username": a.username,
                        "url": a.url or a.uri,
                        "acct": _acct(a),
                    }
                    for a in mentioned
                    if a is not None
                ],
                "statuses": [],
                "tags": [{"name": name, "url": uris.tag(name)} for name in record.tags],
                "emojis": [],
                "reactions": [
                    {"name": r.name, "count": r.count, "me": r.me, "url": None, "static_url": None}
                    for r in reactions.get(record.id, [])
                ],
            }
        )
    return found


def _path_id(request: Request) -> int:
    """The id in the path; 404 for anything that is not one (Mastodon's answer)."""
    try:
        return id_param(request.path_params["id"], "id") or 0
    except HTTPException as error:
        raise HTTPException(404, "Record not found") from error


async def _entity(svc: Services, record: AnnouncementRecord, caller: Caller) -> dict[str, Any]:
    async with svc.db.read() as conn:
        return (await entities(conn, [record], svc.uris, reader=caller.account))[0]


async def _shown(svc: Services, request: Request) -> AnnouncementRecord:
    """The announcement named in the path, if readers may see it (not withdrawn); else 404."""
    announcement_id = _path_id(request)
    async with svc.db.read() as conn:
        record = await stored.get_by_id(conn, announcement_id)
    if record is None or record.withdrawn_at is not None or not from_peers(svc, [record]):
        raise HTTPException(404, "Record not found")
    return record


# ----- readers -------------------------------------------------------------------------------


async def list_announcements(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read")
    with_dismissed = flag(request.query_params.get("with_dismissed"))
    async with svc.db.read() as conn:
        records = await stored.active(
            conn, svc.clock(), account_id=caller.account.id, with_dismissed=with_dismissed
        )
        found = await entities(conn, from_peers(svc, records), svc.uris, reader=caller.account)
    return FastJSONResponse(found)


async def dismiss(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:accounts")
    record = await _shown(svc, request)
    async with svc.db.transaction() as conn:
        await stored.dismiss(conn, record.id, caller.account.id, svc.clock())
    return FastJSONResponse({})


async def _reaction(request: Request, add: bool) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:favourites")
    record = await _shown(svc, request)
    name = request.path_params["name"]
    if not is_unicode_emoji(name):
        raise HTTPException(422, "Validation failed: Name is not a recognized emoji")
    async with svc.db.transaction() as conn:
        if add:
            await stored.add_reaction(conn, record.id, caller.account.id, name, svc.clock())
        else:
            await stored.remove_reaction(conn, record.id, caller.account.id, name)
    svc.streaming.poke()
    return FastJSONResponse({})


async def add_reaction(request: Request) -> Response:
    return await _reaction(request, True)


async def remove_reaction(request: Request) -> Response:
    return await _reaction(request, False)


# ----- management ----------------------------------------------------------------------------


async def _announcer(request: Request, *, write: bool) -> tuple[Services, Caller]:
    """The caller if they may manage announcements with this token; else 403."""
    svc = services(request)
    caller = await authenticate(request, svc, "read")
    needed = ("write", "admin:write") if write else ("read", "admin:read")
    if not any(caller.allows(scope) for scope in needed):
        raise HTTPException(403, "This action is outside the authorized scopes")
    async with svc.db.read() as conn:
        allowed = await may_announce(conn, caller.user)
    if not allowed:
        raise HTTPException(403, "This action is not allowed")
    return svc, caller


def _time(params: dict[str, Any], name: str) -> datetime | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise HTTPException(422, f"Validation failed: {name} is not a date and time")
    return parsed


async def _draft(request: Request) -> Draft:
    params = await body_params(request)
    return Draft(
        text=text(params.get("text"), "text"),
        starts_at=_time(params, "starts_at"),
        ends_at=_time(params, "ends_at"),
        all_day=flag(params.get("all_day")),
    )


def _editor(caller: Caller) -> Editor:
    return Editor(caller.account, "api")


async def managed(request: Request) -> Response:
    """This division's announcements not withdrawn: scheduled, showing and ended."""
    svc, caller = await _announcer(request, write=False)
    async with svc.db.read() as conn:
        records = await stored.managed(conn)
        found = await entities(conn, records, svc.uris, reader=caller.account)
    return FastJSONResponse(found)


async def publish(request: Request) -> Response:
    svc, caller = await _announcer(request, write=True)
    draft = await _draft(request)
    try:
        record = await publisher_of(svc).publish(_editor(caller), draft)
    except AnnouncementError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return FastJSONResponse(await _entity(svc, record, caller))


async def edit(request: Request) -> Response:
    svc, caller = await _announcer(request, write=True)
    announcement_id = _path_id(request)
    draft = await _draft(request)
    try:
        record = await publisher_of(svc).edit(_editor(caller), announcement_id, draft)
    except UnknownAnnouncement as error:
        raise HTTPException(404, "Record not found") from error
    except AnnouncementError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return FastJSONResponse(await _entity(svc, record, caller))


async def withdraw(request: Request) -> Response:
    svc, caller = await _announcer(request, write=True)
    announcement_id = _path_id(request)
    try:
        await publisher_of(svc).withdraw(_editor(caller), announcement_id)
    except UnknownAnnouncement as error:
        raise HTTPException(404, "Record not found") from error
    return FastJSONResponse({})


routes = [
    Route("/api/v1/announcements", list_announcements, methods=["GET"]),
    Route("/api/v1/announcements/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v1/announcements/{id}/reactions/{name}", add_reaction, methods=["PUT"]),
    Route("/api/v1/announcements/{id}/reactions/{name}", remove_reaction, methods=["DELETE"]),
    Route("/api/v1/admin/announcements", managed, methods=["GET"]),
    Route("/api/v1/admin/announcements", publish, methods=["POST"]),
    Route("/api/v1/admin/announcements/{id}", edit, methods=["PUT"]),
    Route("/api/v1/admin/announcements/{id}", withdraw, methods=["DELETE"]),
]
