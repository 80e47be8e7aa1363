"""/web/announcements: the management page for admins and announcers (list, publish, edit,
withdraw), and the banner's Dismiss form, which every signed-in employee has.

Changes go through `outbox.announcements` as the API's do (audit row origin 'web', sent to
every peer). Others get 403 on the management page; it is not in their navigation.
Times are entered as UTC (`datetime-local` fields without a zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.astools import parse_datetime
from outbox.announcements import AnnouncementError, Draft, Editor, UnknownAnnouncement
from store import announcements as stored
from watercooler.announcements import may_announce, publisher_of, shown_list
from watercooler.http import services
from watercooler.web.pages import (
    PageError,
    page,
    read_form,
    render,
    require_user,
    safe_next,
    see_other,
)
from watercooler.web.session import WebUser

PATH = "/web/announcements"
NOTICES = {
    "published": "Published: every division shows it from its start.",
    "edited": "Changed: every division shows the new text.",
    "withdrawn": "Withdrawn: no division shows it any more.",
}
_FORM_TIME = "%Y-%m-%dT%H:%M"


async def _announcer(request: Request) -> WebUser:
    viewer = await require_user(request)
    async with services(request).db.read() as conn:
        allowed = await may_announce(conn, viewer.user)
    if not allowed:
        raise PageError(403, "Only administrators and announcers manage announcements.")
    return viewer


def _form_time(value: datetime | None) -> str:
    return value.strftime(_FORM_TIME) if value else ""


async def _show(
    request: Request,
    viewer: WebUser,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    svc = services(request)
    editing = None
    async with svc.db.read() as conn:
        records = await stored.managed(conn)
        managed = await shown_list(conn, records)
    wanted = request.query_params.get("edit", "")
    editing = next((s for s in managed if str(s.record.id) == wanted), None)
    if form is None and editing is not None:
        record = editing.record
        form = {
            "text": record.text,
            "starts_at": _form_time(record.starts_at),
            "ends_at": _form_time(record.ends_at),
            "all_day": record.all_day,
        }
    context = {
        "managed": managed,
        "editing": editing,
        "error": error,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "form": form or {"text": "", "starts_at": "", "ends_at": "", "all_day": False},
    }
    return await render(request, "announcements.html", context, viewer=viewer, status=status)


def _time(form: dict[str, Any], name: str, label: str) -> datetime | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise AnnouncementError(f"{label} is not a date and time")
    return parsed


def _draft(form: dict[str, Any]) -> Draft:
    text = form.get("text")
    return Draft(
        text=text if isinstance(text, str) else "",
        starts_at=_time(form, "starts_at", "Starts"),
        ends_at=_time(form, "ends_at", "Ends"),
        all_day=form.get("all_day") == "1",
    )


def _sent_back(form: dict[str, Any]) -> dict[str, Any]:
    """The fields as sent, to fill the form again after a refusal."""
    return {
        "text": str(form.get("text", ""))[:5000],
        "starts_at": str(form.get("starts_at", ""))[:32],
        "ends_at": str(form.get("ends_at", ""))[:32],
        "all_day": form.get("all_day") == "1",
    }


def _done(code: str) -> Response:
    return see_other(f"{PATH}?{urlencode({'done': code})}")


def _id(request: Request) -> int:
    try:
        return int(request.path_params["id"])
    except ValueError as error:
        raise PageError(404, "There is no such announcement.") from error


@page
async def management_page(request: Request) -> Response:
    return await _show(request, await _announcer(request))


@page
async def publish(request: Request) -> Response:
    viewer = await _announcer(request)
    form = await read_form(request)
    try:
        await publisher_of(services(request)).publish(Editor(viewer.account, "web"), _draft(form))
    except AnnouncementError as error:
        return await _show(request, viewer, status=422, error=str(error), form=_sent_back(form))
    return _done("published")


@page
async def edit(request: Request) -> Response:
    viewer = await _announcer(request)
    form = await read_form(request)
    try:
        await publisher_of(services(request)).edit(
            Editor(viewer.account, "web"), _id(request), _draft(form)
        )
    except UnknownAnnouncement as error:
        raise PageError(404, str(error)) from error
    except AnnouncementError as error:
        return await _show(request, viewer, status=422, error=str(error), form=_sent_back(form))
    return _done("edited")


@page
async def withdraw(request: Request) -> Response:
    viewer = await _announcer(request)
    await read_form(request)
    try:
        await publisher_of(services(request)).withdraw(Editor(viewer.account, "web"), _id(request))
    except UnknownAnnouncement as error:
        raise PageError(404, str(error)) from error
    return _done("withdrawn")


@page
async def dismiss(request: Request) -> Response:
    """The banner's Dismiss: any signed-in employee, for themselves; back to their page."""
    viewer = await require_user(request)
    form = await read_form(request)
    svc = services(request)
    announcement_id = _id(request)
    async with svc.db.transaction() as conn:
        record = await stored.get_by_id(conn, announcement_id)
        if record is None:
            raise PageError(404, "There is no such announcement.")
        await stored.dismiss(conn, record.id, viewer.account.id, svc.clock())
    return see_other(safe_next(form.get("next")))


routes = [
    Route(PATH, management_page, methods=["GET"]),
    Route(PATH, publish, methods=["POST"]),
    Route(PATH + "/{id}", edit, methods=["POST"]),
    Route(PATH + "/{id}/withdraw", withdraw, methods=["POST"]),
    Route(PATH + "/{id}/dismiss", dismiss, methods=["POST"]),
]
