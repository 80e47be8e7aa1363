"""`watercooler demo`: three divisions start, are seeded, print how to sign in, stop on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def three_free_ports() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base > 65000:
            continue
        try:
            sockets = [socket.create_server(("127.0.0.1", base + i)) for i in range(3)]
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return int(base)
    raise RuntimeError("no three consecutive free ports")


def test_demo_runs_three_divisions_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = three_free_ports()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "watercooler",
            "demo",
            "--dir",
            str(tmp_path / "demo"),
            "--base-port",
            str(base),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    output: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops all three" in line:
                break
        text = "".join(output)
        assert "Ctrl-C stops all three" in text, text
        for name, port in (("Sales", base), ("Engineering", base + 1), ("HR", base + 2)):
            assert re.search(rf"{name}\s+http://localhost:{port}", text)
        assert len(re.findall(r"password \S+", text)) == 3
        tokens = re.findall(r"API token \(read write follow\): (\S+)", text)
        engineering = f"http://localhost:{base + 1}"
        # bob on Engineering follows alice on Sales: her seeded post reaches his inbox.
        received: list[str] = []
        for _ in range(300):
            page = httpx.get(
                f"{engineering}/users/bob/inbox",
                headers={"Authorization": f"Bearer {tokens[1]}"},
                timeout=5,
            ).json()
            received = [str(item["object"]) for item in page["orderedItems"]]
            if any("Q3 numbers" in r for r in received):
                break
            time.sleep(0.1)
        assert any("Q3 numbers" in r for r in received), received
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "demo stopped" in rest
    for port in (base, base + 1, base + 2):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
