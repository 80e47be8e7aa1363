"""The people directory page: colleagues of this division and of every peer (synced,
watercooler.directory_sync), read with the API's own function
(watercooler.api.accounts.directory_accounts), filtered by department, with a Follow or
Unfollow button on each card. `person_cards` is the search page's people too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import api_queries
from watercooler.api.accounts import ACCOUNT_LIST_LIMIT, MAX_FIELD_TEXT, directory_accounts
from watercooler.api.entities import relationship_entity
from watercooler.api.forms import flag
from watercooler.api.pagination import int_param
from watercooler.http import services
from watercooler.services import Services
from watercooler.web.pages import PageError, page, render, require_user

PATH = "/web/directory"
PAGE_SIZE = ACCOUNT_LIST_LIMIT
MAX_OFFSET = 100_000
ORDER_LABELS = {"active": "Recently active", "new": "Newest"}
DEPARTMENT_FIELDS = ("department", "dept")
"""The profile fields the directory reads as a department (store migration 0018)."""
assert set(ORDER_LABELS) == set(api_queries.DIRECTORY_ORDERS)


async def person_cards(
    svc: Services, viewer: int, people: Sequence[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each account entity with the viewer's Relationship to it (None for the viewer), for
    the card's Follow / Unfollow button."""
    cards: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    async with svc.db.read() as conn:
        for person in people:
            target = int(person["id"])
            relation = None
            if target != viewer:
                relation = await relationship_entity(conn, viewer, target, now=svc.clock())
            cards.append((person, relation))
    return cards


def departments_of(people: Sequence[dict[str, Any]]) -> list[str]:
    """The departments named on these profiles, sorted: suggestions for the filter (the
    store keeps no list of departments; the filter takes any text)."""
    found = {
        Markup(field["value"]).striptags().strip()  # the value is HTML: its text
        for person in people
        for field in person.get("fields", [])
        if field["name"].strip().lower() in DEPARTMENT_FIELDS
    }
    return sorted(value for value in found if value)


@page
async def directory_page(request: Request) -> Response:
    """GET /web/directory[?department=&local=&order=&offset=]."""
    viewer = await require_user(request)
    svc = services(request)
    query = request.query_params
    order = query.get("order", "active")
    if order not in ORDER_LABELS:
        order = "active"
    department = query.get("department", "").strip()
    if len(department) > MAX_FIELD_TEXT:
        raise PageError(400, f"A department has at most {MAX_FIELD_TEXT} characters.")
    local_only = flag(query.get("local"))
    offset = int_param(request, "offset", 0, maximum=MAX_OFFSET, minimum=0)
    people = await directory_accounts(
        svc,
        local_only=local_only,
        order=order,
        offset=offset,
        limit=PAGE_SIZE,
        department=department or None,
    )
    kept = [(k, v) for k, v in query.multi_items() if k != "offset"]
    more = offset + PAGE_SIZE if len(people) >= PAGE_SIZE else None
    here = request.url.path + ("?" + request.url.query if request.url.query else "")
    context = {
        "people": await person_cards(svc, viewer.account.id, people),
        "department": department,
        "departments": departments_of(people),
        "local_only": local_only,
        "order": order,
        "orders": ORDER_LABELS,
        "offset": offset,
        "more": f"{PATH}?{urlencode([*kept, ('offset', more)])}" if more else None,
        "back": here,
    }
    return await render(request, "directory.html", context, viewer=viewer)


routes = [Route(PATH, directory_page)]
