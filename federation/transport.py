"""The outbound HTTP transport: split-horizon name mapping for `[federation.resolve]`.

A domain listed there is connected to at the configured `host:port`; the request keeps its
`Host` header (and TLS server name), so signatures and virtual hosts see the real domain.
The test rig uses this to run `sales.test`, `eng.test` and `hr.test` on loopback ports.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx


class ResolvingTransport(httpx.AsyncBaseTransport):
    def __init__(self, resolve: Mapping[str, str], inner: httpx.AsyncBaseTransport) -> None:
        self._resolve = {domain.lower(): target for domain, target in resolve.items()}
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        netloc = request.url.netloc.decode("ascii").lower()
        target = self._resolve.get(netloc) or self._resolve.get(request.url.host.lower())
        if target is not None:
            host, _, port = target.rpartition(":")
            request.extensions = {**request.extensions, "sni_hostname": request.url.host}
            request.url = request.url.copy_with(host=host.strip("[]"), port=int(port))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
