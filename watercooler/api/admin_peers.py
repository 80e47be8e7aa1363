"""The admin API for peering: Mastodon's `domain_allows` (its limited-federation mode is our
allowlist) and `domain_blocks`, plus `/api/v1/admin/peers` with each peer's status and
`/api/v1/admin/refusals` with what the policy refused, per domain.

Only admins (a user with the admin flag, with the `admin:*` scope) may call these. Changes
go through `watercooler.admin` (each one written to the audit log, origin 'api') and reach
the running policy at once, not at the next poll. A domain allow's and a
domain block's `id` is its domain: the peer list is keyed by domain, and clients treat ids
as opaque strings.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.policy import normalise_domain, valid_domain
from store import peers
from store.peers import DomainBlockRecord, PeerRecord
from watercooler.admin import Actor, AdminActions, AdminError, Missing
from watercooler.api.admin_auth import admin_caller as _admin
from watercooler.api.entities import iso
from watercooler.api.forms import body_params
from watercooler.auth import Caller
from watercooler.http import FastJSONResponse
from watercooler.peering import PeerStatus, peer_statuses
from watercooler.services import Services

# Mastodon's severities, and ours: Mastodon's `suspend` is our `reject`.
_TO_OURS = {"suspend": "reject", "silence": "silence"}
_TO_MASTODON = {ours: theirs for theirs, ours in _TO_OURS.items()}


def _actor(caller: Caller) -> Actor:
    """Who the audit log names for an API call: the token's user."""
    return Actor.of_user(caller.user, "api")


def _domain(value: Any) -> str:
    if not isinstance(value, str) or not valid_domain(value):
        raise HTTPException(422, "Validation failed: Domain is not a valid domain name")
    return normalise_domain(value)


def allow_entity(peer: PeerRecord) -> dict[str, Any]:
    """Mastodon's Admin::DomainAllow."""
    return {"id": peer.domain, "domain": peer.domain, "created_at": iso(peer.added_at)}


def block_entity(block: DomainBlockRecord) -> dict[str, Any]:
    """Mastodon's Admin::DomainBlock (our `reject` is its `suspend`)."""
    return {
        "id": block.domain,
        "domain": block.domain,
        "created_at": iso(block.created_at),
        "severity": _TO_MASTODON[block.severity],
        "reject_media": block.severity == "reject",
        "reject_reports": block.severity == "reject",
        "private_comment": block.reason or None,
        "public_comment": None,
        "obfuscate": False,
    }


def status_entity(status: PeerStatus) -> dict[str, Any]:
    """A peer with its link and queue, as `watercooler peer status` shows it."""
    peer = status.peer
    return {
        "domain": peer.domain,
        "name": peer.name,
        "source": peer.source,
        "added_at": iso(peer.added_at),
        "instance_actor": peer.actor_uri,
        "following": status.link.outgoing,
        "followed_by": status.link.incoming,
        "last_success_at": iso(status.last_success_at) if status.last_success_at else None,
        "queued": status.queued,
        "dead": status.dead,
        "signature_failures": status.signature_failures,
        "last_error": status.last_error,
    }


# ----- domain allows (the peer list) -----------------------------------------------------


async def list_allows(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_allows")
    async with svc.db.read() as conn:
        listed = await peers.all_peers(conn)
    return FastJSONResponse([allow_entity(p) for p in listed])


async def get_allow(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_allows")
    async with svc.db.read() as conn:
        found = await peers.get(conn, normalise_domain(request.path_params["id"]))
    if found is None:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse(allow_entity(found))


async def create_allow(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write:domain_allows")
    params = await body_params(request)
    domain = _domain(params.get("domain"))
    name = params.get("name") if isinstance(params.get("name"), str) else None
    await AdminActions.of(svc).add_peer(_actor(caller), domain, name=name)
    async with svc.db.read() as conn:
        found = await peers.get(conn, domain)
    assert found is not None
    return FastJSONResponse(allow_entity(found))


async def delete_allow(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write:domain_allows")
    try:
        await AdminActions.of(svc).remove_peer(_actor(caller), request.path_params["id"])
    except AdminError as error:
        raise HTTPException(404 if isinstance(error, Missing) else 422, str(error)) from error
    return FastJSONResponse({})


# ----- peers with their status, and refusals --------------------------------------------


async def list_peers(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_allows")
    await svc.peering.flush_counts()  # signature failures up to this request
    return FastJSONResponse([status_entity(s) for s in await peer_statuses(svc.db)])


async def list_refusals(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_allows")
    await svc.peering.flush_counts()  # what was refused up to this request
    async with svc.db.read() as conn:
        counted = await peers.counters(conn)
    return FastJSONResponse(
        [
            {"domain": c.domain, "kind": c.kind, "count": c.count, "last_at": iso(c.last_at)}
            for c in counted
        ]
    )


# ----- domain blocks ---------------------------------------------------------------------


def _severity(value: Any) -> str:
    if value is None:
        return "reject"
    if value not in _TO_OURS:
        raise HTTPException(422, "Validation failed: Severity must be silence or suspend")
    return _TO_OURS[value]


async def _block_of(svc: Services, domain: str) -> DomainBlockRecord:
    async with svc.db.read() as conn:
        for block in await peers.all_blocks(conn):
            if block.domain == domain:
                return block
    raise HTTPException(404, "Record not found")


async def list_blocks(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_blocks")
    async with svc.db.read() as conn:
        blocks = await peers.all_blocks(conn)
    return FastJSONResponse([block_entity(b) for b in blocks])


async def get_block(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_blocks")
    return FastJSONResponse(
        block_entity(await _block_of(svc, normalise_domain(request.path_params["id"])))
    )


async def create_block(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write:domain_blocks")
    params = await body_params(request)
    domain = _domain(params.get("domain"))
    severity = _severity(params.get("severity"))
    reason = params.get("private_comment")
    block = await AdminActions.of(svc).block_domain(
        _actor(caller), domain, severity=severity, reason=reason if isinstance(reason, str) else ""
    )
    return FastJSONResponse(block_entity(block))


async def update_block(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write:domain_blocks")
    current = await _block_of(svc, normalise_domain(request.path_params["id"]))
    params = await body_params(request)
    severity = _severity(params.get("severity", _TO_MASTODON[current.severity]))
    reason = params.get("private_comment", current.reason)
    block = await AdminActions.of(svc).block_domain(
        _actor(caller),
        current.domain,
        severity=severity,
        reason=reason if isinstance(reason, str) else "",
    )
    return FastJSONResponse(block_entity(block))


async def delete_block(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write:domain_blocks")
    try:
        await AdminActions.of(svc).unblock_domain(_actor(caller), request.path_params["id"])
    except AdminError as error:
        raise HTTPException(404, "Record not found") from error
    return FastJSONResponse({})


routes = [
    Route("/api/v1/admin/domain_allows", list_allows, methods=["GET"]),
    Route("/api/v1/admin/domain_allows", create_allow, methods=["POST"]),
    Route("/api/v1/admin/domain_allows/{id}", get_allow, methods=["GET"]),
    Route("/api/v1/admin/domain_allows/{id}", delete_allow, methods=["DELETE"]),
    Route("/api/v1/admin/domain_blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks", create_block, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/{id}", get_block, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks/{id}", update_block, methods=["PUT"]),
    Route("/api/v1/admin/domain_blocks/{id}", delete_block, methods=["DELETE"]),
    Route("/api/v1/admin/peers", list_peers, methods=["GET"]),
    Route("/api/v1/admin/refusals", list_refusals, methods=["GET"]),
]
