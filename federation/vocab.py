"""Immutable typed views of the ActivityStreams documents Watercooler reads and serves.

This module owns the translation between the JSON on the wire and frozen dataclasses: one
`parse_*` / `*_to_json` pair per type. A `parse_*` function is where untrusted JSON ends; it
accepts what real servers send (via `federation.astools`) and raises
`federation.errors.ParseError`, never `KeyError` or `TypeError`, when a document cannot be
used. A `*_to_json` function emits the shape Mastodon 4.x emits, since that is the shape
every peer has been tested against.

It must not do I/O or fetch anything: references to other objects stay plain IRIs, and
fetching is always an explicit `await fetch_object(...)` elsewhere. It does not sanitise HTML
either: `name`, `summary` and field values are remote HTML exactly as received, to be cleaned
before they are stored or shown. It knows nothing of `store/` records; converting between
these views and records happens in `inbox/from_as.py` and `outbox/to_as.py`.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation.astools import (
    JSONObject,
    as_list,
    format_datetime,
    get_id,
    get_ids,
    get_image_url,
    get_prop,
    get_types,
    get_url,
    has_type,
    is_http_url,
    language_value,
    parse_datetime,
)
from federation.errors import ParseError

ACTOR_TYPES = ("Person", "Service", "Application", "Group", "Organization")

# DER encoding of the rsaEncryption OID (1.2.840.113549.1.1.1), found near the start of a
# SubjectPublicKeyInfo for an RSA key.
_RSA_OID_DER = bytes.fromhex("06092a864886f70d010101")


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A key an actor publishes for HTTP signatures (`publicKey` entry)."""

    id: str
    owner: str
    pem: str

    @property
    def is_rsa(self) -> bool:
        """Whether the PEM holds an RSA key, decided from its DER without loading it.

        Keeps this module free of `cryptography`; a PEM that does not decode counts as
        not RSA, and `federation.keys.load_public_key` is what finally judges it.
        """
        if "BEGIN RSA PUBLIC KEY" in self.pem:
            return True
        body = "".join(
            line.strip() for line in self.pem.strip().splitlines() if not line.startswith("-----")
        )
        try:
            der = base64.b64decode(body)
        except (binascii.Error, ValueError):
            return False
        return _RSA_OID_DER in der[:32]


@dataclass(frozen=True, slots=True)
class Field:
    """A profile metadata row (`PropertyValue` attachment); `value` is remote HTML."""

    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """An actor as we need it: where to deliver, how to verify, what to show.

    Every IRI attribute is an absolute http(s) URL or `None`. `name`, `summary` and field
    values are unsanitised remote HTML.
    """

    id: str
    type: str
    preferred_username: str
    inbox: str
    name: str | None = None
    summary: str | None = None
    url: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    featured: str | None = None
    shared_inbox: str | None = None
    oauth_authorization_endpoint: str | None = None
    oauth_token_endpoint: str | None = None
    proxy_url: str | None = None
    public_keys: tuple[PublicKey, ...] = ()
    manually_approves_followers: bool = False
    discoverable: bool | None = None
    indexable: bool | None = None
    published: datetime | None = None
    icon_url: str | None = None
    image_url: str | None = None
    icon_media_type: str | None = None
    image_media_type: str | None = None
    fields: tuple[Field, ...] = ()
    also_known_as: tuple[str, ...] = ()
    moved_to: str | None = None

    @property
    def main_key(self) -> PublicKey | None:
        """The key to verify with and to serve: the first RSA key, else the first key.

        RSA first because every peer signs and verifies `rsa-sha256`; Fedify publishes an
        Ed25519 key next to its RSA key.
        """
        for key in self.public_keys:
            if key.is_rsa:
                return key
        return self.public_keys[0] if self.public_keys else None


def _iri(value: Any) -> str | None:
    """The IRI of a reference if it is an absolute http(s) URL, else `None`."""
    found = get_id(value)
    return found if is_http_url(found) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _key_from(entry: Any, default_owner: str | None) -> PublicKey | None:
    """One `publicKey` entry, or `None` when it is only an IRI or lacks a usable PEM."""
    if not isinstance(entry, dict):
        return None  # an IRI-only key has to be fetched by its id; nothing to read here
    key_id = get_id(entry)
    pem = get_prop(entry, "publicKeyPem")
    owner = get_id(get_prop(entry, "owner")) or get_id(get_prop(entry, "controller"))
    owner = owner or default_owner
    if key_id is None or owner is None or not isinstance(pem, str) or "-----BEGIN" not in pem:
        return None
    return PublicKey(id=key_id, owner=owner, pem=pem)


