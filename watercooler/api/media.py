"""Mastodon's media API: upload an image (`POST /api/v2/media`, and v1), see and change it
(`GET` / `PUT /api/v1/media/:id`) until it is attached to a status, all with `write:media`.

Images are processed at once, so v2 answers 200 with the `url` set, as Mastodon does for
media it finishes synchronously (202 with `url: null` is for background processing). After
attaching, the upload is changed through the status edit, as on Mastodon (404 here).
Also `upload_params`, which reads a multipart body with its files, bounded, for
`update_credentials` (avatar and header).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from store import media
from store.media import NewMedia
from store.records import MediaRecord
from watercooler.api.entities import media_entity
from watercooler.api.forms import body_params, id_param
from watercooler.auth import Caller, authenticate
from watercooler.http import FastJSONResponse, services
from watercooler.media import (
    IMAGE_SIZE_LIMIT,
    MediaFiles,
    MediaRejected,
    Purpose,
    StoredImage,
    check_description,
    parse_focus,
)
from watercooler.services import Services

MAX_UPLOAD_BODY = IMAGE_SIZE_LIMIT * 2 + 1024 * 1024
"""The largest request body read: a file at the limit (twice, for avatar and header) plus
form fields. Larger bodies are refused with 413 before they are parsed."""
MAX_UPLOAD_FIELDS = 64
SCOPE = "write:media"


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str | None
    data: bytes


def _form_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields as `watercooler.api.forms` reads them: repeated `x[]` become lists."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            result.setdefault(key[:-2], []).append(value)
        else:
            result[key] = value
    return result


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BODY:
        raise HTTPException(413, "Request body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BODY:
            raise HTTPException(413, "Request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """(fields, files) of a request. A multipart body is read whole but bounded (413 past
    MAX_UPLOAD_BODY); JSON and urlencoded bodies carry no files."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        return await body_params(request), {}
    body = await _bounded_body(request)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=4, max_fields=MAX_UPLOAD_FIELDS)
    try:
        fields: list[tuple[str, Any]] = []
        files: dict[str, Upload] = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = Upload(value.filename, await value.read())
            else:
                fields.append((key, value))
    finally:
        await form.close()
    return _form_pairs(fields), files


def rejected(error: MediaRejected) -> HTTPException:
    return HTTPException(error.status, error.message)


async def store_upload(
    svc: Services, upload: Upload, purpose: Purpose = Purpose.ATTACHMENT
) -> StoredImage:
    """Process and write an upload under media.path; 413/422 if it is not a usable image."""
    try:
        return await MediaFiles(svc.config.media.path).save(upload.data, purpose)
    except MediaRejected as error:
        raise rejected(error) from error


async def save_image(
    svc: Services,
    account_id: int,
    upload: Upload,
    *,
    description: str | None,
    focus: tuple[float, float] | None = None,
) -> MediaRecord:
    """Process, write and record an uploaded image of `account_id` (an attachment not yet on
    a status): what the media API and the web compose box both do with an upload."""
    stored = await store_upload(svc, upload)
    original, preview = stored.processed.original, stored.processed.preview
    new = NewMedia(
        account_id=account_id,
        type="image",
        content_type=original.content_type,
        file_name=stored.file_name,
        preview_name=stored.preview_name,
        description=description,
        blurhash=stored.processed.blurhash,
        width=original.width,
        height=original.height,
        file_size=len(original.data),
        preview_width=preview.width if preview else None,
        preview_height=preview.height if preview else None,
        focus_x=focus[0] if focus else None,
        focus_y=focus[1] if focus else None,
    )
    async with svc.db.transaction() as conn:
        return await media.insert(conn, svc.db.new_id(), new, svc.clock())


def _entity(svc: Services, record: MediaRecord) -> Response:
    return FastJSONResponse(media_entity(record, svc.uris))


async def create_media(request: Request) -> Response:
    svc = services(request)
    caller = await authenticate(request, svc, SCOPE)
    fields, files = await upload_params(request)
    upload = files.get("file")
    if upload is None:
        raise HTTPException(422, "Validation failed: File can't be blank")
    try:
        description = check_description(fields.get("description"))
        focus = parse_focus(fields.get("focus"))
    except MediaRejected as error:
        raise rejected(error) from error
    record = await save_image(svc, caller.account.id, upload, description=description, focus=focus)
    return _entity(svc, record)


async def _unattached(request: Request) -> tuple[Services, Caller, MediaRecord]:
    """The caller's upload named in the path, while it is not attached (404 otherwise)."""
    svc = services(request)
    caller = await authenticate(request, svc, SCOPE)
    media_id = id_param(request.path_params["id"], "id")
    async with svc.db.read() as conn:
        record = await media.get(conn, media_id) if media_id else None
    if record is None or record.account_id != caller.account.id or record.status_id is not None:
        raise HTTPException(404, "Record not found")
    return svc, caller, record


async def get_media(request: Request) -> Response:
    svc, _, record = await _unattached(request)
    return _entity(svc, record)


async def update_media(request: Request) -> Response:
    """Alt text and focal point; a parameter left out keeps its value."""
    svc, _, record = await _unattached(request)
    fields, _ = await upload_params(request)
    try:
        description = (
            check_description(fields["description"])
            if "description" in fields
            else record.description
        )
        focus = parse_focus(fields["focus"]) if "focus" in fields else record.focus
    except MediaRejected as error:
        raise rejected(error) from error
    async with svc.db.transaction() as conn:
        await media.update_details(conn, record.id, description=description, focus=focus)
        updated = await media.get(conn, record.id)
    assert updated is not None
    return _entity(svc, updated)


routes = [
    Route("/api/v1/media", create_media, methods=["POST"]),
    Route("/api/v2/media", create_media, methods=["POST"]),
    Route("/api/v1/media/{id}", get_media, methods=["GET"]),
    Route("/api/v1/media/{id}", update_media, methods=["PUT"]),
]
