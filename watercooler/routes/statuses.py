"""Status documents and the actor collections, served to peers with visibility enforced.

An organisation-only status is served only on a signed GET whose signer is on a peer
instance; a followers-only or direct one only on a signed GET whose signer may see it; a
local-only one never (it does not leave this instance). Anyone else gets 404, so its
existence is not revealed. A public or unlisted one comes from one query and a kept
rendering (`watercooler.documents`). Only public and unlisted posts, never local-only ones,
are in the outbox and on the HTML pages.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import activities
from store import accounts, follows, pins, statuses
from store.errors import NotFound
from store.records import AccountRecord, StatusRecord
from watercooler.documents import kept_note
from watercooler.http import Gone, activity_json, services, wants_activity_json
from watercooler.local import local_actor
from watercooler.routes import communities
from watercooler.services import Services
from watercooler.signed import verify_signed
from watercooler.visibility import PUBLICLY_READABLE, can_see
from watercooler.web import public

AS = "https://www.w3.org/ns/activitystreams"
PAGE_SIZE = 20


async def _viewer(request: Request, svc: Services, *, required: bool) -> int | None:
    """The account id of a signed request's signer; None for an unsigned one (401 when a
    signature is required by authorized fetch)."""
    signed = "signature" in request.headers or "signature-input" in request.headers
    if not signed and not required:
        return None
    verified = await verify_signed(request, svc)
    async with svc.db.read() as conn:
        account = await accounts.get_by_uri(conn, verified.owner)
    return account.id if account else None


async def _status(request: Request) -> tuple[Services, AccountRecord, StatusRecord]:
    svc = services(request)
    author, _ = await local_actor(svc, request.path_params["username"])
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, int(request.path_params["id"]))
    if status is None or status.account_id != author.id or status.reblog_of_id is not None:
        raise NotFound("no such status")
    if status.deleted_at is not None:
        raise Gone("status deleted")
    return svc, author, status


async def _visible(request: Request, svc: Services, status: StatusRecord) -> None:
    """Raise NotFound unless the requester may see `status` (unsigned: public ones only;
    organisation-only: a signer on a peer instance; local-only: no one, it stays here)."""
    if status.local_only:
        raise NotFound("no such status")
    needs_viewer = status.visibility not in PUBLICLY_READABLE
    required = svc.config.federation.authorized_fetch
    viewer = await _viewer(request, svc, required=required) if needs_viewer or required else None
    async with svc.db.read() as conn:
        if not await can_see(conn, status, viewer, is_peer=svc.policy.is_peer):
            raise NotFound("no such status")


async def _kept_note(request: Request) -> Response | None:
    if not wants_activity_json(request):
        return None
    params = request.path_params
    return await kept_note(services(request), params["username"], int(params["id"]))


async def status_document(request: Request) -> Response:
    if (kept := await _kept_note(request)) is not None:
        return kept
    svc, _, status = await _status(request)
    if not wants_activity_json(request):
        return RedirectResponse(status.url or status.uri, status_code=302)
    await _visible(request, svc, status)
    return activity_json(await svc.publisher.note_json(status))


async def status_page(request: Request) -> Response:
    """`/@name/ID`, the status's `url`: ActivityStreams for peers (same rules as its id), the
    public page for a browser (watercooler/web/public.py) — public and unlisted posts only,
    never local-only ones (the page is unsigned: anyone may read it)."""
    if (kept := await _kept_note(request)) is not None:
        return kept
    svc, author, status = await _status(request)
    if wants_activity_json(request):
        await _visible(request, svc, status)
        return activity_json(await svc.publisher.note_json(status))
    if status.visibility not in PUBLICLY_READABLE or status.local_only:
        raise NotFound("no such status")
    return await public.status_page(request, author, status)


async def status_activity(request: Request) -> Response:
    svc, author, status = await _status(request)
    await _visible(request, svc, status)
    note = await svc.publisher.note_json(status)
    return activity_json(activities.create(author.uri, note))


def _collection(id_: str, total: int, first: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": id_,
        "type": "OrderedCollection",
        "totalItems": total,
        "first": first,
    }


def _page(id_: str, part_of: str, items: list[Any], next_: str | None) -> dict[str, Any]:
    page: dict[str, Any] = {
        "@context": AS,
        "id": id_,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": items,
    }
    if next_:
        page["next"] = next_
    return page


async def outbox_collection(request: Request) -> Response:
    svc = services(request)
    author, _ = await local_actor(svc, request.path_params["username"])
    if svc.config.federation.authorized_fetch:
        await _viewer(request, svc, required=True)
    base = author.outbox_url or svc.uris.outbox(author.username)
    async with svc.db.read() as conn:
        total = await statuses.count_by_account(
            conn, author.id, PUBLICLY_READABLE, federated_only=True
        )
        if request.query_params.get("page") != "true":
            return activity_json(_collection(base, total, f"{base}?page=true"))
        max_id = request.query_params.get("max_id")
        page = await statuses.list_by_account(
            conn,
            author.id,
            visibilities=PUBLICLY_READABLE,
            max_id=int(max_id) if max_id and max_id.isdigit() else None,
            limit=PAGE_SIZE,
            federated_only=True,
        )
        items = []
        for status in page:
            if status.reblog_of_id is not None:
                original = await statuses.get_by_id(conn, status.reblog_of_id)
                if original is not None:
                    items.append(
                        activities.announce(
                            status.uri,
                            author.uri,
                            original.uri,
                            ["https://www.w3.org/ns/activitystreams#Public"],
                            [author.followers_url or svc.uris.followers(author.username)],
                            status.created_at,
                        )
                    )
                continue
            items.append(activities.create(author.uri, await svc.publisher.note_json(status)))
    next_ = f"{base}?page=true&max_id={page[-1].id}" if len(page) == PAGE_SIZE else None
    return activity_json(_page(f"{base}?{request.url.query}", base, items, next_))


async def _follow_collection(request: Request, *, followers: bool) -> Response:
    svc = services(request)
    account, _ = await local_actor(svc, request.path_params["username"])
    if svc.config.federation.authorized_fetch:
        await _viewer(request, svc, required=True)
    base = (
        (account.followers_url or svc.uris.followers(account.username))
        if followers
        else (account.following_url or svc.uris.following(account.username))
    )
    page_param = request.query_params.get("page")
    async with svc.db.read() as conn:
        total = await follows.count(conn, account.id, followers=followers)
        if page_param is None or not page_param.isdigit() or int(page_param) < 1:
            return activity_json(_collection(base, total, f"{base}?page=1"))
        number = int(page_param)
        items = await follows.page_of_uris(
            conn, account.id, followers=followers, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
    next_ = f"{base}?page={number + 1}" if number * PAGE_SIZE < total else None
    return activity_json(_page(f"{base}?page={number}", base, items, next_))


async def followers_collection(request: Request) -> Response:
    return await _follow_collection(request, followers=True)


async def following_collection(request: Request) -> Response:
    return await _follow_collection(request, followers=False)


async def featured_collection(request: Request) -> Response:
    """The pinned posts, latest pin first, as Mastodon serves them: one page of embedded
    Notes. Visibility as for the posts themselves: unsigned, public and unlisted ones only;
    a signed follower also sees followers-only pins, a signer on a peer organisation ones;
    local-only pins are never listed."""
    svc = services(request)
    account, _ = await local_actor(svc, request.path_params["username"])
    viewer = await _viewer(request, svc, required=svc.config.federation.authorized_fetch)
    if account.actor_type == "Group":  # a community pins its members' posts
        return await communities.featured_document(svc, account, viewer)
    base = account.featured_url or svc.uris.featured(account.username)
    async with svc.db.read() as conn:
        ids = await pins.pinned_ids(
            conn, account.id, visibilities=("public", "unlisted", "org", "private")
        )
        shown = []
        for status_id in ids:
            status = await statuses.get_by_id(conn, status_id)
            if status is None or status.local_only:
                continue
            if await can_see(conn, status, viewer, is_peer=svc.policy.is_peer):
                shown.append(status)
    items = []
    context: Any = AS
    for status in shown:
        note = await svc.publisher.note_json(status)
        if context == AS or note.get("orgOnly"):  # an org note's context has every term
            context = note.get("@context", context)  # the items' terms (sensitive, Hashtag...)
        items.append({key: value for key, value in note.items() if key != "@context"})
    document = {
        "@context": context,
        "id": base,
        "type": "OrderedCollection",
        "totalItems": len(items),
        "orderedItems": items,
    }
    return activity_json(document)


routes = [
    Route("/users/{username:str}/statuses/{id:int}", status_document),
    Route("/users/{username:str}/statuses/{id:int}/activity", status_activity),
    Route("/@{username:str}/{id:int}", status_page),
    Route("/users/{username:str}/outbox", outbox_collection, methods=["GET"]),
    Route("/users/{username:str}/followers", followers_collection),
    Route("/users/{username:str}/following", following_collection),
    Route("/users/{username:str}/collections/featured", featured_collection),
]
