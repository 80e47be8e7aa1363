"""Actor documents: `/users/{name}` for peers, `/@{name}` for people, `/actor` for the instance.

With `federation.authorized_fetch`, user actors are served only on a signed GET from a
permitted peer. The instance actor is always served: peers need its key to verify our
signed fetches, and must be able to fetch it unsigned. Otherwise a user's document comes
from one query and is rendered again only when its account's row changed
(`watercooler.documents`).
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from outbox.actors import actor_document, minimal_actor_document, note_html
from store.records import AccountRecord, KeyRecord
from watercooler.documents import activity_bytes, actor_bytes, kept_actor
from watercooler.http import activity_json, services, wants_activity_json
from watercooler.local import instance_actor, local_actor
from watercooler.signed import verify_signed


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
    wanted = wants_activity_json(request)
    if wanted and (kept := await kept_actor(svc, username)) is not None:
        return kept
    account, key = await local_actor(svc, username)
    if wanted:
        return await _actor_response(request, account, key)
    return HTMLResponse(_profile_html(account, svc.config.instance.domain))


async def instance_actor_endpoint(request: Request) -> Response:
    svc = services(request)
    account, key = await instance_actor(svc)
    if not wants_activity_json(request):
        return RedirectResponse(svc.uris.about, status_code=302)
    return activity_json(actor_document(account, key, svc.uris))


async def about_page(request: Request) -> Response:
    svc = services(request)
    name = escape(svc.config.instance.name)
    domain = escape(svc.config.instance.domain)
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{name}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{name}</h1><p>A Watercooler instance at {domain}.</p></main>"
        "</body></html>"
    )


def _profile_html(account: AccountRecord, domain: str) -> str:
    """A plain, escaped profile page; the full web pages come with the web UI."""
    name = escape(account.display_name or account.username)
    handle = escape(f"@{account.username}@{domain}")
    actor = escape(account.uri, quote=True)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{name} ({handle})</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="alternate" type="application/activity+json" href="{actor}">'
        f'</head><body><main><h1>{name}</h1><p class="handle">{handle}</p>'
        f"{note_html(account.note)}</main></body></html>"
    )


routes = [
    Route("/users/{username:str}", user_actor),
    Route("/@{username:str}", profile_page),
    Route("/actor", instance_actor_endpoint),
    Route("/about", about_page),
    Route("/", about_page),
]
