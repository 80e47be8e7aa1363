"""Mastodon.py (a stock client library, which knows nothing of communities) against a real
`watercooler serve` process: a community is an account with `group: true` that the Follow
call joins, a post mentioning it is shared by it (its statuses are boosts, as Mastodon shows
a Lemmy group's), members read it at home, and `account_unfollow` leaves."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live import LiveInstance, one_instance

TIMEOUT = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("communities-live"), ("alice", "bob")) as live:
        yield live


def test_a_stock_client_joins_writes_to_and_reads_a_community(server: LiveInstance) -> None:
    token = server.token("alice")
    made = httpx.post(
        f"{server.url}/api/v1/communities",
        json={"name": "guild", "display_name": "Guild"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert made.status_code == 200, made.text
    alice, bob = server.mastodon("alice"), server.mastodon("bob")
    # bob finds it as an account and follows it: he is a member
    (found,) = [a for a in bob.account_search("guild") if a.username == "guild"]
    assert found.group is True and found.bot is False
    assert bob.account_follow(found.id).following is True
    # bob writes to it by mentioning it; the community shares it
    note = bob.status_post("@guild who wants to pair on the parser?")
    (shared,) = bob.account_statuses(found.id)
    assert shared.reblog.id == note.id and shared.account.group is True
    # alice, its moderator and a member, sees the share at home
    assert any(s.reblog and s.reblog.id == note.id for s in alice.timeline_home())
    # bob leaves with Unfollow; his next post is not shared
    assert bob.account_unfollow(found.id).following is False
    bob.status_post("@guild one more thing")
    assert [s.reblog.id for s in bob.account_statuses(found.id)] == [note.id]
