"""`watercooler demo`: three divisions on loopback, peered, with people who follow each other
and have posted, so a newcomer sees federation working in one command. Ctrl-C stops all.

Each division is a real `watercooler serve` process with its own config and SQLite file
under the demo folder; they reach each other on 127.0.0.1 and nothing leaves the machine.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from watercooler.config import render_config

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
START_TIMEOUT = 30.0


@dataclass(frozen=True)
class Division:
    name: str
    port: int
    user: str

    @property
    def domain(self) -> str:
        return f"localhost:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.domain}"

    @property
    def actor(self) -> str:
        return f"{self.url}/users/{self.user}"


def divisions(base_port: int) -> list[Division]:
    return [
        Division("Sales", base_port, "alice"),
        Division("Engineering", base_port + 1, "bob"),
        Division("HR", base_port + 2, "carol"),
    ]


def _cli(config: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "watercooler", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip() or f"watercooler {args[0]} failed")
    return result.stdout


def _write_config(folder: Path, division: Division, everyone: list[Division]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "watercooler.toml"
    text = render_config(
        domain=division.domain,
        base_url=division.url,
        name=division.name,
        host="127.0.0.1",
        port=division.port,
        allow_http=True,
        data_dir="data",
    )
    peers = "".join(f'\n[[peers]]\ndomain = "{d.domain}"\n' for d in everyone if d != division)
    config.write_text(text + "\n[delivery]\nretry_base = 2\n" + peers)
    return config


def _wait_ready(division: Division, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{division.name} exited during start-up")
        try:
            httpx.get(f"{division.url}/.well-known/nodeinfo", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{division.name} did not start within {START_TIMEOUT:.0f}s")


def _c2s(division: Division, token: str, document: dict[str, object]) -> None:
    response = httpx.post(
        f"{division.url}/users/{division.user}/outbox",
        json=document,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    response.raise_for_status()


def run_demo(folder: Path, base_port: int) -> int:
    """Set up (first time), start, seed (first time) and keep running until interrupted."""
    team = divisions(base_port)
    first_time = not folder.exists()
    configs = {d.name: _write_config(folder / d.name.lower(), d, team) for d in team}
    passwords: dict[str, str] = {}
    if first_time:
        for division in team:
            password = secrets.token_urlsafe(9)
            _cli(
                configs[division.name],
                "user",
                "add",
                division.user,
                "--password-stdin",
                stdin=password + "\n",
            )
            passwords[division.name] = password
    tokens = {
        d.name: _cli(
            configs[d.name], "token", "create", d.user, "--scopes", "read write follow"
        ).strip()
        for d in team
    }
    processes: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        for division in team:
            log = (folder / division.name.lower() / "server.log").open("ab")
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "watercooler",
                        "--config",
                        str(configs[division.name]),
                        "serve",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            )
            log.close()
        for division, process in zip(team, processes, strict=True):
            _wait_ready(division, process)
        if first_time:
            _seed(team, tokens)
        _print_welcome(team, passwords, tokens, folder)
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        print("demo stopped", flush=True)
    return 0


def _seed(team: list[Division], tokens: dict[str, str]) -> None:
    sales, eng, hr = team
    for follower, followed in ((eng, sales), (hr, sales), (sales, eng), (hr, eng)):
        _c2s(follower, tokens[follower.name], {"type": "Follow", "object": followed.actor})
    time.sleep(1.0)  # let the Accepts arrive before the first posts
    posts = (
        (sales, "Q3 numbers are in: thanks to everyone who helped close the quarter! #sales"),
        (
            eng,
            f"Release 2.4 is out. @alice@{sales.domain} the pricing export you asked for is in it.",
        ),
        (hr, "Reminder: benefits enrolment closes on Friday. Questions welcome here. #hr"),
    )
    for division, text in posts:
        note = {
            "type": "Note",
            "content": text,
            "to": [AS_PUBLIC],
            "cc": [f"{division.actor}/followers"],
        }
        _c2s(division, tokens[division.name], note)


def _print_welcome(
    team: list[Division], passwords: dict[str, str], tokens: dict[str, str], folder: Path
) -> None:
    lines = ["", "Watercooler demo: three divisions on this machine, peered with each other.", ""]
    for division in team:
        password = passwords.get(division.name, "(set at first run; see its output)")
        lines += [
            f"  {division.name:<12} {division.url}",
            f"      user @{division.user}@{division.domain}  password {password}",
            f"      API token (read write follow): {tokens[division.name]}",
        ]
    lines += [
        "",
        f"Data and logs are under {folder}/. Ctrl-C stops all three.",
        "",
    ]
    print("\n".join(lines), flush=True)
