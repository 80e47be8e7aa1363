"""Posting from the web pages: the compose form, with an optional image and its description.
The post goes through the publisher as the API's `POST /api/v1/statuses` does (same checks,
same fan-out and delivery); the image through the media API's processing and limits."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outbox.publish import PublishError
from watercooler.api.forms import flag, id_param, text
from watercooler.api.media import Upload, save_image, upload_params
from watercooler.api.statuses import VISIBILITIES
from watercooler.http import services
from watercooler.media import MediaRejected, check_description
from watercooler.services import Services
from watercooler.visibility import default_visibility
from watercooler.web import reading
from watercooler.web.pages import PageError, check_csrf, page, require_user, safe_next, see_other
from watercooler.web.polls import compose_poll
from watercooler.web.session import WebUser

log = logging.getLogger(__name__)


async def _attach_image(svc: Services, viewer: WebUser, upload: Upload, description: Any) -> int:
    """Process and store an uploaded image for the viewer; its media id."""
    try:
        alt = check_description(description or None)
    except MediaRejected as error:
        raise PageError(error.status, error.message) from error
    record = await save_image(svc, viewer.account.id, upload, description=alt)
    return record.id


@page
async def post_status(request: Request) -> Response:
    """POST /web/statuses: publish, then back to the page the form was on (303)."""
    viewer = await require_user(request)
    fields, files = await upload_params(request)
    await check_csrf(request, fields)
    svc = services(request)
    visibility = fields.get("visibility") or None
    if visibility is None:
        async with svc.db.read() as conn:
            visibility = await default_visibility(
                conn, viewer.account.id, svc.config.instance.default_visibility
            )
    if visibility not in VISIBILITIES:
        raise PageError(422, f"{visibility!r} is not a visibility.")
    parent = None
    reply_to = id_param(fields.get("in_reply_to_id"), "in_reply_to_id")
    if reply_to is not None:
        parent = await reading.visible_status(svc, reply_to, viewer.account.id)
        if parent is None:
            raise PageError(404, "The post you reply to does not exist or is not visible.")
    media_ids = []
    image = files.get("image")
    if image is not None and image.data:
        media_ids.append(await _attach_image(svc, viewer, image, fields.get("description")))
    try:
        status = await svc.publisher.post(
            viewer.account,
            text(fields.get("status"), "status"),
            visibility=visibility,
            spoiler_text=text(fields.get("spoiler_text"), "spoiler_text", limit=500).strip(),
            in_reply_to=parent,
            media_ids=media_ids,
            question=flag(fields.get("question")),  # the "This is a question" box
            poll=compose_poll(fields),  # "Add a poll" (watercooler.web.polls)
        )
    except PublishError as error:
        raise PageError(422, f"The post was not published: {error}") from error
    log.info("web post status=%s user=%s", status.id, viewer.user.username)
    return see_other(safe_next(fields.get("next")))


routes = [Route("/web/statuses", post_status, methods=["POST"])]
