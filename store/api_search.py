"""Queries of the client API's search and hashtags: statuses through the full-text index
(store.search_index), hashtags by prefix, a status or an account by URL, and the hashtags an
account follows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from store import search_rank
from store.api_timelines import Page
from store.db import Connection, db_time
from store.ids import SEQUENCE_BITS
from store.moderation import LIMITED_CLAUSE
from store.search_index import ALL, author_token

NO_MAX = 2**63 - 1
WINDOW = 256
"""Index matches read per round of a newest-first search; rounds grow 4x up to MAX_WINDOW."""
MAX_WINDOW = 4096
SCAN_CAP = 10_000
"""A newest-first search reads at most this many index matches: a query whose matches are
almost all invisible to the viewer (or outside its dates) stops there instead of reading a
whole doclist; its deeper results need a narrower query."""
RANK_CAP = 300
"""Relevance ranks the newest this-many matches (store.search_rank), so ranking costs the
same for a rare word and for one in every post: FTS5's bm25() of a common word reads its
whole doclist (0.6-0.8 s uncapped at 1M statuses, 20-50 ms even over a capped window)."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word or quoted phrase of a query; `prefix` for `word*`, `negated` for `-word`."""

    text: str
    prefix: bool = False
    negated: bool = False


@dataclass(frozen=True, slots=True)
class StatusSearch:
    """A parsed status search (watercooler.search_syntax builds it from Mastodon's syntax).

    `facts`/`absent` are meta tokens (store.search_index) that must / must not be there;
    `authors` None means anyone, empty means no one (an unknown `from:`).
    """

    terms: tuple[Term, ...] = ()
    authors: tuple[int, ...] | None = None
    facts: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    before: datetime | None = None
    after: datetime | None = None
    library: bool = False
    public_only: bool = False
    by_relevance: bool = False

    @property
    def empty(self) -> bool:
        """Asks for nothing at all (only negations, or nothing): answered with no statuses."""
        return not (
            any(not term.negated for term in self.terms)
            or self.authors is not None
            or self.facts
            or self.library
        )


def _quoted(text: str) -> str:
    """An FTS5 string. FTS5 reads a NUL as the end of the query ("unterminated string"), so
    one typed into the search box separates words like a space."""
    return '"' + text.replace("\x00", " ").replace('"', '""') + '"'


def _phrase(term: Term) -> str:
    return "body : " + _quoted(term.text) + (" *" if term.prefix else "")


def match_expression(search: StatusSearch) -> str:
    """The FTS5 MATCH string of a search. Every user word is a quoted string, so FTS5 syntax
    in a query (AND, NEAR, column filters, stray quotes) is only ever matched as text."""
    required = [_phrase(term) for term in search.terms if not term.negated]
    required += ["meta : " + _quoted(fact) for fact in search.facts]
    if search.authors:
        authors = " OR ".join("meta : " + _quoted(author_token(a)) for a in search.authors)
        required.append(f"({authors})")
    if not required:
        required.append("meta : " + _quoted(ALL))
    excluded = [_phrase(term) for term in search.terms if term.negated]
    excluded += ["meta : " + _quoted(fact) for fact in search.absent]
    expression = " AND ".join(required)
    if excluded:
        expression = f"({expression}) NOT ({' OR '.join(excluded)})"
    return expression


