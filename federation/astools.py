"""Tolerant readers for ActivityStreams JSON as real servers send it.

This module owns every allowance we make for the shapes found in the wild: a property that is
a string, an object or a list; `type` as a list or as a prefixed term (`as:Person`); keys
compacted with a prefix (`toot:discoverable`, `as:sensitive`); `content` next to
`contentMap`; timestamps with or without fractional seconds; the three spellings of the
public collection. Code past a `parse_*` function never asks whether something is a string
or a dict: it asks these helpers, or better, reads a typed view from `federation.vocab`.

It must not do I/O, expand JSON-LD, or raise on odd input: every helper answers `None`, an
empty list or `False` when a value is unusable, and the `parse_*` functions decide what is
required.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

JSONObject = dict[str, Any]
"""An untrusted JSON object, before a `parse_*` function has turned it into a typed view."""

AS_NS = "https://www.w3.org/ns/activitystreams#"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_FORMS = frozenset({PUBLIC, "as:Public", "Public"})

# Prefixes that real documents use for compacted keys and types, with their namespaces.
# The keys are the prefixes servers declare in their @context (Mastodon, Fedify, Takahē).
NAMESPACES: dict[str, str] = {
    "as": AS_NS,
    "toot": "http://joinmastodon.org/ns#",
    "schema": "http://schema.org#",
    "sec": "https://w3id.org/security#",
    "ldp": "http://www.w3.org/ns/ldp#",
    "wc": "https://w3id.org/watercooler/ns#",  # ours: the `orgOnly` marker (docs/interop.md)
}

AS_MEDIA_TYPE = "application/activity+json"
_LD_MEDIA_TYPE = "application/ld+json"
_AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def as_list(value: Any) -> list[Any]:
    """`None` -> `[]`, a list -> a copy of it, anything else -> `[value]`.

    AS 2.0 allows any non-functional property to be a single value or an array, and Fedify's
    compacted output (`"to": "as:Public"`) relies on it.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def get_id(value: Any) -> str | None:
    """The IRI a value stands for: the string itself, an object's `id`, or a list's first.

    Empty strings count as missing; so do ids that are not strings (`{"id": 42}`).
    """
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        found = value.get("id", value.get("@id"))
        return found if isinstance(found, str) and found else None
    if isinstance(value, list | tuple):
        for item in value:
            if not isinstance(item, list | tuple) and (found := get_id(item)) is not None:
                return found
    return None


def get_ids(value: Any) -> list[str]:
    """Every IRI in a value that may be one IRI, one object or a list of either."""
    ids: list[str] = []
    for item in as_list(value):
        if not isinstance(item, list | tuple) and (found := get_id(item)) is not None:
            ids.append(found)
    return ids


def first_str(value: Any) -> str | None:
    """A string value, or the first string of a list; `None` for anything else."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
    return None


def local_name(term: str) -> str:
    """`as:Person`, `https://www.w3.org/ns/activitystreams#Person` and `Person` -> `Person`.

    Only the namespaces in `NAMESPACES` are stripped from full IRIs; a compact IRI
    (`prefix:Name`, no `//` after the colon) loses its prefix whatever the prefix is.
    """
    for namespace in NAMESPACES.values():
        if term.startswith(namespace):
            return term[len(namespace) :]
    prefix, sep, rest = term.partition(":")
    if sep and prefix and rest and not rest.startswith("//"):
        return rest
    return term


def get_types(doc: Any) -> list[str]:
    """The local names of a document's types (`type` or `@type`, a string or a list)."""
    if not isinstance(doc, dict):
        return []
    raw = doc.get("type", doc.get("@type"))
    return [local_name(t) for t in as_list(raw) if isinstance(t, str) and t]


def has_type(doc: Any, *names: str) -> bool:
    """Whether any of a document's types is one of `names` (compared without prefixes)."""
    wanted = {local_name(name) for name in names}
    return any(t in wanted for t in get_types(doc))


def _unwrap_value(value: Any) -> Any:
    """A JSON-LD value object `{"@value": x}` -> `x`; anything else unchanged."""
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def get_prop(doc: Any, name: str) -> Any:
    """A property by its compact name, also found under a prefixed or full-IRI key.

    Takahē writes `"toot:discoverable"` and Fedify's compacted JSON-LD writes
    `"as:sensitive"`; both mean the property Mastodon calls `discoverable` / `sensitive`.
    The plain key wins when several spellings are present. Returns `None` when absent.
    """
    if not isinstance(doc, dict):
        return None
    if name in doc:
        return _unwrap_value(doc[name])
    for prefix, namespace in NAMESPACES.items():
        for key in (f"{prefix}:{name}", f"{namespace}{name}"):
            if key in doc:
                return _unwrap_value(doc[key])
    return None


