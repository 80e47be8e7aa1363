"""Roles as data (migration 0024): what a local user may do beyond posting.

`KNOWN_ROLES` is the one list of role names; a role is a row (user, role), so a new role
needs a name here, not a migration. Admins hold every power without rows (checked by the
callers, which know what each power needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from store.db import Connection, db_time
from store.records import UserRecord

ANNOUNCER = "announcer"
"""May publish, edit and withdraw announcements (issue 9)."""
MODERATOR = "moderator"
"""Works the report queue and moderates accounts (issue 10); not instance settings or peers."""
KNOWN_ROLES: tuple[str, ...] = (ANNOUNCER, MODERATOR)


async def roles_of(conn: Connection, user_id: int) -> list[str]:
    async with conn.execute(
        "SELECT role FROM user_roles WHERE user_id = :user ORDER BY role", {"user": user_id}
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def has_role(conn: Connection, user_id: int, role: str) -> bool:
    async with conn.execute(
        "SELECT 1 FROM user_roles WHERE user_id = :user AND role = :role",
        {"user": user_id, "role": role},
    ) as cursor:
        return await cursor.fetchone() is not None


async def may_moderate(conn: Connection, user: UserRecord) -> bool:
    """Admins, and holders of the moderator role."""
    return user.admin or await has_role(conn, user.id, MODERATOR)


async def all_roles(conn: Connection) -> dict[int, list[str]]:
    """Every user's roles by user id (users without any are absent), for the users page."""
    found: dict[int, list[str]] = {}
    async with conn.execute("SELECT user_id, role FROM user_roles ORDER BY role") as cursor:
        for row in await cursor.fetchall():
            found.setdefault(row[0], []).append(row[1])
    return found


async def grant(conn: Connection, user_id: int, role: str, now: datetime) -> bool:
    """True if the user did not hold the role yet."""
    cursor = await conn.execute(
        "INSERT INTO user_roles (user_id, role, granted_at) VALUES (:user, :role, :now)"
        " ON CONFLICT DO NOTHING",
        {"user": user_id, "role": role, "now": db_time(now)},
    )
    return cursor.rowcount == 1


async def revoke(conn: Connection, user_id: int, role: str) -> bool:
    """True if the user held the role."""
    cursor = await conn.execute(
        "DELETE FROM user_roles WHERE user_id = :user AND role = :role",
        {"user": user_id, "role": role},
    )
    return cursor.rowcount == 1


async def holders(conn: Connection, role: str) -> Sequence[int]:
    """The ids of the users holding `role`."""
    async with conn.execute(
        "SELECT user_id FROM user_roles WHERE role = :role ORDER BY user_id", {"role": role}
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]
