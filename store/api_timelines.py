"""Timeline pages for the client API: home, public, hashtag; Mastodon's id paging.

`max_id` pages back in time, `since_id` gives the newest after an id, `min_id` the oldest
after an id (then shown newest first), as Mastodon pages them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.db import Connection
from store.moderation import LIMITED_CLAUSE

NO_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20


def _window(page: Page, column: str) -> tuple[str, dict[str, Any], str]:
    """(where clause, params, order) for a page over `column`."""
    params: dict[str, Any] = {"max": page.max_id or NO_MAX, "limit": page.limit}
    lower = page.min_id if page.min_id is not None else page.since_id
    params["min"] = lower if lower is not None else 0
    order = "ASC" if page.min_id is not None else "DESC"
    return f"{column} < :max AND {column} > :min", params, order


async def _ids(conn: Connection, sql: str, params: dict[str, Any], order: str) -> list[int]:
    async with conn.execute(f"{sql} ORDER BY 1 {order} LIMIT :limit", params) as cursor:
        ids = [row[0] for row in await cursor.fetchall()]
    return sorted(ids, reverse=True)


async def home(conn: Connection, account_id: int, page: Page, *, now: str) -> list[int]:
    """The reader's home timeline, without posts (or boosts) by accounts they mute or have
    put in an exclusive list (those show in the list alone, as in Mastodon 4.2+). Boosts by
    accounts followed with `show_reblogs` off are left out here, at read time, so turning it
    off or on applies to the boosts already there too."""
    where, params, order = _window(page, "h.status_id")
    params.update(account=account_id, now=now)
    return await _ids(
        conn,
        "SELECT h.status_id FROM home_timeline h JOIN statuses s ON s.id = h.status_id"
        f" WHERE h.account_id = :account AND s.deleted_at IS NULL AND {where}"
        " AND s.account_id NOT IN (SELECT target_account_id FROM mutes"
        " WHERE account_id = :account AND (expires_at IS NULL OR expires_at > :now))"
        " AND s.account_id NOT IN (SELECT la.account_id FROM lists l"
        " JOIN list_accounts la ON la.list_id = l.id"
        " WHERE l.account_id = :account AND l.exclusive = 1)"
        " AND NOT (s.reblog_of_id IS NOT NULL AND EXISTS (SELECT 1 FROM follows f"
        " WHERE f.account_id = :account AND f.target_account_id = s.account_id"
        " AND f.show_reblogs = 0))",
        params,
        order,
    )


ORGANISATION_WIDE = "('public', 'org')"
"""The visibilities of the public timelines, whose readers are signed-in local users (the
endpoints need a token): public posts and the organisation's (`org`). Each status is still
checked against its reader (watercooler.visibility.can_see)."""


NOT_SILENCED = (
    "account_id NOT IN (SELECT a.id FROM domain_blocks b JOIN accounts a"
    " ON a.domain = b.domain OR a.domain LIKE '%.' || b.domain WHERE b.severity = 'silence')"
)
"""Silenced domains (`watercooler domain block --severity silence`) stay out of the public
timelines; their posts still reach those who follow them."""


def _limits(params: dict[str, Any], viewer: int | None, prefix: str = "") -> str:
    """The clause leaving out limited accounts `viewer` does not follow ('' without one)."""
    if viewer is None:
        return ""
    params["moderation_viewer"] = viewer
    return f" AND {prefix}{LIMITED_CLAUSE}"


async def public(
    conn: Connection, page: Page, *, local: bool | None, viewer: int | None = None
) -> list[int]:
    """Public and organisation posts (no boosts), local or remote only; those of limited
    accounts (store.moderation) only if `viewer` follows them (without a viewer, all: the
    streaming fan-out checks limits per reader)."""
    where, params, order = _window(page, "id")
    limits = _limits(params, viewer)
    scope = "" if local is None else (" AND local = 1" if local else " AND local = 0")
    return await _ids(
        conn,
        f"SELECT id FROM statuses WHERE visibility IN {ORGANISATION_WIDE} AND deleted_at IS NULL"
        f" AND reblog_of_id IS NULL{scope} AND {where} AND {NOT_SILENCED}{limits}",
        params,
        order,
    )


async def tag(
    conn: Connection, name: str, page: Page, *, local: bool | None, viewer: int | None = None
) -> list[int]:
    where, params, order = _window(page, "s.id")
    limits = _limits(params, viewer, "s.")
    params["tag"] = name.lower()
    scope = "" if local is None else (" AND s.local = 1" if local else " AND s.local = 0")
    return await _ids(
        conn,
        "SELECT s.id FROM status_tags t JOIN statuses s ON s.id = t.status_id"
        f" WHERE t.name = :tag AND s.visibility IN {ORGANISATION_WIDE} AND s.deleted_at IS NULL"
        f"{scope} AND {where} AND s.{NOT_SILENCED}{limits}",
        params,
        order,
    )
