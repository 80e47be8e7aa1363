"""The questions page and the asker's Accept button (issue 9, point 2).

`/web/questions` lists the questions of the organisation that the viewer may see (this
division's and those that reached it from peers): by default those without an accepted
answer asked in the last week, filterable by hashtag, each card linking to its thread. It
reads as `GET /api/v1/questions` does (the same query and visibility check) and renders the
same status cards as the timelines.

`POST /web/statuses/{id}/accept` (with `answer_id`) and `/unaccept` are the thread page's
buttons: CSRF-checked forms that go through the same path as the API's
`POST /api/v1/statuses/:id/accept`, then back to the thread.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from store import questions as stored_questions
from store.db import Connection
from store.in_thread import in_thread
from watercooler.api.entities import EntityRenderer
from watercooler.api.forms import id_param
from watercooler.api.pagination import page_params
from watercooler.api.questions import change_acceptance, question_ids
from watercooler.api.timelines import Shown, visible_page
from watercooler.http import services
from watercooler.web.pages import (
    Endpoint,
    PageError,
    page,
    read_form,
    render,
    require_user,
    safe_next,
    see_other,
)

log = logging.getLogger(__name__)

PATH = "/web/questions"
DEFAULT_SINCE = "7d"
STATE_LABELS: dict[stored_questions.State, str] = {
    "unanswered": "Without an accepted answer",
    "answered": "Answered",
    "all": "All",
}
SINCE_LABELS = {"1d": "Today", "7d": "The last week", "30d": "The last month", "366d": "The year"}


@page
async def questions_page(request: Request) -> Response:
    """GET /web/questions[?state=&tag=&since=&max_id=]."""
    viewer = await require_user(request)
    svc = services(request)
    now = svc.clock()
    query = {
        "state": request.query_params.get("state") or "unanswered",
        "since": request.query_params.get("since") or DEFAULT_SINCE,
        "tag": (request.query_params.get("tag") or "").strip().lstrip("#"),
    }
    bounds = page_params(request)

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        ids = await question_ids(conn, bounds, viewer.account.id, query, now)
        return await visible_page(
            conn, renderer, ids, bounds, viewer.account.id, now=now, context="public"
        )

    async with svc.db.read() as conn:
        renderer = EntityRenderer(conn, uris=svc.uris, local_domain=svc.config.instance.domain)
        shown = await in_thread(conn, read, renderer)
    entities = renderer.render(shown.statuses, shown.viewer, shown.marks, shown.view)
    older = str(min(shown.paged_ids)) if len(shown.paged_ids) >= bounds.limit else None
    kept = urlencode([(key, value) for key, value in query.items() if value])
    context = {
        "statuses": entities,
        "query": query,
        "states": STATE_LABELS,
        "spans": SINCE_LABELS,
        "older": f"{PATH}?{kept}&max_id={older}" if older else None,
        "card_back": f"{PATH}?{kept}",
    }
    return await render(request, "questions.html", context, viewer=viewer)


def _acceptance(accepting: bool) -> Endpoint:
    @page
    async def endpoint(request: Request) -> Response:
        viewer = await require_user(request)
        fields = await read_form(request)
        svc = services(request)
        question_id = id_param(request.path_params["id"], "id")
        answer_id = id_param(fields.get("answer_id"), "answer_id") if accepting else None
        if accepting and answer_id is None:
            raise PageError(422, "Choose the answer to accept.")
        question = await change_acceptance(svc, viewer.account, question_id, answer_id)
        log.info(
            "web acceptance question=%s answer=%s user=%s",
            question.id,
            answer_id,
            viewer.user.username,
        )
        return see_other(safe_next(fields.get("next"), f"/web/statuses/{question.id}"))

    endpoint.__name__ = "accept_page" if accepting else "unaccept_page"
    return endpoint


routes = [
    Route(PATH, questions_page),
    Route("/web/statuses/{id}/accept", _acceptance(True), methods=["POST"]),
    Route("/web/statuses/{id}/unaccept", _acceptance(False), methods=["POST"]),
]
