"""Discovery: WebFinger, host-meta and NodeInfo, answered as Mastodon peers expect."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation import nodeinfo, webfinger
from store import statuses, users
from store.errors import NotFound
from watercooler import __version__
from watercooler.http import FastJSONResponse, error_response, services
from watercooler.local import instance_actor, local_actor

_CORS = {"Access-Control-Allow-Origin": "*"}


async def webfinger_endpoint(request: Request) -> Response:
    svc = services(request)
    domain = svc.config.instance.domain
    try:
        ref = webfinger.parse_resource(
            request.query_params.get("resource"), domain=domain, uris=svc.uris
        )
    except webfinger.BadResource as error:
        return error_response(400, str(error))
    if ref.instance_actor:
        account, _ = await instance_actor(svc)
        jrd = webfinger.account_jrd(
            username=domain, domain=domain, actor_uri=account.uri, profile_url=svc.uris.about
        )
    elif ref.username is None:
        raise NotFound("no such account on this instance")
    else:
        account, _ = await local_actor(svc, ref.username)
        jrd = webfinger.account_jrd(
            username=account.username,
            domain=domain,
            actor_uri=account.uri,
            profile_url=account.url or svc.uris.profile(account.username),
        )
    return FastJSONResponse(jrd, media_type=webfinger.JRD_CONTENT_TYPE, headers=_CORS)


async def host_meta(request: Request) -> Response:
    svc = services(request)
    return Response(
        webfinger.host_meta_xrd(svc.uris), media_type=webfinger.XRD_CONTENT_TYPE, headers=_CORS
    )


async def host_meta_json(request: Request) -> Response:
    return FastJSONResponse(webfinger.host_meta_json(services(request).uris), headers=_CORS)


async def nodeinfo_links(request: Request) -> Response:
    return FastJSONResponse(nodeinfo.well_known(services(request).uris), headers=_CORS)


async def nodeinfo_document(request: Request) -> Response:
    version = request.path_params["version"]
    if version not in nodeinfo.VERSIONS:
        raise NotFound(f"no NodeInfo version {version}")
    svc = services(request)
    now = svc.clock()
    async with svc.db.read() as conn:
        usage = nodeinfo.Usage(
            users_total=await users.count_active(conn),
            users_active_month=await users.count_active_since(conn, now - timedelta(days=30)),
            users_active_halfyear=await users.count_active_since(conn, now - timedelta(days=180)),
            local_posts=await statuses.count_local(conn),
        )
    document = nodeinfo.document(
        version,
        software_version=__version__,
        node_name=svc.config.instance.name,
        federation_mode=svc.config.federation.mode,
        usage=usage,
    )
    return FastJSONResponse(document, media_type=nodeinfo.content_type(version), headers=_CORS)


routes = [
    Route("/.well-known/webfinger", webfinger_endpoint),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/host-meta.json", host_meta_json),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/{version}", nodeinfo_document),
]
