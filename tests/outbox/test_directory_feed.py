"""The directory feed's pages, as one division serves them and another reads them: bounded in
people and bytes, `next` always saying where to read from, tombstones for those who left, and
a reader that takes only the feed's own people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from federation.directory import parse_directory_page, since_of, tombstone
from federation.errors import ParseError
from federation.uris import Uris
from outbox.directory import feed_page
from store import accounts, api_queries, keys, users
from store.accounts import NewAccount
from store.db import Database

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
URIS = Uris("https://a.test")


async def _people(db: Database, count: int, note: str = "") -> list[int]:
    made = []
    async with db.transaction() as conn:
        for i in range(count):
            name = f"p{i}"
            new = NewAccount(username=name, domain=None, uri=URIS.actor(name), url=None, note=note)
            account = await accounts.insert_account(conn, db.new_id(), new, T0)
            await keys.insert_key(
                conn,
                db.new_id(),
                account_id=account.id,
                key_uri=URIS.key_id(name),
                public_key_pem=PEM,
                private_key_pem="private",
                now=T0,
            )
            await users.insert_user(
                conn,
                db.new_id(),
                account_id=account.id,
                password_hash="x",
                admin=False,
                must_change_password=False,
                email=None,
                now=T0,
            )
            await api_queries.replace_profile_fields(conn, account.id, [("Title", f"T{i}")])
            made.append(account.id)
    return made


def _names(page: dict[str, Any]) -> list[str]:
    return [item.get("preferredUsername", item["type"]) for item in page["orderedItems"]]


async def test_pages_are_bounded_and_next_says_where_to_read(db: Database) -> None:
    await _people(db, 5)
    first = await feed_page(db, URIS, 0, limit=2)
    assert _names(first) == ["p0", "p1"]
    assert first["id"] == "https://a.test/actor/directory?since=0"
    assert "@context" not in first["orderedItems"][0]
    assert first["orderedItems"][0]["attachment"] == [
        {"type": "PropertyValue", "name": "Title", "value": "T0"}
    ]
    second = await feed_page(db, URIS, since_of(first["next"]) or 0, limit=2)
    assert _names(second) == ["p2", "p3"]
    last = await feed_page(db, URIS, since_of(second["next"]) or 0, limit=2)
    assert _names(last) == ["p4"]
    # past the end: an empty page whose next stays put, so a reader stops
    end = since_of(last["next"])
    assert end is not None
    empty = await feed_page(db, URIS, end)
    assert empty["orderedItems"] == [] and since_of(empty["next"]) == end
    # a cursor beyond this log (a restored database): read again from the beginning
    assert since_of((await feed_page(db, URIS, end + 100))["next"]) == 0


async def test_pages_are_bounded_in_bytes(db: Database) -> None:
    await _people(db, 6, note="x" * 400)
    page = await feed_page(db, URIS, 0, max_bytes=3000)
    assert 1 <= len(page["orderedItems"]) < 6
    one = await feed_page(db, URIS, 0, max_bytes=10)  # one person always fits
    assert len(one["orderedItems"]) == 1


async def test_people_who_leave_are_tombstones(db: Database) -> None:
    ids = await _people(db, 2)
    async with db.transaction() as conn:
        user = await users.get_by_username(conn, "p0")
        assert user is not None
        await users.disable(conn, user.id, T0)
    page = await feed_page(db, URIS, 0)
    assert _names(page) == ["p1", "Tombstone"]  # p0 changed last
    assert page["orderedItems"][1] == tombstone(URIS.actor("p0"))
    assert len(ids) == 2


def _person(uri: str, name: str) -> dict[str, Any]:
    return {"id": uri, "type": "Person", "preferredUsername": name, "inbox": f"{uri}/inbox"}


def test_a_reader_takes_only_the_feeds_own_people() -> None:
    page = parse_directory_page(
        {
            "type": "OrderedCollectionPage",
            "orderedItems": [
                _person("https://c.test/users/carol", "carol"),
                _person("https://evil.test/users/mallory", "mallory"),  # not c.test's
                {"id": "https://c.test/users/x", "type": "Note"},  # not an actor
                {"type": "Person"},  # no id
                "https://c.test/users/bare",  # a bare link
                tombstone("https://c.test/users/cleo"),
                tombstone("https://b.test/users/bob"),  # c.test cannot say who left b.test
            ],
            "next": "https://c.test/actor/directory?since=42",
        },
        "c.test",
    )
    assert [p.preferred_username for p in page.people] == ["carol"]
    assert page.gone == ("https://c.test/users/cleo",)
    assert page.skipped == 5
    assert page.next_since == 42


@pytest.mark.parametrize(
    "next_link",
    [None, "https://evil.test/actor/directory?since=9", "https://c.test/actor/directory?since=x"],
)
def test_an_unusable_next_is_none(next_link: str | None) -> None:
    document: dict[str, Any] = {"type": "OrderedCollectionPage", "items": []}
    if next_link is not None:
        document["next"] = next_link
    assert parse_directory_page(document, "c.test").next_since is None


def test_not_a_page_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_directory_page({"type": "Person"}, "c.test")
