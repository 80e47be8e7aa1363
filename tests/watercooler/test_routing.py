"""watercooler.routing: the index of fixed paths answers every request as Starlette's
ordered list of routes does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, Router

from watercooler.routing import IndexedRouter


def _answer(text: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(text)

    return endpoint


ROUTES: list[BaseRoute] = [
    Route("/api/v1/timelines/{kind}", _answer("parameter first"), methods=["GET"]),
    Route("/api/v1/timelines/home", _answer("home"), methods=["GET"]),
    Route("/api/v1/timelines/home", _answer("home, posted"), methods=["POST"]),
    Route("/api/v1/markers", _answer("read markers"), methods=["GET"]),
    Route("/api/v1/markers", _answer("write markers"), methods=["POST"]),
    Route("/api/v1/lists", _answer("lists"), methods=["GET"]),
    Route("/api/v1/{anything:path}", _answer("catch-all"), methods=["GET", "PUT"]),
]
REQUESTS = [
    ("GET", "/api/v1/timelines/home"),
    ("POST", "/api/v1/timelines/home"),
    ("GET", "/api/v1/markers"),
    ("POST", "/api/v1/markers"),
    ("PUT", "/api/v1/markers"),
    ("DELETE", "/api/v1/markers"),
    ("GET", "/api/v1/lists"),
    ("HEAD", "/api/v1/lists"),
    ("DELETE", "/api/v1/lists"),
    ("GET", "/api/v1/lists/"),
    ("GET", "/elsewhere"),
]


async def _answers(router: Router) -> list[tuple[int, str]]:
    app = Starlette()
    app.router = router
    found = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a.test"
    ) as client:
        for method, path in REQUESTS:
            answer = await client.request(method, path)
            found.append((answer.status_code, answer.text))
    return found


async def test_it_answers_as_starlettes_router() -> None:
    indexed = IndexedRouter(ROUTES)
    assert await _answers(indexed) == await _answers(Router(ROUTES))
    # the parameter route before it keeps /api/v1/timelines/home out of the index
    assert set(indexed._fixed) == {"/api/v1/markers", "/api/v1/lists"}


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/api/v1/markers", (200, "read markers")),
    ("POST", "/api/v1/markers", (200, "write markers")),
    ("PUT", "/api/v1/markers", (200, "catch-all")),
    ("GET", "/api/v1/timelines/home", (200, "parameter first")),
    ("POST", "/api/v1/timelines/home", (200, "home, posted")),
    ("DELETE", "/api/v1/lists", (405, "Method Not Allowed")),
])  # fmt: skip
async def test_what_it_answers(method: str, path: str, expected: tuple[int, str]) -> None:
    found = dict(zip(REQUESTS, await _answers(IndexedRouter(ROUTES)), strict=True))
    assert found[method, path] == expected
