"""Real `watercooler serve` processes on loopback ports, for tests that need the real thing.

Each instance gets its own config and SQLite file, a free port on 127.0.0.1, and a
`[federation.resolve]` map so instances reach each other by domain. With `tls` (files from a
test CA, `LiveTls.issue`) an instance serves https for its domain and trusts that CA for its
peers. Start-up waits are bounded; processes are always terminated.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import trustme
    from mastodon import Mastodon

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveTls:
    """The files of an https instance: its certificate chain and key, the CA file its config
    trusts for its peers (`[federation] ca_file`), and the CA file its own clients trust
    (`issuer`: the same CA unless a test gives it a certificate from another)."""

    certificate: Path
    key: Path
    ca_file: Path
    issuer: Path | None = None

    @classmethod
    def issue(cls, ca: trustme.CA, folder: Path, domain: str) -> LiveTls:
        """A certificate from `ca` for `domain` (its host part), with `ca` as the trusted CA."""
        folder.mkdir(parents=True, exist_ok=True)
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(ca_file)
        host = domain.partition(":")[0]  # a certificate names hosts, not ports
        issued = ca.issue_cert(host)
        certificate, key = folder / f"{host}.pem", folder / f"{host}.key"
        for index, pem in enumerate(issued.cert_chain_pems):
            pem.write_to_path(certificate, append=index > 0)
        issued.private_key_pem.write_to_path(key)
        return cls(certificate, key, ca_file)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.issuer or self.ca_file))


class Loopback(httpx.HTTPTransport):
    """Connects to each listed domain at its loopback address and keeps the `Host` header and
    the TLS server name the domain's, as `[federation.resolve]` does for the instances."""

    def __init__(self, routes: dict[str, str], **options: Any) -> None:
        super().__init__(**options)
        self.routes = routes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = self.routes.get(request.url.netloc.decode("ascii"))
        if target is not None:
            host, _, port = target.rpartition(":")
            request.extensions = {**request.extensions, "sni_hostname": request.url.host}
            request.url = request.url.copy_with(host=host, port=int(port))
        return super().handle_request(request)


@dataclass
class LiveInstance:
    domain: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    tls: LiveTls | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "watercooler.toml"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client of this instance by its domain (relative URLs are on `base_url`),
        verifying its certificate against its issuer when it serves https."""
        verify = self.tls.client_context() if self.tls else True
        transport = Loopback({self.domain: self.address}, verify=verify)
        return httpx.Client(base_url=self.base_url, transport=transport, **options)

    def write_config(
        self,
        *,
        peers: list[str],
        resolve: dict[str, str],
        authorized_fetch: bool = False,
        workers: bool = True,
        extra: str = "",
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tls = self.tls
        lines = [
            "[instance]",
            f'domain = "{self.domain}"',
            f'base_url = "{self.base_url}"',
            "[server]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f"workers = {'true' if workers else 'false'}",
            *([f'tls_certificate = "{tls.certificate}"', f'tls_key = "{tls.key}"'] if tls else []),
            "[database]",
            'path = "db.sqlite3"',
            "[federation]",
            f"allow_http = {'false' if tls else 'true'}",
            *([f'ca_file = "{tls.ca_file}"'] if tls else []),
            f"authorized_fetch = {'true' if authorized_fetch else 'false'}",
            "[federation.resolve]",
            *(f'"{domain}" = "{target}"' for domain, target in resolve.items()),
            *(f'[[peers]]\ndomain = "{peer}"' for peer in peers),
            extra,
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "watercooler", "--config", str(self.config_path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def cli_result(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`cli` without raising on a non-zero exit, to look at refusals."""
        return subprocess.run(
            [sys.executable, "-m", "watercooler", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self, *serve_args: str) -> None:
        self.launch(*serve_args)
        self.wait_ready()

    def launch(self, *serve_args: str) -> None:
        """Start `watercooler serve` (with `serve_args`, e.g. `--ssl-certfile F`); see
        `wait_ready`."""
        command = [sys.executable, "-m", "watercooler", "--config", str(self.config_path)]
        with (self.folder / "server.log").open("a") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(
                [*command, "serve", *serve_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def wait_ready(self) -> None:
        """Until the launched server answers (over https, verified, when it has `tls`)."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + START_TIMEOUT
        with self.client(timeout=1.0) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.domain} exited:\n{self.log()}")
                try:
                    http.get("/.well-known/nodeinfo")
                    return
                except httpx.TransportError:
                    time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.domain} did not start in {START_TIMEOUT}s:\n{self.log()}")

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Another `watercooler` process on this instance's config (e.g. `worker`)."""
        with (self.folder / f"{args[0]}.log").open("a") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "watercooler", "--config", str(self.config_path), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def kill(self) -> None:
        """kill -9: no shutdown, no flush; what was committed must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def token(self, name: str, scopes: str = "read write follow") -> str:
        return self.cli("token", "create", name, "--scopes", scopes).stdout.strip()

    def mastodon(self, name: str, timeout: float = 15.0) -> Mastodon:
        """Mastodon.py with a token of `name`'s: the client library apps are built on."""
        from mastodon import Mastodon

        return Mastodon(
            access_token=self.token(name),
            api_base_url=self.url,
            version_check_mode="created",
            request_timeout=timeout,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text() if path.exists() else ""


def start_all(instances: Iterable[LiveInstance]) -> None:
    """Start several instances at once (their start-ups overlap); all stopped if one fails."""
    started = list(instances)
    try:
        for live in started:
            live.launch()
        for live in started:
            live.wait_ready()
    except BaseException:
        for live in started:
            live.stop()
        raise


@contextmanager
def one_instance(
    folder: Path, users: Iterable[str], password: str = "correct horse battery"
) -> Iterator[LiveInstance]:
    """One instance whose domain is its own loopback address (so the URLs in its entities are
    the ones a test fetches), with `users`, queue workers off; always stopped."""
    port = free_port()
    live = LiveInstance(f"127.0.0.1:{port}", folder, port=port)
    live.write_config(peers=[], resolve={}, workers=False)
    for name in users:
        live.cli("user", "add", name, "--password-stdin", stdin=f"{password}\n")
    live.start()
    try:
        yield live
    finally:
        live.stop()
