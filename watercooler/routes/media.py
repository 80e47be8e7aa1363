"""`GET /media/{name}`: uploaded images and their previews, from `media.path`.

Only names of the shape `MediaFiles` writes are served (32 hex characters, an optional
`-small`, a known extension), so no path can leave the media folder. A file never changes
under its name, so it may be cached for a year; `nosniff` keeps browsers from reading it as
anything but the image type we name.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from federation.uris import MEDIA_PATH
from watercooler.http import error_response, services
from watercooler.media import CONTENT_TYPES, MediaFiles

CACHE_CONTROL = "public, max-age=31536000, immutable"


async def media_file(request: Request) -> Response:
    svc = services(request)
    name = request.path_params["name"]
    path = MediaFiles(svc.config.media.path).path(name)
    if path is None or not path.is_file():
        return error_response(404, "Record not found")
    return FileResponse(
        path,
        media_type=CONTENT_TYPES[name.rsplit(".", 1)[1]],
        headers={
            "Cache-Control": CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


routes = [Route(f"{MEDIA_PATH}/{{name}}", media_file, methods=["GET", "HEAD"])]
