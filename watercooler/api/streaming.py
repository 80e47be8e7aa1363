"""Mastodon's streaming API: `/api/v1/streaming` over WebSocket (several streams on one
connection, `subscribe`/`unsubscribe` messages) and the server-sent-event endpoints
(`/api/v1/streaming/user`, `/public/local`, `/hashtag?tag=`...), plus `/health`.

A user token is required for every stream (Mastodon 4.2+; public streams too, as this
instance's public timelines need one). It may come as `Authorization: Bearer`, as the
`access_token` query parameter, or, on a WebSocket, as the `Sec-WebSocket-Protocol` header,
which is echoed back as Mastodon's server does. The event streams also take the web pages'
session cookie (read-only), as a browser's EventSource sends no header. A bad token is
refused before the WebSocket handshake with a 401 JSON answer, as Mastodon refuses the
upgrade. What each stream carries is decided in watercooler.streaming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from store import accounts, lists, tokens, users
from watercooler.accounts import hash_token
from watercooler.api.forms import flag
from watercooler.auth import Caller
from watercooler.http import error_response, services
from watercooler.services import Services
from watercooler.streaming.hub import (
    ClientClosed,
    HubClosed,
    Notice,
    StreamClient,
    TooManyConnections,
)
from watercooler.streaming.streams import StreamError, StreamKey, parse_stream
from watercooler.web.session import session_cookie, settled_user

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGE = 4096
"""Characters of a client's WebSocket message; subscribe messages are far shorter."""
CLOSE_TIMEOUT = 5.0
SCOPE_ERROR = "Access token does not have the required scopes"
# WebSocket close codes: why the server ends a connection.
_CLOSE_CODES = {"too slow": 1008, "token revoked": 1008, "shutdown": 1001, "binary": 1003}


def _token(connection: HTTPConnection, protocol: str | None = None) -> str | None:
    """As Mastodon's streaming server takes it: the Authorization header, else the
    `access_token` parameter, else (WebSocket) the subprotocol."""
    query_token = connection.query_params.get("access_token")
    _keep_out_of_logs(connection)
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query_token or protocol


def _keep_out_of_logs(connection: HTTPConnection) -> None:
    """Drop `access_token` from the request's query string once read: the server's access
    log writes the query string of the (shared) scope, and a token must not end up in logs
    (the hazard Mastodon's documentation warns of). Parameters were parsed before this."""
    pairs = parse_qsl(connection.scope["query_string"].decode("latin-1"), keep_blank_values=True)
    if any(name == "access_token" for name, _ in pairs):
        kept = [(name, value) for name, value in pairs if name != "access_token"]
        connection.scope["query_string"] = urlencode(kept).encode("latin-1")


async def _caller(svc: Services, token: str | None) -> tuple[Caller, str]:
    """The token's user, account and scopes, and the token's hash; StreamError 401 if none."""
    if not token:
        raise StreamError(401, "Missing access token")
    token_hash = hash_token(token)
    async with svc.db.read() as conn:
        record = await tokens.find_active(conn, token_hash, svc.clock())
        user = await users.get_by_id(conn, record.user_id) if record else None
        account = await accounts.get_by_id(conn, user.account_id) if user else None
    if record is None or user is None or account is None:
        raise StreamError(401, "Invalid access token")
    return Caller(user=user, account=account, scopes=record.scopes), token_hash


async def _event_caller(request: Request, svc: Services) -> tuple[Caller, str]:
    """An event stream's reader: by token, or else (the web pages' EventSource, which cannot
    send a header) by the browser's session cookie, read-only. The cookie is SameSite=Lax,
    so another site's page cannot open a stream with it; WebSockets take tokens only."""
    token = _token(request)
    if token is not None or request.headers.get("sec-fetch-site") == "cross-site":
        return await _caller(svc, token)
    viewer = await settled_user(request)
    if viewer is None:
        return await _caller(svc, None)
    scopes = ("read:statuses", "read:notifications")
    session = session_cookie(request) or ""
    return Caller(user=viewer.user, account=viewer.account, scopes=scopes), hash_token(session)


