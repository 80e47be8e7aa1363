"""What a person's own archive and CSV exports read (their posts, likes, bookmarks,
follows, blocks, mutes, lists), and the follow imports (migration 0032): the upload, its
rows, and the worker's claims on them.

Every read here is a page (a keyset on the id), so an archive of a person with many posts
is written a page at a time, never read whole into memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from store.db import Connection, db_time, parse_db_time

NO_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Followed:
    """One account the person follows (or asked to), as following_accounts.csv lists it."""

    id: int
    username: str
    domain: str | None
    show_reblogs: bool
    notify: bool


@dataclass(frozen=True, slots=True)
class FollowImport:
    id: int
    account_id: int
    mode: str
    state: str
    file_name: str
    total: int
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImportRow:
    import_id: int
    position: int
    address: str
    show_reblogs: bool
    notify: bool
    state: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class NewImportRow:
    address: str
    show_reblogs: bool = True
    notify: bool = False
    failed: str | None = None
    """Why the row cannot be done at all (a malformed address): it fails at upload."""


async def count_statuses(conn: Connection, account_id: int) -> int:
    """The person's posts and boosts, every visibility, not deleted (outbox totalItems)."""
    async with conn.execute(
        "SELECT count(*) FROM statuses WHERE account_id = :account AND deleted_at IS NULL",
        {"account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def status_uris_page(
    conn: Connection, table: str, account_id: int, *, after: int, limit: int
) -> list[tuple[int, str]]:
    """(row id, status URI) of the person's favourites or bookmarks, oldest first."""
    if table not in ("favourites", "bookmarks"):
        raise ValueError(table)
    async with conn.execute(
        f"SELECT t.id, s.uri FROM {table} t JOIN statuses s ON s.id = t.status_id"
        " WHERE t.account_id = :account AND t.id > :after AND s.deleted_at IS NULL"
        " ORDER BY t.id LIMIT :limit",
        {"account": account_id, "after": after, "limit": limit},
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def following_page(
    conn: Connection, account_id: int, *, after: int, limit: int
) -> list[Followed]:
    """The accounts the person follows or asked to follow, in the order they did."""
    async with conn.execute(
        "SELECT f.id, a.username, a.domain, f.show_reblogs, f.notify FROM follows f"
        " JOIN accounts a ON a.id = f.target_account_id"
        " WHERE f.account_id = :account AND f.id > :after ORDER BY f.id LIMIT :limit",
        {"account": account_id, "after": after, "limit": limit},
    ) as cursor:
        return [
            Followed(row[0], row[1], row[2], bool(row[3]), bool(row[4]))
            for row in await cursor.fetchall()
        ]


async def blocked_page(
    conn: Connection, account_id: int, *, after: int, limit: int
) -> list[tuple[int, str, str | None]]:
    """(row id, username, domain) of the accounts the person blocks."""
    async with conn.execute(
        "SELECT b.id, a.username, a.domain FROM blocks b JOIN accounts a"
        " ON a.id = b.target_account_id WHERE b.account_id = :account AND b.id > :after"
        " ORDER BY b.id LIMIT :limit",
        {"account": account_id, "after": after, "limit": limit},
    ) as cursor:
        return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]


async def muted_page(
    conn: Connection, account_id: int, *, after: int, limit: int, now: datetime
) -> list[tuple[int, str, str | None, bool]]:
    """(row id, username, domain, hides notifications) of the accounts the person mutes."""
    async with conn.execute(
        "SELECT m.id, a.username, a.domain, m.notifications FROM mutes m JOIN accounts a"
        " ON a.id = m.target_account_id WHERE m.account_id = :account AND m.id > :after"
        " AND (m.expires_at IS NULL OR m.expires_at > :now) ORDER BY m.id LIMIT :limit",
        {"account": account_id, "after": after, "limit": limit, "now": db_time(now)},
    ) as cursor:
        return [(row[0], row[1], row[2], bool(row[3])) for row in await cursor.fetchall()]


async def list_members(conn: Connection, account_id: int) -> list[tuple[str, str, str | None]]:
    """(list title, username, domain) of every member of the person's lists (a list holds at
    most a few hundred accounts, and a person a few dozen lists)."""
    async with conn.execute(
        "SELECT l.title, a.username, a.domain FROM lists l"
        " JOIN list_accounts m ON m.list_id = l.id JOIN accounts a ON a.id = m.account_id"
        " WHERE l.account_id = :account ORDER BY l.id, a.id",
        {"account": account_id},
    ) as cursor:
        return [(row[0], row[1], row[2]) for row in await cursor.fetchall()]


# ----- follow imports ------------------------------------------------------------------------


def _import(row: Sequence[object]) -> FollowImport:
    created = parse_db_time(str(row[6]))
    assert created is not None
    return FollowImport(
        id=int(str(row[0])),
        account_id=int(str(row[1])),
        mode=str(row[2]),
        state=str(row[3]),
        file_name=str(row[4]),
        total=int(str(row[5])),
        created_at=created,
        finished_at=parse_db_time(row[7] if isinstance(row[7], str) else None),
    )


_IMPORT_COLUMNS = "id, account_id, mode, state, file_name, total, created_at, finished_at"
_ROW_COLUMNS = "import_id, position, address, show_reblogs, notify, state, reason"


def _row(row: Sequence[object]) -> ImportRow:
    return ImportRow(
        import_id=int(str(row[0])),
        position=int(str(row[1])),
        address=str(row[2]),
        show_reblogs=bool(row[3]),
        notify=bool(row[4]),
        state=str(row[5]),
        reason=row[6] if isinstance(row[6], str) else None,
    )


async def create_import(
    conn: Connection,
    id_: int,
    *,
    account_id: int,
    mode: str,
    file_name: str,
    rows: Sequence[NewImportRow],
    now: datetime,
) -> FollowImport:
    """An import and its rows, in the caller's transaction."""
    await conn.execute(
        "INSERT INTO follow_imports (id, account_id, mode, file_name, total, created_at)"
        " VALUES (:id, :account, :mode, :file_name, :total, :now)",
        {
            "id": id_,
            "account": account_id,
            "mode": mode,
            "file_name": file_name,
            "total": len(rows),
            "now": db_time(now),
        },
    )
    await conn.executemany(
        "INSERT INTO follow_import_rows (import_id, position, address, show_reblogs, notify,"
        " state, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                id_,
                position,
                row.address,
                int(row.show_reblogs),
                int(row.notify),
                "failed" if row.failed else "pending",
                row.failed,
            )
            for position, row in enumerate(rows)
        ],
    )
    found = await get_import(conn, id_)
    assert found is not None
    return found


