"""The SSRF guard and split-horizon mapping of the outbound transport."""

from __future__ import annotations

import httpx
import pytest

from federation.transport import ResolvingTransport, UnsafeAddress


def recorder() -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    return httpx.MockTransport(handler), seen


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/inbox",
        "http://10.0.0.5/inbox",
        "http://[::1]/inbox",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.1.1/",
        "http://localhost:8080/inbox",
        "http://0.0.0.0/",
    ],
)
async def test_private_addresses_of_non_peers_are_refused(url: str) -> None:
    inner, seen = recorder()
    async with httpx.AsyncClient(transport=ResolvingTransport({}, inner)) as client:
        with pytest.raises(UnsafeAddress):
            await client.get(url)
    assert seen == []


async def test_a_configured_peer_may_live_on_a_private_network() -> None:
    inner, seen = recorder()
    transport = ResolvingTransport({}, inner, trusted_hosts={"10.0.0.5", "localhost:8080"})
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get("http://10.0.0.5/inbox")).status_code == 200
        assert (await client.get("http://localhost:8080/inbox")).status_code == 200
    # localhost was resolved here and the connection goes to the checked address.
    assert seen[1].url.host in ("127.0.0.1", "::1") and seen[1].headers["host"] == "localhost:8080"


async def test_resolve_map_keeps_host_header_and_server_name() -> None:
    inner, seen = recorder()
    transport = ResolvingTransport({"eng.test": "127.0.0.1:9001"}, inner)
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("https://eng.test/users/bob")
    (request,) = seen
    assert (request.url.host, request.url.port) == ("127.0.0.1", 9001)
    assert request.headers["host"] == "eng.test"
    assert request.extensions["sni_hostname"] == "eng.test"


async def test_public_addresses_pass() -> None:
    inner, seen = recorder()
    async with httpx.AsyncClient(transport=ResolvingTransport({}, inner)) as client:
        assert (await client.get("http://93.184.216.34/inbox")).status_code == 200
    assert len(seen) == 1
