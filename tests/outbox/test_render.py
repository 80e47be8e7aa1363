"""What a colleague types becomes the HTML Mastodon would send for it: links, mentions and
hashtags marked up, everything else escaped, whatever the text tries."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from outbox.render import (
    Handle,
    MentionTarget,
    extract_hashtags,
    extract_mentions,
    normalize_hashtag,
    render_html,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"

BOB = MentionTarget("https://b.test/users/bob", "https://b.test/@bob", "bob@b.test")
CAROL = MentionTarget("https://a.test/users/carol", "https://a.test/@carol", "carol")
MENTIONS = {Handle("bob", "b.test"): BOB, Handle("carol"): CAROL}


def tag_url(name: str) -> str:
    return f"https://a.test/tags/{name}"


def render(text: str) -> str:
    return render_html(text, mentions=MENTIONS, tag_url=tag_url)


def link(url: str, prefix: str, shown: str, hidden: str = "", cut: bool = False) -> str:
    return (
        f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer" translate="no">'
        f'<span class="invisible">{prefix}</span><span class="{"ellipsis" if cut else ""}">'
        f'{shown}</span><span class="invisible">{hidden}</span></a>'
    )


BOB_HTML = (
    '<span class="h-card" translate="no"><a href="https://b.test/@bob" class="u-url mention">'
    "@<span>bob</span></a></span>"
)


def hashtag(name: str) -> str:
    return (
        f'<a href="https://a.test/tags/{name}" class="mention hashtag" rel="tag">'
        f"#<span>{name}</span></a>"
    )


# --- exactly what Mastodon sends ------------------------------------------------------------


def test_sample_with_a_link_a_mention_and_a_hashtag() -> None:
    text = "Hi @bob@b.test, the #Q3 plan is at https://wiki.example.com/display/SALES/Q3+Plan"
    assert render(text) == (
        f"<p>Hi {BOB_HTML}, the {hashtag('Q3')} plan is at "
        + link(
            "https://wiki.example.com/display/SALES/Q3+Plan",
            "https://",
            "wiki.example.com/display/SALES",
            "/Q3+Plan",
            cut=True,
        )
        + "</p>"
    )


def test_reproduces_a_mastodon_4_3_post_exactly() -> None:
    """floss.social (Mastodon 4.3) rendered this for @kde@floss.social: the mention shows its
    domain because the author has the same username."""
    original = json.loads((FIXTURES / "mastodon/note-reply-with-media.json").read_text())
    text = (
        "@kde@lemmy.kde.social \n\nWe also need funding 💶 to keep the gears turning! "
        "Please support us with a donation:\n\nhttps://kde.org/donate/\n\n[3/3]"
    )
    kde = MentionTarget(
        "https://lemmy.kde.social/c/kde", "https://lemmy.kde.social/c/kde", "kde@lemmy.kde.social"
    )
    html = render_html(
        text,
        mentions={Handle("kde", "lemmy.kde.social"): kde},
        tag_url=tag_url,
        author_acct="kde",
    )
    assert html == original["content"]


def test_reproduces_a_mastodon_post_with_hashtags_exactly() -> None:
    """todon.eu's note as Fedify fetched it: apostrophes as `&#39;`, double spaces kept."""
    original = json.loads((FIXTURES / "fedify/note-compacted-lookup.json").read_text())
    text = (
        "I'm working on adding a CLI toolchain to #Fedify to help with debugging.  The first "
        "feature I implemented is the ActivityPub object lookup.\n\nHere's a demo.\n\n"
        "#fedidev #ActivityPub"
    )
    html = render_html(text, mentions={}, tag_url=lambda name: f"https://todon.eu/tags/{name}")
    assert html == original["content"]


# --- paragraphs, escaping, hostile text -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("", ""),
        ("  \n\n ", ""),
        ("hello", "<p>hello</p>"),
        ("one\ntwo", "<p>one<br>two</p>"),
        ("one\r\ntwo\rthree", "<p>one<br>two<br>three</p>"),
        ("one\n\ntwo", "<p>one</p><p>two</p>"),
        ("one\n\n\n\ntwo\nthree", "<p>one</p><p>two<br>three</p>"),
        ("\n\n  padded  \n\n", "<p>padded</p>"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"),
        ("\"quoted\" & 'single'", "<p>&quot;quoted&quot; &amp; &#39;single&#39;</p>"),
        ("@<b>x</b>", "<p>@&lt;b&gt;x&lt;/b&gt;</p>"),
        ("#<img src=x onerror=alert(1)>", "<p>#&lt;img src=x onerror=alert(1)&gt;</p>"),
        ("javascript:alert(1)", "<p>javascript:alert(1)</p>"),
        (
            "<a href='javascript:alert(1)'>x</a>",
            "<p>&lt;a href=&#39;javascript:alert(1)&#39;&gt;x&lt;/a&gt;</p>",
        ),
        ("&lt;already escaped&gt;", "<p>&amp;lt;already escaped&amp;gt;</p>"),
        ("&#39; is not a tag", "<p>&amp;#39; is not a tag</p>"),
        ("@nobody@nowhere.test hi", "<p>@nobody@nowhere.test hi</p>"),
        ("mail me at a@b.test", "<p>mail me at a@b.test</p>"),
        ("#123 and #_1 are not tags", "<p>#123 and #_1 are not tags</p>"),
        ("issue#42 and x#tag", "<p>issue#42 and x#tag</p>"),
    ],
)
def test_text_is_escaped_and_paragraphed(text: str, html: str) -> None:
    assert render(text) == html


