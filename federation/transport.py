"""The outbound HTTP transport: split-horizon names and the SSRF guard.

- `[federation.resolve]`: a listed domain is connected to at the configured `host:port`;
  the request keeps its `Host` header (and TLS server name), so signatures and virtual
  hosts see the real domain. The test rig runs `sales.test`, `eng.test` and `hr.test` on
  loopback ports this way.
- SSRF guard: any other host is resolved here and every address it resolves to is checked
  before connecting; private, loopback, link-local, multicast and reserved addresses are
  refused unless the host is a configured peer (an organisation's peers live on private
  networks). The connection goes to the checked address, so a DNS answer that changes
  between check and connect cannot slip past (no rebinding window).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Collection, Mapping

import httpx

from federation.errors import RefusedDocument


class UnsafeAddress(RefusedDocument):
    """The host resolves to an address we do not connect to for a non-peer."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class ResolvingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        resolve: Mapping[str, str],
        inner: httpx.AsyncBaseTransport,
        *,
        trusted_hosts: Collection[str] = (),
        is_trusted: Callable[[str], bool] = lambda host: False,
        guard: bool = True,
    ) -> None:
        """`trusted_hosts` and the hosts `is_trusted` accepts (the peers, which change at
        run time) may be on private addresses; no one else may."""
        self._resolve = {domain.lower(): target for domain, target in resolve.items()}
        self._trusted = {host.lower() for host in trusted_hosts}
        self._is_trusted = is_trusted
        self._inner = inner
        self._guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        netloc = request.url.netloc.decode("ascii").lower()
        host = request.url.host.lower()
        target = self._resolve.get(netloc) or self._resolve.get(host)
        if target is not None:
            target_host, _, port = target.rpartition(":")
            self._redirect(request, target_host.strip("[]"), int(port))
        elif self._guard:
            await self._check(request, netloc, host)
        return await self._inner.handle_async_request(request)

    @staticmethod
    def _redirect(request: httpx.Request, address: str, port: int | None) -> None:
        request.extensions = {**request.extensions, "sni_hostname": request.url.host}
        request.url = request.url.copy_with(host=address, port=port)

    async def _check(self, request: httpx.Request, netloc: str, host: str) -> None:
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = await _resolve(host, port)
            except OSError as error:
                raise httpx.ConnectError(
                    f"cannot resolve {host}: {error}", request=request
                ) from error
        if not addresses:
            raise httpx.ConnectError(f"{host} has no address", request=request)
        trusted = (
            netloc in self._trusted
            or host in self._trusted
            or self._is_trusted(netloc)
            or self._is_trusted(host)
        )
        if not trusted and not all(_is_public(address) for address in addresses):
            raise UnsafeAddress(f"{host} resolves to a non-public address ({', '.join(addresses)})")
        if addresses[0] != host:
            self._redirect(request, addresses[0], request.url.port)

    async def aclose(self) -> None:
        await self._inner.aclose()
