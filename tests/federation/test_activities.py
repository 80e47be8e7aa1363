"""Activities and collections from every kind of server parse into their views; garbage raises
`ParseError`; the activities we build have Mastodon's shape and read back as they should."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from federation import activities
from federation.activities import (
    Activity,
    Collection,
    parse_activity,
    parse_collection,
    parse_document,
)
from federation.astools import PUBLIC
from federation.errors import ParseError
from federation.objects import Note, note_to_json, parse_object, parse_tombstone
from federation.vocab import parse_actor

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"
WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return doc


# --- what other servers send ----------------------------------------------------------------


def test_gotosocial_delete_without_id() -> None:
    delete = parse_activity(load("gotosocial/delete-public-reply.json"))
    assert delete == Activity(
        id=None,
        type="Delete",
        actor="http://localhost:8080/users/admin",
        object_id="http://localhost:8080/users/admin/statuses/01FF25D5Q0DH7CHD57CTRS6WK0",
        object_ids=("http://localhost:8080/users/admin/statuses/01FF25D5Q0DH7CHD57CTRS6WK0",),
        to=(PUBLIC,),
        cc=(
            "http://localhost:8080/users/admin/followers",
            "http://localhost:8080/users/the_mighty_zork",
        ),
    )


def test_mastodon_delete_with_tombstone() -> None:
    delete = parse_activity(load("mastodon/delete-note-tombstone.json"))
    assert delete.object_type == "Tombstone"
    assert delete.object is not None
    assert parse_tombstone(delete.object).id == delete.object_id


def test_mastodon_create_embeds_the_note() -> None:
    create = parse_activity(load("mastodon/create-note.json"))
    assert create.type == "Create"
    assert create.published == datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)
    assert create.to == ("https://mastodon.madrid/users/felix/followers",)
    assert create.cc == (PUBLIC, "https://mamot.fr/users/retiolus")
    assert create.object_type == "Note"
    assert create.object is not None
    assert parse_object(create.object).id == create.object_id


def test_gotosocial_create_by_iri_only() -> None:
    create = parse_activity(load("gotosocial/create-note-iri-only.json"))
    assert create.object is None and create.object_type is None
    assert create.object_id == (
        "http://localhost:8080/users/the_mighty_zork/statuses/01F8MHAMCHF6Y650WCRSCP4WMY"
    )
    assert create.to == (PUBLIC,)
    assert create.published == datetime(2021, 10, 20, 10, 40, 37, tzinfo=UTC)


def test_accept_and_reject_embed_the_follow() -> None:
    for name, kind in [
        ("mastodon/accept-follow.json", "Accept"),
        ("mastodon/reject-follow.json", "Reject"),
    ]:
        answer = parse_activity(load(name))
        assert answer.type == kind
        assert answer.object_type == "Follow"
        assert answer.object_id == "http://localtesting.pleroma.lol/users/lain#follows/4"
        inner = parse_activity(answer.object)
        assert (inner.actor, inner.object_id) == (
            "http://localtesting.pleroma.lol/users/lain",
            "http://mastodon.example.org/users/admin",
        )
    mitra = parse_activity(load("mitra/accept-with-proof.json"))
    assert mitra.object is None
    assert mitra.object_id == (
        "https://voyager.lemmy.ml/activities/follow/7d782f02-b91d-4455-b6c0-772540f00c2d"
    )


def test_undo_of_each_kind() -> None:
    expected = {
        "mastodon/undo-announce.json": "Announce",
        "mastodon/undo-block.json": "Block",
        "mastodon/undo-follow.json": "Follow",
        "lemmy/undo-like.json": "Like",
    }
    for name, inner_type in expected.items():
        undo = parse_activity(load(name))
        assert (undo.type, undo.object_type) == ("Undo", inner_type)
        assert parse_activity(undo.object).type == inner_type
    announce = parse_activity(parse_activity(load("mastodon/undo-announce.json")).object)
    assert announce.to == (PUBLIC,)  # written http://www.w3.org/ns/activitystreams#Public


def test_flag_names_several_objects_and_has_a_comment() -> None:
    flag = parse_activity(load("mastodon/flag-docs.json"))
    assert flag.object_ids == (
        "https://example.com/users/1",
        "https://example.com/posts/380590",
        "https://example.com/posts/380591",
    )
    assert flag.object_id == "https://example.com/users/1"
    assert flag.content == "Please take a look at this user and their posts"
    assert flag.to == ("https://example.com/users/1",)
    gts = parse_activity(load("gotosocial/flag.json"))
    assert gts.actor == "http://localhost:8080/users/localhost:8080"
    assert len(gts.object_ids) == 2


def test_reactions_and_votes() -> None:
    misskey = parse_activity(load("misskey/like-reaction.json"))
    assert (misskey.type, misskey.content) == ("Like", "pudding")
    assert parse_activity(load("mastodon/like.json")).content is None
    react = parse_activity(load("pleroma/emoji-react.json"))
    assert (react.type, react.content) == ("EmojiReact", "👌")
    dislike = parse_activity(load("lemmy/dislike-page.json"))
    assert dislike.type == "Dislike"
    assert dislike.audience == "https://enterprise.lemmy.ml/c/tenforward"


def test_move_add_lock_block_follow_announce() -> None:
    move = parse_activity(load("gotosocial/move.json"))
    assert move.target == "https://turnip.farm/users/turniplover6969"
    add = parse_activity(load("lemmy/add-mod.json"))
    assert add.target == "http://enterprise.lemmy.ml/c/main/moderators"
    assert parse_activity(load("lemmy/lock-page.json")).type == "Lock"
    assert parse_activity(load("mastodon/block.json")).object_id == (
        "http://localtesting.pleroma.lol/users/lain"
    )
    follow = parse_activity(load("mastodon/follow.json"))
    assert follow.object_id == "http://localtesting.pleroma.lol/users/lain"
    assert follow.to == () and follow.cc == ()
    boost = parse_activity(load("pixelfed/announce.json"))
    assert boost.object_id == "https://mastodonapp.uk/@damianward/111322877716364793"
    assert boost.published == datetime(2023, 10, 30, 12, 44, 35, tzinfo=UTC)  # +0000


def test_lemmy_announce_of_create_of_page() -> None:
    announce = parse_activity(load("lemmy/announce-create-page.json"))
    assert announce.actor == "http://enterprise.lemmy.ml/c/main"
    create = parse_activity(announce.object)
    assert create.object_type == "Page"
    page = parse_object(create.object)
    assert page.name == "post 4"


def test_update_of_a_person() -> None:
    update = parse_activity(load("mastodon/update-person.json"))
    assert update.object_type == "Person"
    assert parse_actor(update.object).name == "gargle"


def test_embedded_actor_and_typed_lists() -> None:
    activity = parse_activity(
        {
            "type": ["Follow", "as:Thing"],
            "actor": {"type": "Person", "id": "https://a.test/users/alice"},
            "object": [{"id": "https://b.test/users/bob", "type": "Person"}],
        }
    )
    assert (activity.type, activity.actor) == ("Follow", "https://a.test/users/alice")
    assert activity.object_id == "https://b.test/users/bob"
    assert activity.object == {"id": "https://b.test/users/bob", "type": "Person"}
    assert activity.object_type == "Person"


GOOD: dict[str, Any] = {"type": "Like", "actor": "https://a.test/u/a", "object": "https://b.test/n"}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (None, "must be a JSON object, not NoneType"),
        ([GOOD], "must be a JSON object, not list"),
        ({k: v for k, v in GOOD.items() if k != "type"}, "has no type"),
        (GOOD | {"type": [3, None]}, "has no type"),
        ({k: v for k, v in GOOD.items() if k != "actor"}, "has no actor"),
        (GOOD | {"actor": "/u/a"}, "has no actor"),
        (GOOD | {"actor": {"type": "Person"}}, "has no actor"),
        (GOOD | {"actor": 42}, "has no actor"),
        (GOOD | {"id": 42}, "id that is not an absolute"),
        (GOOD | {"id": ""}, "id that is not an absolute"),
        (GOOD | {"id": "urn:uuid:1"}, "id that is not an absolute"),
    ],
)
def test_malformed_activity_raises_parse_error(doc: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_activity(doc)


def test_garbage_in_optional_fields_is_dropped() -> None:
    activity = parse_activity(
        GOOD
        | {
            "object": [None, 3, ["https://x.test/nested"]],
            "target": {"no": "id"},
            "to": [None, 3],
            "cc": "as:Public",
            "published": "later",
            "content": ["a", "b"],
            "audience": 5,
        }
    )
    assert activity == Activity(
        id=None, type="Like", actor=GOOD["actor"], cc=(PUBLIC,), content="a"
    )


# --- collections ----------------------------------------------------------------------------


def test_collections_and_pages() -> None:
    outbox = parse_collection(load("gotosocial/outbox.json"))
    assert outbox == Collection(
        id="http://localhost:8080/users/the_mighty_zork/outbox",
        type="OrderedCollection",
        total_items=9,
        first="http://localhost:8080/users/the_mighty_zork/outbox?limit=40",
    )
    assert outbox.ordered
    page = parse_collection(load("gotosocial/outbox-first-page.json"))
    assert page.part_of == outbox.id
    assert page.next is not None and page.next.endswith("max_id=01F8MHAMCHF6Y650WCRSCP4WMY")
    assert page.prev is not None and "min_id=" in page.prev
    assert [parse_activity(item).type for item in page.items] == ["Create"] * 3
    followers = parse_collection(load("mastodon/followers-page.json"))
    assert (followers.total_items, len(followers.items)) == (437, 12)
    featured = parse_collection(load("mastodon/featured.json"))
    assert isinstance(parse_document(featured.items[0]), Note)


def test_embedded_first_page_of_replies() -> None:
    replies = load("fedify/note-compacted-lookup.json")["replies"]
    collection = parse_collection(replies)
    assert collection.type == "Collection" and not collection.ordered
    assert collection.first is None  # embedded without an id
    assert collection.first_page is not None
    assert collection.first_page.id is None
    assert collection.first_page.items == (
        "https://todon.eu/users/hongminhee/statuses/112343493232608516",
    )
    assert collection.first_page.part_of == collection.id


@pytest.mark.parametrize("doc", [None, {"type": "Note"}, {"id": "https://a.test/c"}, [1]])
def test_malformed_collection(doc: Any) -> None:
    with pytest.raises(ParseError):
        parse_collection(doc)


# --- parse_document -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "kind"),
    [
        ({"id": "https://a.test/n", "type": "Note"}, "Note"),
        ({"id": "https://a.test/n", "type": "Tombstone"}, "Tombstone"),
        ({"type": "OrderedCollection", "totalItems": 0}, "Collection"),
        ({"type": "Undo", "actor": "https://a.test/u"}, "Activity"),
        ({"type": "Zap", "actor": "https://a.test/u", "object": "https://b.test/n"}, "Activity"),
        ({"id": "https://a.test/e", "type": "Event", "actor": "https://a.test/u"}, "Note"),
        ({"id": "https://a.test/x", "type": "Recipe"}, "Note"),
    ],
)
def test_parse_document_dispatches_on_type(doc: Any, kind: str) -> None:
    assert type(parse_document(doc)).__name__ == kind


@pytest.mark.parametrize(
    "doc",
    [
        None,
        "https://a.test/n",
        {"id": "https://a.test/n"},
        {"subject": "acct:a@a.test"},
        {"type": "Person", "id": "https://a.test/u"},
        {"type": "Create"},
    ],
)
def test_parse_document_refuses(doc: Any) -> None:
    with pytest.raises(ParseError):
        parse_document(doc)


# --- what we send ---------------------------------------------------------------------------

NOTE = Note(
    id="https://a.test/users/alice/statuses/1",
    type="Note",
    attributed_to="https://a.test/users/alice",
    content="<p>hi</p>",
    published=WHEN,
    to=(PUBLIC,),
    cc=("https://a.test/users/alice/followers",),
)
ALICE = "https://a.test/users/alice"
BOB = "https://b.test/users/bob"


def test_create_is_mastodons_shape() -> None:
    note_json = note_to_json(NOTE)
    doc = activities.create(ALICE, note_json)
    assert list(doc) == list(load("mastodon/create-note.json"))  # same keys, same order
    assert doc["@context"] == note_json["@context"]
    assert doc["id"] == "https://a.test/users/alice/statuses/1/activity"
    assert (doc["published"], doc["to"], doc["cc"]) == (
        "2024-05-01T12:30:00Z",
        [PUBLIC],
        ["https://a.test/users/alice/followers"],
    )
    assert "@context" not in doc["object"]
    assert doc["object"] == {k: v for k, v in note_json.items() if k != "@context"}
    assert note_json["@context"]  # the caller's document is left as it was
    parsed = parse_activity(doc)
    assert (parsed.type, parsed.actor, parsed.object_id) == ("Create", ALICE, NOTE.id)
    assert parse_object(parsed.object) == NOTE
    explicit = activities.create(ALICE, note_json, [BOB], [], "https://a.test/c/1", WHEN)
    assert (explicit["id"], explicit["to"], explicit["cc"]) == ("https://a.test/c/1", [BOB], [])


def test_update_of_an_edited_note_and_of_a_profile() -> None:
    edited = note_to_json(Note(**{**_fields(NOTE), "updated": datetime(2024, 5, 2, tzinfo=UTC)}))
    doc = activities.update(ALICE, edited)
    assert doc["id"] == f"{NOTE.id}#updates/1714608000"
    assert doc["published"] == "2024-05-02T00:00:00Z"
    assert doc["to"] == [PUBLIC] and doc["@context"] == edited["@context"]
    profile = {"@context": ["https://www.w3.org/ns/activitystreams"], "id": ALICE, "type": "Person"}
    doc = activities.update(ALICE, profile, published=WHEN)
    assert doc["id"] == f"{ALICE}#updates/1714566600"
    assert (doc["to"], doc["cc"]) == ([PUBLIC], [])
    assert doc["object"] == {"id": ALICE, "type": "Person"}
    with pytest.raises(ValueError):
        activities.update(ALICE, {"id": ALICE, "type": "Person"})


def _fields(note: Note) -> dict[str, Any]:
    return {name: getattr(note, name) for name in Note.__dataclass_fields__}


def test_delete_is_mastodons_shape() -> None:
    doc = activities.delete(ALICE, NOTE.id, [PUBLIC], [], published=WHEN)
    mastodon = load("mastodon/delete-note-tombstone.json")
    assert doc == {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"},
        ],
        "id": f"{NOTE.id}#delete",
        "type": "Delete",
        "actor": ALICE,
        "published": "2024-05-01T12:30:00Z",
        "to": [PUBLIC],
        "cc": [],
        "object": {"id": NOTE.id, "type": "Tombstone", "atomUri": NOTE.id},
    }
    # The same keys as the captured Mastodon Delete (whose key order Pleroma's capture lost).
    assert set(doc["object"]) == set(mastodon["object"])
    with_type = activities.delete(
        ALICE, NOTE.id, [PUBLIC], [], "https://a.test/d/1", published=WHEN, former_type="Note"
    )
    assert with_type["id"] == "https://a.test/d/1"
    assert parse_tombstone(with_type["object"]).former_type == "Note"


def test_follow_accept_reject_undo() -> None:
    follow = activities.follow("https://a.test/follows/1", ALICE, BOB, published=WHEN)
    assert follow == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://a.test/follows/1",
        "type": "Follow",
        "actor": ALICE,
        "published": "2024-05-01T12:30:00Z",
        "to": [BOB],
        "cc": [],
        "object": BOB,
    }
    received = load("mastodon/follow.json")  # with @context and an LD signature
    accept = activities.accept("https://b.test/accepts/1", BOB, received, published=WHEN)
    assert accept["type"] == "Accept"
    assert accept["to"] == ["http://mastodon.example.org/users/admin"]
    assert "@context" not in accept["object"] and "signature" not in accept["object"]
    assert accept["object"]["id"] == received["id"]
    assert parse_activity(accept).object_type == "Follow"
    reject = activities.reject("https://b.test/rejects/1", BOB, follow, published=WHEN)
    assert (reject["type"], reject["to"], reject["object"]["object"]) == ("Reject", [ALICE], BOB)
    by_iri = activities.accept("https://b.test/a/2", BOB, follow["id"], published=WHEN)
    assert (by_iri["object"], by_iri["to"]) == (follow["id"], [])
    undo = activities.undo("https://a.test/follows/1/undo", ALICE, follow, published=WHEN)
    assert (undo["type"], undo["to"], undo["cc"]) == ("Undo", [BOB], [])
    assert undo["object"] == {k: v for k, v in follow.items() if k != "@context"}


def test_like_announce_block_and_undo_announce() -> None:
    like = activities.like("https://a.test/likes/1", ALICE, NOTE.id, published=WHEN, to=[BOB])
    assert (like["type"], like["object"], like["to"], like["cc"]) == ("Like", NOTE.id, [BOB], [])
    boost = activities.announce(
        "https://a.test/s/2/activity",
        ALICE,
        "https://b.test/n/1",
        [PUBLIC],
        [BOB, "https://a.test/users/alice/followers", BOB],
        WHEN,
    )
    assert list(boost) == ["@context", "id", "type", "actor", "published", "to", "cc", "object"]
    assert boost["cc"] == [BOB, "https://a.test/users/alice/followers"]  # once each
    assert boost["object"] == "https://b.test/n/1"
    undo = activities.undo("https://a.test/s/2/undo", ALICE, boost, published=WHEN)
    assert (undo["to"], undo["cc"]) == (boost["to"], boost["cc"])
    block = activities.block("https://a.test/blocks/1", ALICE, BOB, published=WHEN)
    assert (block["type"], block["to"], block["object"]) == ("Block", [BOB], BOB)


def test_every_builder_sends_arrays_published_and_a_context() -> None:
    follow = activities.follow("https://a.test/f/1", ALICE, BOB, published=WHEN)
    built = [
        activities.create(ALICE, note_to_json(NOTE)),
        activities.update(ALICE, note_to_json(NOTE), published=WHEN),
        activities.delete(ALICE, NOTE.id, [PUBLIC], [], published=WHEN),
        follow,
        activities.accept("https://b.test/a/1", BOB, follow, published=WHEN),
        activities.reject("https://b.test/r/1", BOB, follow, published=WHEN),
        activities.undo("https://a.test/f/1/undo", ALICE, follow, published=WHEN),
        activities.like("https://a.test/l/1", ALICE, NOTE.id, published=WHEN),
        activities.announce("https://a.test/b/1", ALICE, NOTE.id, [PUBLIC], [], WHEN),
        activities.block("https://a.test/k/1", ALICE, BOB, published="2024-05-01T12:30:00Z"),
    ]
    for doc in built:
        assert doc["@context"]
        assert isinstance(doc["to"], list) and isinstance(doc["cc"], list)
        assert doc["published"] == "2024-05-01T12:30:00Z"
        assert isinstance(doc["actor"], str)
        parsed = parse_document(json.loads(json.dumps(doc)))
        assert isinstance(parsed, Activity) and parsed.id == doc["id"]
