"""The admin API for retention and legal holds (a Watercooler extension: Mastodon has none).

    GET    /api/v1/admin/retention                     the policy and the latest runs
    PUT    /api/v1/admin/retention                     days, visibilities[] (none: all)
    DELETE /api/v1/admin/retention                     retention off
    POST   /api/v1/admin/retention/run                 one run now
    GET    /api/v1/admin/legal_holds                   holds (active first)
    POST   /api/v1/admin/legal_holds                   account | query, reason, name
    GET    /api/v1/admin/legal_holds/{id}              one hold
    POST   /api/v1/admin/legal_holds/{id}/release      release it (its lone copies erased)
    GET    /api/v1/admin/legal_holds/{id}/preserved    the copies it keeps (max_id paging)

Admins only (the admin flag, with `admin:read` / `admin:write`); every change is audited
(origin 'api') by watercooler.retention and watercooler.holds, the code the web page and the
CLI use too.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, legal_holds, retention
from store.legal_holds import HoldRecord, PreservedStatus
from store.retention import RetentionPolicy, RetentionRun
from watercooler.admin import Actor
from watercooler.api.admin_auth import admin_caller as _admin
from watercooler.api.entities import iso
from watercooler.api.forms import body_params
from watercooler.auth import Caller
from watercooler.holds import HoldError, UnknownHold, create_hold, handle, release_hold
from watercooler.http import FastJSONResponse
from watercooler.retention import RetentionError, RunResult, set_policy, turn_off
from watercooler.services import Services

PRESERVED_PAGE = 40


def _actor(caller: Caller) -> Actor:
    return Actor.of_user(caller.user, "api")


def run_entity(run: RetentionRun) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at) if run.finished_at else None,
        "cutoff": iso(run.cutoff),
        "deleted": run.deleted,
        "purged_remote": run.purged,
        "skipped_held": run.held,
        "more": run.more,
    }


def policy_entity(policy: RetentionPolicy | None, runs: list[RetentionRun]) -> dict[str, Any]:
    return {
        "enabled": policy is not None,
        "days": policy.days if policy else None,
        "visibilities": list(policy.applies_to) if policy else [],
        "updated_at": iso(policy.updated_at) if policy else None,
        "runs": [run_entity(run) for run in runs],
    }


async def hold_entity(svc: Services, hold: HoldRecord, preserved: int) -> dict[str, Any]:
    account = None
    if hold.account_id is not None:
        async with svc.db.read() as conn:
            found = await accounts.get_by_id(conn, hold.account_id)
        if found is not None:
            account = {"id": str(found.id), "acct": handle(found), "uri": found.uri}
    return {
        "id": str(hold.id),
        "name": hold.name,
        "reason": hold.reason,
        "kind": hold.kind,
        "account": account,
        "query": hold.query,
        "active": hold.active,
        "created_at": iso(hold.created_at),
        "created_by": hold.created_by,
        "released_at": iso(hold.released_at) if hold.released_at else None,
        "released_by": hold.released_by,
        "preserved_count": preserved,
    }


def preserved_entity(copy: PreservedStatus) -> dict[str, Any]:
    return {
        "status_id": str(copy.status_id),
        "uri": copy.uri,
        "account_id": str(copy.account_id),
        "local": copy.local,
        "visibility": copy.visibility,
        "created_at": iso(copy.created_at),
        "preserved_at": iso(copy.preserved_at),
        "hold_ids": [str(i) for i in copy.hold_ids],
        "snapshot": copy.snapshot,
    }


async def _policy_response(svc: Services) -> Response:
    async with svc.db.read() as conn:
        policy = await retention.get_policy(conn)
        runs = await retention.recent_runs(conn, 10)
    return FastJSONResponse(policy_entity(policy, runs))


# ----- retention -----------------------------------------------------------------------------


async def show_policy(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read")
    return await _policy_response(svc)


async def change_policy(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write")
    params = await body_params(request)
    try:
        await set_policy(
            svc.db, _actor(caller), params.get("days"), params.get("visibilities"), svc.clock()
        )
    except RetentionError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return await _policy_response(svc)


async def policy_off(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write")
    await turn_off(svc.db, _actor(caller), svc.clock())
    return await _policy_response(svc)


async def run_now(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write")
    result: RunResult = await svc.workers.retention.run(actor=_actor(caller))
    if result.run_id is None:
        raise HTTPException(422, "Retention is off: set a policy first")
    async with svc.db.read() as conn:
        run = await retention.get_run(conn, result.run_id)
    assert run is not None
    return FastJSONResponse(run_entity(run))


# ----- legal holds -------------------------------------------------------------------------


def _hold_id(request: Request) -> int:
    value = request.path_params["id"]
    if not value.isdigit() or len(value) > 19:
        raise HTTPException(404, "Record not found")
    return int(value)


async def list_holds(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read")
    active_only = request.query_params.get("active") in ("true", "1")
    async with svc.db.read() as conn:
        holds = await legal_holds.list_holds(conn, active_only=active_only)
        counts = await legal_holds.preserved_counts(conn)
    return FastJSONResponse([await hold_entity(svc, h, counts.get(h.id, 0)) for h in holds])


async def get_hold(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read")
    async with svc.db.read() as conn:
        hold = await legal_holds.get(conn, _hold_id(request))
        counts = await legal_holds.preserved_counts(conn)
    if hold is None:
        raise HTTPException(404, "Record not found")
    return FastJSONResponse(await hold_entity(svc, hold, counts.get(hold.id, 0)))


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


async def add_hold(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write")
    params = await body_params(request)
    try:
        hold = await create_hold(
            svc.db,
            _actor(caller),
            local_domain=svc.config.instance.domain,
            now=svc.clock(),
            reason=_text(params, "reason"),
            account=_text(params, "account") or None,
            query=_text(params, "query") or None,
            name=_text(params, "name"),
        )
    except HoldError as error:
        raise HTTPException(422, f"Validation failed: {error}") from error
    return FastJSONResponse(await hold_entity(svc, hold, 0))


async def release(request: Request) -> Response:
    svc, caller = await _admin(request, "admin:write")
    try:
        released = await release_hold(svc.db, _actor(caller), _hold_id(request), now=svc.clock())
    except UnknownHold as error:
        raise HTTPException(404, str(error)) from error
    entity = await hold_entity(svc, released.hold, 0)
    return FastJSONResponse({**entity, "erased_count": released.erased})


async def list_preserved(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read")
    hold_id = _hold_id(request)
    after = request.query_params.get("since_id", "0")
    async with svc.db.read() as conn:
        if await legal_holds.get(conn, hold_id) is None:
            raise HTTPException(404, "Record not found")
        copies = await legal_holds.preserved(
            conn,
            hold_id=hold_id,
            after_id=int(after) if after.isdigit() and len(after) < 20 else 0,
            limit=PRESERVED_PAGE,
        )
    return FastJSONResponse([preserved_entity(c) for c in copies])


routes = [
    Route("/api/v1/admin/retention", show_policy, methods=["GET"]),
    Route("/api/v1/admin/retention", change_policy, methods=["PUT", "POST"]),
    Route("/api/v1/admin/retention", policy_off, methods=["DELETE"]),
    Route("/api/v1/admin/retention/run", run_now, methods=["POST"]),
    Route("/api/v1/admin/legal_holds", list_holds, methods=["GET"]),
    Route("/api/v1/admin/legal_holds", add_hold, methods=["POST"]),
    Route("/api/v1/admin/legal_holds/{id}", get_hold, methods=["GET"]),
    Route("/api/v1/admin/legal_holds/{id}/release", release, methods=["POST"]),
    Route("/api/v1/admin/legal_holds/{id}/preserved", list_preserved, methods=["GET"]),
]
