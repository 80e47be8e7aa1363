"""Mastodon's search syntax, parsed into a store.api_search.StatusSearch.

Words match anywhere in a post (any case, accents folded); `"two words"` is a phrase;
`word*` a prefix; `-word` or `-"a phrase"` excludes; `#tag` asks for the hashtag. Operators
(each may be negated with `-` where Mastodon allows it):

    from:me  from:name  from:@name@domain      the author
    has:media|image|video|audio|link|poll       what is attached or linked
    is:reply  is:sensitive                      what kind of post
    language:en                                 the post's language
    before:2026-01-31  after:...  during:...    creation date (UTC days)
    in:library                                  own posts, mentions, bookmarks, favourites
    in:public                                   public posts only (in:all: no restriction)

An operator with a value we do not know is matched as words, as Mastodon does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from store import accounts
from store.api_search import StatusSearch, Term
from store.db import Connection
from store.search_index import language_token, tag_token

HAS = {"media", "image", "video", "audio", "link", "poll"}
IS = {"reply", "sensitive"}
MAX_TERMS = 16
_PIECE = re.compile(r'(-?)(?:(\w+):("[^"]*"|\S+)|"([^"]*)"?|(\S+))')
_WORD = re.compile(r"\w", re.UNICODE)
_TAG = re.compile(r"^#(\w{1,100})$")


@dataclass
class _Parts:
    terms: list[Term] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    before: datetime | None = None
    after: datetime | None = None
    library: bool = False
    public_only: bool = False


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _word(parts: _Parts, text: str, negated: bool) -> None:
    prefix = text.endswith("*") and len(text) > 1
    text = text.rstrip("*") if prefix else text
    tag = _TAG.match(text)
    if tag:
        (parts.absent if negated else parts.facts).append(tag_token(tag.group(1)))
    elif _WORD.search(text):  # a term without a letter or digit would match nothing
        parts.terms.append(Term(text, prefix=prefix, negated=negated))


def _operator(parts: _Parts, name: str, value: str, negated: bool) -> bool:
    """Apply one `name:value`; False when it is not an operator we know (then it is words)."""
    value = value.strip('"')
    lowered = value.lower()
    if name == "from" and not negated and value:
        parts.authors.append(value)
    elif name == "has" and lowered in HAS:
        (parts.absent if negated else parts.facts).append(f"has{lowered}")
    elif name == "is" and lowered in IS:
        (parts.absent if negated else parts.facts).append(f"is{lowered}")
    elif name in ("language", "lang") and value and not negated:
        parts.facts.append(language_token(value))
    elif name in ("before", "after", "during") and not negated and _day(value):
        day = _day(value)
        assert day is not None
        if name in ("before", "during"):
            end = _start(day) if name == "before" else _start(day + timedelta(days=1))
            parts.before = min(parts.before, end) if parts.before else end
        if name in ("after", "during"):
            begin = _start(day + timedelta(days=1)) if name == "after" else _start(day)
            parts.after = max(parts.after, begin) if parts.after else begin
    elif name == "in" and lowered in ("library", "public", "all") and not negated:
        parts.library = parts.library or lowered == "library"
        parts.public_only = parts.public_only or lowered == "public"
    else:
        return False
    return True


def split(query: str) -> _Parts:
    """The query's words, phrases and operators, at most MAX_TERMS words."""
    parts = _Parts()
    for match in _PIECE.finditer(query):
        negated = match.group(1) == "-"
        name, value, phrase, word = match.group(2, 3, 4, 5)
        if name is not None and _operator(parts, name.lower(), value, negated):
            continue
        if phrase is not None:
            if _WORD.search(phrase):
                parts.terms.append(Term(phrase, negated=negated))
        else:
            _word(parts, word if word is not None else f"{name}:{value}", negated)
    parts.terms = parts.terms[:MAX_TERMS]
    return parts


async def _author(conn: Connection, handle: str, viewer: int, local_domain: str) -> int | None:
    if handle.lower() == "me":
        return viewer
    name, _, domain = handle.removeprefix("@").partition("@")
    domain = domain.lower()
    if not domain or domain == local_domain:
        found = await accounts.get_local(conn, name)
    else:
        found = await accounts.get_by_username_domain(conn, name, domain)
    return found.id if found else None


async def parse(
    conn: Connection,
    query: str,
    *,
    viewer: int,
    local_domain: str,
    account_id: int | None = None,
    by_relevance: bool = False,
) -> StatusSearch:
    """The search for `query` by `viewer`; `account_id` (the API parameter) is one more
    `from:`. An author we do not know makes the search find nothing, as in Mastodon."""
    parts = split(query)
    authors: tuple[int, ...] | None = None
    if parts.authors or account_id is not None:
        found = [await _author(conn, handle, viewer, local_domain) for handle in parts.authors]
        if account_id is not None:
            found.append(account_id)
        known = {author for author in found if author is not None}
        # Several authors must all match (Mastodon's operators combine with AND).
        authors = tuple(known) if len(known) == 1 and None not in found else ()
    return StatusSearch(
        terms=tuple(parts.terms),
        authors=authors,
        facts=tuple(dict.fromkeys(parts.facts)),
        absent=tuple(dict.fromkeys(parts.absent)),
        before=parts.before,
        after=parts.after,
        library=parts.library,
        public_only=parts.public_only,
        by_relevance=by_relevance,
    )
