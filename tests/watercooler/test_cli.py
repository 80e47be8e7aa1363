"""The `watercooler` command as an operator runs it: a real process, a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wc(*args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "watercooler", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "wc.toml"
    result = wc("--config", str(path), "init", "--domain", "eng.test", "--allow-http")
    assert result.returncode == 0, result.stderr
    return path


def test_init_writes_a_config_and_an_empty_database(config: Path) -> None:
    text = config.read_text()
    assert 'domain = "eng.test"' in text and 'base_url = "https://eng.test"' in text
    database = config.parent / "data" / "watercooler.sqlite3"
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT username, actor_type, uri FROM accounts").fetchall()
        assert rows == [("eng.test", "Application", "https://eng.test/actor")]
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
    again = wc("--config", str(config), "init")
    assert again.returncode != 0 and "exists" in again.stderr and again.stdout == ""


def test_init_for_localhost_allows_plain_http(tmp_path: Path) -> None:
    path = tmp_path / "local.toml"
    assert wc("init", "--config", str(path)).returncode == 0
    text = path.read_text()
    assert 'base_url = "http://localhost:8080"' in text and "allow_http = true" in text


def test_user_add_list_disable(config: Path) -> None:
    added = wc("--config", str(config), "user", "add", "alice", "--admin")
    assert added.returncode == 0, added.stderr
    password_line = [line for line in added.stdout.splitlines() if "password" in line]
    assert len(password_line) == 1 and len(password_line[0].split(": ")[1]) == 23

    given = wc(
        "user", "add", "bob", "--password-stdin", "--config", str(config), stdin="s3cret-pw\n"
    )
    assert given.returncode == 0, given.stderr
    assert "password" not in given.stdout

    listing = wc("--config", str(config), "user", "list")
    assert listing.returncode == 0
    lines = [line.split("\t")[:2] for line in listing.stdout.splitlines()]
    assert lines == [["alice", "admin"], ["bob", "-"]]

    assert wc("--config", str(config), "user", "disable", "bob").returncode == 0
    listing = wc("--config", str(config), "user", "list")
    assert ["bob", "disabled"] in [line.split("\t")[:2] for line in listing.stdout.splitlines()]
    assert wc("--config", str(config), "user", "enable", "bob").returncode == 0
    listing = wc("--config", str(config), "user", "list")
    assert ["bob", "-"] in [line.split("\t")[:2] for line in listing.stdout.splitlines()]

    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
        keys = conn.execute(
            "SELECT count(*) FROM keys WHERE private_key_pem LIKE '-----BEGIN PRIVATE KEY-----%'"
        ).fetchone()
    assert all(h.startswith("scrypt$") and "s3cret" not in h for h in hashes)
    assert keys == (3,)  # the instance actor, alice and bob each have their own key pair


def test_user_add_errors_go_to_stderr(config: Path) -> None:
    assert wc("--config", str(config), "user", "add", "carol").returncode == 0
    duplicate = wc("--config", str(config), "user", "add", "Carol")
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
    assert duplicate.stdout == ""
    invalid = wc("--config", str(config), "user", "add", "no spaces")
    assert invalid.returncode != 0 and "invalid username" in invalid.stderr
    short = wc("--config", str(config), "user", "add", "dan", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "at least 8" in short.stderr
    missing = wc("--config", str(config), "user", "disable", "nobody")
    assert missing.returncode != 0 and "nobody" in missing.stderr


def test_token_create_prints_the_token_alone(config: Path) -> None:
    assert wc("--config", str(config), "user", "add", "erin").returncode == 0
    made = wc("--config", str(config), "token", "create", "erin", "--scopes", "read write follow")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and len(token) >= 40
    with sqlite3.connect(config.parent / "data" / "watercooler.sqlite3") as conn:
        stored = conn.execute("SELECT token_hash, scopes FROM oauth_tokens").fetchall()
    assert len(stored) == 1 and token not in stored[0][0] and stored[0][1] == "read write follow"
    bad = wc("--config", str(config), "token", "create", "erin", "--scopes", "read sudo")
    assert bad.returncode != 0 and "unknown scope" in bad.stderr


def test_config_from_environment_and_clear_errors(config: Path, tmp_path: Path) -> None:
    via_env = wc("user", "list", env={"WATERCOOLER_CONFIG": str(config)})
    assert via_env.returncode == 0, via_env.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text('[instance]\ndomain = "a.test"\n[federation]\nmode = "closed"\n')
    result = wc("--config", str(broken), "serve")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"watercooler: {broken}: federation.mode: expected 'allowlist' or 'open', got 'closed'"
    ]
    missing = wc("--config", str(tmp_path / "none.toml"), "user", "list")
    assert missing.returncode != 0 and "watercooler init" in missing.stderr
