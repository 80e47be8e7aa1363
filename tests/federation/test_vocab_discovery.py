"""Other servers' WebFinger and NodeInfo answers parse; unusable ones raise `ParseError`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from federation.discovery_docs import (
    Jrd,
    JrdLink,
    NodeInfo,
    newest_nodeinfo_href,
    parse_jrd,
    parse_nodeinfo,
    parse_nodeinfo_links,
)
from federation.errors import ParseError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"


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


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


EXPECTED_JRD = {
    "mastodon/webfinger-gargron.json": (
        "acct:Gargron@mastodon.social",
        "https://mastodon.social/users/Gargron",
    ),
    "pixelfed/webfinger-dansup.json": (
        "acct:dansup@pixelfed.social",
        "https://pixelfed.social/users/dansup",
    ),
    "pleroma/webfinger-karolat.json": (
        "acct:karolat@stereophonic.space",
        "https://stereophonic.space/users/karolat",
    ),
    "threads/webfinger-mosseri.json": (
        "acct:mosseri@threads.net",
        "https://www.threads.net/ap/users/mosseri/",
    ),
    "wordpress/webfinger-tobias-friendi-ca.json": (
        "acct:tobias@friendi.ca",
        "https://friendi.ca/author/tobias/",
    ),
}


def test_every_webfinger_and_nodeinfo_fixture_is_covered() -> None:
    assert indexed_files("webfinger") == sorted(EXPECTED_JRD)
    assert len(EXPECTED_JRD) == 5
    assert indexed_files("nodeinfo") == [
        "akkoma/nodeinfo-2.0.json",
        "akkoma/nodeinfo-well-known.json",
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED_JRD))
def test_webfinger_fixture_parses(name: str) -> None:
    subject, actor_url = EXPECTED_JRD[name]
    doc = load(name)
    jrd = parse_jrd(doc)
    assert jrd.subject == subject
    assert jrd.actor_url() == actor_url
    assert len(jrd.links) == len(doc["links"])


def test_gargron_jrd_in_full() -> None:
    jrd = parse_jrd(load("mastodon/webfinger-gargron.json"))
    assert jrd.aliases == (
        "https://mastodon.social/@Gargron",
        "https://mastodon.social/users/Gargron",
    )
    assert jrd.links[2] == JrdLink(
        rel="http://ostatus.org/schema/1.0/subscribe",
        template="https://mastodon.social/authorize_interaction?uri={uri}",
    )


def test_threads_jrd_without_aliases() -> None:
    assert parse_jrd(load("threads/webfinger-mosseri.json")).aliases == ()


def test_wordpress_repeated_alias_kept_once() -> None:
    jrd = parse_jrd(load("wordpress/webfinger-tobias-friendi-ca.json"))
    assert jrd.aliases == (
        "acct:tobias@friendi.ca",
        "https://friendi.ca/author/tobias/",
        "https://friendi.ca/@tobias",
    )


def test_actor_url_from_ld_json_profile_link_alone() -> None:
    doc = load("pleroma/webfinger-karolat.json")
    doc["links"] = [
        link for link in doc["links"] if link.get("type") != "application/activity+json"
    ]
    assert parse_jrd(doc).actor_url() == "https://stereophonic.space/users/karolat"


@pytest.mark.parametrize(
    "links",
    [
        [],
        [{"rel": "self", "type": "text/html", "href": "https://a.test/@x"}],
        [{"rel": "self", "type": "application/ld+json", "href": "https://a.test/x"}],
        [{"rel": "self", "href": "https://a.test/x"}],
        [{"rel": "self", "type": "application/activity+json", "href": "/users/x"}],
        [{"rel": "profile", "type": "application/activity+json", "href": "https://a.test/x"}],
    ],
)
def test_actor_url_absent(links: list[dict[str, Any]]) -> None:
    assert parse_jrd({"subject": "acct:x@a.test", "links": links}).actor_url() is None


def test_jrd_garbage_entries_are_dropped() -> None:
    jrd = parse_jrd(
        {
            "subject": "acct:x@a.test",
            "aliases": [1, None, "https://a.test/x"],
            "links": [
                1,
                "self",
                {"type": "application/activity+json", "href": "https://a.test/no-rel"},
                {"rel": 5, "href": "https://a.test/bad-rel"},
                {"rel": "self", "type": ["x"], "href": {"x": 1}},
            ],
        }
    )
    assert jrd == Jrd(
        subject="acct:x@a.test",
        aliases=("https://a.test/x",),
        links=(JrdLink(rel="self"),),
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "must be a JSON object"),
        ("acct:x@a.test", "must be a JSON object"),
        (None, "must be a JSON object"),
        ({"links": []}, "no subject"),
        ({"subject": 42}, "no subject"),
        ({"subject": ""}, "no subject"),
        ({"subject": ["acct:x@a.test"]}, "no subject"),
    ],
)
def test_malformed_jrd_raises_parse_error(doc: Any, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_jrd(doc)


def test_akkoma_nodeinfo() -> None:
    info = parse_nodeinfo(load("akkoma/nodeinfo-2.0.json"))
    assert (info.version, info.software_name, info.software_version) == ("2.0", "pleroma", "2.4.1")
    assert info.protocols == ("activitypub",)
    assert info.open_registrations is True
    assert info.total_users == 235
    assert info.metadata["nodeName"] == "Example"
    assert "mastodon_api" in info.metadata["features"]
    with pytest.raises(TypeError):
        info.metadata["nodeName"] = "changed"  # type: ignore[index]
    hash(info)


def test_akkoma_nodeinfo_well_known() -> None:
    links = parse_nodeinfo_links(load("akkoma/nodeinfo-well-known.json"))
    assert links == [
        (
            "http://nodeinfo.diaspora.software/ns/schema/2.0",
            "https://example.com/nodeinfo/2.0.json",
        ),
        (
            "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "https://example.com/nodeinfo/2.1.json",
        ),
    ]
    assert newest_nodeinfo_href(links) == "https://example.com/nodeinfo/2.1.json"
    assert newest_nodeinfo_href(links[:1]) == "https://example.com/nodeinfo/2.0.json"
    assert newest_nodeinfo_href([("http://example.com/other", "https://a.test/x")]) is None


def test_nodeinfo_links_drop_garbage() -> None:
    doc = {
        "links": [
            1,
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0"},
            {"rel": 3, "href": "https://a.test/x"},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": "/relative"},
            {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": "https://a.test/n"},
        ]
    }
    assert parse_nodeinfo_links(doc) == [
        ("http://nodeinfo.diaspora.software/ns/schema/2.1", "https://a.test/n")
    ]


@pytest.mark.parametrize("doc", [[], None, {}, {"links": "x"}, {"links": {"rel": "x"}}])
def test_malformed_nodeinfo_links_raise_parse_error(doc: Any) -> None:
    with pytest.raises(ParseError):
        parse_nodeinfo_links(doc)


def test_minimal_and_odd_nodeinfo() -> None:
    info = parse_nodeinfo(
        {
            "version": "1.0",
            "software": {"name": "Friendica"},
            "protocols": {"inbound": ["activitypub", "diaspora"], "outbound": ["activitypub"]},
            "openRegistrations": "yes",
            "usage": {"users": {"total": True}},
            "metadata": [1, 2],
        }
    )
    assert info == NodeInfo(
        version="1.0",
        software_name="friendica",
        software_version=None,
        protocols=("activitypub", "diaspora"),
        open_registrations=None,
        total_users=None,
    )


@pytest.mark.parametrize(
    "doc",
    [
        [],
        None,
        {},
        {"software": {"name": "mastodon"}},
        {"version": "2.0"},
        {"version": "2.0", "software": "mastodon"},
        {"version": "2.0", "software": {"name": 42}},
        {"version": 2.0, "software": {"name": "mastodon"}},
    ],
)
def test_malformed_nodeinfo_raises_parse_error(doc: Any) -> None:
    with pytest.raises(ParseError):
        parse_nodeinfo(doc)
