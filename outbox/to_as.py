"""Local records to ActivityStreams views: a status becomes the Note peers receive."""

from __future__ import annotations

from collections.abc import Sequence

from federation.objects import Attachment, Hashtag, Mention, Note
from federation.policy import domain_of
from federation.uris import Uris
from outbox.addressing import address
from store.records import AccountRecord, MediaRecord, StatusRecord


def acct(account: AccountRecord, local_domain: str) -> str:
    """`user@domain` as Mastodon writes it in a mention's `name`."""
    return f"{account.username}@{account.domain or local_domain}"


def status_to_note(
    status: StatusRecord,
    *,
    author: AccountRecord,
    mentioned: Sequence[AccountRecord],
    tags: Sequence[str],
    in_reply_to_uri: str | None,
    uris: Uris,
    media: Sequence[MediaRecord] = (),
) -> Note:
    """The Note of a local status, addressed as Mastodon addresses it, with its media as
    Mastodon's `Document` attachments; an organisation-only one carries the `wc:orgOnly`
    marker (outbox.addressing)."""
    local_domain = domain_of(uris.base_url)
    to, cc = address(
        status.visibility,  # type: ignore[arg-type]
        followers_url=author.followers_url or uris.followers(author.username),
        mentioned=[account.uri for account in mentioned],
    )
    mention_tags = [
        Mention(href=account.uri, name=f"@{acct(account, local_domain)}") for account in mentioned
    ]
    hashtag_tags = [Hashtag(href=uris.tag(name), name=name) for name in tags]
    return Note(
        id=status.uri,
        type=status.object_type,
        attributed_to=author.uri,
        content=status.content,
        summary=status.spoiler_text or None,
        name=status.name,
        url=status.url,
        in_reply_to=in_reply_to_uri,
        published=status.created_at,
        updated=status.edited_at,
        to=tuple(to),
        cc=tuple(cc),
        tags=(*mention_tags, *hashtag_tags),
        attachments=tuple(attachment_to_as(m, uris) for m in media),
        sensitive=status.sensitive,
        conversation=status.conversation_uri,
        replies_iri=uris.status_replies(author.username, status.id),
        language=status.language,
        org_only=status.visibility == "org",
    )


def attachment_to_as(media: MediaRecord, uris: Uris) -> Attachment:
    """A `Document` as Mastodon sends one: media type, absolute URL, alt text (`name`),
    blurhash, focal point and size."""
    return Attachment(
        type="Document",
        url=uris.media(media.file_name) if media.file_name else media.remote_url or "",
        media_type=media.content_type,
        name=media.description or None,
        width=media.width,
        height=media.height,
        blurhash=media.blurhash,
        focal_point=media.focus,
    )
