"""Filters of local users (Mastodon's custom filters): a filter has a title, the contexts it
applies in, an action (`warn` or `hide`), an optional expiry, and keywords and statuses that
make a status match it. Filters are private to their owner: every lookup by id takes the
owner's account id too, so one user never reaches another's filter.

Matching itself is not done here (watercooler.filters); `active` loads what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time

_FILTER = "f.id, f.account_id, f.title, f.context, f.action, f.expires_at, f.created_at"
_KEYWORD = "k.id, k.filter_id, k.keyword, k.whole_word"
_STATUS = "s.id, s.filter_id, s.status_id"


@dataclass(frozen=True, slots=True)
class FilterRecord:
    id: int
    account_id: int
    title: str
    context: tuple[str, ...]
    action: str
    expires_at: datetime | None
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class KeywordRecord:
    id: int
    filter_id: int
    keyword: str
    whole_word: bool


@dataclass(frozen=True, slots=True)
class FilterStatusRecord:
    id: int
    filter_id: int
    status_id: int


@dataclass(frozen=True, slots=True)
class ActiveFilter:
    """A filter in force, with what makes a status match it."""

    filter: FilterRecord
    keywords: tuple[KeywordRecord, ...]
    status_ids: frozenset[int]


def _filter(row: aiosqlite.Row) -> FilterRecord:
    created_at = parse_db_time(row[6])
    assert created_at is not None
    return FilterRecord(
        id=int(row[0]),
        account_id=int(row[1]),
        title=row[2],
        context=tuple(c for c in row[3].split(",") if c),
        action=row[4],
        expires_at=parse_db_time(row[5]),
        created_at=created_at,
    )


def _keyword(row: aiosqlite.Row) -> KeywordRecord:
    return KeywordRecord(
        id=int(row[0]), filter_id=int(row[1]), keyword=row[2], whole_word=bool(row[3])
    )


def _status(row: aiosqlite.Row) -> FilterStatusRecord:
    return FilterStatusRecord(id=int(row[0]), filter_id=int(row[1]), status_id=int(row[2]))


def _in(name: str, values: Sequence[int], params: dict[str, Any]) -> str:
    params.update({f"{name}{i}": v for i, v in enumerate(values)})
    return ", ".join(f":{name}{i}" for i in range(len(values))) or "NULL"


# ----- filters -------------------------------------------------------------------------------


async def create_filter(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    title: str,
    context: Sequence[str],
    action: str,
    expires_at: datetime | None,
    now: datetime,
) -> FilterRecord:
    await conn.execute(
        "INSERT INTO custom_filters (id, account_id, title, context, action, expires_at,"
        " created_at, updated_at) VALUES (:id, :account, :title, :context, :action, :expires,"
        " :now, :now)",
        {
            "id": id_,
            "account": account_id,
            "title": title,
            "context": ",".join(context),
            "action": action,
            "expires": db_time(expires_at) if expires_at else None,
            "now": db_time(now),
        },
    )
    made = await get_filter(conn, account_id, id_)
    assert made is not None
    return made


async def update_filter(
    conn: Connection,
    filter_id: int,
    *,
    title: str,
    context: Sequence[str],
    action: str,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        "UPDATE custom_filters SET title = :title, context = :context, action = :action,"
        " expires_at = :expires, updated_at = :now WHERE id = :id",
        {
            "id": filter_id,
            "title": title,
            "context": ",".join(context),
            "action": action,
            "expires": db_time(expires_at) if expires_at else None,
            "now": db_time(now),
        },
    )


async def get_filter(conn: Connection, account_id: int, filter_id: int) -> FilterRecord | None:
    async with conn.execute(
        f"SELECT {_FILTER} FROM custom_filters f WHERE f.id = :id AND f.account_id = :account",
        {"id": filter_id, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _filter(row) if row else None


async def list_filters(conn: Connection, account_id: int) -> list[FilterRecord]:
    """All of the account's filters, expired ones too (Mastodon lists them), oldest first."""
    async with conn.execute(
        f"SELECT {_FILTER} FROM custom_filters f WHERE f.account_id = :account ORDER BY f.id",
        {"account": account_id},
    ) as cursor:
        return [_filter(row) for row in await cursor.fetchall()]


