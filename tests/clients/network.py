"""Two divisions for the real-client tests: `sales.test` (alice) and `eng.test` (bob), real
`watercooler serve` processes on loopback ports that peer each other and reach each other by
domain through `[federation.resolve]`. Clients talk to each at its loopback URL.

Also: the endpoints a client called, read from the instances' access logs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.live import LiveInstance

PASSWORD = "correct horse battery"
USERS = {"sales.test": "alice", "eng.test": "bob"}
TIMEOUT = 15
# Fast retries: a delivery that races the peer's start-up is not held back a minute.
DELIVERY = "[delivery]\nretry_base = 0.5\ncircuit_cooldown = 1\ntimeout = 5\n"
_ACCESS = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|OPTIONS|HEAD) (\S+) HTTP/[\d.]+" (\d{3})')


@dataclass
class Division:
    """One live instance and its one user."""

    live: LiveInstance
    username: str

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def email(self) -> str:
        return f"{self.username}@{self.live.domain}"

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.live.domain}"

    def api(self, token: str) -> httpx.Client:
        """A plain HTTP client of the instance's API, to check what a client did."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        )

    def log_offset(self) -> int:
        return len(self.live.log())

    def requests_since(self, offset: int) -> list[tuple[str, str, int]]:
        """(method, path without query, status) of every request in the access log after
        `offset`, in order: what the clients asked of this instance."""
        return [
            (method, target.split("?", 1)[0], int(status))
            for method, target, status in _ACCESS.findall(self.live.log()[offset:])
        ]


@contextmanager
def two_divisions(folder: Path) -> Iterator[dict[str, Division]]:
    instances = {domain: LiveInstance(domain, folder / domain) for domain in USERS}
    resolve = {domain: live.address for domain, live in instances.items()}
    try:
        for domain, live in instances.items():
            peers = [other for other in instances if other != domain]
            live.write_config(peers=peers, resolve=resolve, extra=DELIVERY)
            user = USERS[domain]
            live.cli(
                "user", "add", user, "--email", f"{user}@{domain}", "--password-stdin",
                stdin=f"{PASSWORD}\n",
            )  # fmt: skip
            live.start()
        yield {domain: Division(live, USERS[domain]) for domain, live in instances.items()}
    finally:
        for live in instances.values():
            live.stop()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `probe` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def api_endpoints(requests: list[tuple[str, str, int]]) -> list[str]:
    """The distinct client-API endpoints among `requests`, ids replaced by `:id`, in order of
    first call — the list the report gives for each client."""
    seen: dict[str, None] = {}
    for method, path, status in requests:
        if not path.startswith(("/api/", "/oauth/")):
            continue
        seen.setdefault(f"{method} {shape(path)} -> {status}", None)
    return list(seen)


def shape(path: str) -> str:
    """`path` with numeric ids as `:id`, so that calls group by endpoint."""
    return re.sub(r"/\d+(?=/|$)", "/:id", path)
