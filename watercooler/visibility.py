"""Who may see a status: the one rule every read path applies (DESIGN rule 4).

Five visibilities, widest first: public, unlisted, org (every signed-in user of this
instance and every user of a peer instance, never anyone else), private (followers-only)
and direct. A local-only status (`local_only`) is seen by local accounts only, as its
visibility says, and never by a remote reader or an anonymous one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from store import accounts, follows, moderation, statuses
from store.db import Connection
from store.records import StatusRecord

PUBLICLY_READABLE = ("public", "unlisted")
"""Visibilities anyone may read, signed in or not (a local-only status excepted)."""

DEFAULT_VISIBILITIES = ("public", "unlisted", "org", "private", "direct")
"""What `instance.default_visibility` and a user's `source[privacy]` may be."""

PeerCheck = Callable[[str], bool]


async def can_see(
    conn: Connection,
    status: StatusRecord,
    viewer_account_id: int | None,
    *,
    is_peer: PeerCheck | None = None,
    hidden: Collection[int] | None = None,
) -> bool:
    """Public and unlisted: anyone. Org: local accounts, and remote ones whose domain
    `is_peer` admits (without it, no remote one: only the ActivityPub routes, whose readers
    are remote, pass it). Followers-only: the author, accepted followers and the mentioned.
    Direct: the author and the mentioned. Local-only: as its visibility says, but only for
    local accounts. Deleted, or by (or boosting) an account suspended here: no one.
    `hidden`: the ids that suspension hides among a batch the caller checks
    (`moderation.hidden_statuses`, one statement for a page); without it, asked now."""
    if status.deleted_at is not None:
        return False
    if hidden is not None:
        if status.id in hidden:
            return False
    elif await moderation.hidden_author(conn, status.account_id, status.reblog_of_id):
        return False
    if status.visibility in PUBLICLY_READABLE and not status.local_only:
        return True
    if viewer_account_id is None:
        return False
    if viewer_account_id == status.account_id:
        return True
    if status.local_only or status.visibility == "org":
        viewer = await accounts.get_by_id(conn, viewer_account_id)
        if viewer is None or (status.local_only and not viewer.is_local):
            return False
        if status.visibility in PUBLICLY_READABLE:
            return True
        if status.visibility == "org":
            if viewer.is_local:
                return True
            return is_peer is not None and viewer.domain is not None and is_peer(viewer.domain)
    if viewer_account_id in await statuses.mentioned_account_ids(conn, status.id):
        return True
    if status.visibility == "private":
        return await follows.is_following(conn, viewer_account_id, status.account_id)
    return False


async def default_visibility(conn: Connection, account_id: int, instance_default: str) -> str:
    """What a post of `account_id` gets when the client names no visibility: the user's own
    choice (`source[privacy]`), else the instance's `instance.default_visibility`."""
    own = await accounts.default_visibility(conn, account_id)
    return own if own in DEFAULT_VISIBILITIES else instance_default
