"""Remote HTML is cleaned before it is stored: what Mastodon keeps stays, the rest goes."""

from __future__ import annotations

import pytest

from federation.html import plain_text, sanitize_html


def test_mastodon_markup_survives() -> None:
    html = (
        '<p>Hi <span class="h-card"><a href="https://b.test/@bob" class="u-url mention">'
        '@<span>bob</span></a></span> <a href="https://b.test/tags/q" class="mention hashtag"'
        ' rel="tag">#<span>q</span></a><br>line two</p>'
    )
    cleaned = sanitize_html(html)
    for kept in ('class="h-card"', 'class="u-url mention"', "<br>", "#<span>q</span>"):
        assert kept in cleaned
    assert 'rel="nofollow noopener noreferrer"' in cleaned


@pytest.mark.parametrize(
    ("hostile", "gone"),
    [
        ("<script>alert(1)</script>", "alert"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<p style="position:fixed" onclick="x()">x</p>', "onclick"),
        ('<iframe src="https://evil.test"></iframe>', "iframe"),
        ('<a href="https://x.test" class="evil mention">x</a>', "evil"),
        ("<svg><script>alert(1)</script></svg>", "svg"),
    ],
)
def test_hostile_html_is_removed(hostile: str, gone: str) -> None:
    assert gone not in sanitize_html(hostile)


def test_plain_text_names() -> None:
    assert plain_text("<b>Bob</b> &amp; Co <script>x()</script>") == "Bob & Co"
    assert plain_text("  Ünïcode 🎉 ") == "Ünïcode 🎉"
