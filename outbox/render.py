"""Rendering a local user's plain text into the HTML Mastodon sends, and finding in it the
mentions and hashtags a post must tag.

This module owns the one path from what a colleague typed to the `content` we store and
federate: everything is escaped, then links, resolved mentions and hashtags are turned into
the markup Mastodon 4.x emits (so every app and server shows them as it shows Mastodon's),
and blank lines make paragraphs. It follows Mastodon's `TextFormatter` and its mention and
hashtag patterns; mentions may name a port (`@bob@localhost:8080`), which Mastodon's do not.

It must not pass any user text through unescaped, resolve mentions itself (the caller looks
the handles up and passes the results in), or do I/O. Remote HTML is sanitised elsewhere
(`federation.html`); this module never sees it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

LINK_REL = "nofollow noopener noreferrer"
DISPLAY_URL_LENGTH = 30
"""Characters of a link shown after its scheme (and `www.`); Mastodon hides the rest."""

# Mastodon's Account::USERNAME_RE and MENTION_RE, plus an optional port after the domain.
_USERNAME = r"[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?"
_DOMAIN = r"\w+(?:[.-]+\w+)*(?::[0-9]{1,5}(?!\w))?"
_MENTION_RE = re.compile(
    rf"(?<![=/\w])@(?P<username>{_USERNAME})(?:@(?P<domain>{_DOMAIN}))?", re.IGNORECASE
)
# An http(s) URL not glued to a word, `@`, `#` or `$` (twitter-text's preceding characters).
_URL_RE = re.compile(r"(?<![\w@#$＠＃＄])https?://[^\s<>\"\x00-\x1f\x7f]+", re.IGNORECASE)
_URL_PREFIX_RE = re.compile(r"https?://(?:www\.)?", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\"*"
_BRACKETS = {")": "(", "]": "[", "}": "{"}
# Where a hashtag may start: not after a word character or `=`, `/`, `)`, `&` (Tag::HASHTAG_RE,
# and `&` so that a typed `&#39;` is not a tag).
_HASH_RE = re.compile(r"(?<![=/)&\w])#")
# Mastodon's HASHTAG_SEPARATORS: allowed inside a tag, never at its end.
_TAG_SEPARATORS = "\u00b7\u30fb\u200c"
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")


@dataclass(frozen=True, slots=True)
class Handle:
    """A mention as typed: `@username` (`domain` is `None`) or `@username@domain[:port]`.

    The domain is lower-cased; the username is kept as written.
    """

    username: str
    domain: str | None = None

    def __str__(self) -> str:
        return f"@{self.username}@{self.domain}" if self.domain else f"@{self.username}"


@dataclass(frozen=True, slots=True)
class MentionTarget:
    """Whom a handle resolved to: the actor (for the `Mention` tag), the page a reader opens,
    and the account's `acct` (`alice` for a local account, `bob@b.test` for a remote one).

    Without an http(s) `profile_url` the link goes to `actor_uri`.
    """

    actor_uri: str
    profile_url: str | None
    acct: str


@dataclass(frozen=True, slots=True)
class _Entity:
    start: int
    end: int
    kind: str  # "url", "mention" or "hashtag"
    value: str
    handle: Handle | None = None


def _h(text: str) -> str:
    """Escape as Rails' `h` does (Mastodon's output): `&<>"` and `'` as `&#39;`."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def _trim_url(url: str) -> str:
    """Drop trailing punctuation and closing brackets that the URL does not open."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING:
            url = url[:-1]
        elif last in _BRACKETS and url.count(_BRACKETS[last]) < url.count(last):
            url = url[:-1]
        else:
            break
    return url


def _is_linkable(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def _urls(text: str) -> list[_Entity]:
    found = []
    for match in _URL_RE.finditer(text):
        url = _trim_url(match.group())
        if _is_linkable(url):
            found.append(_Entity(match.start(), match.start() + len(url), "url", url))
    return found


def _mentions(text: str) -> list[_Entity]:
    found = []
    for match in _MENTION_RE.finditer(text):
        domain, end = match.group("domain"), match.end()
        host, _, port = (domain or "").partition(":")
        if port and not 0 < int(port) < 65536:
            domain, end = host, match.start("domain") + len(host)  # not a port: plain text
        handle = Handle(match.group("username"), domain.lower() if domain else None)
        found.append(_Entity(match.start(), end, "mention", text[match.start() : end], handle))
    return found


def _is_tag_char(char: str) -> bool:
    return char == "_" or unicodedata.category(char)[0] in "LMN"


def _hashtags(text: str) -> list[_Entity]:
    """Tags as Mastodon finds them: letters, marks, digits and `_`, with at least one letter."""
    found = []
    for match in _HASH_RE.finditer(text):
        start = end = match.end()
        if start >= len(text) or not _is_tag_char(text[start]):
            continue
        while end < len(text) and (_is_tag_char(text[end]) or text[end] in _TAG_SEPARATORS):
            end += 1
        while text[end - 1] in _TAG_SEPARATORS:
            end -= 1
        name = text[start:end]
        if any(char.isalpha() for char in name):
            found.append(_Entity(match.start(), end, "hashtag", name))
    return found


def _entities(text: str) -> list[_Entity]:
    """Links, mentions and hashtags in order; where they overlap, the earlier one wins and
    links win ties, so nothing inside a URL is read as a mention or a tag."""
    candidates = sorted(
        [*_urls(text), *_mentions(text), *_hashtags(text)],
        key=lambda e: (e.start, e.kind != "url"),
    )
    chosen: list[_Entity] = []
    for entity in candidates:
        if not chosen or entity.start >= chosen[-1].end:
            chosen.append(entity)
    return chosen


def extract_mentions(text: str) -> list[Handle]:
    """Every handle mentioned in `text`, once each, in order of first appearance.

    An `@` glued to a word (`a@b.c`, an e-mail address) or inside a link is not a mention.
    """
    handles = [e.handle for e in _entities(text) if e.handle is not None]
    return list(dict.fromkeys(handles))


def normalize_hashtag(name: str) -> str:
    """The form a tag is stored and compared in: NFKC, lower case, no leading `#`."""
    return unicodedata.normalize("NFKC", name.lstrip("#")).lower()


def extract_hashtags(text: str) -> list[str]:
    """Every hashtag in `text` without its `#`, as first written, once per normalised form.

    `#123` is not a tag (no letter); neither is a `#` inside a link or glued to a word.
    """
    seen: dict[str, str] = {}
    for entity in _entities(text):
        if entity.kind == "hashtag":
            seen.setdefault(normalize_hashtag(entity.value), entity.value)
    return list(seen.values())


def _link_html(url: str) -> str:
    """Mastodon's link: scheme (and `www.`) hidden, 30 characters shown, the rest hidden."""
    prefix_match = _URL_PREFIX_RE.match(url)
    prefix = prefix_match.group() if prefix_match else ""
    rest = url[len(prefix) :]
    shown, hidden = rest[:DISPLAY_URL_LENGTH], rest[DISPLAY_URL_LENGTH:]
    cutoff = "ellipsis" if len(rest) > DISPLAY_URL_LENGTH else ""
    return (
        f'<a href="{_h(url)}" target="_blank" rel="{LINK_REL}" translate="no">'
        f'<span class="invisible">{_h(prefix)}</span>'
        f'<span class="{cutoff}">{_h(shown)}</span>'
        f'<span class="invisible">{_h(hidden)}</span></a>'
    )


