"""Actors from every kind of server parse into `Actor`; garbage raises `ParseError`; the
document we serve is Mastodon's shape and reads back into the same `Actor`."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation.errors import ParseError
from federation.vocab import (
    Actor,
    Field,
    PublicKey,
    actor_context,
    actor_to_json,
    parse_actor,
    parse_public_keys,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"

# The one actor fixture that is not a usable actor: Fedify's key-shape fixture has neither
# `inbox` nor `preferredUsername`, so nothing could ever be delivered to it.
NOT_DELIVERABLE = {"fedify/actor-multiple-keys.json"}


def indexed_files(kind: str) -> list[str]:
    """Files whose `kind` column in tests/fixtures/activitypub/README.md is `kind`."""
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    found: list[str] = []
    server = None
    for line in readme.splitlines():
        if heading := re.match(r"### `activitypub/([^/]+)/`", line):
            server = heading.group(1)
        elif server and (row := re.match(r"\| `([^`]+)` \| ([a-z]+) \|", line)):
            if row.group(2) == kind:
                found.append(f"{server}/{row.group(1)}")
    return sorted(found)


ACTOR_FILES = indexed_files("actor")
PARSEABLE = [name for name in ACTOR_FILES if name not in NOT_DELIVERABLE]


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return doc


def test_every_actor_fixture_is_indexed_and_present() -> None:
    on_disk = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/actor*.json"))
    assert ACTOR_FILES == on_disk
    assert len(ACTOR_FILES) == 18
    assert len(PARSEABLE) == 17


@pytest.mark.parametrize("name", PARSEABLE)
def test_actor_fixture_parses(name: str) -> None:
    doc = load(name)
    actor = parse_actor(doc)
    assert actor.id == doc["id"]
    assert actor.inbox.startswith(("https://", "http://"))
    assert actor.preferred_username == doc["preferredUsername"]
    assert actor.type == doc["type"]
    key = actor.main_key
    assert key is not None
    assert key.owner == actor.id
    assert key.pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert isinstance(load_pem_public_key(key.pem.encode("ascii")), rsa.RSAPublicKey)
    json.dumps(actor_to_json(actor))  # serialisable as is


def test_fedify_key_fixture_is_rejected_for_want_of_inbox() -> None:
    with pytest.raises(ParseError, match=r"no inbox URL; no preferredUsername"):
        parse_actor(load("fedify/actor-multiple-keys.json"))


def test_fedify_publickey_list_yields_both_keys_and_rsa_is_main() -> None:
    doc = load("fedify/actor-multiple-keys.json")
    keys = parse_public_keys(doc)
    assert [k.id for k in keys] == [
        "https://example.com/person2#key3",
        "https://example.com/person2#key4",
    ]
    assert isinstance(load_pem_public_key(keys[0].pem.encode()), rsa.RSAPublicKey)
    assert isinstance(load_pem_public_key(keys[1].pem.encode()), ed25519.Ed25519PublicKey)
    assert [k.is_rsa for k in keys] == [True, False]

    # The same document with what a deliverable actor needs parses, keeping both keys.
    doc |= {"inbox": "https://example.com/person2/inbox", "preferredUsername": "jane"}
    actor = parse_actor(doc)
    assert actor.public_keys == keys
    assert actor.main_key == keys[0]
    reversed_doc = doc | {"publicKey": list(reversed(doc["publicKey"]))}
    assert parse_actor(reversed_doc).main_key == keys[0]


def test_gargron_mastodon() -> None:
    actor = parse_actor(load("mastodon/actor-gargron.json"))
    assert actor.shared_inbox == "https://mastodon.social/inbox"
    assert actor.name == "Eugen Rochko"
    assert actor.url == "https://mastodon.social/@Gargron"
    assert actor.featured == "https://mastodon.social/users/Gargron/collections/featured"
    assert actor.followers == "https://mastodon.social/users/Gargron/followers"
    assert actor.also_known_as == ("https://tooting.ai/users/Gargron",)
    assert actor.moved_to is None
    assert (actor.discoverable, actor.indexable) == (True, True)
    assert actor.manually_approves_followers is False
    assert actor.published == datetime(2016, 3, 16, tzinfo=UTC)
    assert [f.name for f in actor.fields] == ["Patreon", "GitHub"]
    assert actor.fields[1].value.startswith('<a href="https://github.com/Gargron"')
    assert actor.icon_url is not None and actor.icon_url.endswith("a0a49d80c3de5f75.png")
    assert actor.image_url is not None and actor.image_url.endswith("d13e4417706a5fec.jpg")
    assert actor.public_keys == (
        PublicKey(
            id="https://mastodon.social/users/Gargron#main-key",
            owner="https://mastodon.social/users/Gargron",
            pem=actor.public_keys[0].pem,
        ),
    )


def test_mastodon_service_bot() -> None:
    actor = parse_actor(load("mastodon/actor-service-bot.json"))
    assert actor.type == "Service"
    assert actor.indexable is False
    assert len(actor.fields) == 3


def test_takahe_single_attachment_and_prefixed_discoverable() -> None:
    actor = parse_actor(load("takahe/actor.json"))
    assert actor.id == "https://fedi.vision/@vote@fedi.vision/"
    assert actor.discoverable is True  # from "toot:discoverable"
    assert actor.indexable is None
    assert actor.fields == (
        Field(
            name="More details",
            value='<a href="https://fedivision.party/vote" rel="nofollow">'
            '<span class="invisible">https://</span>fedivision.party/vote</a>',
        ),
    )
    assert actor.shared_inbox == "https://fedi.vision/inbox/"
    assert actor.featured is None


def test_gotosocial_aliased_and_moved() -> None:
    actor = parse_actor(load("gotosocial/actor-aliased-and-moved.json"))
    assert actor.also_known_as == ("http://localhost:8080/users/1happyturtle",)
    assert actor.moved_to == "http://localhost:8080/users/1happyturtle"
    assert actor.summary == "<p>hey yo this is my profile!</p>"
    assert actor.shared_inbox is None
    # GoToSocial's key id is a path of its own, not a fragment of the actor id.
    assert actor.public_keys[0].id == "http://localhost:8080/users/the_mighty_zork/main-key"


def test_gotosocial_bot_is_application() -> None:
    actor = parse_actor(load("gotosocial/actor-bot-application.json"))
    assert actor.type == "Application"
    assert actor.moved_to is None and actor.also_known_as == ()


def test_lemmy_person_without_context() -> None:
    doc = load("lemmy/actor-person.json")
    assert "@context" not in doc
    actor = parse_actor(doc)
    assert actor.preferred_username == "picard"
    assert actor.shared_inbox == "https://enterprise.lemmy.ml/inbox"
    assert actor.url is None
    assert actor.published == datetime(2020, 1, 17, 1, 38, 22, 348392, tzinfo=UTC)


def test_lemmy_group_and_instance() -> None:
    group = parse_actor(load("lemmy/actor-group.json"))
    assert group.type == "Group"
    assert group.following is None
    instance = parse_actor(load("lemmy/actor-instance-application.json"))
    assert instance.type == "Application"
    assert instance.preferred_username == "enterprise.lemmy.ml"
    assert (instance.followers, instance.shared_inbox, instance.icon_url) == (None, None, None)


def test_peertube_channel_takes_largest_icon() -> None:
    actor = parse_actor(load("peertube/actor-video-channel-group.json"))
    assert actor.type == "Group"
    assert actor.icon_url == (
        "https://spectra.video/lazy-static/avatars/559b141a-96ec-4161-8889-1111b71abca0.png"
    )


def test_misskey_friendica_pleroma_wordpress() -> None:
    misskey = parse_actor(load("misskey/actor-syuilo.json"))
    assert misskey.shared_inbox == "https://misskey.io/inbox"
    assert misskey.fields[0].name == "写真集"
    friendica = parse_actor(load("friendica/actor-organization.json"))
    assert friendica.type == "Organization"
    assert len(parse_actor(load("friendica/actor-person.json")).fields) == 6
    pleroma = parse_actor(load("pleroma/actor-karolat.json"))
    assert pleroma.manually_approves_followers is True
    assert pleroma.discoverable is False
    assert pleroma.public_keys[0].pem.endswith("-----END PUBLIC KEY-----\n\n")  # kept verbatim
    gnusocial = parse_actor(load("gnusocial/actor-administrator.json"))
    assert gnusocial.public_keys[0].pem.endswith("-----END PUBLIC KEY-----")  # no newline
    wordpress = parse_actor(load("wordpress/actor-tobias-friendi-ca.json"))
    assert wordpress.shared_inbox is None
    assert wordpress.summary == ""


# --- malformed input ------------------------------------------------------------------------

GOOD: dict[str, Any] = {
    "id": "https://a.test/users/alice",
    "type": "Person",
    "inbox": "https://a.test/users/alice/inbox",
    "preferredUsername": "alice",
}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([GOOD], "must be a JSON object, not list"),
        ("https://a.test/users/alice", "must be a JSON object, not str"),
        (None, "must be a JSON object, not NoneType"),
        (42, "must be a JSON object, not int"),
        ({k: v for k, v in GOOD.items() if k != "id"}, "without id is unusable: id is not"),
        (GOOD | {"id": 42}, "id is not an absolute"),
        (GOOD | {"id": ["https://a.test/users/alice"]}, "id is not an absolute"),
        (GOOD | {"id": "/users/alice"}, "id is not an absolute"),
        (GOOD | {"id": "ftp://a.test/alice"}, "id is not an absolute"),
        ({k: v for k, v in GOOD.items() if k != "inbox"}, "no inbox URL"),
        (GOOD | {"inbox": 42}, "no inbox URL"),
        (GOOD | {"inbox": [1, {"x": 2}, None]}, "no inbox URL"),
        (GOOD | {"inbox": "/users/alice/inbox"}, "no inbox URL"),
        (GOOD | {"inbox": ""}, "no inbox URL"),
        ({k: v for k, v in GOOD.items() if k != "type"}, "not an actor \\(no type\\)"),
        (GOOD | {"type": "Note"}, "not an actor \\(Note\\)"),
        (GOOD | {"type": 42}, "not an actor"),
        (GOOD | {"type": [1, None, {"a": 1}]}, "not an actor"),
        (GOOD | {"type": {"Person": True}}, "not an actor"),
        ({k: v for k, v in GOOD.items() if k != "preferredUsername"}, "no preferredUsername"),
        (GOOD | {"preferredUsername": 42}, "no preferredUsername"),
        (GOOD | {"preferredUsername": ""}, "no preferredUsername"),
        (GOOD | {"preferredUsername": "   "}, "no preferredUsername"),
        (GOOD | {"preferredUsername": [1, [2]]}, "no preferredUsername"),
        (GOOD | {"preferredUsername": {"x": 1}}, "no preferredUsername"),
    ],
)
def test_malformed_actor_raises_parse_error(doc: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_actor(doc)


def test_garbage_in_optional_fields_is_dropped() -> None:
    actor = parse_actor(
        GOOD
        | {
            "type": ["as:Person", 7],
            "name": 42,
            "summary": ["<p>first</p>"],
            "url": [1, {"href": None}],
            "outbox": {"no": "id"},
            "followers": "relative/path",
            "publicKey": [1, "https://a.test/users/alice#iri-only", {"id": 5}, {"id": "k"}],
            "attachment": [1, None, {"type": "PropertyValue", "name": 1, "value": "v"}],
            "endpoints": "https://a.test/endpoints",
            "icon": 42,
            "image": [{"url": 3}],
            "alsoKnownAs": [1, {}, "acct:alice@b.test", "https://b.test/users/alice"],
            "movedTo": ["garbage"],
            "published": "yesterday",
            "discoverable": "yes",
            "indexable": 1,
            "manuallyApprovesFollowers": "true",
        }
    )
    assert actor == Actor(
        id=GOOD["id"],
        type="Person",
        preferred_username="alice",
        inbox=GOOD["inbox"],
        summary="<p>first</p>",
        also_known_as=("https://b.test/users/alice",),
    )
    assert actor.main_key is None


GARBAGE: list[Any] = [None, 42, True, "", "x", [], [1, [2], None], {}, {"id": 7}, {"type": 3}]


@pytest.mark.parametrize("name", ACTOR_FILES)
def test_any_garbage_field_gives_actor_or_parse_error(name: str) -> None:
    """Replace each top-level value in turn with garbage: never KeyError, TypeError, ..."""
    doc = load(name)
    for key in doc:
        for garbage in GARBAGE:
            mutated = copy.deepcopy(doc)
            mutated[key] = garbage
            try:
                parse_actor(mutated)
            except ParseError:
                pass


def test_parse_public_keys_reads_a_key_document() -> None:
    pem = parse_actor(load("mastodon/actor-gargron.json")).public_keys[0].pem
    key_doc = {"id": "https://a.test/users/alice#main-key", "publicKeyPem": pem}
    assert parse_public_keys(key_doc) == (
        PublicKey(id="https://a.test/users/alice#main-key", owner=key_doc["id"], pem=pem),
    )
    with pytest.raises(ParseError):
        parse_public_keys(["not", "a", "document"])


# --- what we serve ----------------------------------------------------------------------------

MASTODON_CONTEXT = [
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

LOCAL = Actor(
    id="https://a.test/users/alice",
    type="Person",
    preferred_username="alice",
    inbox="https://a.test/users/alice/inbox",
    name="Alice",
    summary="<p>Works in sales.</p>",
    url="https://a.test/@alice",
    outbox="https://a.test/users/alice/outbox",
    followers="https://a.test/users/alice/followers",
    following="https://a.test/users/alice/following",
    featured="https://a.test/users/alice/collections/featured",
    shared_inbox="https://a.test/inbox",
    public_keys=(
        PublicKey(
            id="https://a.test/users/alice#main-key",
            owner="https://a.test/users/alice",
            pem=parse_actor(load("mastodon/actor-gargron.json")).public_keys[0].pem,
        ),
    ),
    manually_approves_followers=True,
    discoverable=True,
    indexable=False,
    published=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    icon_url="https://a.test/media/avatar.png",
    image_url="https://a.test/media/header.jpg",
    fields=(Field(name="Team", value="Sales EMEA"), Field(name="Desk", value="3.14")),
    also_known_as=("https://b.test/users/alice",),
    moved_to="https://b.test/users/alice",
)


def test_served_actor_has_mastodon_context_and_keys() -> None:
    doc = actor_to_json(LOCAL)
    assert doc["@context"] == MASTODON_CONTEXT
    assert list(doc) == [
        "@context",
        "id",
        "type",
        "following",
        "followers",
        "inbox",
        "outbox",
        "featured",
        "preferredUsername",
        "name",
        "summary",
        "url",
        "manuallyApprovesFollowers",
        "discoverable",
        "indexable",
        "published",
        "alsoKnownAs",
        "movedTo",
        "publicKey",
        "tag",
        "attachment",
        "endpoints",
        "icon",
        "image",
    ]
    assert doc["published"] == "2024-05-01T12:30:00Z"
    assert doc["publicKey"] == {
        "id": "https://a.test/users/alice#main-key",
        "owner": "https://a.test/users/alice",
        "publicKeyPem": LOCAL.public_keys[0].pem,
    }
    assert doc["endpoints"] == {"sharedInbox": "https://a.test/inbox"}
    assert doc["attachment"] == [
        {"type": "PropertyValue", "name": "Team", "value": "Sales EMEA"},
        {"type": "PropertyValue", "name": "Desk", "value": "3.14"},
    ]
    assert doc["icon"] == {"type": "Image", "url": "https://a.test/media/avatar.png"}
    assert doc["alsoKnownAs"] == ["https://b.test/users/alice"]
    assert doc["movedTo"] == "https://b.test/users/alice"


def test_served_actor_round_trips() -> None:
    assert parse_actor(actor_to_json(LOCAL)) == LOCAL
    minimal = Actor(
        id="https://a.test/actor",
        type="Application",
        preferred_username="a.test",
        inbox="https://a.test/actor/inbox",
    )
    doc = actor_to_json(minimal)
    assert parse_actor(doc) == minimal
    assert "publicKey" not in doc and "endpoints" not in doc and "published" not in doc
    assert doc["attachment"] == [] and doc["manuallyApprovesFollowers"] is False


@pytest.mark.parametrize("name", PARSEABLE)
def test_fixture_actor_round_trips(name: str) -> None:
    actor = parse_actor(load(name))
    assert parse_actor(json.loads(json.dumps(actor_to_json(actor)))) == actor


def test_context_is_fresh_each_time() -> None:
    actor_context()[2]["toot"] = "changed"
    assert actor_to_json(LOCAL)["@context"] == MASTODON_CONTEXT


def test_gargron_served_back_matches_mastodon() -> None:
    """What we serve for Gargron equals what mastodon.social serves, key for key and in the
    same order, except the terms we do not model (featuredTags, memorial, devices) and the
    `mediaType` of icon and image."""
    original = load("mastodon/actor-gargron.json")
    served = actor_to_json(parse_actor(original))
    assert set(served) <= set(original)
    assert list(served) == [key for key in original if key in served]
    for key in served:
        if key in ("@context", "icon", "image"):
            continue
        assert served[key] == original[key], key
    assert served["icon"]["url"] == original["icon"]["url"]
    assert served["image"]["url"] == original["image"]["url"]
    context_terms = original["@context"][2]
    assert all(context_terms[k] == v for k, v in served["@context"][2].items())


def test_only_the_main_key_is_served() -> None:
    doc = load("fedify/actor-multiple-keys.json")
    doc |= {"inbox": "https://example.com/person2/inbox", "preferredUsername": "jane"}
    doc["publicKey"].reverse()  # Ed25519 first: the RSA key is still the one served
    served = actor_to_json(parse_actor(doc))
    assert served["publicKey"]["id"] == "https://example.com/person2#key3"
