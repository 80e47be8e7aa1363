"""Loopback inbox sinks: one asyncio process that plays any number of remote servers.

`python -m bench.sinks --port P` (the bench starts it pinned to core 1 through
`bench.servers.serving`, ready at `GET /ready`). Every instance under test maps its peer
domains (`peer0001.sink`, ...) to this one port with `[federation.resolve]`, so requests
keep their `Host` and the sink tells the peers apart by it.

`POST /inbox` answers by the Host's mode:

- `healthy` (the default): `202` at once, empty body;
- `503`: `503 Service Unavailable` at once;
- `hang`: accepts the request and never answers; the connection is held (nothing more is
  read or answered on it) until the client gives up or this process ends.

Control, on any Host: `GET /stats` (JSON: requests per host, the time each host was last
seen, totals), `POST /reset` (forget the counts), `POST /modes` (JSON `{"host": "mode"}`,
replacing every mode). A raw `asyncio.Protocol` on uvloop with a minimal HTTP/1.1 parser
(keep-alive, pipelining, Content-Length bodies): far faster than anything that posts to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from bench import servers

MODES = ("healthy", "503", "hang")
MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024

_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
_UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _ok(body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


@dataclass
class SinkState:
    """What the sink was told (modes) and what it saw (counts per host and mode)."""

    modes: dict[str, str] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    last_seen: dict[str, float] = field(default_factory=dict)
    by_mode: Counter[str] = field(default_factory=Counter)
    held: int = 0
    open_connections: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.last_seen.clear()
        self.by_mode.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "total": sum(self.requests.values()),
            "hosts": dict(self.requests),
            "last_seen": self.last_seen,
            "by_mode": dict(self.by_mode),
            "held_now": self.held,
            "open_connections": self.open_connections,
        }

    def set_modes(self, modes: dict[str, str]) -> None:
        unknown = {mode for mode in modes.values() if mode not in MODES}
        if unknown:
            raise ValueError(f"unknown modes {sorted(unknown)}")
        self.modes = {host.lower(): mode for host, mode in modes.items()}


def parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    """(method, target, headers with lower-case names) of one request head (no blank line)."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


def host_of(value: str) -> str:
    """A Host header without its port, lower-cased."""
    host = value.strip().lower()
    if ":" in host and not host.endswith("]"):
        host = host.rsplit(":", 1)[0]
    return host


class SinkProtocol(asyncio.Protocol):
    def __init__(self, state: SinkState) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.held = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.state.open_connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.open_connections -= 1
        if self.held:
            self.state.held -= 1

    def data_received(self, data: bytes) -> None:
        if self.held:
            return  # a held connection is never answered again
        self.buffer += data
        while self.transport is not None and not self.held:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self._close(_BAD)
                return
            try:
                method, target, headers = parse_head(bytes(self.buffer[:end]))
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self._close(_BAD)
                return
            if length < 0 or length > MAX_BODY or "transfer-encoding" in headers:
                self._close(_BAD)
                return
            total = end + 4 + length
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            self._handle(method, target.partition("?")[0], headers, body)

    def _close(self, answer: bytes) -> None:
        assert self.transport is not None
        self.transport.write(answer)
        self.transport.close()
        self.transport = None

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        assert self.transport is not None
        state = self.state
        if method == "POST" and path == "/inbox":
            host = host_of(headers.get("host", ""))
            mode = state.modes.get(host, "healthy")
            state.requests[host] += 1
            state.by_mode[mode] += 1
            state.last_seen[host] = time.time()
            if mode == "healthy":
                self.transport.write(_ACCEPTED)
            elif mode == "503":
                self.transport.write(_UNAVAILABLE)
            else:
                self.held = True
                state.held += 1
                self.buffer.clear()
        elif method == "GET" and path == "/ready":
            self.transport.write(_ok(b"OK", "text/plain"))
        elif method == "GET" and path == "/stats":
            self.transport.write(_ok(json.dumps(state.stats()).encode()))
        elif method == "POST" and path == "/reset":
            state.reset()
            self.transport.write(_ok(b"{}"))
        elif method == "POST" and path == "/modes":
            try:
                state.set_modes(json.loads(body))
            except (ValueError, AttributeError):
                self._close(_BAD)
                return
            self.transport.write(_ok(b"{}"))
        else:
            self.transport.write(_NOT_FOUND)
        if headers.get("connection", "").lower() == "close" and self.transport is not None:
            self.transport.close()
            self.transport = None


def domains(count: int) -> list[str]:
    """`count` distinct peer domains served by the sink: peer0001.sink, peer0002.sink, ..."""
    return [f"peer{index:04d}.sink" for index in range(1, count + 1)]


class Sink:
    """The bench's handle on a running sink process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.address = f"127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        return dict(httpx.get(self.url + "/stats", timeout=10.0).raise_for_status().json())

    def reset(self) -> None:
        httpx.post(self.url + "/reset", timeout=10.0).raise_for_status()

    def set_modes(self, modes: Mapping[str, str]) -> None:
        httpx.post(self.url + "/modes", json=dict(modes), timeout=10.0).raise_for_status()


@contextmanager
def running(port: int, log: Path, core: int = 1) -> Iterator[Sink]:
    """A sink process on 127.0.0.1:`port`, pinned to `core`, stopped on exit."""

    command = [sys.executable, "-m", "bench.sinks", "--port", str(port)]
    with servers.serving(command, port, "/ready", log, core) as server:
        yield Sink(server.url)


async def start(port: int, host: str = "127.0.0.1") -> tuple[asyncio.Server, SinkState]:
    """A listening sink in the running loop, and its state."""
    state = SinkState()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SinkProtocol(state), host, port, backlog=4096)
    return server, state


async def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve until SIGTERM or SIGINT."""
    server, _ = await start(port, host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sinks", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.port))
    else:
        uvloop.run(serve(args.port))


if __name__ == "__main__":
    main()
