"""Actor documents: `/users/{name}` for peers, `/@{name}` for people, `/actor` for the instance.

With `federation.authorized_fetch`, user actors are served only on a signed GET from a
permitted peer. The instance actor is always served: peers need its key to verify our
signed fetches, and must be able to fetch it unsigned. Otherwise a user's document comes
from one query and is rendered again only when its account's row changed
(`watercooler.documents`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outbox.actors import actor_document, minimal_actor_document
from store.records import AccountRecord, KeyRecord
from watercooler.documents import activity_bytes, actor_bytes, kept_actor
from watercooler.http import activity_json, services, wants_activity_json
from watercooler.local import instance_actor, local_actor
from watercooler.signed import verify_signed
from watercooler.web import public


async def _actor_response(request: Request, account: AccountRecord, key: KeyRecord) -> Response:
    """The actor document; under authorized fetch the full one only to a signed peer, the
    key-carrying minimal one to anyone unsigned (else no one could verify our requests)."""
    svc = services(request)
    if svc.config.federation.authorized_fetch:
        if "signature" not in request.headers and "signature-input" not in request.headers:
            return activity_json(minimal_actor_document(account, key, svc.uris))
        await verify_signed(request, svc)
    return activity_bytes(await actor_bytes(svc, account, key))


async def user_actor(request: Request) -> Response:
    svc = services(request)
    username = request.path_params["username"]
    wanted = wants_activity_json(request)
    if wanted and (kept := await kept_actor(svc, username)) is not None:
        return kept
    account, key = await local_actor(svc, username)
    if not wanted:
        return RedirectResponse(svc.uris.profile(account.username), status_code=302)
    return await _actor_response(request, account, key)


async def profile_page(request: Request) -> Response:
    svc = services(request)
    username = request.path_params["username"]
    if not wants_activity_json(request):  # a browser: the public profile page
        return await public.profile_page(request, username)
    if (kept := await kept_actor(svc, username)) is not None:
        return kept
    account, key = await local_actor(svc, username)
    return await _actor_response(request, account, key)


async def instance_actor_endpoint(request: Request) -> Response:
    svc = services(request)
    account, key = await instance_actor(svc)
    if not wants_activity_json(request):
        return RedirectResponse(svc.uris.about, status_code=302)
    return activity_json(actor_document(account, key, svc.uris))


async def about_page(request: Request) -> Response:
    """`/` and `/about`: the instance's front page (watercooler/web/public.py)."""
    return await public.about_page(request)


routes = [
    Route("/users/{username:str}", user_actor),
    Route("/@{username:str}", profile_page),
    Route("/actor", instance_actor_endpoint),
    Route("/about", about_page),
    Route("/", about_page),
]
