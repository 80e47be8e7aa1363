"""Queries of the client API's search and hashtags: statuses by words, hashtags by prefix,
a status or an account by URL, and the hashtags an account follows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store.api_timelines import Page
from store.db import Connection, db_time

NO_MAX = 2**63 - 1
MAX_STATUS_CANDIDATES = 200


def _like(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def status_ids_matching(
    conn: Connection,
    terms: Sequence[str],
    *,
    account_id: int | None = None,
    limit: int = MAX_STATUS_CANDIDATES,
) -> list[int]:
    """Non-deleted posts (no boosts) whose text or content holds every term, any case;
    newest first, at most `limit`."""
    clauses = ["deleted_at IS NULL", "reblog_of_id IS NULL"]
    params: dict[str, object] = {"limit": min(limit, MAX_STATUS_CANDIDATES)}
    for index, term in enumerate(terms):
        params[f"t{index}"] = _like(term)
        clauses.append(
            f"(lower(text) LIKE :t{index} ESCAPE '\\' OR lower(content) LIKE :t{index} ESCAPE '\\')"
        )
    if account_id is not None:
        clauses.append("account_id = :account")
        params["account"] = account_id
    sql = f"SELECT id FROM statuses WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT :limit"
    async with conn.execute(sql, params) as cursor:
        return [row[0] for row in await cursor.fetchall()]


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
