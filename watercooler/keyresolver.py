"""Public keys for signature verification, from the store or fetched from the key's owner.

Fills in `federation.signatures.KeyResolver`. A key we have never seen is fetched with a
signed GET from its actor's host (peer policy applies), checked to belong to that actor on
the same host, and stored with the actor, so the next request needs no fetch. `refresh=True`
refetches once when a stored key fails to verify: the peer may have rotated it.

The store stays the truth here (a rotated or deleted key counts at once); only the parsing
of PEM texts is cached, because it costs more than verifying a signature. The inbox keeps
keys in memory on top of this (`inbox.intake_keys`), confirming each against the store when
it commits. Concurrent requests for the same unknown key share one fetch: a burst from a
new peer must not become a burst of fetches at its server.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from federation import vocab
from federation.errors import FederationError, ParseError
from federation.keys import PublicKey, load_public_key
from federation.policy import domain_of
from federation.signatures import ResolvedKey
from inbox.intake_keys import StoredKey
from outbox.remote import RemoteActors
from store import keys
from store.db import Database
from store.errors import Conflict

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4096)
def parsed_public_key(pem: str) -> PublicKey:
    """A PEM text's key object; the same text always gives the same (immutable) key."""
    return load_public_key(pem)


class StoreKeyResolver:
    def __init__(self, db: Database, actors: RemoteActors) -> None:
        self.db = db
        self.actors = actors
        self._fetching: dict[str, asyncio.Task[ResolvedKey | None]] = {}

    @staticmethod
    async def signing_key(db: Database, key_uri: str) -> str:
        """The private PEM of one of our own keys (the instance actor's, a user's)."""
        async with db.read() as conn:
            record = await keys.get_by_uri(conn, key_uri)
        if record is None or record.private_key_pem is None:
            raise LookupError(f"no local signing key {key_uri}")
        return record.private_key_pem

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        found = await self.lookup(key_id, refresh=refresh)
        return found.resolved if found is not None else None

    async def lookup(self, key_id: str, *, refresh: bool = False) -> StoredKey | None:
        """The key and the row it is stored in (`inbox.intake_keys.KeySource`)."""
        stored = await self._stored(key_id)
        if stored is not None and (not refresh or stored[1]):
            return stored[0]
        task = self._fetching.get(key_id)
        if task is None:
            # One fetch per key however many requests wait for it; a task of its own, so a
            # waiting request that goes away does not cancel it for the others.
            task = asyncio.create_task(self._fetch(key_id), name=f"key-fetch {key_id}")
            self._fetching[key_id] = task
            task.add_done_callback(lambda _: self._fetching.pop(key_id, None))
        return await asyncio.shield(task)

    async def _stored(self, key_id: str) -> tuple[StoredKey, bool] | None:
        """The stored key, and whether it is one of ours (never fetched)."""
        async with self.db.read() as conn:
            record = await keys.get_by_uri(conn, key_id)
        if record is None:
            return None
        resolved = ResolvedKey(key_id, record.owner_uri, parsed_public_key(record.public_key_pem))
        return StoredKey(resolved, record.id), record.private_key_pem is not None

    async def _fetch(self, key_id: str) -> StoredKey | None:
        """Fetch, check and store the actor that publishes `key_id`; None if unusable."""
        try:
            actor = await self._fetch_key_owner(key_id)
        except (FederationError, ValueError) as error:
            log.info("key fetch failed key_id=%s error=%s", key_id, error)
            return None
        key = next((k for k in actor.public_keys if k.id == key_id), None)
        if key is None or key.owner != actor.id or domain_of(key.id) != domain_of(actor.id):
            log.info("key not published by its actor key_id=%s actor=%s", key_id, actor.id)
            return None
        try:
            public_key = parsed_public_key(key.pem)
        except ValueError as error:
            log.info("unusable public key key_id=%s error=%s", key_id, error)
            return None
        try:
            await self.actors.store(actor)
        except Conflict:
            # Verified all the same (logged by the store step); nothing stored to confirm.
            return StoredKey(ResolvedKey(key_id, actor.id, public_key), None)
        stored = await self._stored(key_id)
        if stored is not None and stored[0].resolved.owner == actor.id:
            return stored[0]
        return StoredKey(ResolvedKey(key_id, actor.id, public_key), None)

    async def _fetch_key_owner(self, key_id: str) -> vocab.Actor:
        """Fetch the actor that publishes `key_id`: the key URL is the actor or a key document."""
        try:
            return await self.actors.fetch_actor(key_id)
        except ParseError:
            document = await self.actors.fetcher.fetch_json(key_id)
            owner = document.get("owner")
            if not isinstance(owner, str) or domain_of(owner) != domain_of(key_id):
                raise
            return await self.actors.fetch_actor(owner)
