"""The loopback inbox sink answers by the Host's mode and counts what it saw."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bench import servers
from bench.sinks import SinkState, host_of, parse_head, start


@pytest.fixture
async def sink() -> AsyncIterator[tuple[str, SinkState]]:
    port = servers.free_port()
    server, state = await start(port)
    async with server:
        yield f"http://127.0.0.1:{port}", state


async def test_modes_per_host_and_counts(sink: tuple[str, SinkState]) -> None:
    url, state = sink
    async with httpx.AsyncClient() as client:
        set_modes = await client.post(f"{url}/modes", json={"bad.sink": "503", "dead.sink": "hang"})
        assert set_modes.status_code == 200
        for host in ("a.sink", "a.sink", "b.sink:8080"):
            answer = await client.post(f"{url}/inbox", content=b"{}", headers={"Host": host})
            assert answer.status_code == 202
        answer = await client.post(f"{url}/inbox", content=b"{}", headers={"Host": "bad.sink"})
        assert answer.status_code == 503
        with pytest.raises(httpx.ReadTimeout):
            await client.post(
                f"{url}/inbox", content=b"{}", headers={"Host": "dead.sink"}, timeout=0.3
            )
        stats = (await client.get(f"{url}/stats")).json()
    assert stats["hosts"] == {"a.sink": 2, "b.sink": 1, "bad.sink": 1, "dead.sink": 1}
    assert stats["by_mode"] == {"healthy": 3, "503": 1, "hang": 1}
    assert stats["total"] == 5
    state.reset()
    assert state.stats()["total"] == 0


async def test_pipelined_requests_and_split_bodies(sink: tuple[str, SinkState]) -> None:
    url, state = sink
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps({"x": "y" * 3000}).encode()
    request = (
        b"POST /inbox HTTP/1.1\r\nHost: p.sink\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    writer.write(request * 2 + request[:50])  # two whole requests and the start of a third
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.write(request[50:])
    await writer.drain()
    answers = b""
    while answers.count(b"202 Accepted") < 3:
        answers += await asyncio.wait_for(reader.read(4096), 2.0)
    writer.close()
    await writer.wait_closed()
    assert state.requests["p.sink"] == 3


def test_parse_head_and_host() -> None:
    method, target, headers = parse_head(b"POST /inbox HTTP/1.1\r\nHost: A.Sink:80\r\nX-A:  b ")
    assert (method, target, headers) == ("POST", "/inbox", {"host": "A.Sink:80", "x-a": "b"})
    assert host_of(headers["host"]) == "a.sink"
    with pytest.raises(ValueError):
        parse_head(b"POST /inbox HTTP/1.1\r\nno colon here")
