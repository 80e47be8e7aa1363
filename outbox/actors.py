"""Actor documents of local accounts and of the instance actor, as peers fetch them."""

from __future__ import annotations

from html import escape
from typing import Any

from federation import vocab
from federation.uris import Uris
from store.records import AccountRecord, KeyRecord


def note_html(text: str) -> str:
    """A local bio as HTML: our own text is escaped and rendered by us, never passed through."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def local_actor(account: AccountRecord, key: KeyRecord, uris: Uris) -> vocab.Actor:
    person = account.actor_type == "Person"
    return vocab.Actor(
        id=account.uri,
        type=account.actor_type,
        preferred_username=account.username,
        name=account.display_name or account.username,
        summary=note_html(account.note),
        url=account.url,
        inbox=account.inbox_url or "",
        outbox=account.outbox_url,
        followers=account.followers_url,
        following=account.following_url,
        featured=account.featured_url,
        shared_inbox=account.shared_inbox_url,
        # C2S clients discover where to sign in and how to fetch through us (local people).
        oauth_authorization_endpoint=uris.oauth_authorize if person else None,
        oauth_token_endpoint=uris.oauth_token if person else None,
        proxy_url=uris.proxy if person else None,
        public_keys=(vocab.PublicKey(id=key.key_uri, owner=account.uri, pem=key.public_key_pem),),
        manually_approves_followers=account.manually_approves_followers,
        discoverable=account.discoverable,
        indexable=account.discoverable,
        published=account.created_at.replace(hour=0, minute=0, second=0, microsecond=0),
        icon_url=None,
        image_url=None,
        fields=(),
        also_known_as=(),
        moved_to=None,
    )


def actor_document(account: AccountRecord, key: KeyRecord, uris: Uris) -> dict[str, Any]:
    """The JSON served at the actor's id, shaped as Mastodon serves it."""
    return vocab.actor_to_json(local_actor(account, key, uris))


MINIMAL_KEYS = ("@context", "id", "type", "preferredUsername", "inbox", "outbox", "publicKey",
                "endpoints", "url")  # fmt: skip


def minimal_actor_document(account: AccountRecord, key: KeyRecord, uris: Uris) -> dict[str, Any]:
    """What an unsigned request gets under authorized fetch: enough to verify our signatures
    and to address us, nothing of the profile (as Mastodon's secure mode answers)."""
    document = actor_document(account, key, uris)
    return {name: document[name] for name in MINIMAL_KEYS if name in document}
