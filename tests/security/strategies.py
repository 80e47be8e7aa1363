"""Hypothesis strategies for hostile federation input: arbitrary JSON, raw bodies that are
almost JSON, and the real payloads of `tests/fixtures/activitypub/` mutated the ways a buggy
or hostile peer would (keys dropped, types swapped, values replaced, objects nested deeply,
ids moved to other hosts, odd `actor`, `to`/`cc` and `@context` shapes, huge content).

The fixtures are "rehomed" first: their actor becomes `BOB` (a user of the peer `b.test`) and
their actor's host becomes `b.test`, so that a body signed with bob's key gets past the
signature, peer and same-host checks of the inbox and reaches the parsing and processing code.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hypothesis import strategies as st

from federation.activities import Activity, parse_document
from federation.errors import ParseError
from federation.objects import ACTIVITY_TYPES, AS_CONTEXT

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ALICE = "http://a.test/users/alice"
BOB = "http://b.test/users/bob"
CAROL = "http://c.test/users/carol"
ALICE_POST = "http://a.test/users/alice/statuses/1"
"""Stands for a real post of alice: tests replace it (as a whole JSON string) before sending."""
PEER_ORIGIN = "http://b.test"

DISCOVERY_KINDS = {"webfinger", "nodeinfo"}
POST_KINDS = {"note", "question", "article", "page", "video", "event", "chatmessage"}

# --- the fixtures ------------------------------------------------------------------------------


def fixture_kinds() -> dict[str, str]:
    """`server/file` -> kind, from the table rows of tests/fixtures/activitypub/README.md."""
    kinds: dict[str, str] = {}
    server = None
    for line in (FIXTURES / "README.md").read_text(encoding="utf-8").splitlines():
        if heading := re.match(r"### `activitypub/([^/]+)/`", line):
            server = heading.group(1)
        elif server and (row := re.match(r"\| `([^`]+)` \| ([a-z]+) \|", line)):
            kinds[f"{server}/{row.group(1)}"] = row.group(2)
    return kinds


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@cache
def all_documents() -> dict[str, Any]:
    """Every ActivityStreams fixture (WebFinger and NodeInfo left out), by `server/file`."""
    return {
        name: load(name)
        for name, kind in sorted(fixture_kinds().items())
        if kind not in DISCOVERY_KINDS
    }


def _replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_strings(item, old, new) for item in value]
    if isinstance(value, dict):
        return {key: _replace_strings(item, old, new) for key, item in value.items()}
    return value


def rehome(activity: dict[str, Any], actor: str) -> dict[str, Any]:
    """The activity as bob on b.test would send it: the actor's IRI becomes BOB and every
    other URL of the actor's host, or of the activity's, moves to b.test."""
    moved = _replace_strings(activity, actor, BOB)
    for iri in (actor, activity.get("id")):
        if isinstance(iri, str) and iri.startswith(("http://", "https://")):
            parts = urlsplit(iri)
            moved = _replace_strings(moved, f"{parts.scheme}://{parts.netloc}", PEER_ORIGIN)
    return moved  # type: ignore[no-any-return]


@cache
def inbox_payloads() -> dict[str, dict[str, Any]]:
    """The real activities, rehomed to bob, and every real post wrapped in bob's Create.

    Every fixture that parses as an activity is here (Create, Update, Delete, Announce, Like,
    EmojiReact, Dislike, Follow, Accept, Reject, Undo, Block, Flag, Move, Add, Lock, ...).
    """
    payloads: dict[str, dict[str, Any]] = {}
    kinds = fixture_kinds()
    for name, doc in all_documents().items():
        try:
            parsed = parse_document(doc)
        except ParseError:
            continue
        if isinstance(parsed, Activity):
            payloads[name] = rehome(doc, parsed.actor)
        elif kinds[name] in POST_KINDS:
            author = doc.get("attributedTo")
            author = author if isinstance(author, str) else BOB
            post = rehome(doc, author) | {"attributedTo": BOB}
            post.pop("@context", None)
            post_id = post.get("id") if isinstance(post.get("id"), str) else f"{BOB}/posts/1"
            payloads[f"{name} (in a Create)"] = {
                "@context": AS_CONTEXT,
                "id": f"{post_id}/activity",
                "type": "Create",
                "actor": BOB,
                "to": post.get("to", [PUBLIC]),
                "cc": post.get("cc", []),
                "object": post,
            }
    return payloads


# --- arbitrary JSON ----------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**80)  # past 64 bits (orjson: a float)
    | st.floats(allow_nan=False, allow_infinity=False)  # NaN and Infinity: see RAW_BODIES
    | st.text(max_size=40)
)

JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)
"""Any JSON value (objects, arrays, deep mixes), as `json.loads` would give it."""

JSON_OBJECTS = st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=8)


def nested(value: Any, depth: int, *, as_list: bool = False) -> Any:
    for _ in range(depth):
        value = [value] if as_list else {"object": value}
    return value


@st.composite
def _almost_json(draw: st.DrawFn) -> bytes:
    """JSON text with one thing a strict parser must refuse (or may take) spliced in."""
    real = st.sampled_from(sorted(inbox_payloads())).map(lambda name: inbox_payloads()[name])
    doc = draw(JSON_OBJECTS | real)
    text = json.dumps(doc)
    splice = draw(
        st.sampled_from(
            [
                "NaN",
                "Infinity",
                "-Infinity",
                "1e999",
                "-1e999",
                "1" * 5000,  # past Python's int digit limit
                '"\\ud800"',  # a lone surrogate, escaped
                '"\\udc00\\ud800"',
                '"\\u0000"',
                "undefined",
                "'single'",
                "[1,]",
                '{"a":1,}',
                '{"a":1,"a":2,"a":{"a":3}}',  # duplicate keys
                "[" * 40 + "]" * 40,
                "{" * 2000,
                "[" * 2000 + "]" * 2000,  # past orjson's own recursion limit
                "tru",
                '"\x01\x1f"',  # raw control characters inside a string
            ]
        )
    )
    if isinstance(doc, dict) and doc and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(doc)))
        text = json.dumps({**doc, key: "@@SPLICE@@"}).replace('"@@SPLICE@@"', splice)
    else:
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + splice + text[at:]
    return text.encode("utf-8")


@st.composite
def _bad_utf8(draw: st.DrawFn) -> bytes:
    """Valid JSON bytes with invalid UTF-8 (stray continuation, overlong, surrogate, BOM)."""
    body = json.dumps(draw(JSON_OBJECTS)).encode()
    bad = draw(
        st.sampled_from(
            [b"\xff", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xef\xbb\xbf"]
        )
    )
    at = draw(st.integers(min_value=0, max_value=len(body)))
    return body[:at] + bad + body[at:]


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda text: text.encode("utf-8")),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    _almost_json(),
    _bad_utf8(),
    st.integers(min_value=1, max_value=900).map(lambda n: json.dumps(nested({}, n)).encode()),
    st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=0, max_value=1024 * 1024).map(
        lambda n: b'{"type":"Create","content":"' + b"x" * n + b'"}'
    ),
)
"""Request bodies: arbitrary bytes, arbitrary JSON, almost-JSON, bad UTF-8, deep, huge."""

# --- mutating real payloads --------------------------------------------------------------------

HOSTS = [
    "a.test",
    "b.test",
    "c.test",
    "d.test",
    "evil.example",
    "127.0.0.1",
    "localhost:8080",
    "[::1]",
    "b.test:99999",
    "b.test:port",
    "[::1",
    "B.TEST.",
    "bü.test",
    "xn--.test",
    "b.test@evil.example",
    "",
]

IRIS = [
    ALICE,
    f"{ALICE}/followers",
    "http://a.test/users/nobody",
    "http://a.test/actor",
    "http://a.test/statuses/1",
    ALICE_POST,
    BOB,
    f"{BOB}/followers",
    f"{BOB}/statuses/1",
    CAROL,
    "http://d.test/users/dave",
    "https://evil.example/users/x",
    PUBLIC,
    "as:Public",
    "http://127.0.0.1:9/x",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "urn:uuid:00000000-0000-0000-0000-000000000000",
    "//b.test/users/bob",
    "http://",
    "",
]

ODD_ADDRESSES: list[Any] = [
    None,
    "",
    PUBLIC,
    [PUBLIC],
    [[PUBLIC]],
    {"id": PUBLIC},
    [{"id": ALICE}, {"type": "Mention"}],
    ["as:Public", "Public", ALICE, f"{BOB}/followers"],
    [PUBLIC] * 2000,
    [f"http://a.test/users/u{i}" for i in range(500)],
    5,
    [None, 3, {}, [], True],
    {"first": {"items": [ALICE]}},
]

ODD_CONTEXTS: list[Any] = [
    None,
    5,
    "",
    "https://evil.example/context.jsonld",
    [],
    [{}],
    {"@vocab": "https://evil.example/"},
    [AS_CONTEXT, {"toot": 5, "Hashtag": {"@id": None}}],
    [AS_CONTEXT, [AS_CONTEXT, [AS_CONTEXT]]],
    {"@context": {"@context": {"@context": AS_CONTEXT}}},
]

ODD_ACTORS: list[Any] = [
    [BOB],
    [BOB, CAROL],
    [CAROL, BOB],
    {"id": BOB, "type": "Person"},
    {"id": 5},
    {"type": "Person"},
    [{"id": BOB}],
    42,
    4.2,
    True,
    None,
    "",
    f"{BOB}#main-key",
    "bob@b.test",
    CAROL,
    ALICE,
]

ODD_TYPES: list[Any] = [
    *sorted(ACTIVITY_TYPES),
    "Note",
    "Person",
    "Tombstone",
    "OrderedCollection",
    "",
    "create",
    5,
    None,
    [],
    ["Create", "Announce"],
    ["Unknown", "Delete"],
    {"type": "Create"},
]

HTML = [
    "<p>" * 20_000,
    "<div><b><i>" * 10_000,
    "<a href='" + "x" * 100_000 + "'>x</a>",
    "&amp;" * 50_000,
    '<script>alert(1)</script><img src=x onerror="alert(1)">',
    "\u202e\u0000\ufeff\U0001f600" * 1000,
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every position in a document (dict keys and list indices), parents first."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:20]):
            found.extend(_paths(child, (*path, index)))
    return found


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """`doc` with the value at `path` replaced (`doc` itself when the path is empty)."""
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _swap_type(value: Any) -> list[Any]:
    """Same meaning, other JSON shapes: what servers disagree on (IRI, [IRI], {id: IRI})."""
    if isinstance(value, str):
        return [[value], {"id": value}, {"href": value}, [value, value], 0, None]
    if isinstance(value, list):
        return [value[0] if value else None, {"items": value}, "x", len(value)]
    if isinstance(value, dict):
        return [value.get("id"), [value], [value, value], json.dumps(value), []]
    return [str(value), [value], {"id": value}, None]


def _rehost(value: Any, host: str) -> Any:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        try:
            netloc = urlsplit(value).netloc
        except ValueError:  # already made unreadable by an earlier mutation
            return value
        return value.replace(f"//{netloc}", f"//{host}", 1)
    return value


@st.composite
def _mutate_once(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    op = draw(
        st.sampled_from(
            [
                "drop",
                "replace",
                "swap",
                "nest",
                "rehost",
                "retarget",
                "actor",
                "type",
                "addresses",
                "context",
                "content",
            ]
        )
    )
    paths = _paths(doc)
    inner_paths = [p for p in paths if p]
    if op == "drop":
        path = draw(st.sampled_from(inner_paths))
        parent = _get(doc, path[:-1])
        del parent[path[-1]]
        return doc
    if op == "replace":
        return _set(doc, draw(st.sampled_from(inner_paths)), draw(JSON_VALUES))
    if op == "swap":
        path = draw(st.sampled_from(inner_paths))
        return _set(doc, path, draw(st.sampled_from(_swap_type(_get(doc, path)))))
    if op == "nest":
        path = draw(st.sampled_from(inner_paths))
        depth = draw(st.integers(min_value=1, max_value=40))
        as_list = draw(st.booleans())
        return _set(doc, path, nested(_get(doc, path), depth, as_list=as_list))
    if op == "rehost":
        path = draw(st.sampled_from(inner_paths))
        return _set(doc, path, _rehost(_get(doc, path), draw(st.sampled_from(HOSTS))))
    if op == "retarget":
        keys = ["object", "target", "inReplyTo", "id", "attributedTo", "url", "quoteUrl"]
        holders = [doc] + ([doc["object"]] if isinstance(doc.get("object"), dict) else [])
        holder = draw(st.sampled_from(holders))
        holder[draw(st.sampled_from(keys))] = draw(st.sampled_from(IRIS))
        return doc
    if op == "actor":
        doc["actor"] = copy.deepcopy(draw(st.sampled_from(ODD_ACTORS)))
        return doc
    if op == "type":
        holders = [doc] + ([doc["object"]] if isinstance(doc.get("object"), dict) else [])
        draw(st.sampled_from(holders))["type"] = copy.deepcopy(draw(st.sampled_from(ODD_TYPES)))
        return doc
    if op == "addresses":
        holders = [doc] + ([doc["object"]] if isinstance(doc.get("object"), dict) else [])
        key = draw(st.sampled_from(["to", "cc", "bto", "bcc", "audience", "tag", "mention"]))
        draw(st.sampled_from(holders))[key] = copy.deepcopy(draw(st.sampled_from(ODD_ADDRESSES)))
        return doc
    if op == "context":
        doc["@context"] = copy.deepcopy(draw(st.sampled_from(ODD_CONTEXTS)))
        return doc
    holders = [doc] + ([doc["object"]] if isinstance(doc.get("object"), dict) else [])
    key = draw(st.sampled_from(["content", "summary", "name", "contentMap", "source"]))
    text = draw(st.sampled_from(HTML) | st.text(max_size=100))
    draw(st.sampled_from(holders))[key] = {"en": text} if key == "contentMap" else text
    return doc


@st.composite
def mutated_payloads(
    draw: st.DrawFn, source: str = "inbox", *, max_mutations: int = 4
) -> tuple[str, Any]:
    """(fixture name, a document with 0..max_mutations mutations applied): a rehomed real
    activity (`inbox_payloads()`), or with `source="all"` any fixture (`all_documents()`)."""
    payloads = inbox_payloads() if source == "inbox" else all_documents()
    name = draw(st.sampled_from(sorted(payloads)))
    doc: Any = copy.deepcopy(payloads[name])
    for _ in range(draw(st.integers(min_value=0, max_value=max_mutations))):
        if not isinstance(doc, dict) or not doc:
            break
        doc = draw(_mutate_once(doc))
    return name, doc
