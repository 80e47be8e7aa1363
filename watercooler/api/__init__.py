"""The Mastodon-compatible client API: `routes` for the app, and `not_found`, the route that
must come last so that any other `/api/...` path answers Mastodon's 404 JSON, not HTML."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watercooler.api import (
    accounts,
    admin_accounts,
    admin_audit,
    admin_ediscovery,
    admin_moves,
    admin_org,
    admin_peers,
    admin_reports,
    admin_retention,
    admin_sso,
    announcements,
    communities,
    conversations,
    filters,
    instance,
    lists,
    media,
    notifications,
    pins,
    polls,
    questions,
    reports,
    search,
    statuses,
    streaming,
    timelines,
)
from watercooler.http import error_response

routes = [
    *instance.routes,
    *announcements.routes,
    *accounts.routes,
    *statuses.routes,
    *timelines.routes,
    *notifications.routes,
    *search.routes,
    *media.routes,
    *lists.routes,
    *conversations.routes,
    *pins.routes,
    *polls.routes,
    *communities.routes,
    *questions.routes,
    *filters.routes,
    *streaming.routes,
    *admin_peers.routes,
    *admin_ediscovery.routes,
    *admin_audit.routes,
    *admin_retention.routes,
    *admin_moves.routes,
    *admin_accounts.routes,
    *admin_reports.routes,
    *reports.routes,
    *admin_org.routes,
    *admin_sso.routes,
]


async def _not_found(request: Request) -> Response:
    return error_response(404, "Record not found")


not_found = Route(
    "/api/{path:path}",
    _not_found,
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
)
