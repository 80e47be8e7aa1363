"""Remote actors: looked up in the store, or fetched (signed GET), checked and stored.

Used by the key resolver (first contact with a signer), by mentions (`@bob@eng.example`,
through WebFinger) and by the inbox (the actor of an activity). What is stored is cleaned:
names as plain text, bios as sanitised HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from federation import vocab
from federation.discovery_docs import parse_jrd
from federation.errors import FederationError, FetchError, ParseError
from federation.fetch import Fetcher
from federation.html import plain_text, sanitize_html
from federation.policy import domain_of
from store import accounts, api_queries, keys
from store.accounts import NewAccount
from store.db import Connection, Database
from store.errors import Conflict
from store.records import AccountRecord

log = logging.getLogger(__name__)

MAX_URL = 2048
MAX_REMOTE_FIELDS = 16
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 2048


def _image_url(url: str | None) -> str | None:
    """An avatar or header URL worth keeping: http(s) (vocab checked) and not absurdly long."""
    return url if url is not None and len(url) <= MAX_URL else None


def remote_fields(actor: vocab.Actor) -> list[tuple[str, str]]:
    """Profile fields as shown here: names as plain text, values as sanitised HTML."""
    return [
        (plain_text(field.name)[:MAX_FIELD_NAME], sanitize_html(field.value[:MAX_FIELD_VALUE]))
        for field in actor.fields[:MAX_REMOTE_FIELDS]
    ]


def remote_account(actor: vocab.Actor) -> NewAccount:
    return NewAccount(
        username=actor.preferred_username,
        domain=domain_of(actor.id),
        uri=actor.id,
        url=actor.url,
        actor_type=actor.type,
        display_name=plain_text(actor.name or ""),
        note=sanitize_html(actor.summary or ""),
        inbox_url=actor.inbox,
        outbox_url=actor.outbox,
        shared_inbox_url=actor.shared_inbox,
        followers_url=actor.followers,
        following_url=actor.following,
        featured_url=actor.featured,
        manually_approves_followers=actor.manually_approves_followers,
        discoverable=bool(actor.discoverable),
        avatar_remote_url=_image_url(actor.icon_url),
        header_remote_url=_image_url(actor.image_url),
    )


class RemoteActors:
    def __init__(
        self, db: Database, fetcher: Fetcher, clock: Callable[[], datetime], *, allow_http: bool
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.clock = clock
        self.allow_http = allow_http

    async def fetch_actor(self, uri: str) -> vocab.Actor:
        """Fetch and parse the actor at `uri`; it must live on `uri`'s host."""
        document = await self.fetcher.fetch_json(uri)
        actor = vocab.parse_actor(document)
        if domain_of(actor.id) != domain_of(uri):
            raise FetchError(f"{uri} describes an actor on another host ({actor.id})")
        return actor

    async def store(self, actor: vocab.Actor) -> AccountRecord:
        """Insert or refresh the actor and its keys; a local account is never overwritten."""
        actor = self._images_within_policy(actor)
        async with self.db.transaction() as conn:
            return await store_actor(conn, self.db.new_id, actor, self.clock())

    def _images_within_policy(self, actor: vocab.Actor) -> vocab.Actor:
        """The actor without an avatar or header served from a domain we do not federate
        with: apps load them from their URL, and in allowlist mode nothing may be fetched
        from outside the organisation (a default avatar is shown instead)."""
        policy = self.fetcher.policy
        changes = {
            name: None
            for name in ("icon_url", "image_url")
            if (url := getattr(actor, name)) is not None and not policy.allows(domain_of(url))
        }
        if not changes:
            return actor
        log.info("images outside policy dropped actor=%s which=%s", actor.id, sorted(changes))
        return replace(actor, **changes)

    async def get(self, uri: str, *, refresh: bool = False) -> AccountRecord | None:
        """The account for an actor URI, fetched on first sight; None if it cannot be had."""
        if not refresh:
            async with self.db.read() as conn:
                found = await accounts.get_by_uri(conn, uri)
            if found is not None:
                return found
        try:
            return await self.store(await self.fetch_actor(uri))
        except (FederationError, Conflict) as error:
            log.info("actor unavailable actor=%s error=%s", uri, error)
            return None

    async def resolve_handle(self, username: str, domain: str) -> AccountRecord | None:
        """`@username@domain` through WebFinger, then the actor it points at."""
        async with self.db.read() as conn:
            found = await accounts.get_by_username_domain(conn, username, domain)
        if found is not None:
            return found
        resource = f"acct:{username}@{domain}"
        schemes = ("https", "http") if self.allow_http else ("https",)
        for scheme in schemes:
            try:
                jrd = parse_jrd(await self.fetcher.webfinger(domain, resource, scheme=scheme))
            except (FetchError, ParseError) as error:
                log.info("webfinger failed resource=%s scheme=%s error=%s", resource, scheme, error)
                continue
            actor_url = jrd.actor_url()
            if actor_url is None:
                return None
            return await self.get(actor_url)
        return None


async def store_actor(
    conn: Connection, new_id: Callable[[], int], actor: vocab.Actor, now: datetime
) -> AccountRecord:
    """`RemoteActors.store` inside the caller's transaction (the directory sync stores a
    page of people in one). Conflict if another actor holds the name on that host."""
    new = remote_account(actor)
    existing = await accounts.get_by_uri(conn, actor.id)
    if existing is not None and existing.is_local:
        return existing
    if existing is None:
        try:
            account = await accounts.insert_account(conn, new_id(), new, now)
        except Conflict:
            # Two actor ids claim one name on that host: refuse the newcomer.
            log.warning("remote actor name clash actor=%s", actor.id)
            raise
    else:
        await accounts.update_remote_account(conn, existing.id, new, now)
        account = existing
    await api_queries.replace_profile_fields(conn, account.id, remote_fields(actor))
    for key in actor.public_keys:
        if domain_of(key.id) == domain_of(actor.id) and key.owner == actor.id:
            await keys.replace_remote_key(
                conn,
                new_id(),
                account_id=account.id,
                key_uri=key.id,
                public_key_pem=key.pem,
                now=now,
            )
    stored = await accounts.get_by_id(conn, account.id)
    assert stored is not None
    return stored
