"""A real client on a real server: Mastodon.py against a `watercooler serve` process makes a
list, adds an account, reads the list timeline, and reads and marks a direct-message
conversation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mastodon.errors import MastodonNotFoundError

from tests.live import LiveInstance, one_instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("lists-live"), ("alice", "bob", "carol")) as live:
        yield live


def test_mastodon_py_lists_and_conversations(server: LiveInstance) -> None:
    alice, bob, carol = (server.mastodon(name) for name in ("alice", "bob", "carol"))
    bob_account = alice.account_lookup("bob")
    alice.account_follow(bob_account.id)
    alice.account_follow(alice.account_lookup("carol").id)

    made = alice.list_create("Project X", replies_policy="followed", exclusive=True)
    assert (made.title, made.replies_policy, made.exclusive) == ("Project X", "followed", True)
    alice.list_accounts_add(made.id, [bob_account.id])
    assert [a.acct for a in alice.list_accounts(made.id)] == ["bob"]
    assert [x.id for x in alice.lists()] == [made.id]
    assert [x.id for x in alice.account_lists(bob_account.id)] == [made.id]

    bobs = [bob.status_post(f"update {n}") for n in range(3)]
    carols = carol.status_post("not for the list")
    listed = alice.timeline_list(made.id, limit=2)
    assert [s.id for s in listed] == [bobs[2].id, bobs[1].id]
    older = alice.fetch_next(listed)  # follows the Link header
    assert older is not None and [s.id for s in older] == [bobs[0].id]
    assert [s.id for s in alice.timeline_home()] == [carols.id]  # an exclusive list

    renamed = alice.list_update(made.id, "Project Y", replies_policy="list", exclusive=False)
    assert (renamed.title, renamed.exclusive) == ("Project Y", False)
    assert len(alice.timeline_home()) == 4

    sent = bob.status_post("@alice the budget, privately", visibility="direct")
    [conversation] = alice.conversations()
    assert conversation.unread is True and conversation.last_status.id == sent.id
    assert [a.acct for a in conversation.accounts] == ["bob"]
    assert alice.conversations_read(conversation.id).unread is False
    assert alice.conversations()[0].unread is False
    assert carol.conversations() == []

    alice.list_accounts_delete(made.id, [bob_account.id])
    assert alice.list_accounts(made.id) == []
    alice.list_delete(made.id)
    with pytest.raises(MastodonNotFoundError):
        alice.list(made.id)
