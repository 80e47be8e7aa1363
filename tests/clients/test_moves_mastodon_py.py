"""A move between two live divisions, done by IT with the CLI and seen through Mastodon.py:
bob on eng follows alice on sales; IT gives alice a new account alice2 on eng, lists the old
one as its alias (`watercooler user alias`, which looks alice up on sales over HTTP) and
moves alice (`watercooler user move` on sales, which fetches alice2 from eng afresh). The
running servers then deliver the `Move`, and bob, in his app, follows alice2 instead, sees
where alice went (`moved`) and has a `move` notification."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.clients.network import PASSWORD, Division, two_divisions, wait_for
from tests.clients.test_mastodon_py import sign_in

SALES, ENG = "sales.test", "eng.test"


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    with two_divisions(tmp_path_factory.mktemp("moves-mastodon-py")) as found:
        yield found


@pytest.fixture(autouse=True)
def split_horizon(divisions: dict[str, Division], monkeypatch: pytest.MonkeyPatch) -> None:
    """This process reaches `sales.test` and `eng.test` at their loopback ports."""
    real = socket.getaddrinfo
    table = {domain: division.live.port for domain, division in divisions.items()}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return real("127.0.0.1", table[host], *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_it_moves_alice_and_bobs_app_follows_her_new_account(
    divisions: dict[str, Division],
) -> None:
    sales, eng = divisions[SALES], divisions[ENG]
    bob = sign_in(eng)
    (alice,) = bob.search_v2(f"@{sales.handle}", resolve=True).accounts
    bob.account_follow(alice.id)
    wait_for(
        "sales to accept bob's follow", lambda: bob.account_relationships(alice.id)[0].following
    )

    eng.live.cli("user", "add", "alice2", "--password-stdin", stdin=f"{PASSWORD}\n")
    aliased = eng.live.cli_result("user", "alias", "alice2", "--add", "@alice@sales.test")
    assert aliased.returncode == 0, aliased.stderr
    assert aliased.stdout.strip() == "alice2 is also known as http://sales.test/users/alice"
    moved = sales.live.cli_result("user", "move", "alice", "--to", "@alice2@eng.test")
    assert moved.stdout.startswith("alice moved to @alice2@eng.test"), moved.stderr

    (alice2,) = bob.search_v2("@alice2@eng.test", resolve=True).accounts
    wait_for("bob to follow alice2", lambda: bob.account_relationships(alice2.id)[0].following)
    wait_for(
        "bob to stop following alice",
        lambda: not bob.account_relationships(alice.id)[0].following,
    )
    assert bob.account_lookup("alice@sales.test").moved.acct == "alice2"
    (told,) = wait_for("the move notification", lambda: bob.notifications(types=["move"]))
    assert (told.account.acct, told.target.acct) == ("alice@sales.test", "alice2")