@pytest.mark.parametrize(
    "url",
    [
        'https://x.test/"><script>alert(1)</script>',
        "https://x.test/a'onmouseover='alert(1)",
        "https://x.test/<img src=x>",
        'https://x.test/?q=<b>&a="1"',
    ],
)
def test_hostile_urls_cannot_break_out_of_the_attribute(url: str) -> None:
    html = render(url)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "onmouseover='" not in html
    # Every tag in the output is one of ours.
    assert set(re.findall(r"<(/?[a-z]+)", html)) <= {"p", "/p", "a", "/a", "span", "/span"}


def test_hostile_mention_targets_and_tag_urls_are_escaped_or_refused() -> None:
    evil = MentionTarget('https://e.test/u"><script>', "javascript:alert(1)", 'e"<x>@e.test')
    html = render_html(
        "@e@e.test #tag",
        mentions={Handle("e", "e.test"): evil},
        tag_url=lambda name: f'https://a.test/tags/{name}"><script>',
    )
    assert "javascript:" not in html
    assert "<script" not in html and "<x>" not in html
    assert 'href="https://e.test/u&quot;&gt;&lt;script&gt;"' in html  # fell back to actor_uri
    assert "@<span>e&quot;&lt;x&gt;</span>" in html
    nowhere = MentionTarget("javascript:alert(1)", None, "e@e.test")
    assert (
        render_html("@e@e.test", mentions={Handle("e", "e.test"): nowhere}, tag_url=tag_url)
        == "<p>@e@e.test</p>"
    )


# --- links ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("https://example.com", link("https://example.com", "https://", "example.com")),
        (
            "http://www.example.com/a",
            link("http://www.example.com/a", "http://www.", "example.com/a"),
        ),
        (
            "see https://example.com/x.",
            "see " + link("https://example.com/x", "https://", "example.com/x") + ".",
        ),
        (
            "(https://en.wikipedia.org/wiki/Foo_(bar))",
            "("
            + link(
                "https://en.wikipedia.org/wiki/Foo_(bar)",
                "https://",
                "en.wikipedia.org/wiki/Foo_(bar",
                ")",
                cut=True,
            )
            + ")",
        ),
        (
            "https://x.test/a?b=1&c=2",
            link("https://x.test/a?b=1&amp;c=2", "https://", "x.test/a?b=1&amp;c=2"),
        ),
        ("https://x.test/#section", link("https://x.test/#section", "https://", "x.test/#section")),
        (
            "http://localhost:8080/@alice",
            link("http://localhost:8080/@alice", "http://", "localhost:8080/@alice"),
        ),
        ("ftp://example.com and https:// alone", "<p>ftp://example.com and https:// alone</p>"),
        ("xhttps://example.com", "<p>xhttps://example.com</p>"),
    ],
)
def test_links(text: str, html: str) -> None:
    expected = html if html.startswith("<p>") else f"<p>{html}</p>"
    assert render(text) == expected


def test_a_very_long_url_shows_thirty_characters() -> None:
    url = "https://example.com/" + "a" * 5000
    html = render(url)
    assert (
        html
        == "<p>"
        + link(
            url,
            "https://",
            ("example.com/" + "a" * 5000)[:30],
            ("example.com/" + "a" * 5000)[30:],
            cut=True,
        )
        + "</p>"
    )


def test_nothing_inside_a_url_is_a_mention_or_a_tag() -> None:
    text = "https://a.test/@carol/posts#tag and https://b.test/users/@bob@b.test"
    html = render(text)
    assert "h-card" not in html and "hashtag" not in html
    assert extract_mentions(text) == [] and extract_hashtags(text) == []


