"""Typed views of other servers' discovery documents: WebFinger JRDs and NodeInfo.

This module owns reading what peers answer at `/.well-known/webfinger` (RFC 7033),
`/.well-known/nodeinfo` and the NodeInfo 2.0 / 2.1 document it points to. Like
`federation.vocab` it turns untrusted JSON into frozen dataclasses and raises
`federation.errors.ParseError` for documents it cannot use. These are not ActivityStreams
types, so they live apart from `vocab`.

It must not do I/O, and it does not build our own documents: answering look-ups is
`federation.webfinger` and `federation.nodeinfo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from federation.astools import as_list, is_as_media_type, is_http_url, strings
from federation.errors import ParseError

SELF_REL = "self"
NODEINFO_SCHEMA_PREFIX = "http://nodeinfo.diaspora.software/ns/schema/"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ParseError(f"{what} must be a JSON object, not {type(doc).__name__}")
    return doc


@dataclass(frozen=True, slots=True)
class JrdLink:
    """One `links` entry; `template` is set instead of `href` for the subscribe link."""

    rel: str
    type: str | None = None
    href: str | None = None
    template: str | None = None


@dataclass(frozen=True, slots=True)
class Jrd:
    """A WebFinger answer: who the subject is and where its documents are."""

    subject: str
    aliases: tuple[str, ...] = ()
    links: tuple[JrdLink, ...] = ()

    def actor_url(self) -> str | None:
        """The actor document's URL: the `self` link of an ActivityStreams media type.

        Accepts `application/activity+json` and `application/ld+json` with the
        ActivityStreams profile (Pleroma sends both); `None` if the JRD has neither, which
        makes the account unreachable over ActivityPub.
        """
        for link in self.links:
            if link.rel == SELF_REL and is_as_media_type(link.type) and is_http_url(link.href):
                return link.href
        return None


def parse_jrd(doc: Any) -> Jrd:
    """Read a JRD. `subject` is required: callers must check it names whom they asked for.

    Links without a string `rel` and aliases that are not strings are dropped, repeated
    aliases are kept once (the WordPress plugin repeats its author URL); `properties` and
    `titles` are not read.
    """
    doc = _object(doc, "JRD")
    subject = _str_or_none(doc.get("subject"))
    if subject is None:
        raise ParseError("JRD has no subject")
    raw_aliases = doc.get("aliases")
    aliases = tuple(dict.fromkeys(strings(as_list(raw_aliases))))
    raw_links = doc.get("links")
    links = tuple(
        JrdLink(
            rel=entry["rel"],
            type=_str_or_none(entry.get("type")),
            href=_str_or_none(entry.get("href")),
            template=_str_or_none(entry.get("template")),
        )
        for entry in (raw_links if isinstance(raw_links, list) else [])
        if isinstance(entry, dict) and _str_or_none(entry.get("rel"))
    )
    return Jrd(subject=subject, aliases=aliases, links=links)


def parse_nodeinfo_links(doc: Any) -> list[tuple[str, str]]:
    """The `(rel, href)` pairs of a `/.well-known/nodeinfo` document, in document order.

    Entries without a string `rel` or an absolute http(s) `href` are dropped.
    """
    doc = _object(doc, "NodeInfo discovery document")
    links = doc.get("links")
    if not isinstance(links, list):
        raise ParseError("NodeInfo discovery document has no links list")
    return [
        (entry["rel"], entry["href"])
        for entry in links
        if isinstance(entry, dict)
        and _str_or_none(entry.get("rel"))
        and is_http_url(entry.get("href"))
    ]


def newest_nodeinfo_href(links: list[tuple[str, str]]) -> str | None:
    """The href of the highest NodeInfo schema version among `links` (2.1 before 2.0)."""
    versioned: list[tuple[tuple[int, ...], str]] = []
    for rel, href in links:
        if not rel.startswith(NODEINFO_SCHEMA_PREFIX):
            continue
        version = rel[len(NODEINFO_SCHEMA_PREFIX) :].rstrip("#/")
        if version.replace(".", "").isdigit() and version.count(".") == 1:
            versioned.append((tuple(int(p) for p in version.split(".")), href))
    return max(versioned)[1] if versioned else None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What a peer says about itself. `metadata` is free-form and read-only."""

    version: str
    software_name: str
    software_version: str | None
    protocols: tuple[str, ...]
    open_registrations: bool | None
    total_users: int | None
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)


def _protocols(value: Any) -> tuple[str, ...]:
    """NodeInfo 2.x lists protocols; 1.x had `{"inbound": [...], "outbound": [...]}`."""
    if isinstance(value, dict):
        value = [*as_list(value.get("inbound")), *as_list(value.get("outbound"))]
    return tuple(dict.fromkeys(strings(as_list(value))))


def parse_nodeinfo(doc: Any) -> NodeInfo:
    """Read a NodeInfo 2.0 / 2.1 document.

    `version` and `software.name` are required (the schema requires them, and the name is
    how we recognise a peer's software); the name is lower-cased as the schema demands.
    Counts that are not non-negative integers read as `None`.
    """
    doc = _object(doc, "NodeInfo document")
    version = _str_or_none(doc.get("version"))
    software = doc.get("software")
    if not isinstance(software, dict):
        software = {}
    name = _str_or_none(software.get("name"))
    if version is None or name is None:
        raise ParseError("NodeInfo document lacks version or software.name")
    usage = doc.get("usage")
    users = usage.get("users") if isinstance(usage, dict) else None
    total = users.get("total") if isinstance(users, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        total = None
    registrations = doc.get("openRegistrations")
    metadata = doc.get("metadata")
    return NodeInfo(
        version=version,
        software_name=name.lower(),
        software_version=_str_or_none(software.get("version")),
        protocols=_protocols(doc.get("protocols")),
        open_registrations=registrations if isinstance(registrations, bool) else None,
        total_users=total,
        metadata=MappingProxyType(dict(metadata) if isinstance(metadata, dict) else {}),
    )