def parse_public_keys(doc: Any) -> tuple[PublicKey, ...]:
    """The PEM keys of an actor document, or of a key document fetched by its key id.

    `publicKey` may be one object, a list (Fedify: RSA and Ed25519) or a bare IRI; bare
    IRIs and entries without a PEM are skipped, duplicates by id are dropped. A key without
    `owner` is taken to belong to the document it sits in. FEP-521a `assertionMethod`
    Multikeys are not read: every server that publishes them also publishes `publicKey`,
    and HTTP signatures use the latter. Raises `ParseError` only if `doc` is not an object.
    """
    if not isinstance(doc, dict):
        raise ParseError(f"key document must be a JSON object, not {type(doc).__name__}")
    doc_id = get_id(doc.get("id"))
    entries = [doc] if "publicKeyPem" in doc else as_list(get_prop(doc, "publicKey"))
    keys: list[PublicKey] = []
    for entry in entries:
        key = _key_from(entry, doc_id)
        if key is not None and all(key.id != seen.id for seen in keys):
            keys.append(key)
    return tuple(keys)


def _fields(value: Any) -> tuple[Field, ...]:
    """`PropertyValue` attachments; Takahē sends one object instead of a list."""
    fields: list[Field] = []
    for entry in as_list(value):
        if not has_type(entry, "PropertyValue"):
            continue
        name = language_value(entry, "name")
        text = language_value(entry, "value")
        if name is not None and text is not None:
            fields.append(Field(name=name, value=text))
    return tuple(fields)


def _image_media_type(value: Any, url: str | None) -> str | None:
    """The `mediaType` of the `icon` / `image` entry whose URL `get_image_url` chose."""
    for item in as_list(value):
        if isinstance(item, dict) and get_image_url(item) == url:
            media_type = item.get("mediaType")
            return media_type if isinstance(media_type, str) and media_type else None
    return None


def _endpoint(doc: JSONObject, name: str) -> str | None:
    """One of the actor's `endpoints` (C2S clients read the OAuth ones and `proxyUrl`)."""
    endpoints = get_prop(doc, "endpoints")
    return _iri(get_prop(endpoints, name)) if isinstance(endpoints, dict) else None


def _shared_inbox(doc: JSONObject) -> str | None:
    """`endpoints.sharedInbox`, or Misskey's top-level `sharedInbox`."""
    endpoints = get_prop(doc, "endpoints")
    if isinstance(endpoints, dict) and (found := _iri(get_prop(endpoints, "sharedInbox"))):
        return found
    return _iri(get_prop(doc, "sharedInbox"))


def parse_actor(doc: Any) -> Actor:
    """Read an actor document from any server into an `Actor`.

    Required, because without them we can neither deliver to the actor nor address it:
    an actor type (`Person`, `Service`, `Application`, `Group`, `Organization`), a string
    `id` and an `inbox` that are absolute http(s) URLs, and a non-empty
    `preferredUsername`. Everything else is optional and dropped when unusable rather
    than failing the whole document: a missing `publicKey` gives an empty `public_keys`
    (bare relays have none; signatures from such an actor simply cannot verify).
    """
    if not isinstance(doc, dict):
        raise ParseError(f"actor document must be a JSON object, not {type(doc).__name__}")
    raw_id = doc.get("id")
    label = raw_id if isinstance(raw_id, str) and raw_id else "without id"
    types = get_types(doc)
    actor_type = next((t for t in types if t in ACTOR_TYPES), None)
    if actor_type is None:
        shown = ", ".join(types) if types else "no type"
        raise ParseError(f"document {label} is not an actor ({shown})")
    problems: list[str] = []
    if not is_http_url(raw_id):
        problems.append("id is not an absolute http(s) URL")
    inbox = _iri(get_prop(doc, "inbox"))
    if inbox is None:
        problems.append("no inbox URL")
    username = language_value(doc, "preferredUsername")
    if username is None or not username.strip():
        problems.append("no preferredUsername")
    if problems or not isinstance(raw_id, str) or inbox is None or username is None:
        raise ParseError(f"actor {label} is unusable: {'; '.join(problems)}")
    icon, image = get_prop(doc, "icon"), get_prop(doc, "image")
    icon_url, image_url = get_image_url(icon), get_image_url(image)
    return Actor(
        id=raw_id,
        type=actor_type,
        preferred_username=username,
        inbox=inbox,
        name=language_value(doc, "name"),
        summary=language_value(doc, "summary"),
        url=get_url(get_prop(doc, "url")),
        outbox=_iri(get_prop(doc, "outbox")),
        followers=_iri(get_prop(doc, "followers")),
        following=_iri(get_prop(doc, "following")),
        featured=_iri(get_prop(doc, "featured")),
        shared_inbox=_shared_inbox(doc),
        oauth_authorization_endpoint=_endpoint(doc, "oauthAuthorizationEndpoint"),
        oauth_token_endpoint=_endpoint(doc, "oauthTokenEndpoint"),
        proxy_url=_endpoint(doc, "proxyUrl"),
        public_keys=parse_public_keys(doc),
        manually_approves_followers=get_prop(doc, "manuallyApprovesFollowers") is True,
        discoverable=_bool(get_prop(doc, "discoverable")),
        indexable=_bool(get_prop(doc, "indexable")),
        published=parse_datetime(get_prop(doc, "published")),
        icon_url=icon_url,
        image_url=image_url,
        icon_media_type=_image_media_type(icon, icon_url),
        image_media_type=_image_media_type(image, image_url),
        fields=_fields(get_prop(doc, "attachment")),
        also_known_as=tuple(i for i in get_ids(get_prop(doc, "alsoKnownAs")) if is_http_url(i)),
        moved_to=_iri(get_prop(doc, "movedTo")),
    )


