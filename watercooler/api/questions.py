"""Questions with an accepted answer in the client API (issue 9, point 2).

- `POST /api/v1/statuses/:id/accept` with `answer_id` accepts a reply to the question `:id`,
  `POST /api/v1/statuses/:id/unaccept` takes the acceptance back. Mastodon's shape for an
  action on a status (`favourite`, `pin`, `mute`): a verb under the status whose state
  changes (a question has one accepted answer, so accepting another replaces it), answered
  with that status, idempotent, paired with its `un`-verb. 404 for a question the caller
  cannot see, 403 for someone else's question, 422 for a post that is not a question or an
  `answer_id` that is not a direct reply to it the caller can see.
- `GET /api/v1/questions?state=unanswered&since=7d&tag=python`: questions across the
  organisation (this division's and those that reached it from peers), newest first,
  paged with `Link` as Mastodon pages lists; each status checked against the caller.

A question's Status carries `"watercooler": {"question": true, "accepted_answer_id": ...}`
(watercooler.api.entities.question_extra), which stock apps ignore.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.questions import AcceptRefused, check_question
from outbox.questions import accept as accept_answer
from store import questions as stored_questions
from store import statuses
from store.api_timelines import Page
from store.db import Connection
from store.records import AccountRecord, StatusRecord
from watercooler.api.entities import EntityRenderer, status_entity
from watercooler.api.forms import body_params, id_param
from watercooler.api.pagination import page_params
from watercooler.api.timelines import Shown, answer, visible_page
from watercooler.auth import authenticate, authorize, bearer_token
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

MAX_SINCE = timedelta(days=366)
_SPAN = re.compile(r"^(\d{1,4})([dhw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """`since`: a span back from now (`7d`, `24h`, `2w`) or an ISO 8601 time; 400 otherwise.
    Spans longer than MAX_SINCE are capped."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if match := _SPAN.match(value):
        span = int(match.group(1)) * _UNITS[match.group(2)]
        return now - min(span, MAX_SINCE)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(400, "since must be like 7d, 24h, 2w or an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise HTTPException(400, "since needs a time zone (e.g. Z)")
    return moment


def parse_state(value: str | None) -> stored_questions.State:
    if value in (None, ""):
        return "unanswered"
    for state in stored_questions.STATES:
        if value == state:
            return state
    raise HTTPException(400, f"state must be one of {', '.join(stored_questions.STATES)}")


def parse_tag(value: str | None) -> str | None:
    tag = (value or "").strip().lstrip("#")
    if len(tag) > 100:
        raise HTTPException(400, "tag is too long")
    return tag or None


async def question_ids(
    conn: Connection, page: Page, viewer: int, query: dict[str, str], now: datetime
) -> list[int]:
    """The ids of a page of questions for `viewer`, as `state`, `since` and `tag` ask."""
    return await stored_questions.page_ids(
        conn,
        page,
        viewer_id=viewer,
        state=parse_state(query.get("state")),
        since=parse_since(query.get("since"), now),
        tag=parse_tag(query.get("tag")),
    )


async def list_questions(request: Request) -> Response:
    svc = services(request)
    token = bearer_token(request)
    if token is None:
        raise HTTPException(401, "The access token is invalid")
    now = svc.clock()
    query = dict(request.query_params)

    async def read(conn: Connection, renderer: EntityRenderer) -> Shown:
        viewer = (await authorize(conn, token, "read:statuses", now=now)).account.id
        page = page_params(request)
        ids = await question_ids(conn, page, viewer, query, now)
        return await visible_page(conn, renderer, ids, page, viewer, now=now, context="public")

    return await answer(request, svc, read)


async def visible(svc: Services, status_id: int | None, viewer: int) -> StatusRecord | None:
    async with svc.db.read() as conn:
        status = await statuses.get_by_id(conn, status_id) if status_id else None
        if status is None or not await can_see(conn, status, viewer):
            return None
    return status


async def change_acceptance(
    svc: Services, account: AccountRecord, question_id: int | None, answer_id: int | None
) -> StatusRecord:
    """Accept `answer_id` for the question (None: take the acceptance back), as `account`;
    the question. HTTPException 404 / 403 / 422 as the module says (the web pages show
    them as error pages)."""
    question = await visible(svc, question_id, account.id)
    if question is None or question.reblog_of_id is not None:
        raise HTTPException(404, "Record not found")
    try:
        async with svc.db.read() as conn:
            await check_question(conn, question, account)
        reply: StatusRecord | None = None
        if answer_id is not None:
            reply = await visible(svc, answer_id, account.id)
            if reply is None:
                raise AcceptRefused(422, "The answer does not exist or is not visible to you")
        await accept_answer(svc.publisher, account, question, reply)
    except AcceptRefused as error:
        raise HTTPException(error.status, f"Validation failed: {error}") from error
    return question


async def _answer_with(svc: Services, question: StatusRecord, viewer: int) -> Response:
    async with svc.db.read() as conn:
        fresh = await statuses.get_by_id(conn, question.id)
        assert fresh is not None
        entity = await status_entity(
            conn,
            fresh,
            viewer_account_id=viewer,
            uris=svc.uris,
            local_domain=svc.config.instance.domain,
        )
    return FastJSONResponse(entity)


async def accept(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:statuses")
    params = await body_params(request)
    answer_id = id_param(params.get("answer_id"), "answer_id")
    if answer_id is None:
        raise HTTPException(422, "Validation failed: answer_id is required")
    question_id = id_param(request.path_params["id"], "id")
    question = await change_acceptance(svc, caller.account, question_id, answer_id)
    return await _answer_with(svc, question, caller.account.id)


async def unaccept(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:statuses")
    question_id = id_param(request.path_params["id"], "id")
    question = await change_acceptance(svc, caller.account, question_id, None)
    return await _answer_with(svc, question, caller.account.id)


routes = [
    Route("/api/v1/questions", list_questions, methods=["GET"]),
    Route("/api/v1/statuses/{id}/accept", accept, methods=["POST"]),
    Route("/api/v1/statuses/{id}/unaccept", unaccept, methods=["POST"]),
]
