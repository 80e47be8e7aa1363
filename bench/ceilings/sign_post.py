"""The bare sign-and-POST loop: the ceiling of delivery fan-out (S5) and of one hop (E2E).

It does only the irreducible part of a delivery: sign the activity for each inbox
(`federation.signatures.sign_request`, the product's RSA-2048 key) and POST it with the
product's HTTP client, built as `watercooler.services.start_services` builds it
(`httpx.AsyncClient` over `federation.aiohttp_transport.PeerTransport` inside
`ResolvingTransport`, the same timeout and User-Agent), `concurrency` requests in flight at
once, as many as the delivery worker allows (`DeliverySettings.total_concurrency`). No
queue, no database, no batches.

Run as `python -m bench.ceilings.sign_post SPEC.json` (the bench runs it pinned to the
instance's core through `measure`); it prints one JSON line. `variant` picks the client for
the httpx investigation of the benchmarks issue (sniffio is a dependency, so every httpx
variant has it):

- `httpx-aiohttp`: the product's client, httpx's API over aiohttp (the default);
- `httpx`: httpx over its own pool (`AsyncHTTPTransport(retries=0)`, httpcore), which the
  product used before;
- `aiohttp`: a bare `aiohttp.ClientSession`, for reference.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PRODUCT = "httpx-aiohttp"
VARIANTS = (PRODUCT, "httpx", "aiohttp")
ACTIVITY_JSON = "application/activity+json"
ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Spec:
    """One run of the loop: every inbox gets `body` once."""

    inboxes: list[str]
    resolve: dict[str, str]
    """Domain -> host:port, as `[federation.resolve]`."""
    body: str
    key_id: str
    private_pem: str
    concurrency: int = 32
    variant: str = PRODUCT
    timeout: float = 10.0
    warmup: int = 0
    """Requests sent at once before the clock starts, to the first inboxes: open connections
    in the pool, as a running instance has them."""


@dataclass
class Outcome:
    variant: str
    concurrency: int
    sent: int
    """Answers 2xx."""
    seconds: float
    errors: dict[str, int]
    statuses: dict[str, int]
    done_ms: list[float]
    """Per inbox: milliseconds from the start until its answer."""
    latency_ms: list[float]
    """Per inbox: milliseconds from signing to the answer."""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


Poster = Callable[[str, dict[str, str], bytes], Awaitable[int]]


def _httpx_client(spec: Spec, inner: Any) -> tuple[Poster, Callable[[], Awaitable[None]]]:
    import httpx

    from federation.transport import ResolvingTransport
    from watercooler.services import FETCH_TIMEOUT, USER_AGENT

    client = httpx.AsyncClient(
        transport=ResolvingTransport(spec.resolve, inner, trusted_hosts=spec.resolve),
        timeout=FETCH_TIMEOUT,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
    timeout = httpx.Timeout(spec.timeout)

    async def post(url: str, headers: dict[str, str], body: bytes) -> int:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
        return response.status_code

    return post, client.aclose


def _aiohttp_client(spec: Spec) -> tuple[Poster, Callable[[], Awaitable[None]]]:
    import aiohttp

    from watercooler.services import USER_AGENT

    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=spec.timeout), headers={"User-Agent": USER_AGENT}
    )

    async def post(url: str, headers: dict[str, str], body: bytes) -> int:
        scheme, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        target = f"{scheme}://{spec.resolve.get(host, host)}/{path}"
        async with session.post(target, data=body, headers=headers) as response:
            await response.read()
            return response.status

    return post, session.close


def _client(spec: Spec) -> tuple[Poster, Callable[[], Awaitable[None]]]:
    if spec.variant == PRODUCT:
        from federation.aiohttp_transport import PeerTransport

        return _httpx_client(spec, PeerTransport())
    if spec.variant == "httpx":
        import httpx

        return _httpx_client(spec, httpx.AsyncHTTPTransport(retries=0))
    if spec.variant == "aiohttp":
        return _aiohttp_client(spec)
    raise ValueError(f"unknown variant {spec.variant!r}")


async def run_loop(spec: Spec) -> Outcome:
    from federation.keys import load_private_key
    from federation.signatures import sign_request

    private_key = load_private_key(spec.private_pem)
    body = spec.body.encode("utf-8")
    post, close = _client(spec)
    pending = iter(spec.inboxes)
    done_ms: list[float] = []
    latency_ms: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()

    async def signed_post(url: str) -> int:
        headers = sign_request(
            "POST",
            url,
            {"Content-Type": ACTIVITY_JSON},
            body,
            key_id=spec.key_id,
            private_key=private_key,
            now=datetime.now(UTC),
        )
        headers["Content-Type"] = ACTIVITY_JSON
        return await post(url, headers, body)

    async def worker() -> None:
        for url in pending:  # one shared iterator: `concurrency` requests in flight
            began = time.perf_counter()
            try:
                statuses[str(await signed_post(url))] += 1
            except Exception as error:
                errors[type(error).__name__] += 1
            now = time.perf_counter()
            latency_ms.append((now - began) * 1000)
            done_ms.append((now - started) * 1000)

    try:
        warm = itertools.islice(itertools.cycle(spec.inboxes), spec.warmup)
        await asyncio.gather(*(signed_post(url) for url in warm))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec.concurrency)))
        seconds = time.perf_counter() - started
    finally:
        await close()
    sent = sum(count for status, count in statuses.items() if status.startswith("2"))
    return Outcome(
        spec.variant,
        spec.concurrency,
        sent,
        seconds,
        dict(errors),
        dict(statuses),
        done_ms,
        latency_ms,
    )


def measure(spec: Spec, *, core: int = 0, timeout: float = 300.0) -> Outcome:
    """Run the loop in its own process pinned to `core` (the instance's core)."""
    handle, name = tempfile.mkstemp(prefix="bench-sign-post-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(asdict(spec), out)
    try:
        done = subprocess.run(
            ["taskset", "-c", str(core), sys.executable, "-m", "bench.ceilings.sign_post", name],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
    finally:
        Path(name).unlink(missing_ok=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"sign_post failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    data = json.loads(lines[-1])
    return Outcome(**data)


def variant_spec(spec: Spec, variant: str, concurrency: int) -> Spec:
    """`spec` for another client variant and concurrency."""
    return replace(spec, variant=variant, concurrency=concurrency)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    spec = Spec(**json.loads(Path(args[0]).read_text()))
    import uvloop  # the instance's loop (uvicorn --loop uvloop)

    outcome = uvloop.run(run_loop(spec))
    print(json.dumps(asdict(outcome)))


if __name__ == "__main__":
    main()
