"""The adopted org manifests and the refused ones (migration 0020).

Which manifest to adopt is decided in `watercooler.org_manifest`; here are only the rows.
The manifest in force is the adopted one with the highest serial. Bodies are stored as the
JSON text received (this package knows no manifest format).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.db import Connection, db_time, parse_db_time

REFUSALS_KEPT = 100
"""Refusals kept for admins; older ones are dropped as new ones come."""


@dataclass(frozen=True)
class AdoptedManifest:
    serial: int
    body: str
    digest: str
    source: str
    adopted_at: datetime
    relayed_at: datetime | None


@dataclass(frozen=True)
class ManifestRefusal:
    id: int
    refused_at: datetime
    source: str
    serial: int | None
    reason: str
    detail: str


def _adopted(row: aiosqlite.Row) -> AdoptedManifest:
    values: dict[str, Any] = dict(row)
    values["adopted_at"] = parse_db_time(values["adopted_at"])
    values["relayed_at"] = parse_db_time(values["relayed_at"])
    return AdoptedManifest(**values)


async def current(conn: Connection) -> AdoptedManifest | None:
    """The manifest in force: the adopted one with the highest serial."""
    async with conn.execute(
        "SELECT serial, body, digest, source, adopted_at, relayed_at FROM org_manifests"
        " ORDER BY serial DESC LIMIT 1"
    ) as cursor:
        row = await cursor.fetchone()
    return _adopted(row) if row else None


async def adopt(
    conn: Connection, *, serial: int, body: str, digest: str, source: str, now: datetime
) -> None:
    """Record a newly adopted manifest, not yet passed on. The caller has checked, in the same
    transaction, that `serial` is higher than `current`'s."""
    await conn.execute(
        "INSERT INTO org_manifests (serial, body, digest, source, adopted_at)"
        " VALUES (:serial, :body, :digest, :source, :now)",
        {"serial": serial, "body": body, "digest": digest, "source": source, "now": db_time(now)},
    )


async def mark_relayed(conn: Connection, serial: int, now: datetime) -> None:
    await conn.execute(
        "UPDATE org_manifests SET relayed_at = :now WHERE serial = :serial",
        {"serial": serial, "now": db_time(now)},
    )


async def refuse(
    conn: Connection,
    *,
    source: str,
    serial: int | None,
    reason: str,
    detail: str,
    now: datetime,
) -> None:
    """Note a refused manifest, keeping only the newest `REFUSALS_KEPT`."""
    await conn.execute(
        "INSERT INTO org_manifest_refusals (refused_at, source, serial, reason, detail)"
        " VALUES (:now, :source, :serial, :reason, :detail)",
        {
            "now": db_time(now),
            "source": source[:300],
            "serial": serial,
            "reason": reason,
            "detail": detail[:500],
        },
    )
    await conn.execute(
        "DELETE FROM org_manifest_refusals WHERE id <= (SELECT max(id) FROM"
        " org_manifest_refusals) - :kept",
        {"kept": REFUSALS_KEPT},
    )


async def refusals(conn: Connection, *, limit: int = 20) -> list[ManifestRefusal]:
    """The newest refusals first."""
    async with conn.execute(
        "SELECT id, refused_at, source, serial, reason, detail FROM org_manifest_refusals"
        " ORDER BY id DESC LIMIT :limit",
        {"limit": limit},
    ) as cursor:
        rows = await cursor.fetchall()
    return [
        ManifestRefusal(
            id=row[0],
            refused_at=parse_db_time(row[1]) or datetime.min,
            source=row[2],
            serial=row[3],
            reason=row[4],
            detail=row[5],
        )
        for row in rows
    ]
