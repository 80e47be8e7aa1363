"""Actor documents of local accounts and of the instance actor, as peers fetch them."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from federation import vocab
from federation.uris import Uris
from outbox.render import render_html
from store.moves import NO_LINKS, ActorLinks
from store.records import AccountRecord, KeyRecord

IMAGE_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
"""The media type of each kind of file an upload is stored as, by extension."""


def note_html(text: str) -> str:
    """A local bio as HTML: our own text is escaped and rendered by us, never passed through."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def field_html(value: str, uris: Uris) -> str:
    """A local profile field's value as HTML: escaped, links made clickable, no paragraph."""
    rendered = render_html(value, mentions={}, tag_url=uris.tag)
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        return rendered[3:-4]
    return rendered


def _image(file_name: str | None, uris: Uris) -> tuple[str | None, str | None]:
    """(URL, media type) of a local profile image, (None, None) without one."""
    if not file_name:
        return None, None
    return uris.media(file_name), IMAGE_MEDIA_TYPES.get(file_name.rsplit(".", 1)[-1])


def local_actor(
    account: AccountRecord,
    key: KeyRecord,
    uris: Uris,
    *,
    fields: Sequence[tuple[str, str]] = (),
    links: ActorLinks = NO_LINKS,
) -> vocab.Actor:
    """The actor of a local account; `fields` are its profile fields as the user typed them,
    `links` its aliases and where it moved (store.moves)."""
    person = account.actor_type == "Person"
    icon_url, icon_type = _image(account.avatar_file, uris)
    image_url, image_type = _image(account.header_file, uris)
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
        icon_url=icon_url,
        image_url=image_url,
        icon_media_type=icon_type,
        image_media_type=image_type,
        fields=tuple(vocab.Field(name=n, value=field_html(v, uris)) for n, v in fields),
        also_known_as=links.also_known_as,
        moved_to=links.moved_to,
    )


def actor_document(
    account: AccountRecord,
    key: KeyRecord,
    uris: Uris,
    *,
    fields: Sequence[tuple[str, str]] = (),
    links: ActorLinks = NO_LINKS,
) -> dict[str, Any]:
    """The JSON served at the actor's id, shaped as Mastodon serves it. A community (Group)
    also names its moderators collection as `attributedTo`, as Lemmy's groups do."""
    document = vocab.actor_to_json(local_actor(account, key, uris, fields=fields, links=links))
    if account.actor_type == "Group":
        document["attributedTo"] = uris.moderators(account.username)
        document["postingRestrictedToMods"] = False
    return document


MINIMAL_KEYS = ("@context", "id", "type", "preferredUsername", "inbox", "outbox", "publicKey",
                "endpoints", "url")  # fmt: skip


def minimal_actor_document(account: AccountRecord, key: KeyRecord, uris: Uris) -> dict[str, Any]:
    """What an unsigned request gets under authorized fetch: enough to verify our signatures
    and to address us, nothing of the profile (as Mastodon's secure mode answers)."""
    document = actor_document(account, key, uris)
    return {name: document[name] for name in MINIMAL_KEYS if name in document}
