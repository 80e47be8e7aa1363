"""`GET /api/v1/admin/org`: the org manifest in force and the manifests refused lately.

Admins only, like the rest of the peering admin API. What `watercooler org status` prints,
as JSON; the signed document is included so it can be checked or passed on by hand.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store.org_manifest import ManifestRefusal
from watercooler.api.admin_auth import admin_caller as _admin
from watercooler.api.entities import iso
from watercooler.http import FastJSONResponse
from watercooler.org_manifest import OrgState, org_state

REFUSALS_SHOWN = 40


def refusal_entity(refusal: ManifestRefusal) -> dict[str, Any]:
    return {
        "refused_at": iso(refusal.refused_at),
        "source": refusal.source,
        "serial": refusal.serial,
        "reason": refusal.reason,
        "detail": refusal.detail,
    }


def org_entity(state: OrgState, *, own_domain: str, public_keys: tuple[str, ...]) -> dict[str, Any]:
    """`manifest` is null until one is adopted; `refusals` newest first."""
    adopted, manifest = state.adopted, state.manifest
    in_force = None
    if adopted is not None and manifest is not None:
        in_force = {
            "serial": adopted.serial,
            "organisation": manifest.organisation,
            "issued": iso(manifest.issued) if manifest.issued else None,
            "adopted_at": iso(adopted.adopted_at),
            "source": adopted.source,
            "relayed_at": iso(adopted.relayed_at) if adopted.relayed_at else None,
            "divisions": [
                {"domain": d.domain, "name": d.name, "this_instance": d.domain == own_domain}
                for d in manifest.divisions
            ],
            "document": manifest.document,
        }
    return {
        "public_keys": list(public_keys),
        "manifest": in_force,
        "refusals": [refusal_entity(r) for r in state.refusals],
    }


async def get_org(request: Request) -> Response:
    svc, _ = await _admin(request, "admin:read:domain_allows")
    state = await org_state(svc.db, refusals=REFUSALS_SHOWN)
    config = svc.config
    return FastJSONResponse(
        org_entity(state, own_domain=config.instance.domain, public_keys=config.org.public_keys)
    )


routes = [Route("/api/v1/admin/org", get_org, methods=["GET"])]
