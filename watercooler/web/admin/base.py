"""What every admin page shares: the admin check, the actor the audit log records, the
section navigation and the notices shown after a form.

Every endpoint starts with `require_admin` (anonymous -> sign-in, others -> 403), then reads
a POST with `read_form` (CSRF checked), so nothing is done for a forged or foreign form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from watercooler.admin import Actor, AdminActions
from watercooler.http import services
from watercooler.web.pages import render, see_other
from watercooler.web.session import WebUser

SECTIONS = (
    ("/web/admin", "Overview"),
    ("/web/admin/users", "Users"),
    ("/web/admin/accounts", "Accounts"),
    ("/web/admin/peers", "Peers"),
    ("/web/admin/queue", "Queue"),
    ("/web/admin/domain_blocks", "Domain blocks"),
    ("/web/admin/reports", "Reports"),
    ("/web/admin/settings", "Settings"),
    ("/web/admin/audit", "Audit log"),
    ("/web/admin/retention", "Retention & holds"),
    ("/web/admin/ediscovery", "eDiscovery"),
    ("/web/admin/sso", "Single sign-on"),
)
NAME_MAX = 253
SHARED = frozenset(
    {"viewer", "csrf_token", "instance_name", "domain", "path", "static"}
    | {"announcements", "can_announce"}  # the banner (watercooler.announcements)
    | {"can_moderate"}  # the Reports link of moderators (watercooler.web.reports)
)
"""What `pages.render` puts in every template: a page's own context must not hide it."""


def actor(viewer: WebUser) -> Actor:
    return Actor.of_user(viewer.user, "web")


def actions(request: Request) -> AdminActions:
    return AdminActions.of(services(request))


def field(form: Mapping[str, Any], name: str, limit: int = NAME_MAX) -> str:
    """A form field as bounded, stripped text ('' when missing)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def done(path: str, code: str, name: str = "") -> RedirectResponse:
    """After a form: back to `path`, where `code` picks the notice from the page's own list
    (nothing a link can forge but the name, which is shown escaped)."""
    query = {"done": code, **({"name": name[:NAME_MAX]} if name else {})}
    return see_other(f"{path}?{urlencode(query)}")


def notice(request: Request, messages: Mapping[str, str]) -> str | None:
    """The notice `done` asked for, if the page knows its code."""
    message = messages.get(request.query_params.get("done", ""))
    if message is None:
        return None
    return message.format(name=request.query_params.get("name", "")[:NAME_MAX])


async def show(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    viewer: WebUser,
    status: int = 200,
) -> HTMLResponse:
    """An admin page (`templates/admin/<template>`) with the section navigation."""
    assert not SHARED & context.keys(), f"context hides {SHARED & context.keys()}"
    shared = {"sections": SECTIONS, "error": None, "notice": None}
    return await render(
        request, f"admin/{template}", {**shared, **context}, viewer=viewer, status=status
    )