def _visible_clause(search: StatusSearch) -> str:
    """Which of the candidate statuses (`s`) the viewer (:viewer) may see and asked for: the
    rule of watercooler.visibility.can_see, as SQL, plus blocks, mutes and the operators that
    are not index tokens. The viewer is a signed-in local user (search needs a token), so
    organisation-only and local-only posts are theirs to find like public ones."""
    clauses = [
        "s.deleted_at IS NULL",
        "s.reblog_of_id IS NULL",
        "(s.visibility IN ('public', 'unlisted', 'org') OR s.account_id = :viewer"
        " OR EXISTS (SELECT 1 FROM status_mentions m"
        " WHERE m.status_id = s.id AND m.account_id = :viewer)"
        " OR (s.visibility = 'private' AND EXISTS (SELECT 1 FROM follows f"
        " WHERE f.account_id = :viewer AND f.target_account_id = s.account_id"
        " AND f.state = 'accepted')))",
        "s.account_id NOT IN (SELECT target_account_id FROM blocks WHERE account_id = :viewer)",
        "s.account_id NOT IN (SELECT account_id FROM blocks WHERE target_account_id = :viewer)",
        "s.account_id NOT IN (SELECT target_account_id FROM mutes WHERE account_id = :viewer"
        " AND (expires_at IS NULL OR expires_at > :now))",
        f"s.{LIMITED_CLAUSE}",  # limited accounts: found by their followers only
    ]
    if search.public_only:  # `in:public`: the public timelines' posts, the organisation's too
        clauses.append("s.visibility IN ('public', 'org')")
    if search.library:
        clauses.append(
            "(s.account_id = :viewer"
            " OR EXISTS (SELECT 1 FROM status_mentions m"
            " WHERE m.status_id = s.id AND m.account_id = :viewer)"
            " OR EXISTS (SELECT 1 FROM bookmarks b"
            " WHERE b.account_id = :viewer AND b.status_id = s.id)"
            " OR EXISTS (SELECT 1 FROM favourites v"
            " WHERE v.account_id = :viewer AND v.status_id = s.id))"
        )
    if search.before is not None:
        clauses.append("s.created_at < :before")
    if search.after is not None:
        clauses.append("s.created_at >= :after")
    return " AND ".join(clauses)


