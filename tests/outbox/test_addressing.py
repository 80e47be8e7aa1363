"""Each visibility is addressed as Mastodon addresses it, and an inbound post's audience
reads back as the visibility its server meant."""

from __future__ import annotations

from typing import Any

import pytest

from outbox.addressing import VISIBILITIES, address, boost_address, reach, visibility_of

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
FOLLOWERS = "https://a.test/users/alice/followers"
BOB = "https://b.test/users/bob"
CAROL = "https://c.test/users/carol"


@pytest.mark.parametrize(
    ("visibility", "mentioned", "to", "cc"),
    [
        ("public", [], [PUBLIC], [FOLLOWERS]),
        ("public", [BOB, CAROL], [PUBLIC], [FOLLOWERS, BOB, CAROL]),
        ("unlisted", [], [FOLLOWERS], [PUBLIC]),
        ("unlisted", [BOB], [FOLLOWERS], [PUBLIC, BOB]),
        ("private", [], [FOLLOWERS], []),
        ("private", [BOB], [FOLLOWERS], [BOB]),
        # org: addressed as followers-only (never Public), told apart by its marker
        ("org", [], [FOLLOWERS], []),
        ("org", [BOB, PUBLIC], [FOLLOWERS], [BOB]),
        ("direct", [BOB, CAROL], [BOB, CAROL], []),
        ("direct", [], [], []),
        # no duplicates, in a list or across both
        ("public", [BOB, BOB, CAROL, BOB], [PUBLIC], [FOLLOWERS, BOB, CAROL]),
        ("private", [FOLLOWERS, BOB], [FOLLOWERS], [BOB]),
        ("direct", [BOB, BOB], [BOB], []),
        # a "mention" of the public collection never widens a post
        ("direct", [PUBLIC, "as:Public", BOB], [BOB], []),
        ("private", ["Public", BOB], [FOLLOWERS], [BOB]),
        ("unlisted", [PUBLIC], [FOLLOWERS], [PUBLIC]),
        # nor does a mention of the author's own followers make a direct post followers-only
        ("direct", [FOLLOWERS, BOB], [BOB], []),
    ],
)
def test_address(visibility: str, mentioned: list[str], to: list[str], cc: list[str]) -> None:
    assert address(visibility, followers_url=FOLLOWERS, mentioned=mentioned) == (to, cc)


@pytest.mark.parametrize("visibility", VISIBILITIES)
def test_address_reads_back_as_the_same_visibility(visibility: str) -> None:
    """With the org marker believed for org posts (a peer's), as a peer reads them."""
    to, cc = address(visibility, followers_url=FOLLOWERS, mentioned=[BOB])
    marked = visibility == "org"
    assert visibility_of(to, cc, followers_url=FOLLOWERS, org_only=marked) == visibility
    assert visibility_of(to, cc, followers_url=None, org_only=marked) == visibility


def test_an_org_post_without_a_believed_marker_reads_as_followers_only() -> None:
    """What Mastodon (or we, for a non-peer's marker) make of it: never public."""
    to, cc = address("org", followers_url=FOLLOWERS, mentioned=[BOB])
    assert PUBLIC not in (*to, *cc)
    assert visibility_of(to, cc, followers_url=FOLLOWERS) == "private"


def test_a_believed_marker_makes_any_addressing_org() -> None:
    assert visibility_of([PUBLIC], [FOLLOWERS], followers_url=FOLLOWERS, org_only=True) == "org"


@pytest.mark.parametrize(
    ("visibility", "local_only", "expected"),
    [
        ("public", False, "any"),
        ("unlisted", False, "any"),
        ("private", False, "any"),
        ("direct", False, "any"),
        ("org", False, "peers"),
        ("public", True, "none"),
        ("org", True, "none"),
        ("direct", True, "none"),
    ],
)
def test_reach(visibility: str, local_only: bool, expected: str) -> None:
    assert reach(visibility, local_only=local_only) == expected


def test_boost_address() -> None:
    assert boost_address("public", followers_url=FOLLOWERS, original_author=BOB) == (
        [PUBLIC],
        [BOB, FOLLOWERS],
    )
    assert boost_address("org", followers_url=FOLLOWERS, original_author=BOB) == (
        [FOLLOWERS],
        [BOB],
    )


@pytest.mark.parametrize("visibility", ["Org", "Public", "", "followers", "local"])
def test_unknown_visibility_is_refused(visibility: str) -> None:
    with pytest.raises(ValueError, match="unknown visibility"):
        address(visibility, followers_url=FOLLOWERS, mentioned=[])


def test_visibilities_widest_first() -> None:
    assert VISIBILITIES == ("public", "unlisted", "org", "private", "direct")


@pytest.mark.parametrize(
    ("to", "cc", "followers_url", "visibility"),
    [
        ([PUBLIC], [FOLLOWERS], FOLLOWERS, "public"),
        (["as:Public"], [], None, "public"),
        (["Public"], [], None, "public"),
        (["http://www.w3.org/ns/activitystreams#Public"], [], None, "public"),
        ([{"id": PUBLIC}], [], None, "public"),
        ([FOLLOWERS], [PUBLIC], FOLLOWERS, "unlisted"),
        ([BOB], ["as:Public"], None, "unlisted"),
        ([FOLLOWERS], [], FOLLOWERS, "private"),
        ([BOB], [FOLLOWERS], FOLLOWERS, "private"),
        ([FOLLOWERS], [BOB], None, "private"),  # unknown followers URL: the /followers suffix
        (["https://x.test/u/bob/followers/"], [], None, "private"),
        ([FOLLOWERS], [], "https://a.test/users/alice/fans", "direct"),  # someone else's
        (["https://x.test/u/bob/followers"], [], FOLLOWERS, "direct"),
        ([BOB], [CAROL], FOLLOWERS, "direct"),
        ([], [], FOLLOWERS, "direct"),
        ([None, 42, {}], [[PUBLIC]], None, "direct"),
    ],
)
def test_visibility_of(
    to: list[Any], cc: list[Any], followers_url: str | None, visibility: str
) -> None:
    assert visibility_of(to, cc, followers_url=followers_url) == visibility


def test_visibility_of_takes_tuples_from_parsed_notes() -> None:
    assert visibility_of((FOLLOWERS,), (PUBLIC,), followers_url=FOLLOWERS) == "unlisted"
