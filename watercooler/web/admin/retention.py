"""/web/admin/retention: the retention policy (set, off, run now), its recent runs, and the
legal holds (make, release, with the number of copies each keeps).

The same code as the admin API and the CLI (watercooler.retention, watercooler.holds), so
every change is audited (origin 'web'); every form carries its CSRF token (`read_form`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import accounts, legal_holds, retention
from store.retention import VISIBILITIES
from watercooler.holds import HoldError, UnknownHold, create_hold, handle, release_hold
from watercooler.http import services
from watercooler.retention import RetentionError, set_policy, turn_off
from watercooler.web.admin.base import actor, done, field, notice, show
from watercooler.web.pages import page, read_form, require_admin
from watercooler.web.session import WebUser
from watercooler.web.timelines import VISIBILITY_LABELS

PATH = "/web/admin/retention"
NOTICES = {
    "saved": "Retention policy saved.",
    "unchanged": "Nothing changed.",
    "off": "Retention is off.",
    "ran": "Run done: {name}.",
    "held": "Hold made: {name}.",
    "released": "Hold released: {name}.",
}


async def _show(request: Request, viewer: WebUser, *, status: int = 200, **extra: Any) -> Response:
    svc = services(request)
    async with svc.db.read() as conn:
        policy = await retention.get_policy(conn)
        runs = await retention.recent_runs(conn, 10)
        holds = await legal_holds.list_holds(conn)
        counts = await legal_holds.preserved_counts(conn)
        owners = await accounts.get_many(
            conn, [h.account_id for h in holds if h.account_id is not None]
        )
    context = {
        "policy": policy,
        "runs": runs,
        "holds": holds,
        "counts": counts,
        "owners": {id_: handle(account) for id_, account in owners.items()},
        "visibilities": {v: VISIBILITY_LABELS.get(v, v) for v in VISIBILITIES},
        "chosen": set(policy.applies_to) if policy else set(VISIBILITIES),
        "notice": notice(request, NOTICES),
        "entered": {},
        **extra,
    }
    return await show(request, "retention.html", context, viewer=viewer, status=status)


@page
async def retention_page(request: Request) -> Response:
    return await _show(request, await require_admin(request))


def _visibilities(form: dict[str, Any]) -> list[str]:
    value = form.get("visibilities", [])
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


@page
async def save_policy(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    chosen = _visibilities(form)
    svc = services(request)
    if not chosen:
        return await _show(
            request, viewer, status=422, error="Choose at least one visibility to delete."
        )
    async with svc.db.read() as conn:
        before = await retention.get_policy(conn)
    try:
        policy = await set_policy(
            svc.db, actor(viewer), field(form, "days", 10), chosen, svc.clock()
        )
    except RetentionError as error:
        return await _show(request, viewer, status=422, error=str(error))
    return done(PATH, "unchanged" if policy == before else "saved")


@page
async def policy_off(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    svc = services(request)
    await turn_off(svc.db, actor(viewer), svc.clock())
    return done(PATH, "off")


@page
async def run_now(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    svc = services(request)
    result = await svc.workers.retention.run(actor=actor(viewer))
    if result.run_id is None:
        return await _show(request, viewer, status=422, error="Retention is off: set it first.")
    summary = f"{result.deleted} deleted, {result.purged} remote copies purged"
    summary += f", {result.held} kept by holds" + (" (more left)" if result.more else "")
    return done(PATH, "ran", summary)


@page
async def add_hold(request: Request) -> Response:
    viewer = await require_admin(request)
    form = await read_form(request)
    svc = services(request)
    kind = field(form, "kind", 10)
    target = field(form, "target", 500)
    try:
        hold = await create_hold(
            svc.db,
            actor(viewer),
            local_domain=svc.config.instance.domain,
            now=svc.clock(),
            reason=field(form, "reason", 2000),
            account=target if kind == "account" else None,
            query=target if kind == "query" else None,
            name=field(form, "name", 200),
        )
    except HoldError as error:
        entered = {
            "kind": kind,
            "target": target,
            "name": field(form, "name"),
            "reason": field(form, "reason", 2000),
        }
        return await _show(request, viewer, status=422, error=str(error), entered=entered)
    return done(PATH, "held", hold.name)


@page
async def release(request: Request) -> Response:
    viewer = await require_admin(request)
    await read_form(request)
    svc = services(request)
    raw = request.path_params["id"]
    try:
        if not raw.isdigit() or len(raw) > 19:
            raise UnknownHold(f"No hold {raw[:20]}")
        released = await release_hold(svc.db, actor(viewer), int(raw), now=svc.clock())
    except UnknownHold as error:
        return await _show(request, viewer, status=404, error=str(error))
    return done(PATH, "released", f"{released.hold.name}, {released.erased} copies erased")


routes = [
    Route(PATH, retention_page, methods=["GET"]),
    Route(PATH, save_policy, methods=["POST"]),
    Route(f"{PATH}/off", policy_off, methods=["POST"]),
    Route(f"{PATH}/run", run_now, methods=["POST"]),
    Route("/web/admin/holds", add_hold, methods=["POST"]),
    Route("/web/admin/holds/{id}/release", release, methods=["POST"]),
]
