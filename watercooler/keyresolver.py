"""Public keys for signature verification, from the store or fetched from the key's owner.

Fills in `federation.signatures.KeyResolver`. A key we have never seen is fetched with a
signed GET from its actor's host (peer policy applies), checked to belong to that actor on
the same host, and stored with the actor, so the next request needs no fetch. `refresh=True`
refetches once when a stored key fails to verify: the peer may have rotated it.
"""

from __future__ import annotations

import logging

from federation import vocab
from federation.errors import FederationError, ParseError
from federation.keys import load_public_key
from federation.policy import domain_of
from federation.signatures import ResolvedKey
from outbox.remote import RemoteActors
from store import keys
from store.db import Database
from store.errors import Conflict

log = logging.getLogger(__name__)


class StoreKeyResolver:
    def __init__(self, db: Database, actors: RemoteActors) -> None:
        self.db = db
        self.actors = actors

    @staticmethod
    async def signing_key(db: Database, key_uri: str) -> str:
        """The private PEM of one of our own keys (the instance actor's, a user's)."""
        async with db.read() as conn:
            record = await keys.get_by_uri(conn, key_uri)
        if record is None or record.private_key_pem is None:
            raise LookupError(f"no local signing key {key_uri}")
        return record.private_key_pem

    async def resolve_key(self, key_id: str, *, refresh: bool = False) -> ResolvedKey | None:
        async with self.db.read() as conn:
            record = await keys.get_by_uri(conn, key_id)
        if record is not None and (not refresh or record.private_key_pem is not None):
            return ResolvedKey(key_id, record.owner_uri, load_public_key(record.public_key_pem))
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
            public_key = load_public_key(key.pem)
        except ValueError as error:
            log.info("unusable public key key_id=%s error=%s", key_id, error)
            return None
        try:
            await self.actors.store(actor)
        except Conflict:
            pass  # verified all the same; logged by the store step
        return ResolvedKey(key_id, actor.id, public_key)

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
