"""Notifications of local users: written with the event that causes them, read as Mastodon
pages them.

Writers call `notify` (one recipient), `notify_mentioned`, `notify_subscribers` or
`notify_edited` inside the transaction of the event, so a crash never loses a notification;
the table's unique key (recipient, type, sender, status, ref) makes an event handled twice
leave one row. Only local users are notified, and never of their own doing.

A notification is shown while its cause stands, as Mastodon shows it (Mastodon deletes a
notification with its favourite, boost, follow or follow request): a favourite or boost until
it is taken back, a follow while it exists, a follow request while it is pending, a status
until it is deleted. Notifications from accounts the reader blocks, mutes (with their
notifications) or that are suspended are left out when read, so unblocking brings them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from store.api_timelines import Page
from store.db import Connection, db_time, parse_db_time
from store.records import StatusRecord

# Mastodon's notification types (4.3); we write mention, status, reblog, favourite, follow,
# follow_request and update. The others are accepted in filters and match nothing.
TYPES = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
    "severed_relationships",
    "moderation_warning",
    "watercooler.answer_accepted",  # ours: outbox.questions.ANSWER_ACCEPTED
    "move",  # Pleroma's and Akkoma's: an account one follows moved (outbox.moves)
)
NO_MAX = 2**63 - 1

_SHOWN = (
    "a.suspended_at IS NULL"
    # a limited account (store.moderation) reaches only those who follow it (and moderators)
    " AND (n.type LIKE 'admin.%' OR NOT EXISTS (SELECT 1 FROM account_moderation lm"
    "   WHERE lm.account_id = a.id AND lm.limited_at IS NOT NULL AND NOT EXISTS (SELECT 1"
    "   FROM follows lf WHERE lf.account_id = n.account_id AND lf.target_account_id = a.id"
    "   AND lf.state = 'accepted')))"
    " AND (n.status_id IS NULL OR s.deleted_at IS NULL)"
    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = n.account_id"
    "   AND b.target_account_id = n.from_account_id)"
    " AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = n.account_id"
    "   AND m.target_account_id = n.from_account_id AND m.notifications = 1"
    "   AND (m.expires_at IS NULL OR m.expires_at > :now))"
    " AND CASE n.type"
    "   WHEN 'favourite' THEN EXISTS (SELECT 1 FROM favourites f"
    "     WHERE f.account_id = n.from_account_id AND f.status_id = n.status_id)"
    "   WHEN 'reblog' THEN EXISTS (SELECT 1 FROM statuses r"
    "     WHERE r.account_id = n.from_account_id AND r.reblog_of_id = n.status_id"
    "     AND r.deleted_at IS NULL)"
    "   WHEN 'follow' THEN EXISTS (SELECT 1 FROM follows f"
    "     WHERE f.account_id = n.from_account_id AND f.target_account_id = n.account_id)"
    "   WHEN 'follow_request' THEN EXISTS (SELECT 1 FROM follows f"
    "     WHERE f.account_id = n.from_account_id AND f.target_account_id = n.account_id"
    "     AND f.state = 'pending')"
    "   ELSE TRUE END"
)
_FROM = (
    "FROM notifications n JOIN accounts a ON a.id = n.from_account_id"
    " LEFT JOIN statuses s ON s.id = n.status_id"
)
_COLUMNS = "n.id, n.account_id, n.type, n.from_account_id, n.status_id, n.created_at, n.ref"


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    account_id: int
    type: str
    from_account_id: int
    status_id: int | None
    created_at: datetime
    ref: str = ""
    """What tells apart events of one key: an Update's id, a report's id ('admin.report')."""


@dataclass(frozen=True, slots=True)
class Filter:
    """Which notifications a list or count takes: `types` None means all."""

    types: Sequence[str] | None = None
    exclude_types: Sequence[str] = ()
    from_account_id: int | None = None


def _record(row: aiosqlite.Row) -> NotificationRecord:
    created_at = parse_db_time(row[5])
    assert created_at is not None
    return NotificationRecord(
        id=row[0],
        account_id=row[1],
        type=row[2],
        from_account_id=row[3],
        status_id=row[4],
        created_at=created_at,
        ref=row[6],
    )


# ----- writing ---------------------------------------------------------------------------------


async def notify(
    conn: Connection,
    id_: int,
    type_: str,
    *,
    recipient_id: int,
    sender_id: int,
    status_id: int | None = None,
    ref: str = "",
    now: datetime,
) -> bool:
    """Notify `recipient_id` if it is a local user other than the sender; True if new."""
    cursor = await conn.execute(
        "INSERT INTO notifications (id, account_id, type, from_account_id, status_id, ref,"
        " created_at) SELECT :id, a.id, :type, :sender, :status, :ref, :now FROM accounts a"
        " WHERE a.id = :recipient AND a.id <> :sender AND a.domain IS NULL"
        " AND EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id)"
        " ON CONFLICT DO NOTHING",
        {
            "id": id_,
            "type": type_,
            "recipient": recipient_id,
            "sender": sender_id,
            "status": status_id,
            "ref": ref,
            "now": db_time(now),
        },
    )
    return cursor.rowcount == 1


async def notify_follow(
    conn: Connection, id_: int, *, target_id: int, follower_id: int, locked: bool, now: datetime
) -> bool:
    """`follow_request` to a locked account, else `follow`."""
    kind = "follow_request" if locked else "follow"
    return await notify(conn, id_, kind, recipient_id=target_id, sender_id=follower_id, now=now)


async def _local_users(conn: Connection, sql: str, params: dict[str, Any]) -> list[int]:
    async with conn.execute(
        f"SELECT DISTINCT u.account_id FROM users u WHERE u.account_id IN ({sql})"
        " ORDER BY u.account_id",
        params,
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def notify_mentioned(
    conn: Connection, new_id: Callable[[], int], status: StatusRecord, *, now: datetime
) -> int:
    """`mention` to each local user the status mentions (its mentions are stored first)."""
    recipients = await _local_users(
        conn, "SELECT account_id FROM status_mentions WHERE status_id = :id", {"id": status.id}
    )
    made = 0
    for recipient_id in recipients:
        made += await notify(
            conn,
            new_id(),
            "mention",
            recipient_id=recipient_id,
            sender_id=status.account_id,
            status_id=status.id,
            now=now,
        )
    return made


async def notify_edited(
    conn: Connection, new_id: Callable[[], int], status: StatusRecord, *, ref: str, now: datetime
) -> int:
    """`update` to the local users who boosted the status or are mentioned in it; `ref` (the
    Update activity's id) makes each edit one notification however often it is handled."""
    recipients = await _local_users(
        conn,
        "SELECT account_id FROM statuses WHERE reblog_of_id = :id AND deleted_at IS NULL"
        " UNION SELECT account_id FROM status_mentions WHERE status_id = :id",
        {"id": status.id},
    )
    made = 0
    for recipient_id in recipients:
        made += await notify(
            conn,
            new_id(),
            "update",
            recipient_id=recipient_id,
            sender_id=status.account_id,
            status_id=status.id,
            ref=ref,
            now=now,
        )
    return made


async def notify_subscribers(
    conn: Connection, new_id: Callable[[], int], status: StatusRecord, *, now: datetime
) -> int:
    """`status` to each local follower who asked for it (a follow with `notify`), when the
    author posts: as Mastodon, not for boosts nor replies to others (a self-reply, a thread,
    counts), and not for direct posts (those who may see one are mentioned: a `mention`)."""
    if status.reblog_of_id is not None or status.visibility == "direct":
        return 0
    if status.in_reply_to_uri is not None and status.in_reply_to_account_id != status.account_id:
        return 0
    recipients = await _local_users(
        conn,
        "SELECT account_id FROM follows WHERE target_account_id = :author"
        " AND state = 'accepted' AND notify = 1",
        {"author": status.account_id},
    )
    made = 0
    for recipient_id in recipients:
        made += await notify(
            conn,
            new_id(),
            "status",
            recipient_id=recipient_id,
            sender_id=status.account_id,
            status_id=status.id,
            now=now,
        )
    return made


# ----- reading ---------------------------------------------------------------------------------


def _filtered(where: list[str], params: dict[str, Any], selection: Filter) -> bool:
    """Add `selection` to a query; False when it can match nothing."""
    if selection.types is not None:
        wanted = [t for t in dict.fromkeys(selection.types) if t not in selection.exclude_types]
        if not wanted:
            return False
        params.update({f"type{i}": t for i, t in enumerate(wanted)})
        where.append(f"n.type IN ({', '.join(f':type{i}' for i in range(len(wanted)))})")
    elif selection.exclude_types:
        unwanted = list(dict.fromkeys(selection.exclude_types))
        params.update({f"skip{i}": t for i, t in enumerate(unwanted)})
        where.append(f"n.type NOT IN ({', '.join(f':skip{i}' for i in range(len(unwanted)))})")
    if selection.from_account_id is not None:
        where.append("n.from_account_id = :sender")
        params["sender"] = selection.from_account_id
    return True


async def page(
    conn: Connection, account_id: int, bounds: Page, selection: Filter, *, now: datetime
) -> list[NotificationRecord]:
    """One page of `account_id`'s notifications, newest first (Mastodon's id paging)."""
    lower = bounds.min_id if bounds.min_id is not None else bounds.since_id
    params: dict[str, Any] = {
        "me": account_id,
        "now": db_time(now),
        "max": bounds.max_id if bounds.max_id is not None else NO_MAX,
        "min": lower if lower is not None else -1,
        "limit": bounds.limit,
    }
    where = ["n.account_id = :me", "n.id < :max", "n.id > :min", _SHOWN]
    if not _filtered(where, params, selection):
        return []
    order = "ASC" if bounds.min_id is not None else "DESC"
    async with conn.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE {' AND '.join(where)} ORDER BY n.id {order} LIMIT :limit",
        params,
    ) as cursor:
        rows = [_record(row) for row in await cursor.fetchall()]
    return sorted(rows, key=lambda record: record.id, reverse=True)