async def count_filters(conn: Connection, account_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM custom_filters WHERE account_id = :account", {"account": account_id}
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def delete_filter(conn: Connection, account_id: int, filter_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM custom_filters WHERE id = :id AND account_id = :account",
        {"id": filter_id, "account": account_id},
    )
    return cursor.rowcount == 1


# ----- keywords ------------------------------------------------------------------------------


async def keywords_of(
    conn: Connection, filter_ids: Sequence[int]
) -> dict[int, list[KeywordRecord]]:
    """Keywords of each filter, oldest first."""
    params: dict[str, Any] = {}
    marks = _in("f", filter_ids, params)
    found: dict[int, list[KeywordRecord]] = {filter_id: [] for filter_id in filter_ids}
    async with conn.execute(
        f"SELECT {_KEYWORD} FROM custom_filter_keywords k WHERE k.filter_id IN ({marks})"
        " ORDER BY k.id",
        params,
    ) as cursor:
        for row in await cursor.fetchall():
            keyword = _keyword(row)
            found[keyword.filter_id].append(keyword)
    return found


async def account_keywords(conn: Connection, account_id: int) -> list[KeywordRecord]:
    """Every keyword of every filter of the account (the v1 API's filters), oldest first."""
    async with conn.execute(
        f"SELECT {_KEYWORD} FROM custom_filter_keywords k JOIN custom_filters f"
        " ON f.id = k.filter_id WHERE f.account_id = :account ORDER BY k.id",
        {"account": account_id},
    ) as cursor:
        return [_keyword(row) for row in await cursor.fetchall()]


async def add_keyword(
    conn: Connection, id_: int, *, filter_id: int, keyword: str, whole_word: bool, now: datetime
) -> KeywordRecord:
    await conn.execute(
        "INSERT INTO custom_filter_keywords (id, filter_id, keyword, whole_word, created_at)"
        " VALUES (:id, :filter, :keyword, :whole_word, :now)",
        {
            "id": id_,
            "filter": filter_id,
            "keyword": keyword,
            "whole_word": int(whole_word),
            "now": db_time(now),
        },
    )
    return KeywordRecord(id=id_, filter_id=filter_id, keyword=keyword, whole_word=whole_word)


async def get_keyword(conn: Connection, account_id: int, keyword_id: int) -> KeywordRecord | None:
    async with conn.execute(
        f"SELECT {_KEYWORD} FROM custom_filter_keywords k JOIN custom_filters f"
        " ON f.id = k.filter_id WHERE k.id = :id AND f.account_id = :account",
        {"id": keyword_id, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _keyword(row) if row else None


async def update_keyword(
    conn: Connection, keyword_id: int, *, keyword: str, whole_word: bool
) -> None:
    await conn.execute(
        "UPDATE custom_filter_keywords SET keyword = :keyword, whole_word = :whole_word"
        " WHERE id = :id",
        {"id": keyword_id, "keyword": keyword, "whole_word": int(whole_word)},
    )


async def delete_keyword(conn: Connection, keyword_id: int) -> None:
    await conn.execute("DELETE FROM custom_filter_keywords WHERE id = :id", {"id": keyword_id})


async def count_keywords(conn: Connection, filter_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM custom_filter_keywords WHERE filter_id = :id", {"id": filter_id}
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


# ----- statuses ------------------------------------------------------------------------------


async def statuses_of(
    conn: Connection, filter_ids: Sequence[int]
) -> dict[int, list[FilterStatusRecord]]:
    params: dict[str, Any] = {}
    marks = _in("f", filter_ids, params)
    found: dict[int, list[FilterStatusRecord]] = {filter_id: [] for filter_id in filter_ids}
    async with conn.execute(
        f"SELECT {_STATUS} FROM custom_filter_statuses s WHERE s.filter_id IN ({marks})"
        " ORDER BY s.id",
        params,
    ) as cursor:
        for row in await cursor.fetchall():
            record = _status(row)
            found[record.filter_id].append(record)
    return found


async def add_status(
    conn: Connection, id_: int, *, filter_id: int, status_id: int, now: datetime
) -> FilterStatusRecord | None:
    """None when the status is in the filter already."""
    cursor = await conn.execute(
        "INSERT INTO custom_filter_statuses (id, filter_id, status_id, created_at)"
        " VALUES (:id, :filter, :status, :now) ON CONFLICT DO NOTHING",
        {"id": id_, "filter": filter_id, "status": status_id, "now": db_time(now)},
    )
    if cursor.rowcount != 1:
        return None
    return FilterStatusRecord(id=id_, filter_id=filter_id, status_id=status_id)


async def get_status(conn: Connection, account_id: int, id_: int) -> FilterStatusRecord | None:
    async with conn.execute(
        f"SELECT {_STATUS} FROM custom_filter_statuses s JOIN custom_filters f"
        " ON f.id = s.filter_id WHERE s.id = :id AND f.account_id = :account",
        {"id": id_, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _status(row) if row else None


async def delete_status(conn: Connection, id_: int) -> None:
    await conn.execute("DELETE FROM custom_filter_statuses WHERE id = :id", {"id": id_})


async def count_statuses(conn: Connection, filter_id: int) -> int:
    async with conn.execute(
        "SELECT count(*) FROM custom_filter_statuses WHERE filter_id = :id", {"id": filter_id}
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


# ----- what applies now ----------------------------------------------------------------------


async def active(conn: Connection, account_id: int, now: datetime) -> list[ActiveFilter]:
    """The account's unexpired filters with their keywords and status ids: three statements,
    once per request, however many statuses the request then shows."""
    async with conn.execute(
        f"SELECT {_FILTER} FROM custom_filters f WHERE f.account_id = :account"
        " AND (f.expires_at IS NULL OR f.expires_at > :now) ORDER BY f.id",
        {"account": account_id, "now": db_time(now)},
    ) as cursor:
        records = [_filter(row) for row in await cursor.fetchall()]
    if not records:
        return []
    ids = [record.id for record in records]
    keywords = await keywords_of(conn, ids)
    statuses = await statuses_of(conn, ids)
    return [
        ActiveFilter(
            filter=record,
            keywords=tuple(keywords[record.id]),
            status_ids=frozenset(s.status_id for s in statuses[record.id]),
        )
        for record in records
    ]
