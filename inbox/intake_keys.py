"""Signers' public keys held in memory for the inbox: a request from a known peer costs no query.

Memory is trusted only up to the commit. The intake stores an activity only if the stored
key that verified it (its row in `keys`) still stands, checked in the transaction that
inserts it (`inbox.intake_queue`). A key replaced or removed meanwhile, by this process or
another (`watercooler worker` handling an `Update(Person)`), is forgotten and the request is
verified again from the store. So memory never lets in a request the store would refuse.

Rejections cost no query either. After a signature fails with the key in memory, the
verifier asks once for a fresh key (the peer may have rotated it): the store is read, then
the key's origin fetched, but at most once per `refresh_interval` per key. Within it, a
flood of forged signatures is turned away from memory, as the bare verifying endpoint does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from federation.signatures import ResolvedKey

REFRESH_INTERVAL = 30.0
"""Seconds between two refreshes of one key after failed signatures."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A public key and the row of `keys` it was read from; `row_id` is None for a key
    taken straight from its origin that could not be stored (nothing to confirm later)."""

    resolved: ResolvedKey
    row_id: int | None


class KeySource(Protocol):
    """Where keys come from: the store, else a fetch from the key's owner (`refresh=True`:
    from the owner even when stored). The app shell fills it in."""

    async def lookup(self, key_id: str, *, refresh: bool = False) -> StoredKey | None: ...


@dataclass(slots=True)
class _Entry:
    key: StoredKey
    refreshed_at: float


class IntakeKeys:
    """At most `size` keys by key id (the oldest go first), filled from `source`."""

    def __init__(
        self,
        source: KeySource,
        *,
        size: int = 4096,
        refresh_interval: float = REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.size = size
        self.refresh_interval = refresh_interval
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}

    async def lookup(self, key_id: str, *, refresh: bool = False) -> StoredKey | None:
        entry = self._entries.get(key_id)
        if not refresh:
            if entry is not None:
                return entry.key
            found = await self.source.lookup(key_id)
            self._remember(key_id, found, float("-inf"))
            return found
        now = self._monotonic()
        if entry is not None:
            if now - entry.refreshed_at < self.refresh_interval:
                return entry.key  # refreshed a moment ago: nothing newer to be had
            entry.refreshed_at = now  # claimed before waiting: one refresh however many fail
        # The store first: another task or process may hold the signer's new key already.
        found = await self.source.lookup(key_id)
        if found is None or entry is None or found.row_id == entry.key.row_id:
            found = await self.source.lookup(key_id, refresh=True)
        self._remember(key_id, found, now)
        return found

    def forget(self, key_id: str, row_id: int | None) -> None:
        """Drop the key held for `key_id` if it is the one from row `row_id`: the store no
        longer has that row."""
        entry = self._entries.get(key_id)
        if entry is not None and entry.key.row_id == row_id:
            del self._entries[key_id]

    def signer(self) -> RecordingKeys:
        """A key resolver for one request, which tells which stored key verified it."""
        return RecordingKeys(self)

    def _remember(self, key_id: str, found: StoredKey | None, refreshed_at: float) -> None:
        if found is None or found.row_id is None:
            return
        self._entries[key_id] = _Entry(found, refreshed_at)
        if len(self._entries) > self.size:
            for old in list(self._entries)[: len(self._entries) - self.size * 3 // 4]:
                del self._entries[old]

    def __len__(self) -> int:
        return len(self._entries)


class RecordingKeys:
    """`federation.signatures.KeyResolver` over `IntakeKeys`; `used` is the key it handed
    out last, which is the one that verified once verification succeeded."""

    __slots__ = ("keys", "used")

    def __init__(self, keys: IntakeKeys) -> None:
        self.keys = keys
        self.used: StoredKey | None = None

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        self.used = await self.keys.lookup(key_id, refresh=refresh)
        return self.used.resolved if self.used is not None else None