# --- mentions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("@alice", [Handle("alice")]),
        ("hi @alice@a.test!", [Handle("alice", "a.test")]),
        ("@Bob@B.Test", [Handle("Bob", "b.test")]),
        ("@bob@localhost:8080 hi", [Handle("bob", "localhost:8080")]),
        ("@bob@localhost:99999", [Handle("bob", "localhost")]),
        ("@bob@host:8080abc", [Handle("bob", "host")]),
        ("@bob@sub-domain.example.co.uk.", [Handle("bob", "sub-domain.example.co.uk")]),
        ("@first.last", [Handle("first.last")]),
        ("@a_b-c", [Handle("a_b-c")]),
        ("@alice @bob @alice", [Handle("alice"), Handle("bob")]),
        ("a@b.test user@example.com", []),
        ("=@alice /@alice", []),
        ("(@alice) [@bob]", [Handle("alice"), Handle("bob")]),
        ("@ alone, @", []),
        ("@@double", [Handle("double")]),  # as Mastodon's pattern reads it
        ("@bob@bücher.test", [Handle("bob", "bücher.test")]),
    ],
)
def test_extract_mentions(text: str, handles: list[Handle]) -> None:
    assert extract_mentions(text) == handles


def test_mentions_render_as_h_cards_and_unresolved_stay_text() -> None:
    html = render("@carol and @bob@b.test and @dave@d.test")
    assert html == (
        '<p><span class="h-card" translate="no"><a href="https://a.test/@carol" '
        'class="u-url mention">@<span>carol</span></a></span> and '
        f"{BOB_HTML} and @dave@d.test</p>"
    )


def test_mention_lookup_ignores_case() -> None:
    assert BOB_HTML in render("@BOB@B.TEST")


def test_same_username_on_two_servers_shows_domains() -> None:
    bob_c = MentionTarget("https://c.test/users/bob", "https://c.test/@bob", "bob@c.test")
    html = render_html(
        "@bob@b.test @bob@c.test",
        mentions={Handle("bob", "b.test"): BOB, Handle("bob", "c.test"): bob_c},
        tag_url=tag_url,
    )
    assert "@<span>bob@b.test</span>" in html and "@<span>bob@c.test</span>" in html
    alone = render_html(
        "@bob@b.test", mentions={Handle("bob", "b.test"): BOB}, tag_url=tag_url, author_acct="bob"
    )
    assert "@<span>bob@b.test</span>" in alone
    other_author = render_html(
        "@bob@b.test", mentions={Handle("bob", "b.test"): BOB}, tag_url=tag_url, author_acct="alice"
    )
    assert "@<span>bob</span>" in other_author


def test_profile_url_falls_back_to_actor() -> None:
    target = MentionTarget("https://b.test/users/bob", None, "bob@b.test")
    html = render_html("@bob@b.test", mentions={Handle("bob", "b.test"): target}, tag_url=tag_url)
    assert 'href="https://b.test/users/bob"' in html


def test_handle_str() -> None:
    assert str(Handle("bob", "b.test")) == "@bob@b.test"
    assert str(Handle("carol")) == "@carol"


# --- hashtags -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#sales #Sales #SALES", ["sales"]),
        ("#Café and #café", ["Café"]),
        ("#日本語 #الحياة #Ελλάδα", ["日本語", "الحياة", "Ελλάδα"]),
        ("#हिन्दी", ["हिन्दी"]),  # combining marks belong to the tag
        ("#x_1 #1st #123 #_", ["x_1", "1st"]),
        ("#tag. #tag2, (#tag3)", ["tag", "tag2", "tag3"]),
        ("#ok·ok· #a・b", ["ok·ok", "a・b"]),
        ("end#tag =#tag /#tag &#tag", []),
        ("#", []),
        ("# space", []),
    ],
)
def test_extract_hashtags(text: str, tags: list[str]) -> None:
    assert extract_hashtags(text) == tags


def test_hashtags_keep_their_case_and_link_to_tag_url() -> None:
    assert render("#Fedify rocks") == f"<p>{hashtag('Fedify')} rocks</p>"


@pytest.mark.parametrize(
    ("name", "normal"),
    [("Sales", "sales"), ("#Sales", "sales"), ("Ｆｕｌｌ", "full"), ("Café", "café")],
)
def test_normalize_hashtag(name: str, normal: str) -> None:
    assert normalize_hashtag(name) == normal


# --- bounded work ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "@" + "a-" * 20000,
        "@a@" + "b." * 20000,
        "#" + "a" * 50000,
        "https://" + "a" * 50000,
        "@a " * 10000,
        "#a·" * 10000,
        "(" * 10000 + "https://x.test/" + ")" * 10000,
    ],
)
def test_hostile_lengths_render_quickly(text: str) -> None:
    started = time.perf_counter()
    render(text)
    extract_mentions(text)
    extract_hashtags(text)
    assert time.perf_counter() - started < 2.0
