"""Real `watercooler serve` processes on loopback ports, for tests that need the real thing.

Each instance gets its own config and SQLite file, a free port on 127.0.0.1, and a
`[federation.resolve]` map so instances reach each other by domain. Start-up waits are
bounded; processes are always terminated.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveInstance:
    domain: str
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "watercooler.toml"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

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
        lines = [
            "[instance]",
            f'domain = "{self.domain}"',
            f'base_url = "http://{self.domain}"',
            "[server]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f"workers = {'true' if workers else 'false'}",
            "[database]",
            'path = "db.sqlite3"',
            "[federation]",
            "allow_http = true",
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

    def start(self) -> None:
        with (self.folder / "server.log").open("a") as log:  # the child keeps its own handle
            self.process = subprocess.Popen(
                [sys.executable, "-m", "watercooler", "--config", str(self.config_path), "serve"],
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.domain} exited:\n{self.log()}")
            try:
                httpx.get(f"{self.url}/.well-known/nodeinfo", timeout=1.0)
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