def _lookup(handle: Handle, mentions: Mapping[Handle, MentionTarget]) -> MentionTarget | None:
    """The target of a handle; usernames and domains compare without case, as Mastodon's."""
    if (target := mentions.get(handle)) is not None:
        return target
    wanted = (handle.username.casefold(), (handle.domain or "").casefold())
    for key, target in mentions.items():
        if (key.username.casefold(), (key.domain or "").casefold()) == wanted:
            return target
    return None


def _username(acct: str) -> str:
    return acct.lstrip("@").split("@", 1)[0]


def _mention_html(target: MentionTarget, accts: list[str]) -> str | None:
    """Mastodon's h-card. Shows the username, or the full acct when another account in the
    post (the author included) has the same username on another server."""
    href = target.profile_url
    if not _is_linkable(href or ""):
        href = target.actor_uri
    if not _is_linkable(href or ""):
        return None
    username = _username(target.acct)
    acct = target.acct.lstrip("@")
    clash = any(
        _username(other).casefold() == username.casefold()
        and other.lstrip("@").casefold() != acct.casefold()
        for other in accts
    )
    shown = acct if clash else username
    return (
        f'<span class="h-card" translate="no"><a href="{_h(href or "")}" class="u-url mention">'
        f"@<span>{_h(shown)}</span></a></span>"
    )


def render_html(
    text: str,
    *,
    mentions: Mapping[Handle, MentionTarget],
    tag_url: Callable[[str], str],
    author_acct: str | None = None,
) -> str:
    """A local post's HTML, as Mastodon renders it.

    Links (http and https only) are shortened for display; resolved mentions become h-cards,
    unresolved ones stay plain text; hashtags link to `tag_url(name)` with `name` as
    written. Blank lines separate `<p>` paragraphs, single newlines become `<br>`. Pass the
    author's `acct` so that a mention of someone with the same username shows its domain.
    Empty text gives an empty string.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    accts = [t.acct for t in mentions.values()] + ([author_acct] if author_acct else [])
    parts: list[str] = []
    position = 0
    for entity in _entities(text):
        parts.append(_h(text[position : entity.start]))
        rendered: str | None = None
        if entity.kind == "url":
            rendered = _link_html(entity.value)
        elif entity.kind == "hashtag":
            rendered = (
                f'<a href="{_h(tag_url(entity.value))}" class="mention hashtag" rel="tag">'
                f"#<span>{_h(entity.value)}</span></a>"
            )
        elif entity.handle is not None and (target := _lookup(entity.handle, mentions)):
            rendered = _mention_html(target, accts)
        parts.append(rendered if rendered is not None else _h(entity.value))
        position = entity.end
    parts.append(_h(text[position:]))
    paragraphs = _PARAGRAPH_BREAK.split("".join(parts))
    return "".join(f"<p>{paragraph.replace(chr(10), '<br>')}</p>" for paragraph in paragraphs)
