"""The outbound transport over aiohttp, behind the SSRF guard and the split-horizon map:
what reaches a peer, what a misbehaving peer looks like to callers (httpx's errors, as the
delivery worker's retry rules expect), and TLS checked against the peer's name, not the
address it was resolved to. The peers are tiny asyncio servers on loopback."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from federation.aiohttp_transport import PeerTransport, as_httpx_error
from federation.transport import ResolvingTransport, UnsafeAddress

Answer = Callable[[asyncio.StreamWriter, asyncio.Event], Awaitable[None]]


async def accept(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
    writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


async def hang_up(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
    writer.close()


async def never_answer(writer: asyncio.StreamWriter, release: asyncio.Event) -> None:
    await release.wait()


class Peer:
    """One listening peer: its port and every request it read (head and body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[bytes] = []
        self.connections = 0


@asynccontextmanager
async def peer(answer: Answer, tls: ssl.SSLContext | None = None) -> AsyncIterator[Peer]:
    release = asyncio.Event()
    found: list[Peer] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found[0].connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ),
                0,
            )
            found[0].requests.append(head + await reader.readexactly(length))
            await answer(writer, release)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    found.append(Peer(server.sockets[0].getsockname()[1]))
    try:
        yield found[0]
    finally:
        release.set()
        server.close()
        await server.wait_closed()


def client(resolve: dict[str, str], *, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    transport = ResolvingTransport(resolve, PeerTransport(verify=verify), trusted_hosts=resolve)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0))


async def test_a_post_reaches_the_peer_by_its_name_with_the_exact_body() -> None:
    async with peer(accept) as far, client({"far.test": f"127.0.0.1:{far.port}"}) as http:
        response = await http.post(
            "http://far.test/inbox",
            content=b'{"type": "Create"}',
            headers={"Content-Type": "application/activity+json"},
        )
    assert response.status_code == 202
    (request,) = far.requests
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /inbox HTTP/1.1"
    assert "host: far.test" in [line.lower() for line in lines]
    assert body == b'{"type": "Create"}'


async def test_a_peer_that_hangs_up_without_answering_is_a_remote_protocol_error() -> None:
    # The delivery worker retries that at once, once: it is what a dropped keep-alive
    # connection looks like.
    async with peer(hang_up) as far, client({"far.test": f"127.0.0.1:{far.port}"}) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("http://far.test/inbox", content=b"{}")


async def test_a_peer_that_never_answers_times_out() -> None:
    async with peer(never_answer) as far, client({"far.test": f"127.0.0.1:{far.port}"}) as http:
        with pytest.raises(httpx.TimeoutException):
            await http.post("http://far.test/inbox", content=b"{}", timeout=0.2)


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with peer(accept) as far:
        port = far.port  # closed on leaving: nothing listens there any more
    async with client({"far.test": f"127.0.0.1:{port}"}) as http:
        with pytest.raises(httpx.ConnectError):
            await http.post("http://far.test/inbox", content=b"{}")


async def test_the_guard_refuses_a_private_address_before_anything_connects() -> None:
    async with peer(accept) as near, client({}) as http:
        with pytest.raises(UnsafeAddress):
            await http.get(f"http://127.0.0.1:{near.port}/")
        with pytest.raises(UnsafeAddress):
            await http.get(f"http://localhost:{near.port}/")
    assert near.connections == 0


def certificate(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for `name`: (the server's context, a client's trusting it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    return server, trusting


async def test_tls_is_checked_against_the_peers_name_not_its_address(tmp_path: Path) -> None:
    server_tls, trusting = certificate(tmp_path, "far.test")
    async with peer(accept, tls=server_tls) as far:
        address = f"127.0.0.1:{far.port}"
        resolve = {"far.test": address, "impostor.test": address}
        async with client(resolve, verify=trusting) as http:
            # far.test's certificate is checked against far.test, though we dial 127.0.0.1
            response = await http.post("https://far.test/inbox", content=b"{}")
            assert response.status_code == 202
            # the same address under another name fails: a connection (pooled by address
            # and name) is never reused for a name its certificate does not cover
            with pytest.raises(httpx.ConnectError):
                await http.post("https://impostor.test/inbox", content=b"{}")
    assert len(far.requests) == 1


@pytest.mark.parametrize(
    ("error", "meaning"),
    [
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut short"), httpx.ReadError),
        (aiohttp.ConnectionTimeoutError("slow"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("slow"), httpx.ReadTimeout),
    ],
)
def test_aiohttp_errors_mean_what_httpx_errors_mean(
    error: Exception, meaning: type[Exception]
) -> None:
    assert type(as_httpx_error(error)) is meaning
    # httpx-aiohttp's own mapping (a disconnect as a ConnectTimeout) is corrected too
    mapped = httpx.ConnectTimeout("mapped")
    mapped.__cause__ = error
    assert type(as_httpx_error(mapped)) is meaning


def test_other_errors_pass_unchanged() -> None:
    error = ValueError("not ours")
    assert as_httpx_error(error) is error
    plain = httpx.ReadTimeout("plain")
    assert as_httpx_error(plain) is plain
