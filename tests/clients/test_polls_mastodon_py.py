"""Mastodon.py's polls against a real `watercooler serve` process: alice posts a poll made
with `make_poll`, bob reads it on her status and with `poll(id)`, votes with `poll_vote`, is
refused a second vote and a vote for an option that does not exist (MastodonAPIError with
Mastodon's message), and alice sees his vote counted. The end of a poll, which needs time to
pass, is proven on the fake clock of tests/federation_core/test_polls_rig.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mastodon import MastodonAPIError

from tests.live import LiveInstance, one_instance


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("polls-live"), ("alice", "bob")) as live:
        yield live


def test_mastodon_py_posts_reads_and_votes_in_a_poll(server: LiveInstance) -> None:
    alice, bob = server.mastodon("alice"), server.mastodon("bob")

    # alice asks, with a multiple-choice poll
    poll = alice.make_poll(["Tuesday", "Wednesday", "Thursday"], expires_in=3600, multiple=True)
    status = alice.status_post("Which days for the retro?", poll=poll)
    assert status.poll is not None
    assert [o.title for o in status.poll.options] == ["Tuesday", "Wednesday", "Thursday"]
    assert status.poll.multiple is True and status.poll.expired is False
    assert status.poll.voted is True and status.poll.own_votes == []  # her own poll

    # bob reads it on her status and by its id
    seen = bob.status(status.id).poll
    assert seen.id == status.poll.id and seen.voted is False
    assert bob.poll(seen.id).votes_count == 0

    # bob votes for two days; a second vote and a day that is no option are refused
    voted = bob.poll_vote(seen.id, [0, 2])
    assert voted.voted is True and voted.own_votes == [0, 2]
    assert [o.votes_count for o in voted.options] == [1, 0, 1]
    with pytest.raises(MastodonAPIError, match="You have already voted on this poll"):
        bob.poll_vote(seen.id, 1)
    single = alice.status_post("Lunch?", poll=alice.make_poll(["Yes", "No"], expires_in=600)).poll
    with pytest.raises(MastodonAPIError, match="The chosen vote option does not exist"):
        bob.poll_vote(single.id, 5)
    with pytest.raises(MastodonAPIError, match="You cannot vote in your own polls"):
        alice.poll_vote(single.id, 0)

    # alice sees the vote counted, one voter
    counted = alice.poll(status.poll.id)
    assert counted.voters_count == 1 and counted.votes_count == 2
    assert alice.status(status.id).poll.options[2].votes_count == 1
