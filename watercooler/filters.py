"""What a reader's filters do to the statuses they are shown, and the Mastodon entities of
filters (Filter, FilterKeyword, FilterStatus, FilterResult and the v1 Filter).

Matching is Mastodon's: a keyword matches the status's spoiler text and plain text, case
insensitively; a `whole_word` keyword only between word boundaries (a boundary is required
only at an end of the keyword that is a word character, so `#tag` and `c++` still match).
A filter's statuses match those statuses and boosts of them. A boost is matched on the
boosted post's text.

A request loads the reader's filters once (`load`) and asks the `FilterView` about each
status: `results` gives the status's `filtered` key, `hides` says whether a `hide` filter
takes it out. A view without a context (a single status, bookmarks) reports every filter in
force and hides nothing, as Mastodon's API does; in a context (home, notifications, public,
thread, account) only the filters of that context count. SQL lives in store.filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from federation.html import plain_text
from store import filters as store
from store import statuses
from store.db import Connection, db_time
from store.filters import FilterRecord, FilterStatusRecord, KeywordRecord
from store.records import StatusRecord

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide")
_BREAKS = re.compile(r"<br\s*/?>|</p\s*>", re.IGNORECASE)


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """The regular expression of one keyword (Mastodon's CustomFilterKeyword#to_regex)."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w$", keyword) else ""
    return f"{start}{escaped}{end}"


def html_text(content: str) -> str:
    """Plain text of a post's HTML, with line breaks where paragraphs and breaks were (so
    that words of two paragraphs do not run together)."""
    return plain_text(_BREAKS.sub("\n", content))


def searchable_text(status: StatusRecord) -> str:
    """What keywords are matched against: the content warning and the post's plain text
    (the author's own text for a local post, the stored HTML made plain for a remote one)."""
    body = status.text if status.local and status.text else html_text(status.content)
    return f"{status.spoiler_text}\n\n{body}"


@dataclass(frozen=True, slots=True)
class Match:
    filter: FilterRecord
    keyword_matches: tuple[str, ...]
    status_matches: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    filter: FilterRecord
    pattern: re.Pattern[str] | None
    status_ids: frozenset[int]


@dataclass(slots=True)
class FilterView:
    """A reader's filters in force during one request, in one context (None: no context)."""

    rules: tuple[_Rule, ...] = ()
    context: str | None = None
    _seen: dict[int, list[Match]] = field(default_factory=dict)

    def matches(self, status: StatusRecord, original: StatusRecord | None = None) -> list[Match]:
        """The filters `status` matches (a boost: with `original`, the boosted post)."""
        if not self.rules:
            return []
        if status.id in self._seen:
            return self._seen[status.id]
        proper = original if original is not None else status
        ids = {status.id, proper.id} | ({status.reblog_of_id} if status.reblog_of_id else set())
        text: str | None = None
        found = []
        for rule in self.rules:
            keyword_hit: tuple[str, ...] = ()
            if rule.pattern is not None:
                if text is None:
                    text = searchable_text(proper)
                hit = rule.pattern.search(text)
                keyword_hit = (hit.group(0),) if hit else ()
            status_hit = tuple(sorted(ids & rule.status_ids))
            if keyword_hit or status_hit:
                found.append(Match(rule.filter, keyword_hit, status_hit))
        self._seen[status.id] = found
        return found

    def results(
        self, status: StatusRecord, original: StatusRecord | None = None
    ) -> list[dict[str, Any]]:
        """The status's `filtered` key: one FilterResult per matching filter."""
        return [result_entity(match) for match in self.matches(status, original)]

    def hides(self, status: StatusRecord, original: StatusRecord | None = None) -> bool:
        """True when a `hide` filter of this view's context matches: the status is left out."""
        if self.context is None:
            return False
        return any(m.filter.action == "hide" for m in self.matches(status, original))

    async def hidden(self, conn: Connection, status: StatusRecord) -> bool:
        """`hides`, loading a boost's original only when a filter could hide something."""
        if self.context is None or not any(r.filter.action == "hide" for r in self.rules):
            return False
        original = None
        if status.reblog_of_id is not None:
            original = await statuses.get_by_id(conn, status.reblog_of_id)
        return self.hides(status, original)


def view_of(active: list[store.ActiveFilter], context: str | None) -> FilterView:
    rules = []
    for item in active:
        if context is not None and context not in item.filter.context:
            continue
        pattern = None
        if item.keywords:
            union = "|".join(
                f"(?:{keyword_pattern(k.keyword, k.whole_word)})" for k in item.keywords
            )
            pattern = re.compile(union, re.IGNORECASE)
        if pattern is not None or item.status_ids:
            rules.append(_Rule(item.filter, pattern, item.status_ids))
    return FilterView(tuple(rules), context)


async def load(
    conn: Connection, account_id: int | None, *, now: datetime, context: str | None
) -> FilterView:
    """The viewer's filters in force now, for one request (no viewer: no filters)."""
    if account_id is None:
        return FilterView(context=context)
    return view_of(await store.active(conn, account_id, now), context)


# ----- entities --------------------------------------------------------------------------------


def _time(moment: datetime | None) -> str | None:
    return db_time(moment) if moment is not None else None  # `...T10:00:00.000Z`, as iso()


def keyword_entity(keyword: KeywordRecord) -> dict[str, Any]:
    return {"id": str(keyword.id), "keyword": keyword.keyword, "whole_word": keyword.whole_word}


def status_filter_entity(record: FilterStatusRecord) -> dict[str, Any]:
    return {"id": str(record.id), "status_id": str(record.status_id)}


def filter_entity(
    record: FilterRecord,
    keywords: list[KeywordRecord] | None = None,
    statuses: list[FilterStatusRecord] | None = None,
) -> dict[str, Any]:
    """Mastodon's Filter. `keywords` and `statuses` are there when given (the filters API);
    a FilterResult's filter has neither, as Mastodon serialises it."""
    entity: dict[str, Any] = {
        "id": str(record.id),
        "title": record.title,
        "context": list(record.context),
        "expires_at": _time(record.expires_at),
        "filter_action": record.action,
    }
    if keywords is not None:
        entity["keywords"] = [keyword_entity(k) for k in keywords]
    if statuses is not None:
        entity["statuses"] = [status_filter_entity(s) for s in statuses]
    return entity


def result_entity(match: Match) -> dict[str, Any]:
    """Mastodon's FilterResult: the filter and what of the status matched it (null if none)."""
    return {
        "filter": filter_entity(match.filter),
        "keyword_matches": list(match.keyword_matches) or None,
        "status_matches": [str(i) for i in match.status_matches] or None,
    }


def v1_filter_entity(keyword: KeywordRecord, record: FilterRecord) -> dict[str, Any]:
    """Mastodon's V1::Filter: one keyword, with its filter's context, expiry and action."""
    return {
        "id": str(keyword.id),
        "phrase": keyword.keyword,
        "context": list(record.context),
        "whole_word": keyword.whole_word,
        "expires_at": _time(record.expires_at),
        "irreversible": record.action == "hide",
    }