async def _visible(
    conn: Connection, search: StatusSearch, viewer: int, ids: Sequence[int], now: datetime
) -> set[int]:
    if not ids:
        return set()
    params: dict[str, object] = {
        "ids": json.dumps(list(ids)),
        "viewer": viewer,
        "moderation_viewer": viewer,
        "now": db_time(now),
        "before": db_time(search.before) if search.before else None,
        "after": db_time(search.after) if search.after else None,
    }
    async with conn.execute(
        "SELECT s.id FROM statuses s WHERE s.id IN (SELECT value FROM json_each(:ids))"
        f" AND {_visible_clause(search)}",
        params,
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def _document_frequency(conn: Connection, term: Term) -> int:
    """How many posts hold `term`, counted up to search_rank.DF_CAP."""
    async with conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM status_search WHERE status_search MATCH ?"
        " LIMIT ?)",
        (_phrase(term), search_rank.DF_CAP),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def _ranked(
    conn: Connection,
    search: StatusSearch,
    viewer: int,
    match: str,
    below: int,
    above: int,
    now: datetime,
) -> list[int]:
    """The visible matches among the newest RANK_CAP, most relevant first (then newest)."""
    async with conn.execute(
        "SELECT rowid, body FROM status_search"
        " WHERE status_search MATCH :match AND rowid < :below AND rowid > :above"
        " ORDER BY rowid DESC LIMIT :cap",
        {"match": match, "below": below, "above": above, "cap": RANK_CAP},
    ) as cursor:
        window = [(row[0], row[1]) for row in await cursor.fetchall()]
    visible = await _visible(conn, search, viewer, [id_ for id_, _ in window], now)
    window = [(id_, body) for id_, body in window if id_ in visible]
    phrases = [
        (
            search_rank.tokens(term.text),
            term.prefix,
            search_rank.idf(await _document_frequency(conn, term)),
        )
        for term in search.terms
        if not term.negated
    ]
    relevance = search_rank.scores([body for _, body in window], phrases)
    order = sorted(range(len(window)), key=lambda i: (-relevance[i], -window[i][0]))
    return [window[i][0] for i in order]


async def status_ids_matching(
    conn: Connection,
    search: StatusSearch,
    viewer: int,
    *,
    now: datetime,
    limit: int,
    offset: int = 0,
    max_id: int | None = None,
    min_id: int | None = None,
) -> list[int]:
    """The ids of the statuses that match `search` and that `viewer` may see, newest first
    (or most relevant first among the newest RANK_CAP matches), the page at `offset`.

    The index gives matches newest first a window at a time; each window is checked against
    visibility and the row operators in one query, and reading stops as soon as the page is
    full (or at SCAN_CAP), so a common word costs one small window, not its whole doclist."""
    if search.empty or search.authors == ():
        return []
    match = match_expression(search)
    below = max_id if max_id is not None else NO_MAX
    above = min_id if min_id is not None else -1
    if search.after is not None:  # ids are minted at or after a status's creation time
        above = max(above, (int(search.after.timestamp() * 1000) << SEQUENCE_BITS) - 1)
    if search.by_relevance:
        ranked = await _ranked(conn, search, viewer, match, below, above, now)
        return ranked[offset : offset + limit]
    wanted = offset + limit
    found: list[int] = []
    window, scanned = WINDOW, 0
    while len(found) < wanted and scanned < SCAN_CAP:
        async with conn.execute(
            "SELECT rowid FROM status_search"
            " WHERE status_search MATCH :match AND rowid < :below AND rowid > :above"
            " ORDER BY rowid DESC LIMIT :window",
            {"match": match, "below": below, "above": above, "window": window},
        ) as cursor:
            ids = [row[0] for row in await cursor.fetchall()]
        if not ids:
            break
        scanned += len(ids)
        visible = await _visible(conn, search, viewer, ids, now)
        found += [id_ for id_ in ids if id_ in visible]
        if len(ids) < window:
            break
        below = ids[-1]
        window = min(window * 4, MAX_WINDOW, SCAN_CAP - scanned) or 1
    return found[offset:wanted]


async def status_id_by_url(conn: Connection, url: str) -> int | None:
    async with conn.execute(
        "SELECT id FROM statuses WHERE (uri = :url OR url = :url) AND deleted_at IS NULL"
        " ORDER BY id LIMIT 1",
        {"url": url},
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def account_id_by_url(conn: Connection, url: str) -> int | None:
    async with conn.execute(
        "SELECT id FROM accounts WHERE uri = :url OR url = :url ORDER BY id LIMIT 1", {"url": url}
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def hashtags_by_prefix(
    conn: Connection, prefix: str, *, limit: int, offset: int = 0
) -> list[tuple[str, int]]:
    """(name, uses) of the hashtags starting with `prefix` (any case), most used first."""
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with conn.execute(
        "SELECT t.name, count(*) AS uses FROM status_tags t JOIN statuses s ON s.id = t.status_id"
        " WHERE t.name LIKE :prefix ESCAPE '\\' AND s.deleted_at IS NULL"
        " GROUP BY t.name ORDER BY uses DESC, t.name LIMIT :limit OFFSET :offset",
        {"prefix": f"{escaped}%", "limit": limit, "offset": offset},
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def follow_tag(conn: Connection, id_: int, account_id: int, name: str, now: datetime) -> None:
    await conn.execute(
        "INSERT OR IGNORE INTO followed_tags (id, account_id, name, created_at)"
        " VALUES (:id, :account, :name, :now)",
        {"id": id_, "account": account_id, "name": name.lower(), "now": db_time(now)},
    )


async def unfollow_tag(conn: Connection, account_id: int, name: str) -> None:
    await conn.execute(
        "DELETE FROM followed_tags WHERE account_id = :account AND name = :name",
        {"account": account_id, "name": name.lower()},
    )


async def followed_tag_names(conn: Connection, account_id: int, names: Sequence[str]) -> set[str]:
    """Which of `names` (lower-cased) the account follows."""
    if not names:
        return set()
    marks = ", ".join("?" for _ in names)
    async with conn.execute(
        f"SELECT name FROM followed_tags WHERE account_id = ? AND name IN ({marks})",
        [account_id, *(name.lower() for name in names)],
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def followed_tag_page(conn: Connection, account_id: int, page: Page) -> list[tuple[int, str]]:
    """(row id, name) of the hashtags the account follows, newest follow first."""
    lower = page.min_id if page.min_id is not None else page.since_id
    order = "ASC" if page.min_id is not None else "DESC"
    async with conn.execute(
        "SELECT id, name FROM followed_tags WHERE account_id = :account"
        f" AND id < :max AND id > :min ORDER BY id {order} LIMIT :limit",
        {
            "account": account_id,
            "max": page.max_id if page.max_id is not None else NO_MAX,
            "min": lower if lower is not None else -1,
            "limit": page.limit,
        },
    ) as cursor:
        rows = [(row[0], row[1]) for row in await cursor.fetchall()]
    return sorted(rows, reverse=True)