async def get_import(conn: Connection, import_id: int) -> FollowImport | None:
    async with conn.execute(
        f"SELECT {_IMPORT_COLUMNS} FROM follow_imports WHERE id = :id", {"id": import_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _import(tuple(row)) if row else None


async def imports_of(conn: Connection, account_id: int, *, limit: int) -> list[FollowImport]:
    """The person's imports, newest first."""
    async with conn.execute(
        f"SELECT {_IMPORT_COLUMNS} FROM follow_imports WHERE account_id = :account"
        " ORDER BY id DESC LIMIT :limit",
        {"account": account_id, "limit": limit},
    ) as cursor:
        return [_import(tuple(row)) for row in await cursor.fetchall()]


async def has_pending_import(conn: Connection, account_id: int) -> bool:
    async with conn.execute(
        "SELECT 1 FROM follow_imports WHERE account_id = :account AND state = 'pending'",
        {"account": account_id},
    ) as cursor:
        return await cursor.fetchone() is not None


async def import_rows(
    conn: Connection, import_id: int, *, after: int = -1, limit: int = 1000
) -> list[ImportRow]:
    """An import's rows in file order, from `after` on."""
    async with conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM follow_import_rows WHERE import_id = :id"
        " AND position > :after ORDER BY position LIMIT :limit",
        {"id": import_id, "after": after, "limit": limit},
    ) as cursor:
        return [_row(tuple(row)) for row in await cursor.fetchall()]


async def row_counts(conn: Connection, import_id: int) -> dict[str, int]:
    """How many rows of an import are in each state."""
    async with conn.execute(
        "SELECT state, count(*) FROM follow_import_rows WHERE import_id = :id GROUP BY state",
        {"id": import_id},
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def next_pending_import(conn: Connection) -> FollowImport | None:
    """The oldest import with rows still to do."""
    async with conn.execute(
        f"SELECT {_IMPORT_COLUMNS} FROM follow_imports WHERE state = 'pending' ORDER BY id LIMIT 1"
    ) as cursor:
        row = await cursor.fetchone()
    return _import(tuple(row)) if row else None


async def pending_rows(conn: Connection, import_id: int, *, limit: int) -> list[ImportRow]:
    async with conn.execute(
        f"SELECT {_ROW_COLUMNS} FROM follow_import_rows WHERE import_id = :id"
        " AND state = 'pending' ORDER BY position LIMIT :limit",
        {"id": import_id, "limit": limit},
    ) as cursor:
        return [_row(tuple(row)) for row in await cursor.fetchall()]


async def finish_row(
    conn: Connection,
    import_id: int,
    position: int,
    *,
    target_account_id: int | None,
    reason: str | None,
) -> None:
    """A row followed (`target_account_id`) or failed (`reason`)."""
    await conn.execute(
        "UPDATE follow_import_rows SET state = :state, reason = :reason,"
        " target_account_id = :target"
        " WHERE import_id = :id AND position = :position AND state = 'pending'",
        {
            "state": "followed" if target_account_id is not None else "failed",
            "reason": reason,
            "target": target_account_id,
            "id": import_id,
            "position": position,
        },
    )


async def finish_import(conn: Connection, import_id: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE follow_imports SET state = 'done', finished_at = :now WHERE id = :id",
        {"id": import_id, "now": db_time(now)},
    )


async def followed_target_ids(conn: Connection, import_id: int) -> set[int]:
    """The accounts an import followed (for `overwrite`: whom to keep)."""
    async with conn.execute(
        "SELECT target_account_id FROM follow_import_rows WHERE import_id = :id"
        " AND state = 'followed' AND target_account_id IS NOT NULL",
        {"id": import_id},
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def following_ids(conn: Connection, account_id: int) -> list[int]:
    """Every account the person follows or asked to follow (for `overwrite`)."""
    async with conn.execute(
        "SELECT target_account_id FROM follows WHERE account_id = :account ORDER BY id",
        {"account": account_id},
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]
