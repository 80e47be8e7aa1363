"""`make run`, as the README tells a newcomer: first run writes the config, creates an admin
with a one-time password and serves; the second run keeps both."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_run(config: Path, port: int) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        ["make", "-s", "run", f"CONFIG={config}", f"PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if "serving on" in line:
            break
    return process, lines


def stop(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    finally:
        if process.stdout is not None:
            process.stdout.close()


def get_when_up(url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=2, headers={"Host": "localhost:8080"})
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_make_run_bootstraps_and_serves(tmp_path: Path) -> None:
    config = tmp_path / "watercooler.toml"
    port = free_port()
    process, lines = make_run(config, port)
    try:
        output = "\n".join(lines)
        assert "One-time password:" in output, output
        assert config.exists() and 'domain = "localhost:8080"' in config.read_text()
        assert (tmp_path / "data" / "watercooler.sqlite3").exists()
        base = f"http://127.0.0.1:{port}"
        finger = get_when_up(f"{base}/.well-known/webfinger?resource=acct:admin@localhost:8080")
        assert finger.status_code == 200
        assert finger.json()["subject"] == "acct:admin@localhost:8080"
    finally:
        stop(process)

    process, lines = make_run(config, port)
    try:
        assert "One-time password:" not in "\n".join(lines)
        assert (
            get_when_up(f"http://127.0.0.1:{port}/nodeinfo/2.0").json()["usage"]["users"]["total"]
            == 1
        )
    finally:
        stop(process)
