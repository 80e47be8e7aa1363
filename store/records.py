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
