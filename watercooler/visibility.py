"""Who may see a status: the one rule every read path applies (DESIGN rule 4)."""

from __future__ import annotations

from store import follows, statuses
from store.db import Connection
from store.records import StatusRecord

PUBLICLY_READABLE = ("public", "unlisted")


async def can_see(conn: Connection, status: StatusRecord, viewer_account_id: int | None) -> bool:
    """Public and unlisted: anyone. Followers-only: the author, accepted followers and the
    mentioned. Direct: the author and the mentioned. Deleted: no one."""
    if status.deleted_at is not None:
        return False
    if status.visibility in PUBLICLY_READABLE:
        return True
    if viewer_account_id is None:
        return False
    if viewer_account_id == status.account_id:
        return True
    if viewer_account_id in await statuses.mentioned_account_ids(conn, status.id):
        return True
    if status.visibility == "private":
        return await follows.is_following(conn, viewer_account_id, status.account_id)
    return False