async def get(
    conn: Connection, account_id: int, notification_id: int, *, now: datetime
) -> NotificationRecord | None:
    """One of `account_id`'s notifications, if it is shown (see the module's docstring)."""
    async with conn.execute(
        f"SELECT {_COLUMNS} {_FROM} WHERE n.id = :id AND n.account_id = :me AND {_SHOWN}",
        {"id": notification_id, "me": account_id, "now": db_time(now)},
    ) as cursor:
        row = await cursor.fetchone()
    return _record(row) if row else None


async def unread_count(
    conn: Connection, account_id: int, selection: Filter, *, limit: int, now: datetime
) -> int:
    """Shown notifications newer than the reader's `notifications` marker, at most `limit`."""
    params: dict[str, Any] = {"me": account_id, "now": db_time(now), "limit": limit}
    where = [
        "n.account_id = :me",
        "n.id > coalesce((SELECT last_read_id FROM markers WHERE account_id = :me"
        " AND timeline = 'notifications'), 0)",
        _SHOWN,
    ]
    if not _filtered(where, params, selection):
        return 0
    async with conn.execute(
        f"SELECT count(*) FROM (SELECT n.id {_FROM} WHERE {' AND '.join(where)}"
        " LIMIT :limit) AS unread",
        params,
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


# ----- dismissing ------------------------------------------------------------------------------


async def dismiss(conn: Connection, account_id: int, notification_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM notifications WHERE id = :id AND account_id = :me",
        {"id": notification_id, "me": account_id},
    )
    return cursor.rowcount == 1


async def clear(conn: Connection, account_id: int) -> int:
    cursor = await conn.execute(
        "DELETE FROM notifications WHERE account_id = :me", {"me": account_id}
    )
    return cursor.rowcount
