"""Announcements in the app shell: who may publish them, the Mastodon `Announcement` entity,
and what the web pages' banner shows.

Publishing is `outbox.announcements`; receiving `inbox.announcements`; the rows
`store.announcements`. Admins and accounts with the `announcer` role (store.roles) may
publish, edit and withdraw this division's announcements; every signed-in employee reads
the active ones (this division's and its peers'), dismisses them and reacts to them, both
kept per division as Mastodon keeps them per server.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from federation.policy import domain_of
from outbox.announcements import Announcements
from store import accounts, roles
from store import announcements as stored
from store.announcements import AnnouncementRecord
from store.db import Connection
from store.records import AccountRecord, UserRecord
from watercooler.services import Services

MAX_REACTION_CHARS = 32
_EMOJI_PARTS = frozenset({"\u200d", "\ufe0f", "\ufe0e", "\u20e3"})


def from_peers(svc: Services, records: Sequence[AnnouncementRecord]) -> list[AnnouncementRecord]:
    """Ours, and those of divisions that are still peers: a division dropped from the
    organisation (peer removed, org manifest) stops showing at once."""
    return [r for r in records if r.local or svc.policy.is_peer(domain_of(r.uri))]


async def may_announce(conn: Connection, user: UserRecord) -> bool:
    """Admins, and users with the `announcer` role."""
    return user.admin or await roles.has_role(conn, user.id, roles.ANNOUNCER)


def publisher_of(svc: Services) -> Announcements:
    return Announcements(svc.publisher)


def is_unicode_emoji(name: str) -> bool:
    """Whether a reaction name is one emoji as Mastodon accepts it without custom emojis:
    symbols, with the joiners, variation selectors, skin tones, keycaps and flag tags that
    build one."""
    if not name or len(name) > MAX_REACTION_CHARS:
        return False
    keycap = "\u20e3" in name
    symbol = False
    for char in name:
        if unicodedata.category(char) == "So" or (keycap and char in "0123456789#*"):
            symbol = True
        elif not (
            char in _EMOJI_PARTS
            or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tones
            or "\U000e0020" <= char <= "\U000e007f"  # flag tag sequences
        ):
            return False
    return symbol


@dataclass(frozen=True, slots=True)
class Shown:
    """An announcement as the banner and the management page show it."""

    record: AnnouncementRecord
    author: AccountRecord | None


async def shown_list(conn: Connection, records: Sequence[AnnouncementRecord]) -> list[Shown]:
    """Each record with its author (the API's entity: watercooler.api.announcements)."""
    authors: dict[int, AccountRecord | None] = {}
    for record in records:
        if record.account_id not in authors:
            authors[record.account_id] = await accounts.get_by_id(conn, record.account_id)
    return [Shown(record, authors[record.account_id]) for record in records]


async def banner(svc: Services, user: UserRecord, account: AccountRecord) -> dict[str, Any]:
    """What every signed-in page shows: the active announcements the reader has not
    dismissed, and whether they may manage announcements (the navigation link)."""
    async with svc.db.read() as conn:
        records = await stored.active(
            conn, svc.clock(), account_id=account.id, with_dismissed=False
        )
        shown = await shown_list(conn, from_peers(svc, records))
        allowed = await may_announce(conn, user)
    return {"announcements": shown, "can_announce": allowed}
