"""Direct-message conversations of local accounts, kept as Mastodon keeps its
account_conversations: one row per local participant, thread and set of other participants.

Writers call `add_status` in the transaction that stores a direct status (posted here or
received) and `remove_status` in the one that deletes it, so the list a client pages is
always an index range on (account, last status). Only direct statuses belong here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store import statuses
from store.api_timelines import Page
from store.db import Connection, db_time
from store.records import StatusRecord

MAX_THREAD_DEPTH = 64
NO_MAX = 2**63 - 1
_COLUMNS = "id, account_id, participant_ids, last_status_id, unread"


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: int
    account_id: int
    participant_ids: tuple[int, ...]
    """The other participants; empty for notes to oneself."""
    last_status_id: int
    unread: bool


def _record(row: aiosqlite.Row) -> ConversationRecord:
    ids = tuple(int(part) for part in row["participant_ids"].split(",") if part)
    return ConversationRecord(
        id=row["id"],
        account_id=row["account_id"],
        participant_ids=ids,
        last_status_id=row["last_status_id"],
        unread=bool(row["unread"]),
    )


async def thread_key(conn: Connection, status: StatusRecord) -> str:
    """What groups a status with the rest of its thread: the first conversation URI up the
    reply chain (peers may leave it out on replies), else the URI of the chain's top."""
    current = status
    for _ in range(MAX_THREAD_DEPTH):
        if current.conversation_uri:
            return current.conversation_uri
        parent = (
            await statuses.get_by_id(conn, current.in_reply_to_id)
            if current.in_reply_to_id is not None
            else None
        )
        if parent is None:
            return current.uri
        current = parent
    return current.uri


async def _shut_out(conn: Connection, recipient_id: int, author_id: int, now: datetime) -> bool:
    """A recipient who blocks or mutes the author gets no conversation from them (Mastodon
    files it with the mention it does not notify)."""
    async with conn.execute(
        "SELECT 1 FROM blocks WHERE account_id = :me AND target_account_id = :author"
        " UNION ALL SELECT 1 FROM mutes WHERE account_id = :me AND target_account_id = :author"
        " AND (expires_at IS NULL OR expires_at > :now) LIMIT 1",
        {"me": recipient_id, "author": author_id, "now": db_time(now)},
    ) as cursor:
        return await cursor.fetchone() is not None


