"""Mastodon's polls API: `GET /api/v1/polls/:id` and `POST /api/v1/polls/:id/votes`, and the
`poll` parameters of `POST /api/v1/statuses`.

A poll is seen exactly by who may see its status (404 otherwise, as Mastodon). Voting follows
Mastodon's rules and messages (422): not one's own poll, not after its end, not twice, one
choice on a single-choice poll, only existing options (`outbox.polls.Polls.vote`).
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.polls import PollDraft, PollError, Polls
from store import polls as stored_polls
from store import statuses
from store.polls import PollRecord
from store.records import StatusRecord
from watercooler.api.forms import body_params, flag, id_param
from watercooler.api.poll_entities import poll_entity
from watercooler.auth import authenticate, bearer_token
from watercooler.http import FastJSONResponse, services
from watercooler.services import Services
from watercooler.visibility import can_see

MAX_PARAM_OPTIONS = 64
"""Options read from a request at all (more is refused by the limits anyway)."""


def _nested(params: dict[str, Any]) -> dict[str, Any] | None:
    """The `poll` of a JSON body, or the `poll[...]` fields of a form (`poll[options][]`
    arrives as the list `poll[options]`)."""
    poll = params.get("poll")
    if isinstance(poll, dict):
        return poll
    found = {
        key[len("poll[") : -1]: value
        for key, value in params.items()
        if key.startswith("poll[") and key.endswith("]")
    }
    return found or None


def poll_draft(params: dict[str, Any]) -> PollDraft | None:
    """The poll a `POST /api/v1/statuses` asks for, or None; 422 for a malformed one (the
    limits are checked by the publisher, with Mastodon's messages)."""
    poll = _nested(params)
    if poll is None:
        return None
    options = poll.get("options")
    if isinstance(options, str):
        options = [options]
    if isinstance(options, dict):  # `poll[options][0]=...` as some clients send it
        options = list(options.values())
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise HTTPException(422, "Validation failed: Poll options must be a list of strings")
    if len(options) > MAX_PARAM_OPTIONS:
        raise HTTPException(422, "Validation failed: Poll options can't contain more than 4 items")
    expires_in = poll.get("expires_in")
    if expires_in in (None, ""):
        raise HTTPException(422, "Validation failed: Poll expires at can't be blank")
    try:
        seconds = int(str(expires_in))
    except ValueError as error:
        raise HTTPException(422, "Validation failed: Poll expires in is not a number") from error
    return PollDraft(
        options=tuple(options),
        expires_in=seconds,
        multiple=flag(poll.get("multiple")),
        hide_totals=flag(poll.get("hide_totals")),
    )


async def visible_poll(
    svc: Services, raw_id: str, viewer: int | None
) -> tuple[PollRecord, StatusRecord]:
    """The poll and its status, if the viewer may see the status; 404 otherwise."""
    poll_id = id_param(raw_id, "id")
    async with svc.db.read() as conn:
        poll = await stored_polls.get(conn, poll_id) if poll_id else None
        status = await statuses.get_by_id(conn, poll.status_id) if poll is not None else None
        if poll is None or status is None or not await can_see(conn, status, viewer):
            raise HTTPException(404, "Record not found")
    return poll, status


async def entity_for(svc: Services, poll: PollRecord, viewer: int | None) -> dict[str, Any]:
    own = None
    if viewer is not None:
        async with svc.db.read() as conn:
            own = (await stored_polls.choices_of(conn, viewer, [poll.id])).get(poll.id, [])
    return poll_entity(poll, viewer_account_id=viewer, own_votes=own, now=svc.clock())


async def get_poll(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "read:statuses") if bearer_token(request) else None
    viewer = caller.account.id if caller else None
    poll, _ = await visible_poll(svc, request.path_params["id"], viewer)
    return FastJSONResponse(await entity_for(svc, poll, viewer))


def _choices(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [] if value in (None, "") else [value]
    if isinstance(value, dict):
        values = list(value.values())
    try:
        return [int(str(v)) for v in values]
    except ValueError as error:
        raise HTTPException(422, "Validation failed: choices must be option indexes") from error


async def vote(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, "write:statuses")
    params = await body_params(request)
    poll, status = await visible_poll(svc, request.path_params["id"], caller.account.id)
    try:
        voted = await Polls(svc.publisher).vote(
            caller.account, status, poll, _choices(params.get("choices"))
        )
    except PollError as error:
        raise HTTPException(422, str(error)) from error
    return FastJSONResponse(await entity_for(svc, voted, caller.account.id))


routes = [
    Route("/api/v1/polls/{id}", get_poll, methods=["GET"]),
    Route("/api/v1/polls/{id}/votes", vote, methods=["POST"]),
]
