"""The streaming hub of one instance: its connected clients and the one task that feeds them.

Writers never call the hub. One background task tails the store (a `TailSource`) and hands
each client what its subscriptions ask for. The task starts when the first client connects,
stops when the last one leaves, and is cancelled at shutdown. `poke()` wakes it after a
commit; without a poke it still looks every `poll_interval`, so writes by other processes
on the same database (a separate `watercooler worker`) reach clients too.

Everything is bounded: subscriptions per connection, connections per account, and each
client's queue. A client that does not keep up is closed with a log line rather than
buffered without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

import orjson

from watercooler.streaming.streams import StreamKey

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamingSettings:
    poll_interval: float = 0.5
    """Seconds between looks at the store when nothing pokes the hub."""
    heartbeat: float = 15.0
    """Seconds of silence after which an event stream sends a `:thump` comment."""
    queue_size: int = 256
    """Messages waiting for one client before it counts as too slow and is closed."""
    max_streams: int = 32
    """Subscriptions on one WebSocket connection."""
    max_connections_per_account: int = 32
    """Open streaming connections of one account, all its apps together."""
    lookback: float = 5.0
    """Seconds below the newest id (or deletion time) that are read again, for rows that
    committed after a newer one."""
    token_recheck: float = 30.0
    """Seconds between checks that the tokens of open connections are still valid."""


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one subscription: `payload` is a JSON document as a string, or an id."""

    event: str
    payload: str
    stream: tuple[str, ...] = ()

    def websocket_text(self) -> str:
        document = {"stream": list(self.stream), "event": self.event, "payload": self.payload}
        return orjson.dumps(document).decode()

    def event_stream_text(self) -> str:
        return f"event: {self.event}\ndata: {self.payload}\n\n"


@dataclass(frozen=True, slots=True)
class Notice:
    """Mastodon's answer on a WebSocket to a subscription it cannot make or undo."""

    error: str
    status: int | None = None

    def websocket_text(self) -> str:
        document: dict[str, object] = {"error": self.error}
        if self.status is not None:
            document["status"] = self.status
        return orjson.dumps(document).decode()


class ClientClosed(Exception):
    """The client was closed by the hub (too slow, token revoked, shutdown) or left."""


class TooManyConnections(Exception):
    pass


class HubClosed(Exception):
    pass


class StreamClient:
    """One connection (a WebSocket or an event stream) of one reader: its subscriptions and
    the bounded queue of messages waiting to be sent to it."""

    def __init__(
        self,
        account_id: int,
        *,
        token_hash: str,
        notifications: bool,
        settings: StreamingSettings,
    ) -> None:
        self.account_id = account_id
        self.token_hash = token_hash
        self.notifications = notifications
        """The token may read notifications, so the `user` stream carries them (Mastodon's)."""
        self.subscriptions: dict[StreamKey, StreamKey] = {}
        self.close_reason: str | None = None
        self._max_streams = settings.max_streams
        self._queue: asyncio.Queue[Message | Notice] = asyncio.Queue(maxsize=settings.queue_size)
        self._closed = asyncio.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def subscribe(self, key: StreamKey) -> bool:
        """Add a subscription (again is a no-op); False when the connection has its maximum."""
        if key in self.subscriptions:
            return True
        if len(self.subscriptions) >= self._max_streams:
            return False
        self.subscriptions[key] = key
        return True

    def unsubscribe(self, key: StreamKey) -> None:
        self.subscriptions.pop(key, None)

    def offer(self, item: Message | Notice) -> None:
        """Queue a message; a client whose queue is full is closed, not waited for."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning(
                "streaming client too slow, closed account=%s queued=%d",
                self.account_id,
                self._queue.qsize(),
            )
            self.close("too slow")

    def close(self, reason: str) -> None:
        if not self.closed:
            self.close_reason = reason
            self._closed.set()

    async def next(self, within: float | None = None) -> Message | Notice | None:
        """The next message to send; None when `within` seconds pass first (time for a
        heartbeat); ClientClosed once the client is closed."""
        if self.closed:
            raise ClientClosed(self.close_reason)
        if not self._queue.empty():
            return self._queue.get_nowait()
        getter = asyncio.ensure_future(self._queue.get())
        closer = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait(
                {getter, closer}, timeout=within, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closer.cancel()
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        if self.closed:
            raise ClientClosed(self.close_reason)
        return None


class TailSource(Protocol):
    """What the hub runs: `prime` once when it starts (nothing older is streamed), then
    `step` for the clients connected, each time it wakes."""

    async def prime(self) -> None: ...

    async def step(self, clients: Sequence[StreamClient]) -> None: ...


class StreamHub:
    def __init__(self, settings: StreamingSettings | None = None) -> None:
        self.settings = settings or StreamingSettings()
        self._source: TailSource | None = None
        self._clients: dict[StreamClient, None] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._closed = False

    def bind(self, source: TailSource) -> None:
        """Set what the hub tails (the app does it once its services exist)."""
        self._source = source

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def poke(self) -> None:
        """Something was committed: look now rather than at the next poll."""
        self._wake.set()

    async def attach(self, client: StreamClient) -> None:
        """Connect a client; returns once the hub is tailing, so whatever commits after this
        reaches the client."""
        if self._closed or self._source is None:
            raise HubClosed("streaming is not available")
        same_account = sum(
            1
            for other in self._clients
            if other.account_id == client.account_id and not other.closed
        )
        if same_account >= self.settings.max_connections_per_account:
            raise TooManyConnections(client.account_id)
        self._clients[client] = None
        if self._task is None:
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._run(self._source), name="streaming-hub")
        await self._ready.wait()
        if client.closed:
            raise HubClosed(client.close_reason or "streaming is not available")

    def detach(self, client: StreamClient) -> None:
        client.close("gone")
        self._clients.pop(client, None)
        if not self._clients:
            self.poke()  # the task sees it has no one left and ends

    async def aclose(self) -> None:
        """At shutdown: close every client and stop the task."""
        self._closed = True
        for client in list(self._clients):
            client.close("shutdown")
        self._clients.clear()
        self._ready.set()
        task = self._task
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self, source: TailSource) -> None:
        try:
            try:
                await source.prime()
            except Exception:
                log.exception("streaming hub could not start")
                for client in list(self._clients):
                    client.close("unavailable")
                self._clients.clear()
                return
            finally:
                self._ready.set()
            log.info("streaming hub started clients=%d", len(self._clients))
            while self._clients:
                self._wake.clear()
                for gone in [client for client in self._clients if client.closed]:
                    del self._clients[gone]  # closed by the hub: its connection ends on its own
                try:
                    await source.step(list(self._clients))
                except Exception:  # one bad step must not end streaming for everyone
                    log.exception("streaming step failed")
                if not self._clients:
                    break
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_interval)
            log.info("streaming hub stopped: no clients")
        finally:
            # No await between the last look at the clients and this: an attach either saw
            # the running task or finds none and starts one.
            if self._task is asyncio.current_task():
                self._task = None
