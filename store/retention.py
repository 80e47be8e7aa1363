"""The retention policy and the runs of its job (migration 0031).

The policy is one row while retention is on (none: off, the default), so the admin page, the
API and the CLI all change the same thing. A run's counters are written in the transactions
that delete, so a run cut short by a crash still knows what it did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.batches import rows_in
from store.db import Connection, db_time, parse_db_time
from store.ids import SEQUENCE_BITS

VISIBILITIES = ("public", "unlisted", "org", "private", "direct")


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Delete posts older than `days`; of `visibilities` only (empty: every visibility)."""

    days: int
    visibilities: tuple[str, ...]
    updated_at: datetime

    @property
    def applies_to(self) -> tuple[str, ...]:
        return self.visibilities or VISIBILITIES


@dataclass(frozen=True, slots=True)
class RetentionRun:
    id: int
    started_at: datetime
    cutoff: datetime
    days: int
    visibilities: tuple[str, ...]
    deleted: int
    purged: int
    held: int
    more: bool
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A status the policy reaches: deleted through the publisher if `local`, else purged."""

    id: int
    account_id: int
    local: bool


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


async def get_policy(conn: Connection) -> RetentionPolicy | None:
    """The policy, or None when retention is off."""
    async with conn.execute(
        "SELECT days, visibilities, updated_at FROM retention_policy WHERE id = 1"
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    updated = parse_db_time(row[2])
    assert updated is not None
    return RetentionPolicy(row[0], _split(row[1]), updated)


async def set_policy(
    conn: Connection, *, days: int, visibilities: Sequence[str], now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO retention_policy (id, days, visibilities, updated_at)"
        " VALUES (1, :days, :visibilities, :now) ON CONFLICT (id) DO UPDATE SET"
        " days = excluded.days, visibilities = excluded.visibilities,"
        " updated_at = excluded.updated_at",
        {"days": days, "visibilities": ",".join(visibilities), "now": db_time(now)},
    )


async def clear_policy(conn: Connection) -> bool:
    """Retention off; False if it was off already."""
    cursor = await conn.execute("DELETE FROM retention_policy WHERE id = 1")
    return cursor.rowcount == 1


# ----- runs --------------------------------------------------------------------------------

_RUN_COLUMNS = (
    "id, started_at, cutoff, days, visibilities, deleted, purged, held, more, finished_at"
)


def _run(row: Any) -> RetentionRun:
    return RetentionRun(
        id=row[0],
        started_at=parse_db_time(row[1]),  # type: ignore[arg-type]
        cutoff=parse_db_time(row[2]),  # type: ignore[arg-type]
        days=row[3],
        visibilities=_split(row[4]),
        deleted=row[5],
        purged=row[6],
        held=row[7],
        more=bool(row[8]),
        finished_at=parse_db_time(row[9]),
    )


async def start_run(
    conn: Connection, id_: int, policy: RetentionPolicy, cutoff: datetime, now: datetime
) -> RetentionRun:
    await conn.execute(
        f"INSERT INTO retention_runs ({_RUN_COLUMNS}) VALUES (:id, :now, :cutoff, :days,"
        " :visibilities, 0, 0, 0, 0, NULL)",
        {
            "id": id_,
            "now": db_time(now),
            "cutoff": db_time(cutoff),
            "days": policy.days,
            "visibilities": ",".join(policy.visibilities),
        },
    )
    found = await get_run(conn, id_)
    assert found is not None
    return found


async def get_run(conn: Connection, run_id: int) -> RetentionRun | None:
    async with conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM retention_runs WHERE id = :id", {"id": run_id}
    ) as cursor:
        row = await cursor.fetchone()
    return _run(row) if row else None


async def unfinished_runs(conn: Connection) -> list[RetentionRun]:
    """Runs a crash (or a stop) cut short: their audit row is still to be written."""
    async with conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM retention_runs WHERE finished_at IS NULL ORDER BY id"
    ) as cursor:
        return [_run(row) for row in await cursor.fetchall()]


async def count(
    conn: Connection, run_id: int, *, deleted: int = 0, purged: int = 0, held: int = 0
) -> None:
    await conn.execute(
        "UPDATE retention_runs SET deleted = deleted + :deleted, purged = purged + :purged,"
        " held = held + :held WHERE id = :id",
        {"id": run_id, "deleted": deleted, "purged": purged, "held": held},
    )


async def finish_run(conn: Connection, run_id: int, *, more: bool, now: datetime) -> None:
    await conn.execute(
        "UPDATE retention_runs SET finished_at = :now, more = :more WHERE id = :id",
        {"id": run_id, "now": db_time(now), "more": int(more)},
    )


async def recent_runs(conn: Connection, limit: int = 10) -> list[RetentionRun]:
    async with conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM retention_runs ORDER BY id DESC LIMIT :limit",
        {"limit": limit},
    ) as cursor:
        return [_run(row) for row in await cursor.fetchall()]


# ----- what a run deletes ------------------------------------------------------------------


async def candidates(
    conn: Connection,
    *,
    cutoff: datetime,
    visibilities: Sequence[str],
    after_id: int,
    limit: int,
) -> list[Candidate]:
    """Live posts (not boosts) of `visibilities` created before `cutoff`, by id from
    `after_id`. The id bound (ids are minted at arrival, never before creation) keeps the
    scan on the primary key's old end: a post that arrived after the cutoff waits until it
    has been here that long too."""
    marks = ", ".join(f":v{i}" for i in range(len(visibilities)))
    params: dict[str, Any] = {f"v{i}": v for i, v in enumerate(visibilities)}
    params.update(
        cutoff=db_time(cutoff),
        cutoff_id=(int(cutoff.timestamp() * 1000) + 1) << SEQUENCE_BITS,
        after=after_id,
        limit=limit,
    )
    async with conn.execute(
        "SELECT id, account_id, local FROM statuses WHERE id > :after AND id < :cutoff_id"
        " AND deleted_at IS NULL AND reblog_of_id IS NULL AND created_at < :cutoff"
        f" AND visibility IN ({marks}) ORDER BY id LIMIT :limit",
        params,
    ) as cursor:
        return [Candidate(row[0], row[1], bool(row[2])) for row in await cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class Remains:
    """The media rows a deleted status leaves, with the files they name."""

    media_ids: tuple[int, ...]
    files: tuple[str, ...]


async def remains(conn: Connection, status_ids: Iterable[int]) -> Remains:
    """The media attached to `status_ids` (read before a delete frees a local upload)."""
    rows = await rows_in(
        conn,
        "SELECT id, file_name, preview_name FROM media_attachments WHERE status_id IN ({ids})",
        status_ids,
    )
    files = tuple(name for row in rows for name in (row[1], row[2]) if name)
    return Remains(tuple(row[0] for row in rows), files)


async def erase_remains(conn: Connection, status_id: int, media_ids: Iterable[int]) -> None:
    """What a retention delete erases beyond the normal delete's tombstone: the status's edit
    history and its media rows (the caller removes their files after the commit)."""
    await conn.execute("DELETE FROM status_edits WHERE status_id = :id", {"id": status_id})
    await conn.executemany(
        "DELETE FROM media_attachments WHERE id = ?", [(media_id,) for media_id in media_ids]
    )
