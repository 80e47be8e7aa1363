"""The bare HTTP ceilings, one Starlette app (`uvicorn --factory bench.ceilings.app:create_app`):

- `POST /inbox`: verifies a draft-cavage signature (and digest) with keys held in memory,
  answers 202; nothing stored.
- `GET /doc`: answers a stored ~1 KB JSON document.
- `GET /page`: serialises a 20-status page with orjson.

Configured by environment: BENCH_BASE_URL (the URL the signed requests addressed),
BENCH_KEYS (a JSON file: keyId -> {"owner", "pem"}), BENCH_DOC and BENCH_PAGE (JSON files).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.keys import load_public_key
from federation.signatures import HttpRequestView, ResolvedKey, SignatureError, verify_cavage

ACTIVITY_JSON = "application/activity+json"


class MemoryKeys:
    """A key resolver over keys loaded at start: no database, no fetch."""

    def __init__(self, keys: dict[str, ResolvedKey]) -> None:
        self.keys = keys

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        return self.keys.get(key_id)


def _load_keys(path: str | None) -> MemoryKeys:
    if not path:
        return MemoryKeys({})
    raw = orjson.loads(Path(path).read_bytes())
    return MemoryKeys(
        {
            key_id: ResolvedKey(key_id, entry["owner"], load_public_key(entry["pem"]))
            for key_id, entry in raw.items()
        }
    )


def create_app() -> Starlette:
    base_url = os.environ.get("BENCH_BASE_URL", "http://127.0.0.1").rstrip("/")
    keys = _load_keys(os.environ.get("BENCH_KEYS"))
    doc = Path(os.environ["BENCH_DOC"]).read_bytes() if os.environ.get("BENCH_DOC") else b"{}"
    page = (
        orjson.loads(Path(os.environ["BENCH_PAGE"]).read_bytes())
        if os.environ.get("BENCH_PAGE")
        else []
    )

    async def inbox(request: Request) -> Response:
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        view = HttpRequestView(
            request.method,
            base_url + target,
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]),
            body,
        )
        try:
            await verify_cavage(view, keys, now=datetime.now(UTC))
        except SignatureError as error:
            return Response(str(error), status_code=401)
        orjson.loads(body)  # a real inbox parses what it accepts
        return Response(status_code=202)

    async def get_doc(request: Request) -> Response:
        return Response(doc, media_type=ACTIVITY_JSON)

    async def get_page(request: Request) -> Response:
        return Response(orjson.dumps(page), media_type="application/json")

    async def ready(request: Request) -> Response:
        return Response("OK")

    return Starlette(
        routes=[
            Route("/inbox", inbox, methods=["POST"]),
            Route("/doc", get_doc),
            Route("/page", get_page),
            Route("/ready", ready),
        ]
    )
