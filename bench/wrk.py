"""The load generator: Debian's `wrk` (installed here on first use), replaying pre-built
requests through bench/lua/replay.lua, pinned to its own core so it is never the bottleneck."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.stats import Measurement

LUA = Path(__file__).resolve().parent / "lua" / "replay.lua"
MARK = "BENCH_JSON "


def ensure_wrk() -> str:
    """The path of `wrk`, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], capture_output=True, check=True)
        subprocess.run(install, capture_output=True, check=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed (apt-get install wrk)")
    return found


def raw_request(
    method: str, target: str, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    """One HTTP/1.1 request as bytes, as wrk sends it on a kept-alive connection."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def write_requests(requests: list[bytes]) -> Path:
    """A file of NUL-separated requests for replay.lua (bodies are JSON: never contain NUL)."""
    if any(b"\0" in request for request in requests):
        raise ValueError("a request contains NUL")
    handle, name = tempfile.mkstemp(prefix="bench-requests-", suffix=".bin")
    with os.fdopen(handle, "wb") as out:
        out.write(b"\0".join(requests))
    return Path(name)


def run(
    url: str,
    requests_file: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    expect: int = 0,
    core: int | None = 1,
    timeout_s: float = 10.0,
    pace_ms: float = 0.0,
) -> Measurement:
    """Drive `url` for `seconds` with `connections` kept-alive connections; `expect` is the
    status every answer should have (-1: any 2xx; -2: 2xx, or 429/503 with Retry-After);
    `pace_ms` waits between a connection's
    requests, to hold a rate rather than saturate."""
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s:g}s",
        "-s",
        str(LUA),
        url,
    ]
    if core is not None:
        command = ["taskset", "-c", str(core), *command]
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_EXPECT": str(expect),
        "BENCH_DELAY_MS": str(round(pace_ms)),
    }
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            data = json.loads(line[len(MARK) :])
            break
    else:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    # With an expected status (a 401 for forged signatures, say) non-2xx answers are not
    # errors; answers other than the expected one are counted in `unexpected` instead.
    kinds = ["connect_errors", "read_errors", "write_errors"]
    if not expect:
        kinds.append("status_errors")
    errors = sum(data[key] for key in kinds)
    return Measurement(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        unexpected=data["unexpected"],
        refused=data["refused"],
        statuses=data.get("statuses", {}),
        timeouts=data["timeouts"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
