"""CORS for the client API, as Mastodon answers it: browser apps (Elk, Phanpy) on other
origins call `/api/*` with bearer tokens. No cookies are involved, so any origin may read
the answers; preflight requests are answered here, before routing."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFLIGHT = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
    "access-control-allow-headers": "Authorization, Content-Type, Idempotency-Key, Accept",
    "access-control-expose-headers": "Link, X-RateLimit-Reset, X-RateLimit-Limit,"
    " X-RateLimit-Remaining, X-Request-Id, Idempotency-Key",
    "access-control-max-age": "86400",
}


class ApiCors:
    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...] = ("/api/",)) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = [(k.encode(), v.encode()) for k, v in PREFLIGHT.items()]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    headers["Access-Control-Allow-Origin"] = "*"
                    headers["Access-Control-Expose-Headers"] = PREFLIGHT[
                        "access-control-expose-headers"
                    ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
