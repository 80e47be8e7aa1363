"""Which reaction names an announcement takes: one unicode emoji as Mastodon accepts it
without custom emojis (this instance has none), built from its joiners, variation
selectors, skin tones, keycaps and flag tags; anything else is refused with 422."""

from __future__ import annotations

import pytest

from watercooler.announcements import is_unicode_emoji

EMOJI = ["👍", "👍🏽", "🇫🇷", "👨\u200d👩\u200d👧", "1️⃣", "#️⃣", "❤️", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"]  # fmt: skip  # noqa: E501
NOT_EMOJI = ["nope", ":blobcat:", "a👍", "", "<b>", "^", "👍^", "1", "👍" * 40, "\u200d"]


@pytest.mark.parametrize("name", EMOJI)
def test_emoji_are_taken(name: str) -> None:
    assert is_unicode_emoji(name)


@pytest.mark.parametrize("name", NOT_EMOJI)
def test_other_names_are_refused(name: str) -> None:
    assert not is_unicode_emoji(name)
