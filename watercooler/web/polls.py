"""Polls on the web pages: the vote form of a status card (`_poll.html`) and the poll of the
compose box ("Add a poll"). Both go where the API goes: a vote through
`outbox.polls.Polls.vote` with the same rules, a new poll through the publisher's checks."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.polls import PollDraft, PollError, Polls
from store import polls as stored_polls
from store import statuses
from watercooler.api.forms import flag, id_param
from watercooler.http import services
from watercooler.visibility import can_see
from watercooler.web.pages import PageError, page, read_form, require_user, safe_next, see_other

log = logging.getLogger(__name__)

DURATIONS = {
    "300": "5 minutes",
    "1800": "30 minutes",
    "3600": "1 hour",
    "21600": "6 hours",
    "86400": "1 day",
    "259200": "3 days",
    "604800": "7 days",
}
"""The compose box's durations, Mastodon's web app's; the default is one day."""
OPTION_FIELDS = 4


def compose_poll(fields: dict[str, Any]) -> PollDraft | None:
    """The compose form's poll: its filled-in options (blank ones left out), or None when
    none is filled in. The publisher checks it as it checks the API's."""
    raw = fields.get("poll[options]") or []
    options = [o.strip() for o in (raw if isinstance(raw, list) else [raw]) if isinstance(o, str)]
    options = [o for o in options if o]
    if not options:
        return None
    expires_in = str(fields.get("poll[expires_in]") or "86400")
    if expires_in not in DURATIONS:
        raise PageError(422, "That is not a duration the poll can have.")
    return PollDraft(
        options=tuple(options),
        expires_in=int(expires_in),
        multiple=flag(fields.get("poll[multiple]")),
    )


def _choices(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [] if value in (None, "") else [value]
    try:
        return [int(str(v)) for v in values]
    except ValueError as error:
        raise PageError(422, "That is not an option of the poll.") from error


@page
async def vote(request: Request) -> Response:
    """POST /web/polls/{id}/votes: vote, then back to the card the form was on (303)."""
    viewer = await require_user(request)
    fields = await read_form(request)
    svc = services(request)
    poll_id = id_param(request.path_params["id"], "id")
    async with svc.db.read() as conn:
        poll = await stored_polls.get(conn, poll_id) if poll_id else None
        status = await statuses.get_by_id(conn, poll.status_id) if poll else None
        if poll is None or status is None or not await can_see(conn, status, viewer.account.id):
            raise PageError(404, "That poll does not exist or is not visible to you.")
    choices = _choices(fields.get("choices"))
    if not choices:
        raise PageError(422, "Choose an option to vote.")
    try:
        await Polls(svc.publisher).vote(viewer.account, status, poll, choices)
    except PollError as error:
        message = str(error).removeprefix("Validation failed: ")
        raise PageError(422, f"The vote was not counted: {message}") from error
    log.info("web poll vote poll=%s user=%s", poll.id, viewer.user.username)
    return see_other(safe_next(fields.get("next"), f"/web/statuses/{status.id}"))


routes = [Route("/web/polls/{id}/votes", vote, methods=["POST"])]
