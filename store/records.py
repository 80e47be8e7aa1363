"""Frozen records returned by the store's query modules. They know nothing of JSON-LD."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An actor. `display_name` is plain text; `note` is the owner's plain text for local
    accounts and sanitised HTML for remote ones."""

    id: int
    username: str
    domain: str | None
    uri: str
    url: str | None
    actor_type: str
    display_name: str
    note: str
    inbox_url: str | None
    outbox_url: str | None
    shared_inbox_url: str | None
    followers_url: str | None
    following_url: str | None
    featured_url: str | None
    manually_approves_followers: bool
    discoverable: bool
    created_at: datetime
    updated_at: datetime
    fetched_at: datetime | None
    suspended_at: datetime | None
    avatar_file: str | None = None
    header_file: str | None = None
    avatar_remote_url: str | None = None
    header_remote_url: str | None = None
    moved_to_account_id: int | None = None
    """Where the account moved (store.moves): Mastodon's `moved`."""

    @property
    def is_local(self) -> bool:
        return self.domain is None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    account_id: int
    username: str
    email: str | None
    password_hash: str
    admin: bool
    must_change_password: bool
    created_at: datetime
    disabled_at: datetime | None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    account_id: int
    key_uri: str
    owner_uri: str
    public_key_pem: str
    private_key_pem: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    user_id: int
    application_id: int | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A post or a boost (`reblog_of_id` set). `content` is HTML: rendered by us for local
    posts, sanitised on arrival for remote ones."""

    id: int
    uri: str
    url: str | None
    account_id: int
    local: bool
    activity_uri: str | None
    in_reply_to_id: int | None
    in_reply_to_uri: str | None
    in_reply_to_account_id: int | None
    reblog_of_id: int | None
    conversation_uri: str | None
    visibility: str
    object_type: str
    name: str | None
    text: str
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    replies_count: int
    reblogs_count: int
    favourites_count: int
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    application_id: int | None = None
    local_only: bool = False
    """Never leaves this instance: not delivered, not served to remote fetches."""


@dataclass(frozen=True, slots=True)
class FollowRecord:
    id: int
    account_id: int
    target_account_id: int
    uri: str
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxItemRecord:
    id: int
    activity_uri: str
    actor_uri: str
    recipient_account_id: int | None
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A media attachment: a local upload (`file_name`, `preview_name` under media.path) or a
    remote one (`remote_url` only). `type` is Mastodon's: image, gifv, video, audio, unknown.
    `description` is plain text."""

    id: int
    account_id: int
    status_id: int | None
    position: int | None
    type: str
    content_type: str | None
    file_name: str | None
    preview_name: str | None
    remote_url: str | None
    description: str
    blurhash: str | None
    width: int | None
    height: int | None
    file_size: int | None
    preview_width: int | None
    preview_height: int | None
    focus_x: float | None
    focus_y: float | None
    created_at: datetime

    @property
    def is_local(self) -> bool:
        return self.remote_url is None

    @property
    def focus(self) -> tuple[float, float] | None:
        if self.focus_x is None or self.focus_y is None:
            return None
        return self.focus_x, self.focus_y