async def add_status(
    conn: Connection,
    new_id: Callable[[], int],
    status: StatusRecord,
    recipients: Iterable[int],
    *,
    now: datetime,
) -> list[int]:
    """File a direct status in the conversation of each local participant in `recipients`
    (the author, if local, and the local mentioned); call after its mentions are stored.
    Unread for everyone but its author. Filing the same status again changes nothing.
    Returns the ids of the conversations it is now in."""
    if status.visibility != "direct" or status.reblog_of_id is not None:
        return []
    key = await thread_key(conn, status)
    people = set(await statuses.mentioned_account_ids(conn, status.id)) | {status.account_id}
    filed = []
    for recipient in sorted(set(recipients)):
        if recipient != status.account_id and await _shut_out(
            conn, recipient, status.account_id, now
        ):
            continue
        others = ",".join(str(i) for i in sorted(people - {recipient}))
        params: dict[str, Any] = {
            "id": new_id(),
            "account": recipient,
            "key": key,
            "others": others,
            "status": status.id,
            "unread": int(recipient != status.account_id),
        }
        async with conn.execute(
            "SELECT c.id FROM account_conversation_statuses cs"
            " JOIN account_conversations c ON c.id = cs.conversation_id"
            " WHERE cs.status_id = :status AND c.account_id = :account",
            params,
        ) as cursor:
            filed_before = await cursor.fetchone()
        if filed_before is not None:  # a retried inbox item, say
            filed.append(int(filed_before[0]))
            continue
        async with conn.execute(
            "INSERT INTO account_conversations"
            " (id, account_id, conversation, participant_ids, last_status_id, unread)"
            " VALUES (:id, :account, :key, :others, :status, :unread)"
            " ON CONFLICT (account_id, conversation, participant_ids) DO UPDATE SET"
            " unread = CASE WHEN excluded.last_status_id > account_conversations.last_status_id"
            "   THEN excluded.unread ELSE account_conversations.unread END,"
            " last_status_id = CASE"
            "   WHEN excluded.last_status_id > account_conversations.last_status_id"
            "   THEN excluded.last_status_id ELSE account_conversations.last_status_id END"
            " RETURNING id",
            params,
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        await conn.execute(
            "INSERT OR IGNORE INTO account_conversation_statuses (conversation_id, status_id)"
            " VALUES (:conversation, :status)",
            {"conversation": row[0], "status": status.id},
        )
        filed.append(int(row[0]))
    return filed


async def remove_status(conn: Connection, status_id: int) -> None:
    """A deleted status leaves its conversations: each shows the one before it, or goes
    when it was the last (Mastodon's AccountConversation.remove_status). Read state stays."""
    async with conn.execute(
        "SELECT conversation_id FROM account_conversation_statuses WHERE status_id = :status",
        {"status": status_id},
    ) as cursor:
        conversation_ids = [row[0] for row in await cursor.fetchall()]
    if not conversation_ids:
        return
    await conn.execute(
        "DELETE FROM account_conversation_statuses WHERE status_id = :status",
        {"status": status_id},
    )
    for conversation_id in conversation_ids:
        params = {"id": conversation_id}
        await conn.execute(
            "UPDATE account_conversations SET last_status_id = (SELECT max(status_id)"
            " FROM account_conversation_statuses WHERE conversation_id = :id) WHERE id = :id"
            " AND EXISTS (SELECT 1 FROM account_conversation_statuses WHERE conversation_id = :id)",
            params,
        )
        await conn.execute(
            "DELETE FROM account_conversations WHERE id = :id AND NOT EXISTS"
            " (SELECT 1 FROM account_conversation_statuses WHERE conversation_id = :id)",
            params,
        )


async def page(conn: Connection, account_id: int, window: Page) -> list[ConversationRecord]:
    """The account's conversations, most recent last status first, paged by last status id
    as Mastodon pages them (`min_id` gives the oldest after it, still newest first)."""
    lower = window.min_id if window.min_id is not None else window.since_id
    order = "ASC" if window.min_id is not None else "DESC"
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM account_conversations WHERE account_id = :account"
        " AND last_status_id < :max AND last_status_id > :min"
        f" ORDER BY last_status_id {order} LIMIT :limit",
        {
            "account": account_id,
            "max": window.max_id or NO_MAX,
            "min": lower if lower is not None else 0,
            "limit": window.limit,
        },
    ) as cursor:
        found = [_record(row) for row in await cursor.fetchall()]
    return sorted(found, key=lambda c: c.last_status_id, reverse=True)


async def get(conn: Connection, account_id: int, conversation_id: int) -> ConversationRecord | None:
    """The account's own conversation by id; None for anyone else's."""
    async with conn.execute(
        f"SELECT {_COLUMNS} FROM account_conversations WHERE id = :id AND account_id = :account",
        {"id": conversation_id, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def for_status(
    conn: Connection, account_id: int, status_id: int
) -> ConversationRecord | None:
    """The account's conversation that holds this status, if any."""
    async with conn.execute(
        "SELECT c.id, c.account_id, c.participant_ids, c.last_status_id, c.unread"
        " FROM account_conversation_statuses cs"
        " JOIN account_conversations c ON c.id = cs.conversation_id"
        " WHERE cs.status_id = :status AND c.account_id = :account",
        {"status": status_id, "account": account_id},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def mark_read(conn: Connection, conversation_id: int) -> None:
    await conn.execute(
        "UPDATE account_conversations SET unread = 0 WHERE id = :id", {"id": conversation_id}
    )


async def delete(conn: Connection, conversation_id: int) -> None:
    """The conversation leaves the account's list; its statuses stay (Mastodon's too)."""
    await conn.execute("DELETE FROM account_conversations WHERE id = :id", {"id": conversation_id})
