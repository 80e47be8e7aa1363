"""Every document in tests/fixtures/activitypub/ is indexed, parses into the view its kind
says, and survives garbage in any value: only `ParseError` ever comes out of a parser."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from federation.activities import Activity, Collection, Document, parse_document
from federation.discovery_docs import parse_jrd, parse_nodeinfo, parse_nodeinfo_links
from federation.errors import ParseError
from federation.objects import Note, Tombstone
from federation.vocab import Actor, parse_public_keys

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"

# Fedify's fixture shows the shapes of keys; it has neither `inbox` nor `preferredUsername`,
# so `parse_actor` refuses it on purpose (nothing could be delivered to it). Its keys parse.
KEYS_ONLY = "fedify/actor-multiple-keys.json"

DISCOVERY_KINDS = {"webfinger", "nodeinfo"}
COLLECTION_KINDS = {"collection", "collectionpage"}
NOTE_KINDS = {"note", "question", "article", "page", "video", "event", "chatmessage"}


def index() -> dict[str, str]:
    """`server/file` -> kind, from the table rows of tests/fixtures/activitypub/README.md."""
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    kinds: dict[str, str] = {}
    server = None
    for line in readme.splitlines():
        if heading := re.match(r"### `activitypub/([^/]+)/`", line):
            server = heading.group(1)
        elif server and (row := re.match(r"\| `([^`]+)` \| ([a-z]+) \|", line)):
            kinds[f"{server}/{row.group(1)}"] = row.group(2)
    return kinds


KINDS = index()
FILES = sorted(KINDS)
AS_FILES = [name for name in FILES if KINDS[name] not in DISCOVERY_KINDS]
# The index files Mastodon's Create(Question) under `question`: the document is the Create.
VIEW_KIND = {name: KINDS[name] for name in FILES} | {"mastodon/create-question.json": "create"}


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_every_fixture_is_present_and_indexed() -> None:
    on_disk = sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.json"))
    assert on_disk == FILES
    assert len(FILES) == 81
    assert sum(kind in DISCOVERY_KINDS for kind in KINDS.values()) == 7


def test_fixtures_are_the_shared_ones_byte_for_byte() -> None:
    shared = Path(__file__).parents[3] / "shared" / "fixtures" / "activitypub"
    if not shared.is_dir():
        pytest.skip("the shared fixture collection is not next to this checkout")
    for name in FILES:
        assert (FIXTURES / name).read_bytes() == (shared / name).read_bytes(), name


def parse_discovery(name: str, doc: Any) -> object:
    if KINDS[name] == "webfinger":
        return parse_jrd(doc)
    if isinstance(doc, dict) and "links" in doc and "version" not in doc:
        return parse_nodeinfo_links(doc)
    return parse_nodeinfo(doc)


def walk(doc: Any, depth: int = 0) -> Document:
    """Parse a document and every typed document embedded in it (objects, items, pages)."""
    parsed = parse_document(doc)
    if depth > 4:
        return parsed
    embedded: list[Any] = []
    if isinstance(parsed, Activity) and parsed.object is not None:
        embedded.append(parsed.object)
    if isinstance(parsed, Collection):
        embedded.extend(parsed.items)
        if parsed.first_page is not None:
            embedded.extend(parsed.first_page.items)
    for item in embedded:
        if isinstance(item, dict) and item.get("type"):
            walk(item, depth + 1)
    return parsed


def check_view(name: str, parsed: Document) -> None:
    kind = VIEW_KIND[name]
    if kind == "actor":
        assert isinstance(parsed, Actor)
    elif kind in COLLECTION_KINDS:
        assert isinstance(parsed, Collection)
        assert parsed.type.lower().endswith(kind)
    elif kind == "tombstone":
        assert isinstance(parsed, Tombstone)
    elif kind in NOTE_KINDS:
        assert isinstance(parsed, Note)
        assert parsed.type.lower() == kind
    else:
        assert isinstance(parsed, Activity)
        assert parsed.type.lower() == kind


@pytest.mark.parametrize("name", FILES)
def test_fixture_parses(name: str) -> None:
    doc = load(name)
    if KINDS[name] in DISCOVERY_KINDS:
        parse_discovery(name, doc)
        return
    if name == KEYS_ONLY:
        with pytest.raises(ParseError, match="no inbox URL; no preferredUsername"):
            parse_document(doc)
        assert [key.id for key in parse_public_keys(doc)] == [
            "https://example.com/person2#key3",
            "https://example.com/person2#key4",
        ]
        return
    check_view(name, walk(doc))


def test_embedded_documents_are_the_ones_expected() -> None:
    """The embedded objects the inbox will meet, by kind of parent."""
    seen: dict[str, str] = {}
    for name in AS_FILES:
        if name == KEYS_ONLY:
            continue
        parsed = parse_document(load(name))
        if isinstance(parsed, Activity) and parsed.object is not None:
            seen[name] = type(parse_document(parsed.object)).__name__
    assert seen == {
        "gotosocial/create-poll-vote.json": "Note",
        "lemmy/announce-create-page.json": "Activity",
        "lemmy/create-page.json": "Note",
        "lemmy/undo-like.json": "Activity",
        "mastodon/accept-follow.json": "Activity",
        "mastodon/create-note-with-attachment-ld-signature.json": "Note",
        "mastodon/create-note.json": "Note",
        "mastodon/create-question.json": "Note",
        "mastodon/delete-note-tombstone.json": "Tombstone",
        "mastodon/reject-follow.json": "Activity",
        "mastodon/undo-announce.json": "Activity",
        "mastodon/undo-block.json": "Activity",
        "mastodon/undo-follow.json": "Activity",
        "mastodon/update-person.json": "Actor",
        "misskey/create-note.json": "Note",
        "mitra/create-note-with-proof.json": "Note",
        "pixelfed/create-note.json": "Note",
        "pleroma/create-note.json": "Note",
    }


# --- garbage --------------------------------------------------------------------------------

GARBAGE: list[Any] = [
    None,
    0,
    -1,
    2.5,
    True,
    "",
    "x",
    "javascript:alert(1)",
    "https://evil.test/x",
    [],
    [None, 1, [2], {}],
    {},
    {"id": 7},
    {"type": 3},
    {"id": "https://evil.test/x", "type": ["Note", 5]},
    [{"type": None, "href": {}}],
]


def parsers(name: str) -> Any:
    if KINDS[name] in DISCOVERY_KINDS:
        return lambda doc: parse_discovery(name, doc)
    return parse_document


def mutations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """`doc` with each top-level value, and each value of an embedded object, replaced."""
    mutated: list[dict[str, Any]] = []
    for key in doc:
        for garbage in GARBAGE:
            copied = copy.deepcopy(doc)
            copied[key] = garbage
            mutated.append(copied)
    inner = doc.get("object")
    if isinstance(inner, dict):
        for key in inner:
            for garbage in GARBAGE:
                copied = copy.deepcopy(doc)
                copied["object"][key] = garbage
                mutated.append(copied)
    return mutated


@pytest.mark.parametrize("name", FILES)
def test_any_garbage_value_gives_a_view_or_parse_error(name: str) -> None:
    parse = parsers(name)
    for mutated in mutations(load(name)):
        try:
            parsed = parse(mutated)
        except ParseError:
            continue
        if isinstance(parsed, Activity) and parsed.object is not None:
            try:
                parse_document(parsed.object)
            except ParseError:
                pass


@pytest.mark.parametrize("name", FILES)
def test_whole_document_replaced_by_garbage(name: str) -> None:
    parse = parsers(name)
    for garbage in GARBAGE:
        try:
            parse(garbage)
        except ParseError:
            pass
