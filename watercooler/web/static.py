"""The pages' CSS and JavaScript, served by the instance itself with long cache headers.

The files in `static/` are read once at import. Their URLs carry a digest of the content
(`static_url`), so a browser may keep them for a year and still gets a new release at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watercooler.web.security import SECURITY_HEADERS

FOLDER = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_FILES: dict[str, tuple[bytes, str]] = {
    path.name: (path.read_bytes(), _TYPES[path.suffix])
    for path in sorted(FOLDER.iterdir())
    if path.suffix in _TYPES
}
_VERSIONS = {name: hashlib.sha256(body).hexdigest()[:12] for name, (body, _) in _FILES.items()}
CACHE = "public, max-age=31536000, immutable"


def static_url(name: str) -> str:
    """The URL of a file in `static/`, versioned by its content."""
    return f"/web/static/{name}?v={_VERSIONS[name]}"


async def static_file(request: Request) -> Response:
    found = _FILES.get(request.path_params["name"])
    if found is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    body, media_type = found
    headers = {**SECURITY_HEADERS, "Cache-Control": CACHE}
    return Response(body, media_type=media_type, headers=headers)


routes = [Route("/web/static/{name:str}", static_file, methods=["GET", "HEAD"])]