def actor_context() -> list[Any]:
    """The `@context` of a served actor: Mastodon 4.x's, minus the E2EE device terms.

    A fresh list each call, so callers may extend it without touching anyone else's.
    """
    return [
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
            "movedTo": {"@id": "as:movedTo", "@type": "@id"},
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
        },
    ]


def actor_to_json(actor: Actor) -> JSONObject:
    """The actor document we serve, in Mastodon 4.x's key order and shape.

    `publicKey` is one object, the `main_key`, as Mastodon serves it (other keys are not
    served, so the round trip `parse_actor(actor_to_json(a)) == a` holds for actors with
    at most one key, which is every local actor). `attachment` and `tag` are always lists;
    optional attributes that are `None` or empty are left out.
    """
    doc: JSONObject = {"@context": actor_context(), "id": actor.id, "type": actor.type}
    optional: list[tuple[str, Any]] = [
        ("following", actor.following),
        ("followers", actor.followers),
        ("inbox", actor.inbox),
        ("outbox", actor.outbox),
        ("featured", actor.featured),
        ("preferredUsername", actor.preferred_username),
        ("name", actor.name),
        ("summary", actor.summary),
        ("url", actor.url),
    ]
    doc.update((key, value) for key, value in optional if value is not None)
    doc["manuallyApprovesFollowers"] = actor.manually_approves_followers
    if actor.discoverable is not None:
        doc["discoverable"] = actor.discoverable
    if actor.indexable is not None:
        doc["indexable"] = actor.indexable
    if actor.published is not None:
        doc["published"] = format_datetime(actor.published)
    if actor.also_known_as:
        doc["alsoKnownAs"] = list(actor.also_known_as)
    if actor.moved_to is not None:
        doc["movedTo"] = actor.moved_to
    if (key := actor.main_key) is not None:
        doc["publicKey"] = {"id": key.id, "owner": key.owner, "publicKeyPem": key.pem}
    doc["tag"] = []
    doc["attachment"] = [
        {"type": "PropertyValue", "name": field.name, "value": field.value}
        for field in actor.fields
    ]
    endpoints = {
        name: value
        for name, value in (
            ("sharedInbox", actor.shared_inbox),
            ("oauthAuthorizationEndpoint", actor.oauth_authorization_endpoint),
            ("oauthTokenEndpoint", actor.oauth_token_endpoint),
            ("proxyUrl", actor.proxy_url),
        )
        if value is not None
    }
    if endpoints:
        doc["endpoints"] = endpoints
    for key, url, media_type in (
        ("icon", actor.icon_url, actor.icon_media_type),
        ("image", actor.image_url, actor.image_media_type),
    ):
        if url is not None:
            image: JSONObject = {"type": "Image"}
            if media_type is not None:
                image["mediaType"] = media_type
            doc[key] = image | {"url": url}
    return doc
