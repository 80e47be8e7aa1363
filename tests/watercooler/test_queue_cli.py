"""The delivery queue as an operator handles it: `queue status`, `queue retry` and
`worker --once` in real processes, on a real SQLite file, against a peer that is down."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import accounts, deliveries, follows
from store.accounts import NewAccount
from store.records import AccountRecord
from watercooler.config import load_config
from watercooler.services import Services, open_database, start_services

PEERS = ("far.test", "near.test")
"""Both peers are mapped to 127.0.0.1:1, a closed loopback port: every POST is refused."""


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
    with path.open("a", encoding="utf-8") as file:
        file.write("\n[federation.resolve]\n")
        file.writelines(f'"{peer}" = "127.0.0.1:1"\n' for peer in PEERS)
        file.writelines(f'\n[[peers]]\ndomain = "{peer}"\n' for peer in PEERS)
    for name in ("alice", "bob"):
        added = wc(
            "--config", str(path), "user", "add", name, "--password-stdin", stdin="password123\n"
        )
        assert added.returncode == 0, added.stderr
    return path


def database(config: Path) -> Path:
    return config.parent / "data" / "watercooler.sqlite3"


def queue_status(config: Path) -> tuple[dict[str, dict[str, str]], str]:
    """`queue status` as a table: host -> column -> cell, and the inbound line."""
    result = wc("--config", str(config), "queue", "status")
    assert result.returncode == 0, result.stderr
    header, *rows, inbound = result.stdout.splitlines()
    columns = header.split("\t")
    assert columns[:5] == ["host", "pending", "retrying", "dead", "sent"]
    table = {}
    for row in rows:
        cells = row.split("\t")
        assert len(cells) == len(columns), row
        table[cells[0]] = dict(zip(columns, cells, strict=True))
    return table, inbound


def counts(table: dict[str, dict[str, str]], host: str) -> tuple[int, int, int, int]:
    row = table[host]
    return int(row["pending"]), int(row["retrying"]), int(row["dead"]), int(row["sent"])


async def remote_actor(services: Services, name: str, domain: str) -> AccountRecord:
    base = f"http://{domain}"
    async with services.db.transaction() as conn:
        return await accounts.insert_account(
            conn,
            services.db.new_id(),
            NewAccount(
                username=name,
                domain=domain,
                uri=f"{base}/users/{name}",
                url=f"{base}/@{name}",
                inbox_url=f"{base}/users/{name}/inbox",
                shared_inbox_url=f"{base}/inbox",
                followers_url=f"{base}/users/{name}/followers",
            ),
            datetime.now(UTC),
        )


async def publish_towards_peers(config: Path) -> None:
    """alice and bob follow zed@far.test, alice follows yan@near.test; zed and yan follow
    alice, then she posts: 3 deliveries for far.test, 2 for near.test."""
    services = await start_services(load_config(config))
    try:
        zed = await remote_actor(services, "zed", "far.test")
        yan = await remote_actor(services, "yan", "near.test")
        async with services.db.read() as conn:
            alice = await accounts.get_local(conn, "alice")
            bob = await accounts.get_local(conn, "bob")
        assert alice is not None and bob is not None
        await services.publisher.follow(alice, zed)
        await services.publisher.follow(bob, zed)
        await services.publisher.follow(alice, yan)
        async with services.db.transaction() as conn:
            for follower in (zed, yan):
                await follows.upsert(
                    conn,
                    services.db.new_id(),
                    account_id=follower.id,
                    target_account_id=alice.id,
                    uri=f"{follower.uri}#follows/1",
                    state=follows.ACCEPTED,
                    now=datetime.now(UTC),
                )
        await services.publisher.post(alice, "Quarterly numbers are in")
    finally:
        await services.aclose()


async def mark_dead(config: Path, ids: list[int]) -> None:
    db = await open_database(load_config(config))
    try:
        async with db.transaction() as conn:
            for delivery_id in ids:
                assert await deliveries.mark_dead(
                    conn,
                    delivery_id,
                    attempts=15,
                    last_status=403,
                    last_error="HTTP 403",
                    now=datetime.now(UTC),
                )
    finally:
        await db.close()


def rows(config: Path, host: str) -> list[tuple[int, str, int, str | None, str]]:
    """(id, state, attempts, last_error, next_attempt_at) of a host's deliveries."""
    with sqlite3.connect(database(config)) as conn:
        return conn.execute(
            "SELECT id, state, attempts, last_error, next_attempt_at FROM deliveries"
            " WHERE host = ? ORDER BY id",
            (host,),
        ).fetchall()


