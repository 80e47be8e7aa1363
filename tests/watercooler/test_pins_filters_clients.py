"""Mastodon.py against a real `watercooler serve` process: pinning (`status_pin`,
`account_statuses(pinned=True)`, `status_unpin`), following with `notify=True` and getting a
`status` notification, and filters in both forms (`create_filter_v2`, `filter_create`),
whose results Mastodon.py reads back on a home timeline status as `filtered`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mastodon import MastodonAPIError

from tests.live import LiveInstance, one_instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("pins-live"), ("alice", "bob")) as live:
        yield live


def test_mastodon_py_pins_follows_with_notify_and_filters(server: LiveInstance) -> None:
    alice, bob = server.mastodon("alice"), server.mastodon("bob")
    me = alice.me()

    # Pins
    first = alice.status_post("pinned for everyone")
    assert alice.status_pin(first).pinned is True
    assert [s.id for s in alice.account_statuses(me, pinned=True)] == [first.id]
    assert [s.id for s in bob.account_statuses(me.id, pinned=True)] == [first.id]
    direct = alice.status_post("@bob a secret", visibility="direct")
    with pytest.raises(MastodonAPIError):
        alice.status_pin(direct)
    assert alice.status_unpin(first).pinned is False
    assert alice.account_statuses(me, pinned=True) == []

    # Follow with notify, and a `status` notification for the next post
    relationship = bob.account_follow(me.id, notify=True)
    assert relationship.following is True and relationship.notifying is True
    news = alice.status_post("news: the spoilers are out")
    (note,) = bob.notifications(types=["status"])
    assert note.type == "status" and note.status.id == news.id

    # Filters: v2 with a keyword, v1 with a phrase; both mark the post on bob's home
    made = bob.create_filter_v2(
        title="Spoilers",
        context=["home"],
        filter_action="warn",
        keywords_attributes=[{"keyword": "spoilers", "whole_word": True}],
    )
    assert made.title == "Spoilers" and made.keywords[0].keyword == "spoilers"
    legacy = bob.filter_create("news", ["home"], irreversible=False, whole_word=True)
    assert legacy.phrase == "news" and legacy.irreversible is False
    assert {f.title for f in bob.filters_v2()} == {"Spoilers", "news"}
    assert [f.phrase for f in bob.filters()] == ["spoilers", "news"]
    (shown,) = [s for s in bob.timeline_home() if s.id == news.id]
    assert sorted(r.filter.title for r in shown.filtered) == ["Spoilers", "news"]
    assert {tuple(r.keyword_matches) for r in shown.filtered} == {("spoilers",), ("news",)}

    bob.delete_filter_v2(made)
    bob.filter_delete(legacy)
    (shown,) = [s for s in bob.timeline_home() if s.id == news.id]
    assert shown.filtered == []  # the v1 delete took the keyword; its empty filter matches nothing
