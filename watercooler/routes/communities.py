"""The ActivityPub documents only a community (FEP-1b12 group) has: its moderators
collection (`attributedTo`, as Lemmy reads it) and its featured collection of pinned posts.

A group pins its members' posts, not its own, so its featured collection lists the posts by
their ids (peers fetch each from its origin, where its visibility is enforced again) and only
those the requester may see: unsigned, public and unlisted ones; a signer on a peer,
organisation ones too. Local-only posts are never listed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.groups import is_group
from store import communities, statuses
from store.errors import NotFound
from store.records import AccountRecord
from watercooler.http import activity_json, services
from watercooler.local import local_actor
from watercooler.services import Services
from watercooler.visibility import can_see

AS = "https://www.w3.org/ns/activitystreams"


async def moderators_collection(request: Request) -> Response:
    svc = services(request)
    account, _ = await local_actor(svc, request.path_params["username"])
    if not is_group(account):
        raise NotFound("no such collection")
    async with svc.db.read() as conn:
        items = await communities.moderator_uris(conn, account.id)
    return activity_json(
        {
            "@context": AS,
            "id": svc.uris.moderators(account.username),
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }
    )


async def featured_document(svc: Services, group: AccountRecord, viewer: int | None) -> Response:
    """The group's pinned posts, latest pin first, by id (see the module)."""
    items: list[str] = []
    async with svc.db.read() as conn:
        for status_id in await communities.pinned_ids(conn, group.id):
            status = await statuses.get_by_id(conn, status_id)
            if status is None or status.local_only:
                continue
            if await can_see(conn, status, viewer, is_peer=svc.policy.is_peer):
                items.append(status.uri)
    return activity_json(
        {
            "@context": AS,
            "id": group.featured_url or svc.uris.featured(group.username),
            "type": "OrderedCollection",
            "totalItems": len(items),
            "orderedItems": items,
        }
    )


routes = [Route("/users/{username:str}/moderators", moderators_collection)]
