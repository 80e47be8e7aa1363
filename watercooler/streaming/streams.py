"""Mastodon's streams: their names, parameters and the scopes they need.

A stream is named as Mastodon names it (`user`, `public:local`, `hashtag`...). Hashtag
streams take `tag`, list streams `list`; WebSocket messages carry the stream as
`[name]`, `[name, tag]` or `[name, list id]`, with the tag as the client wrote it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PUBLIC_STREAMS = (
    "public",
    "public:local",
    "public:remote",
    "public:media",
    "public:local:media",
    "public:remote:media",
    "hashtag",
    "hashtag:local",
)
STREAMS = ("user", "user:notification", "list", "direct", *PUBLIC_STREAMS)


class StreamError(Exception):
    """A stream that cannot be had, with Mastodon's status and message for it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class StreamKey:
    """One subscription's identity: two equal keys on one connection are one subscription."""

    name: str
    tag: str | None = None
    list_id: int | None = None
    label: tuple[str, ...] = field(default=(), compare=False)

    @property
    def public(self) -> bool:
        """Public and hashtag streams: public posts, filtered by blocks and mutes."""
        return self.name in PUBLIC_STREAMS

    @property
    def locality(self) -> bool | None:
        """True: local posts only; False: remote only; None: both."""
        if self.name.startswith(("public:local", "hashtag:local")):
            return True
        if self.name.startswith("public:remote"):
            return False
        return None

    @property
    def media_only(self) -> bool:
        return self.name.endswith(":media")

    @property
    def scope(self) -> str:
        """The scope Mastodon asks for (`read` includes both)."""
        return "read:notifications" if self.name == "user:notification" else "read:statuses"


def normalize_tag(tag: str) -> str:
    """As Mastodon matches hashtags: NFKC, lower case, no leading `#`."""
    return unicodedata.normalize("NFKC", tag).strip().lstrip("#").lower()


def _first(value: Any) -> str | None:
    """A parameter as one string: the first of a list (as Mastodon takes it), or None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, dict | bool):
        return None
    return str(value)


def parse_stream(name: Any, params: Mapping[str, Any]) -> StreamKey:
    """The stream `name` with its parameters (`tag`, `list`), or StreamError as Mastodon
    answers a bad one (400)."""
    stream = _first(name)
    if stream not in STREAMS:
        raise StreamError(400, "Unknown stream type")
    if stream.startswith("hashtag"):
        given = _first(params.get("tag")) or ""
        tag = normalize_tag(given)
        if not tag:
            raise StreamError(400, "Missing tag name parameter")
        return StreamKey(stream, tag=tag, label=(stream, given))
    if stream == "list":
        given = _first(params.get("list")) or ""
        if not given:
            raise StreamError(400, "Missing list name parameter")
        if not given.isdigit() or not 0 < int(given) < 2**63:
            raise StreamError(401, "Not authorized to stream this list")
        return StreamKey(stream, list_id=int(given), label=(stream, given))
    return StreamKey(stream, label=(stream,))
