"""The outbound HTTP transport under `ResolvingTransport`: httpx's API over aiohttp.

Why: httpx's own pool (httpcore) costs more CPU per request than signing it; measured on the
delivery fan-out (bench S5, one core), httpx over `httpx-aiohttp` sends 2-3x as many signed
POSTs per second as over httpcore. `ResolvingTransport` still wraps it: it has already
checked the address (SSRF guard) or applied `[federation.resolve]` before a request gets
here, and hands over a URL with the checked IP address, the real `Host` header and the TLS
server name (`sni_hostname`), which aiohttp verifies the certificate against. aiohttp
pools connections by address *and* server name, and connects to an IP address without a
DNS lookup, so the checked address is the one connected to.

What this module adds to `httpx_aiohttp.AiohttpTransport`: aiohttp's errors become the httpx
errors that mean the same (a peer that drops a kept-alive connection is a
`RemoteProtocolError`, as with httpcore, not a `ConnectTimeout`), so callers keep catching
`httpx.HTTPError` and the delivery worker's retry rules hold; and a session without a cookie
jar (peers' cookies are never sent back).

`peer_trust` is what peers' certificates are checked against: the public CAs, the system's
store and, with `[federation] ca_file`, the organisation's own CA. There is no way to turn
the check off: a peer whose certificate does not verify is not talked to.
"""

from __future__ import annotations

import ssl

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["PeerTransport", "peer_trust"]

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientError, httpx.TransportError),
)
"""aiohttp's error classes, most specific first, and the httpx error each one means."""


def as_httpx_error(error: Exception) -> Exception:
    """The httpx error that `error` (raised by aiohttp, or mapped by httpx-aiohttp from one)
    means; any other error as it is."""
    cause = error.__cause__ if isinstance(error, httpx.HTTPError) else error
    if not isinstance(cause, aiohttp.ClientError):
        return error
    for kind, meaning in _ERRORS:
        if isinstance(cause, kind):
            return meaning(str(cause) or type(cause).__name__)
    return error


def peer_trust(ca_file: str | None = None) -> ssl.SSLContext:
    """httpx's default trust (certifi's bundle, or $SSL_CERT_FILE / $SSL_CERT_DIR), plus the
    system's store (where IT usually installs an internal CA), plus `ca_file` (an internal CA
    that is in neither). Always verifying: certificate chain and host name."""
    context = httpx.create_ssl_context()
    context.load_default_certs()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def _session(limits: httpx.Limits, ssl_context: ssl.SSLContext) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limits.max_connections or 0,
        keepalive_timeout=limits.keepalive_expiry,
        ssl=ssl_context,
    )
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


class PeerTransport(AiohttpTransport):
    """`AiohttpTransport` with httpx's error types and no cookie jar. The session is made
    on the first request, inside the running event loop. `verify` as in httpx (tests pass a
    context that trusts their own certificate)."""

    def __init__(
        self, *, verify: ssl.SSLContext | bool = True, limits: httpx.Limits | None = None
    ) -> None:
        limits = limits or httpx.Limits(max_connections=100, keepalive_expiry=5.0)
        super().__init__(
            verify=verify, limits=limits, client=lambda: _session(limits, self.ssl_context)
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except Exception as error:
            translated = as_httpx_error(error)
            if translated is error:
                raise
            raise translated from error
