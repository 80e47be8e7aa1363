"""A stand-in remote server for benchmarks: serves actor documents from a JSON file
(BENCH_ACTORS: uri path -> document) after BENCH_DELAY_MS, and counts what was fetched
(`GET /stats`). Run under uvicorn like the ceilings: `--factory bench.peer_app:create_app`."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ACTIVITY_JSON = "application/activity+json"


def create_app() -> Starlette:
    documents: dict[str, bytes] = {}
    if os.environ.get("BENCH_ACTORS"):
        raw = orjson.loads(Path(os.environ["BENCH_ACTORS"]).read_bytes())
        documents = {path: orjson.dumps(document) for path, document in raw.items()}
    delay = float(os.environ.get("BENCH_DELAY_MS", "0")) / 1000
    fetched: Counter[str] = Counter()

    async def document(request: Request) -> Response:
        path = request.url.path
        fetched[path] += 1
        if delay:
            await asyncio.sleep(delay)
        body = documents.get(path)
        if body is None:
            return Response(status_code=404)
        return Response(body, media_type=ACTIVITY_JSON)

    async def stats(request: Request) -> Response:
        return JSONResponse(dict(fetched))

    async def ready(request: Request) -> Response:
        return Response("OK")

    return Starlette(
        routes=[
            Route("/ready", ready),
            Route("/stats", stats),
            Route("/{path:path}", document),
        ]
    )
