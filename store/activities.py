"""Activities this instance published, kept as sent (C2S answers, the outbox collection)."""

from __future__ import annotations

from datetime import datetime

from store.db import Connection, db_time


async def insert(
    conn: Connection,
    id_: int,
    *,
    uri: str,
    account_id: int,
    type_: str,
    object_uri: str | None,
    status_id: int | None,
    body: str,
    now: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO activities (id, uri, account_id, type, object_uri, status_id, body,"
        " created_at) VALUES (:id, :uri, :account, :type, :object, :status, :body, :now)",
        {
            "id": id_,
            "uri": uri,
            "account": account_id,
            "type": type_,
            "object": object_uri,
            "status": status_id,
            "body": body,
            "now": db_time(now),
        },
    )


async def get_body(conn: Connection, uri: str) -> str | None:
    async with conn.execute("SELECT body FROM activities WHERE uri = :uri", {"uri": uri}) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None