async def test_status_retry_and_worker_once_against_a_peer_that_is_down(config: Path) -> None:
    # An empty queue: the header and the inbound line only.
    table, inbound = queue_status(config)
    assert table == {}
    assert inbound == "inbound: 0 pending, 0 done, 0 failed"

    # Publishing queues one delivery per activity and remote inbox, visible per host.
    await publish_towards_peers(config)
    table, _ = queue_status(config)
    assert set(table) == set(PEERS)
    assert counts(table, "far.test") == (3, 0, 0, 0)
    assert counts(table, "near.test") == (2, 0, 0, 0)
    assert table["far.test"]["last error"] == "-"

    # Some die (say the peer refused them): status shows them dead, with the error.
    far, near = rows(config, "far.test"), rows(config, "near.test")
    await mark_dead(config, [far[0][0], far[1][0], near[0][0]])
    table, _ = queue_status(config)
    assert counts(table, "far.test") == (1, 0, 2, 0)
    assert counts(table, "near.test") == (1, 0, 1, 0)
    assert table["far.test"]["last error"] == "HTTP 403"

    # `queue retry --host` puts back that host's dead deliveries only.
    retried = wc("--config", str(config), "queue", "retry", "--host", "far.test")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == "2 dead delivery(ies) queued again"
    table, _ = queue_status(config)
    assert counts(table, "far.test") == (3, 0, 0, 0)
    assert counts(table, "near.test") == (1, 0, 1, 0)
    assert all(attempts == 0 for _, _, attempts, _, _ in rows(config, "far.test"))

    # The worker tries every due delivery once, records the refusal, indexes the post for
    # search and exits by itself.
    before = datetime.now(UTC)
    worked = wc("--config", str(config), "worker", "--once", "--log-level", "WARNING")
    assert worked.returncode == 0, worked.stderr
    assert worked.stdout.strip() == "handled 5 job(s)"  # 4 deliveries, the post's indexing
    table, _ = queue_status(config)
    assert counts(table, "far.test") == (0, 3, 0, 0)
    assert counts(table, "near.test") == (0, 1, 1, 0)
    assert table["far.test"]["last error"].startswith("ConnectError")
    assert table["far.test"]["last success"] == "-"
    for _, state, attempts, error, next_attempt_at in rows(config, "far.test"):
        assert (state, attempts) == ("retrying", 1)
        assert error is not None and error.startswith("ConnectError")
        assert datetime.fromisoformat(next_attempt_at).replace(tzinfo=UTC) > before

    # Nothing is due any more: a second pass handles nothing and changes nothing.
    again = wc("--config", str(config), "worker", "--once", "--log-level", "WARNING")
    assert again.returncode == 0 and again.stdout.strip() == "handled 0 job(s)"
    assert counts(queue_status(config)[0], "far.test") == (0, 3, 0, 0)

    # Without --host, every host's dead deliveries go back.
    everything = wc("--config", str(config), "queue", "retry")
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.strip() == "1 dead delivery(ies) queued again"
    assert counts(queue_status(config)[0], "near.test") == (1, 1, 0, 0)


async def test_worker_once_waits_retry_base_before_the_next_attempt(config: Path) -> None:
    """`[delivery] retry_base` reaches the worker: the first retry waits 0.5-1 x the base."""
    with config.open("a", encoding="utf-8") as file:
        file.write("\n[delivery]\nretry_base = 0.5\n")
    await publish_towards_peers(config)
    worked = wc("--config", str(config), "worker", "--once", "--log-level", "WARNING")
    assert worked.returncode == 0, worked.stderr
    with sqlite3.connect(database(config)) as conn:
        found = conn.execute(
            "SELECT state, next_attempt_at, updated_at FROM deliveries WHERE host = 'far.test'"
        ).fetchall()
    assert len(found) == 3
    for state, next_attempt_at, updated_at in found:
        waited = datetime.fromisoformat(next_attempt_at) - datetime.fromisoformat(updated_at)
        assert state == "retrying"
        assert timedelta(seconds=0.25) <= waited <= timedelta(seconds=0.5)
