"""`watercooler peer ...` against running servers: another process changes the peer list
and the server links, refuses and reports accordingly, within seconds."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.live import LiveInstance, start_all

WAIT = 20.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def status_rows(live: LiveInstance) -> dict[str, list[str]]:
    lines = live.cli("peer", "status").stdout.strip().splitlines()
    assert lines[0].split("\t")[:2] == ["domain", "linked"]
    return {line.split("\t")[0]: line.split("\t") for line in lines[1:]}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LiveInstance, LiveInstance]]:
    """sales.test lists eng.test in its config; eng.test lists no one yet."""
    sales = LiveInstance("sales.test", tmp_path / "sales")
    eng = LiveInstance("eng.test", tmp_path / "eng")
    resolve = {sales.domain: sales.address, eng.domain: eng.address}
    sales.write_config(peers=[eng.domain], resolve=resolve)
    eng.write_config(peers=[], resolve=resolve)
    start_all([sales, eng])
    try:
        yield sales, eng
    finally:
        sales.stop()
        eng.stop()


def test_peer_add_status_and_remove_reach_the_running_server(
    pair: tuple[LiveInstance, LiveInstance],
) -> None:
    sales, eng = pair
    assert eng.cli("peer", "list").stdout.splitlines()[1:] == []
    added = eng.cli("peer", "add", "sales.test", "--name", "Sales")
    assert "sales.test added" in added.stdout
    listed = eng.cli("peer", "list").stdout.splitlines()[1]
    assert listed.split("\t")[:3] == ["sales.test", "Sales", "admin"]
    wait_for(
        lambda: status_rows(eng)["sales.test"][1] == "accepted/accepted",
        "the instance actors to follow each other",
    )
    wait_for(lambda: status_rows(sales)["eng.test"][1] == "accepted/accepted", "sales' view")
    row = status_rows(eng)["sales.test"]
    assert row[2] != "-" and row[3:5] == ["0", "0"]  # a success, nothing queued or dead

    # A config peer cannot be removed from the CLI: the next start would list it again.
    refused = sales.cli_result("peer", "remove", "eng.test")
    assert refused.returncode == 2 and "config" in refused.stderr

    removed = eng.cli("peer", "remove", "sales.test")
    assert "sales.test removed" in removed.stdout
    assert status_rows(eng) == {}
    missing = eng.cli_result("peer", "remove", "sales.test")
    assert missing.returncode == 2 and "not a peer" in missing.stderr
    bad = eng.cli_result("peer", "add", "not a domain")
    assert bad.returncode == 2 and "not a domain name" in bad.stderr


def test_domain_block_and_list(pair: tuple[LiveInstance, LiveInstance]) -> None:
    _, eng = pair
    eng.cli("domain", "block", "spam.example", "--reason", "spam")
    eng.cli("domain", "block", "loud.example", "--severity", "silence")
    listing = eng.cli("domain", "list").stdout
    assert "spam.example\treject\t" in listing and "\tspam" in listing
    assert "loud.example\tsilence\t" in listing
    eng.cli("domain", "unblock", "spam.example")
    assert "spam.example" not in eng.cli("domain", "list").stdout
    assert eng.cli_result("domain", "unblock", "spam.example").returncode == 2


def test_a_server_without_workers_follows_peer_changes_too(tmp_path: Path) -> None:
    """With `server.workers = false` the queues run in `watercooler worker`; the server
    itself must still take a peer added from the CLI, or it refuses the peer's answers."""
    sales = LiveInstance("sales.test", tmp_path / "sales")
    eng = LiveInstance("eng.test", tmp_path / "eng")
    resolve = {sales.domain: sales.address, eng.domain: eng.address}
    sales.write_config(peers=[eng.domain], resolve=resolve)
    eng.write_config(peers=[], resolve=resolve, workers=False)
    start_all([sales, eng])
    worker = eng.spawn("worker")
    try:
        eng.cli("peer", "add", "sales.test")
        wait_for(
            lambda: status_rows(eng)["sales.test"][1] == "accepted/accepted",
            "the link through a separate worker process",
        )
    finally:
        worker.terminate()
        worker.wait(timeout=10)
        sales.stop()
        eng.stop()


def _last_sync_start(live: LiveInstance, peer: str) -> str | None:
    """When `live` last started reading `peer`'s people directory (its database, read-only)."""
    with sqlite3.connect(f"file:{live.folder / 'db.sqlite3'}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT last_started_at FROM directory_peers WHERE domain = ?", (peer,)
        ).fetchone()
    return row[0] if row else None


def test_peer_sync_reads_a_peers_directory_now(pair: tuple[LiveInstance, LiveInstance]) -> None:
    """The server reads a peer's directory every five minutes; `peer sync` makes it now."""
    sales, eng = pair
    eng.cli("peer", "add", "sales.test")
    wait_for(lambda: _last_sync_start(sales, "eng.test") is not None, "the first sync")
    first = _last_sync_start(sales, "eng.test")
    asked = sales.cli("peer", "sync", "eng.test", "--full")
    assert "directory sync of eng.test asked" in asked.stdout
    wait_for(lambda: _last_sync_start(sales, "eng.test") != first, "the sync asked for")
    refused = sales.cli_result("peer", "sync", "nobody.test")
    assert refused.returncode == 2 and "nobody.test: not in the directory sync" in refused.stderr
