"""The tolerant readers: each shape real servers send, and garbage, give a sane answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from federation.astools import (
    PUBLIC,
    as_list,
    first_str,
    format_datetime,
    get_id,
    get_ids,
    get_image_url,
    get_prop,
    get_types,
    get_url,
    has_type,
    is_as_media_type,
    is_http_url,
    is_public,
    language_value,
    local_name,
    parse_datetime,
    strings,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("x", ["x"]),
        ({"id": "x"}, [{"id": "x"}]),
        (["a", "b"], ["a", "b"]),
        ([], []),
        (0, [0]),
        (False, [False]),
    ],
)
def test_as_list(value: Any, expected: list[Any]) -> None:
    assert as_list(value) == expected


def test_as_list_returns_a_copy() -> None:
    original = ["a"]
    as_list(original).append("b")
    assert original == ["a"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/users/x", "https://a.test/users/x"),
        ({"id": "https://a.test/users/x", "type": "Person"}, "https://a.test/users/x"),
        ({"@id": "https://a.test/users/x"}, "https://a.test/users/x"),
        (["https://a.test/1", "https://a.test/2"], "https://a.test/1"),
        ([{"type": "Link"}, {"id": "https://a.test/2"}], "https://a.test/2"),
        ([1, None, "https://a.test/3"], "https://a.test/3"),
        ("", None),
        (None, None),
        (42, None),
        ({"id": 42}, None),
        ({"type": "Person"}, None),
        ([], None),
        ([["https://a.test/nested"]], None),
    ],
)
def test_get_id(value: Any, expected: str | None) -> None:
    assert get_id(value) == expected


def test_get_ids_keeps_ids_and_drops_garbage() -> None:
    value = ["https://a.test/1", {"id": "https://a.test/2"}, 3, None, {"name": "x"}, ["nested"]]
    assert get_ids(value) == ["https://a.test/1", "https://a.test/2"]
    assert get_ids("https://a.test/1") == ["https://a.test/1"]
    assert get_ids(None) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", "a"), (["a", "b"], "a"), ([1, "b"], "b"), (1, None), (None, None), ({"a": 1}, None)],
)
def test_first_str(value: Any, expected: str | None) -> None:
    assert first_str(value) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Person", "Person"),
        ("as:Person", "Person"),
        ("https://www.w3.org/ns/activitystreams#Person", "Person"),
        ("toot:Emoji", "Emoji"),
        ("schema:PropertyValue", "PropertyValue"),
        ("https://example.com/ns#Thing", "https://example.com/ns#Thing"),
    ],
)
def test_local_name(term: str, expected: str) -> None:
    assert local_name(term) == expected


@pytest.mark.parametrize(
    ("doc", "names", "expected"),
    [
        ({"type": "Person"}, ("Person",), True),
        ({"type": "as:Person"}, ("Person",), True),
        ({"type": "Person"}, ("as:Person",), True),
        ({"type": ["Object", "Person"]}, ("Person",), True),
        ({"@type": "Person"}, ("Person", "Service"), True),
        ({"type": "https://www.w3.org/ns/activitystreams#Note"}, ("Note",), True),
        ({"type": "Note"}, ("Person", "Service"), False),
        ({"type": 42}, ("Person",), False),
        ({"type": [None, 1]}, ("Person",), False),
        ({}, ("Person",), False),
        ("Person", ("Person",), False),
        (None, ("Person",), False),
    ],
)
def test_has_type(doc: Any, names: tuple[str, ...], expected: bool) -> None:
    assert has_type(doc, *names) is expected


def test_get_types_normalises_prefixes() -> None:
    assert get_types({"type": ["as:Person", "toot:Bot", 7]}) == ["Person", "Bot"]


def test_get_prop_finds_takahe_prefixed_discoverable() -> None:
    takahe = load("takahe/actor.json")
    assert "discoverable" not in takahe
    assert get_prop(takahe, "discoverable") is True


def test_get_prop_finds_fedify_compacted_sensitive() -> None:
    note = load("fedify/note-compacted-lookup.json")
    assert get_prop(note, "sensitive") is False
    assert is_public(get_prop(note, "to"))
    assert get_ids(get_prop(note, "cc")) == ["https://todon.eu/users/hongminhee/followers"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"discoverable": True, "toot:discoverable": False}, True),  # plain key wins
        ({"http://joinmastodon.org/ns#discoverable": True}, True),
        ({"toot:discoverable": {"@value": True}}, True),
        ({}, None),
    ],
)
def test_get_prop_spellings(doc: dict[str, Any], expected: Any) -> None:
    assert get_prop(doc, "discoverable") == expected


def test_get_prop_on_non_object() -> None:
    assert get_prop(["x"], "id") is None
    assert get_prop(None, "id") is None


def test_language_value_prefers_plain_then_map() -> None:
    note = load("fedify/note-compacted-lookup.json")
    assert language_value(note, "content") == note["content"]
    only_map = {"contentMap": {"en": "hello", "de": "hallo"}}
    assert language_value(only_map, "content") == "hello"
    assert language_value(only_map, "content", languages=("de",)) == "hallo"
    assert language_value(only_map, "content", languages=("fr",)) == "hello"
    assert language_value({"contentMap": {"en": "hi", "und": "x"}}, "content") == "x"


@pytest.mark.parametrize(
    "doc",
    [{}, {"content": 42}, {"contentMap": "x"}, {"contentMap": {"en": 1}}, {"content": None}, []],
)
def test_language_value_missing_or_garbage(doc: Any) -> None:
    assert language_value(doc, "content") is None


def test_language_value_reads_value_objects_and_lists() -> None:
    assert language_value({"name": {"@value": "x", "@language": "en"}}, "name") == "x"
    assert language_value({"name": [1, "y"]}, "name") == "y"
    assert language_value({"as:summary": "s"}, "summary") == "s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-16T00:00:00Z", datetime(2016, 3, 16, tzinfo=UTC)),
        ("2020-01-17T01:38:22.348392Z", datetime(2020, 1, 17, 1, 38, 22, 348392, tzinfo=UTC)),
        ("2024-03-26T19:34:06.073Z", datetime(2024, 3, 26, 19, 34, 6, 73000, tzinfo=UTC)),
        ("2022-05-20T11:09:18.123456789Z", datetime(2022, 5, 20, 11, 9, 18, 123456, tzinfo=UTC)),
        ("2016-03-16T02:00:00+02:00", datetime(2016, 3, 16, tzinfo=UTC)),
        ("2016-03-15T19:00:00-05:00", datetime(2016, 3, 16, tzinfo=UTC)),
        ("2016-03-16T00:00:00", datetime(2016, 3, 16, tzinfo=UTC)),
        ("2016-03-16t00:00:00z", datetime(2016, 3, 16, tzinfo=UTC)),
        (" 2016-03-16T00:00:00Z ", datetime(2016, 3, 16, tzinfo=UTC)),
    ],
)
def test_parse_datetime(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value", [None, "", "yesterday", "2016-13-01T00:00:00Z", 1458086400, ["2016-03-16"], {}]
)
def test_parse_datetime_rejects_garbage(value: Any) -> None:
    assert parse_datetime(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2016, 3, 16, tzinfo=UTC), "2016-03-16T00:00:00Z"),
        (datetime(2016, 3, 16, 2, tzinfo=timezone(timedelta(hours=2))), "2016-03-16T00:00:00Z"),
        (datetime(2020, 1, 17, 1, 38, 22, 348392, tzinfo=UTC), "2020-01-17T01:38:22.348392Z"),
        (datetime(2016, 3, 16), "2016-03-16T00:00:00Z"),
    ],
)
def test_format_datetime_round_trips(value: datetime, expected: str) -> None:
    assert format_datetime(value) == expected
    assert parse_datetime(expected) == value.replace(tzinfo=value.tzinfo or UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PUBLIC, True),
        ("https://www.w3.org/ns/activitystreams#Public", True),
        ("as:Public", True),
        ("Public", True),
        ({"id": PUBLIC, "type": "Collection"}, True),
        ("https://a.test/users/x/followers", False),
        ("http://www.w3.org/ns/activitystreams#Public#", False),
        ("public", False),
        (None, False),
        (42, False),
    ],
)
def test_is_public(value: Any, expected: bool) -> None:
    assert is_public(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/x", True),
        ("http://localhost:8080/users/x", True),
        ("ftp://a.test/x", False),
        ("/users/x", False),
        ("https://", False),
        ("acct:x@a.test", False),
        ("http://[::1", False),
        (42, False),
        (None, False),
    ],
)
def test_is_http_url(value: Any, expected: bool) -> None:
    assert is_http_url(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/@x", "https://a.test/@x"),
        (["https://a.test/@x", "https://a.test/other"], "https://a.test/@x"),
        ({"type": "Link", "href": "https://a.test/@x"}, "https://a.test/@x"),
        (
            [
                {"type": "Link", "mediaType": "application/x-mpegURL", "href": "https://a.test/m"},
                {"type": "Link", "mediaType": "text/html", "href": "https://a.test/@x"},
            ],
            "https://a.test/@x",
        ),
        ([42, "not a url", {"href": 1}, "https://a.test/ok"], "https://a.test/ok"),
        (None, None),
        ({"type": "Link"}, None),
    ],
)
def test_get_url(value: Any, expected: str | None) -> None:
    assert get_url(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://a.test/a.png", "https://a.test/a.png"),
        ({"type": "Image", "url": "https://a.test/a.png"}, "https://a.test/a.png"),
        ({"type": "Image", "url": {"href": "https://a.test/a.png"}}, "https://a.test/a.png"),
        (
            [
                {"type": "Image", "width": 48, "height": 48, "url": "https://a.test/48.png"},
                {"type": "Image", "width": 120, "height": 120, "url": "https://a.test/120.png"},
            ],
            "https://a.test/120.png",
        ),
        ([{"url": 1}, {"url": "https://a.test/b.png"}], "https://a.test/b.png"),
        (42, None),
        ({"type": "Image"}, None),
    ],
)
def test_get_image_url(value: Any, expected: str | None) -> None:
    assert get_image_url(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("application/activity+json", True),
        ("Application/Activity+JSON; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json;profile=https://www.w3.org/ns/activitystreams", True),
        (
            'application/ld+json; profile="https://example.com/p https://www.w3.org/ns/activitystreams"',
            True,
        ),
        ("application/ld+json", False),
        ('application/ld+json; profile="https://example.com/p"', False),
        ("application/json", False),
        ("text/html", False),
        (None, False),
    ],
)
def test_is_as_media_type(value: Any, expected: bool) -> None:
    assert is_as_media_type(value) is expected


def test_strings_drops_non_strings_and_empties() -> None:
    assert strings(["a", "", 1, None, "b"]) == ["a", "b"]
