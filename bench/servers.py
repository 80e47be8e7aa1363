"""Server processes for benchmarks: a Watercooler instance or a ceiling app, under uvicorn
with uvloop and httptools, pinned to one core, on 127.0.0.1 only, always stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx

START_TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    """One pinned server process; `url` is where it listens."""

    def __init__(
        self,
        command: list[str],
        port: int,
        ready_path: str,
        log: Path,
        core: int,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("a") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(core), *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(self.url + ready_path, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {START_TIMEOUT:g}s:\n{log.read_text()}")

    @property
    def rss_kib(self) -> int:
        return rss_kib(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


@contextmanager
def serving(
    command: list[str],
    port: int,
    ready_path: str,
    log: Path,
    core: int = 0,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    server = Server(command, port, ready_path, log, core, env)
    try:
        yield server
    finally:
        server.stop()


def watercooler(
    config: Path, port: int, log: Path, core: int = 0
) -> AbstractContextManager[Server]:
    """`watercooler serve` on `config` (access log off: uvicorn logs it at info)."""
    command = [
        sys.executable,
        "-m",
        "watercooler",
        "--config",
        str(config),
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return serving(command, port, "/.well-known/nodeinfo", log, core)


def ceiling(
    app: str, port: int, log: Path, core: int = 0, env: dict[str, str] | None = None
) -> AbstractContextManager[Server]:
    """A bare ceiling app from bench/ceilings under the same uvicorn settings."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return serving(command, port, "/ready", log, core, env)
