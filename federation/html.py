"""Sanitising remote HTML before it is stored (nh3, the Ammonia sanitiser).

Keeps what Mastodon keeps in posts and bios: paragraphs, line breaks, links, and the spans
and classes that mark mentions, hashtags and invisible URL parts. Everything else (scripts,
styles, event handlers, images, iframes, `javascript:` links) is removed.
"""

from __future__ import annotations

import html

import nh3

_TAGS = {"p", "br", "a", "span", "b", "strong", "i", "em", "u", "del", "s", "code", "pre",
         "blockquote", "ul", "ol", "li"}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "class", "title"}, "span": {"class"}, "ol": {"start", "reversed"}}
_URL_SCHEMES = {"http", "https", "mailto", "xmpp", "matrix"}
_CLASS_PREFIXES = ("h-", "p-", "u-", "dt-", "e-", "mention", "hashtag", "ellipsis", "invisible")


def _keep_class(element: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    kept = [c for c in value.split() if c.startswith(_CLASS_PREFIXES)]
    return " ".join(kept) or None


def sanitize_html(html: str) -> str:
    """Safe HTML for storage and display; links get `rel="nofollow noopener noreferrer"`."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        attribute_filter=_keep_class,
    )


def plain_text(text: str) -> str:
    """A remote display name or field name as plain text: tags (and scripts) removed.

    The result is unescaped text; whoever renders it escapes it again.
    """
    return html.unescape(nh3.clean(text, tags=set())).strip()