def _language_string(value: Any) -> str | None:
    value = _unwrap_value(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in value:
            if (found := _language_string(item)) is not None:
                return found
    return None


def language_value(doc: Any, name: str, languages: Sequence[str] = ()) -> str | None:
    """A natural-language property (`content`, `summary`, `name`) as one string.

    The plain property wins (Mastodon sends both `content` and `contentMap` with the same
    text). Otherwise the `<name>Map` entry for the first of `languages` that is present, then
    `und`, then the first entry of the map. Returns `None` when neither form holds a string.
    """
    if not isinstance(doc, dict):
        return None
    plain = _language_string(get_prop(doc, name))
    if plain is not None:
        return plain
    mapping = get_prop(doc, f"{name}Map")
    if not isinstance(mapping, dict):
        return None
    for lang in (*languages, "und"):
        if isinstance(found := mapping.get(lang), str):
            return found
    for value in mapping.values():
        if isinstance(value, str):
            return value
    return None


def parse_datetime(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp as an aware UTC datetime, or `None`.

    Accepts `Z` or a numeric offset, with any number of fractional digits (Lemmy sends
    microseconds, Go servers nanoseconds, which are truncated). A timestamp without an
    offset is taken as UTC, the only zone servers mean by it.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().upper()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """The form Mastodon serves: `2016-03-16T00:00:00Z`, with `.ffffff` only when non-zero.

    Naive datetimes are taken as UTC. Keeping sub-second precision when there is some makes
    `parse_datetime(format_datetime(dt)) == dt` hold.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def is_public(value: Any) -> bool:
    """Whether an addressee is the public collection: `Public`, `as:Public` or the full IRI.

    Accepts an object with that `id` too, since `to`/`cc` entries may be objects.
    """
    return get_id(value) in _PUBLIC_FORMS


def is_http_url(value: Any) -> bool:
    """An absolute `http(s)` URL with a host: what every id, inbox and link must be."""
    if not isinstance(value, str) or not value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def get_url(value: Any, media_type: str | None = "text/html") -> str | None:
    """One URL from a `url` / `href` value: a string, a Link, or a list of them.

    PeerTube and others send several Links; the first whose `mediaType` is `media_type`
    wins (no preference when it is `None`), else the first usable one. Only absolute http(s)
    URLs are returned.
    """
    candidates: list[tuple[str, Any]] = []
    for item in as_list(value):
        if isinstance(item, str):
            candidates.append((item, None))
        elif isinstance(item, dict):
            href = item.get("href", item.get("url"))
            if isinstance(href, list | dict):
                href = get_url(href, media_type)
            if isinstance(href, str):
                candidates.append((href, item.get("mediaType")))
    usable = [(url, mt) for url, mt in candidates if is_http_url(url)]
    for url, mt in usable:
        if media_type is not None and mt == media_type:
            return url
    return usable[0][0] if usable else None


def get_image_url(value: Any) -> str | None:
    """The URL of an `icon` / `image`: a string, an Image object, or a list of Images.

    Of several Images (PeerTube sends 48 px and 120 px avatars) the largest by declared
    width x height wins; without sizes, the first.
    """
    best: tuple[int, str] | None = None
    for item in as_list(value):
        if isinstance(item, str):
            url, area = (item if is_http_url(item) else None), 0
        elif isinstance(item, dict):
            url = get_url(item.get("url", item.get("href")), media_type=None)
            area = _area(item.get("width"), item.get("height"))
        else:
            continue
        if url is not None and (best is None or area > best[0]):
            best = (area, url)
    return best[1] if best else None


def _area(width: Any, height: Any) -> int:
    """Declared pixel area of an Image, 0 when either side is not a positive integer."""
    sides = [v for v in (width, height) if isinstance(v, int) and not isinstance(v, bool)]
    return sides[0] * sides[1] if len(sides) == 2 and min(sides) > 0 else 0


def is_as_media_type(value: Any) -> bool:
    """Whether a Content-Type / JRD link type means an ActivityStreams document.

    `application/activity+json`, or `application/ld+json` with the ActivityStreams profile
    (quoted or not, among other profiles or not), compared case-insensitively.
    """
    if not isinstance(value, str):
        return False
    base, *params = (part.strip() for part in value.split(";"))
    base = base.lower()
    if base == AS_MEDIA_TYPE:
        return True
    if base != _LD_MEDIA_TYPE:
        return False
    for param in params:
        key, _, raw = param.partition("=")
        if key.strip().lower() == "profile":
            profiles = raw.strip().strip('"').split()
            if _AS_PROFILE in profiles:
                return True
    return False


def strings(values: Iterable[Any]) -> list[str]:
    """The non-empty strings among `values`, in order (drops the garbage in a list)."""
    return [v for v in values if isinstance(v, str) and v]
