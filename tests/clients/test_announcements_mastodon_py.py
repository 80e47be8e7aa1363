"""Announcements through Mastodon.py against two live divisions: IT gives alice (sales) the
announcer role with `watercooler user role`, she publishes through the admin API, and bob
(eng) reads it with `announcements()`, reacts with `announcement_reaction_create` and
dismisses it with `announcement_dismiss`, as a stock app does."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.network import Division, two_divisions, wait_for
from tests.clients.test_mastodon_py import sign_in

SALES, ENG = "sales.test", "eng.test"


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    with two_divisions(tmp_path_factory.mktemp("announcements-py")) as found:
        yield found


@pytest.fixture(autouse=True)
def split_horizon(divisions: dict[str, Division], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each division by its domain, as the company's DNS would resolve it."""
    real = socket.getaddrinfo
    table = {domain: division.live.port for domain, division in divisions.items()}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return real("127.0.0.1", table[host], *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_an_announcement_from_sales_in_a_stock_client_on_eng(
    divisions: dict[str, Division],
) -> None:
    sales, eng = divisions[SALES], divisions[ENG]
    granted = sales.live.cli("user", "role", "alice", "--add", "announcer")
    assert "granted announcer: alice" in granted.stdout
    assert "alice: announcer" in granted.stdout
    alice, bob = sign_in(sales), sign_in(eng)
    assert bob.announcements() == []

    with sales.api(alice.access_token) as api:
        answer = api.post(
            "/api/v1/admin/announcements", json={"text": "Quarterly results at noon #q3"}
        )
    assert answer.status_code == 200, answer.text

    [shown] = wait_for("the announcement on eng", bob.announcements)
    assert "Quarterly results at noon" in shown.content
    assert [tag["name"] for tag in shown.tags] == ["q3"]
    assert shown.read is False and shown.all_day is False and shown.starts_at is None

    bob.announcement_reaction_create(shown, "🎉")
    [reacted] = bob.announcements()
    assert [(r["name"], r["count"], r["me"]) for r in reacted.reactions] == [("🎉", 1, True)]
    assert alice.announcements()[0].reactions == []  # reactions stay on each division

    bob.announcement_dismiss(shown)
    assert bob.announcements() == []
    with eng.api(bob.access_token) as api:
        kept = api.get("/api/v1/announcements", params={"with_dismissed": "true"}).json()
    assert [a["read"] for a in kept] == [True]