async def _admit(svc: Services, caller: Caller, key: StreamKey) -> None:
    """May the caller have this stream: its scope, and a list must be the caller's own."""
    if not caller.allows(key.scope):
        raise StreamError(401, SCOPE_ERROR)
    if key.list_id is not None:
        async with svc.db.read() as conn:
            owned = await lists.get(conn, caller.account.id, key.list_id)
        if owned is None:
            raise StreamError(401, "Not authorized to stream this list")


def _new_client(svc: Services, caller: Caller, token_hash: str) -> StreamClient:
    return StreamClient(
        caller.account.id,
        token_hash=token_hash,
        notifications=caller.allows("read:notifications"),
        settings=svc.streaming.settings,
    )


async def _attach(svc: Services, client: StreamClient) -> None:
    try:
        await svc.streaming.attach(client)
    except TooManyConnections:
        raise StreamError(429, "Too many streaming connections") from None
    except HubClosed:
        svc.streaming.detach(client)
        raise StreamError(503, "Streaming is not available") from None


# ----- server-sent events ------------------------------------------------------------------


def _event_stream(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        svc = services(request)
        params = request.query_params
        stream = name
        if name.startswith("public") and flag(params.get("only_media")):
            stream = f"{name}:media"
        try:
            caller, token_hash = await _event_caller(request, svc)
            key = parse_stream(stream, params)
            await _admit(svc, caller, key)
            client = _new_client(svc, caller, token_hash)
            client.subscribe(key)
            await _attach(svc, client)
        except StreamError as error:
            return error_response(error.status, error.message)
        log.info("event stream opened account=%s stream=%s", caller.account.id, stream)
        return EventStream(svc, client)

    return endpoint


class EventStream(StreamingResponse):
    """The event stream of one client: `:)` at once (as Mastodon), then events, and a
    `:thump` comment after each `heartbeat` seconds of silence. It ends when the hub closes
    the client or the reader goes; either way the client leaves the hub."""

    def __init__(self, svc: Services, client: StreamClient) -> None:
        super().__init__(
            self._events(client, svc.streaming.settings.heartbeat),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self.svc = svc
        self.client = client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.svc.streaming.detach(self.client)
            log.info("event stream closed account=%s", self.client.account_id)

    @staticmethod
    async def _events(client: StreamClient, heartbeat: float) -> AsyncIterator[str]:
        yield ":)\n"
        while True:
            try:
                item = await client.next(within=heartbeat)
            except ClientClosed:
                return
            if item is None:
                yield ":thump\n"
            elif not isinstance(item, Notice):
                yield item.event_stream_text()


# ----- WebSocket -----------------------------------------------------------------------------


def _protocol(websocket: WebSocket) -> str | None:
    """The first subprotocol the client offers: Mastodon's clients put the token there."""
    offered = websocket.headers.get("sec-websocket-protocol")
    if not offered:
        return None
    return offered.split(",")[0].strip() or None


async def _refuse(websocket: WebSocket, error: StreamError) -> None:
    """Answer the upgrade request with Mastodon's JSON error (a WebSocket is never opened);
    a server without the denial-response extension closes with 1008 instead."""
    log.info("websocket refused status=%d error=%s", error.status, error.message)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(error.status, error.message))
    else:
        await websocket.close(code=1008, reason=error.message)


async def websocket_stream(websocket: WebSocket) -> None:
    svc: Services = websocket.app.state.services
    protocol = _protocol(websocket)
    params = websocket.query_params
    token = _token(websocket, protocol)
    initial: StreamKey | StreamError | None = None
    try:
        caller, token_hash = await _caller(svc, token)
        if not (caller.allows("read:statuses") or caller.allows("read:notifications")):
            raise StreamError(401, SCOPE_ERROR)
        client = _new_client(svc, caller, token_hash)
        if params.get("stream"):
            initial = await _subscribe(svc, caller, client, params.get("stream"), params)
        await _attach(svc, client)
    except StreamError as error:
        await _refuse(websocket, error)
        return
    try:
        await websocket.accept(subprotocol=protocol)
        log.info("websocket opened account=%s", caller.account.id)
        if isinstance(initial, StreamError):
            client.offer(Notice(initial.message, initial.status))
        await _serve(websocket, svc, caller, client)
    finally:
        svc.streaming.detach(client)
        log.info("websocket closed account=%s reason=%s", caller.account.id, client.close_reason)


async def _subscribe(
    svc: Services, caller: Caller, client: StreamClient, stream: Any, params: Mapping[str, Any]
) -> StreamKey | StreamError:
    try:
        key = parse_stream(stream, params)
        await _admit(svc, caller, key)
        if not client.subscribe(key):
            raise StreamError(400, "Too many streams on this connection")
    except StreamError as error:
        return error
    return key


async def _serve(websocket: WebSocket, svc: Services, caller: Caller, client: StreamClient) -> None:
    """Send what the hub queues and read the client's messages, until either side ends."""
    tasks = {
        asyncio.create_task(_send_all(websocket, client)),
        asyncio.create_task(_read_all(websocket, svc, caller, client)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    code = _CLOSE_CODES.get(client.close_reason or "")
    if code is not None:
        with suppress(Exception):  # the client may be gone already
            await asyncio.wait_for(
                websocket.close(code=code, reason=client.close_reason or ""), CLOSE_TIMEOUT
            )


async def _send_all(websocket: WebSocket, client: StreamClient) -> None:
    while True:
        try:
            item = await client.next()
        except ClientClosed:
            return
        if item is not None:
            try:
                await websocket.send_text(item.websocket_text())
            except (WebSocketDisconnect, RuntimeError, OSError):
                client.close("gone")
                return


async def _read_all(
    websocket: WebSocket, svc: Services, caller: Caller, client: StreamClient
) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            client.close("gone")
            return
        text = message.get("text")
        if text is None:  # Mastodon's streaming server takes text frames only
            client.close("binary")
            return
        if len(text) <= MAX_CLIENT_MESSAGE:
            await _command(svc, caller, client, text)


async def _command(svc: Services, caller: Caller, client: StreamClient, text: str) -> None:
    """`{"type": "subscribe" | "unsubscribe", "stream": ..., "tag"/"list": ...}`; anything
    else is ignored, as Mastodon ignores it."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    if not isinstance(document, dict):
        return
    params = {k: v for k, v in document.items() if k not in ("type", "stream")}
    if document.get("type") == "subscribe":
        result = await _subscribe(svc, caller, client, document.get("stream"), params)
        if isinstance(result, StreamError):
            client.offer(Notice(result.message, result.status))
    elif document.get("type") == "unsubscribe":
        try:
            client.unsubscribe(parse_stream(document.get("stream"), params))
        except StreamError:
            client.offer(Notice("Error unsubscribing from channel"))


# ----- routes --------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def unknown_stream(request: Request) -> Response:
    return error_response(400, "Unknown channel requested")


_EVENT_STREAMS = {
    "/api/v1/streaming/user": "user",
    "/api/v1/streaming/user/notification": "user:notification",
    "/api/v1/streaming/public": "public",
    "/api/v1/streaming/public/local": "public:local",
    "/api/v1/streaming/public/remote": "public:remote",
    "/api/v1/streaming/hashtag": "hashtag",
    "/api/v1/streaming/hashtag/local": "hashtag:local",
    "/api/v1/streaming/list": "list",
    "/api/v1/streaming/direct": "direct",
}

routes: list[BaseRoute] = [
    WebSocketRoute("/api/v1/streaming", websocket_stream),
    WebSocketRoute("/api/v1/streaming/{path:path}", websocket_stream),
    Route("/api/v1/streaming/health", health),
    *(Route(path, _event_stream(name)) for path, name in _EVENT_STREAMS.items()),
    Route("/api/v1/streaming/{path:path}", unknown_stream),
]
