"""Filters as Mastodon has them: the v2 API (filters, their keywords and statuses, with
`keywords_attributes` and `_destroy`), the v1 form (one keyword per filter), and what filters
do to what a reader is shown: `warn` marks statuses `filtered` with FilterResults in the
filter's contexts, `hide` leaves them out of home, public and hashtag timelines,
notifications, threads and profiles; keywords match like Mastodon's (case-insensitive,
`whole_word` at word boundaries, spoiler text too); expired filters do nothing."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from store.records import StatusRecord
from tests.conftest import MakeConfig, running
from tests.rig import Rig
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.filters import FilterView, keyword_pattern, searchable_text, view_of

FILTER_KEYS = ["id", "title", "context", "expires_at", "filter_action", "keywords", "statuses"]
V1_KEYS = ["id", "phrase", "context", "whole_word", "expires_at", "irreversible"]


async def ok(request: Awaitable[httpx.Response]) -> Any:
    """The JSON of a request that must succeed."""
    response = await request
    assert response.status_code == 200, response.text
    return response.json()


async def post(client: httpx.AsyncClient, text: str, **fields: Any) -> Any:
    return await ok(client.post("/api/v1/statuses", json={"status": text, **fields}))


async def new_filter(
    client: httpx.AsyncClient, title: str, context: list[str], *keywords: str, **fields: Any
) -> Any:
    body = {
        "title": title,
        "context": context,
        "keywords_attributes": [{"keyword": k, "whole_word": True} for k in keywords],
        **fields,
    }
    return await ok(client.post("/api/v2/filters", json=body))


def encoded(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A urlencoded body with repeated keys, as apps send forms."""
    return {
        "content": urlencode(pairs),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


def ids(statuses: list[dict[str, Any]]) -> list[str]:
    return [status["id"] for status in statuses]


# ----- v2 CRUD -------------------------------------------------------------------------------


async def test_v2_filters_crud_with_keywords_attributes(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        assert await ok(alice.get("/api/v2/filters")) == []

        # Create: JSON with keywords, as Mastodon.py and masto.js send it
        made = await new_filter(
            alice, "Spoilers", ["home", "public"], "finale", "plot twist", filter_action="hide"
        )
        assert list(made) == FILTER_KEYS
        assert made["context"] == ["home", "public"] and made["filter_action"] == "hide"
        assert made["expires_at"] is None and made["statuses"] == []
        assert [k["keyword"] for k in made["keywords"]] == ["finale", "plot twist"]
        assert list(made["keywords"][0]) == ["id", "keyword", "whole_word"]

        # Create: a form, keywords as Rails reads `keywords_attributes[][...]` (Tusky)
        form = [
            ("title", "Work"),
            ("context[]", "notifications"),
            ("context[]", "thread"),
            ("expires_in", "3600"),
            ("keywords_attributes[][keyword]", "deadline"),
            ("keywords_attributes[][whole_word]", "false"),
            ("keywords_attributes[][keyword]", "Q3"),
        ]
        work = await ok(alice.post("/api/v2/filters", **encoded(form)))
        assert work["filter_action"] == "warn" and work["context"] == ["notifications", "thread"]
        assert work["expires_at"].endswith("Z") and "." in work["expires_at"]
        assert [(k["keyword"], k["whole_word"]) for k in work["keywords"]] == [
            ("deadline", False),
            ("Q3", True),
        ]
        listed = await ok(alice.get("/api/v2/filters"))
        assert [f["title"] for f in listed] == ["Spoilers", "Work"]
        assert await ok(alice.get(f"/api/v2/filters/{made['id']}")) == made

        # Update: title, action, a changed keyword, a destroyed one and a new one
        finale, twist = made["keywords"]
        changed = await ok(
            alice.put(
                f"/api/v2/filters/{made['id']}",
                json={
                    "title": "TV spoilers",
                    "filter_action": "warn",
                    "keywords_attributes": [
                        {"id": finale["id"], "keyword": "season finale", "whole_word": False},
                        {"id": twist["id"], "_destroy": True},
                        {"keyword": "cliffhanger"},
                    ],
                },
            )
        )
        assert changed["title"] == "TV spoilers" and changed["filter_action"] == "warn"
        assert changed["context"] == ["home", "public"]  # not sent, not changed
        assert [(k["keyword"], k["whole_word"]) for k in changed["keywords"]] == [
            ("season finale", False),
            ("cliffhanger", True),
        ]
        cleared = await ok(alice.put(f"/api/v2/filters/{work['id']}", json={"expires_in": ""}))
        assert cleared["expires_at"] is None

        # Another user reaches none of it
        assert (await bob.get(f"/api/v2/filters/{made['id']}")).status_code == 404
        assert (await bob.delete(f"/api/v2/filters/{made['id']}")).status_code == 404
        assert await ok(bob.get("/api/v2/filters")) == []

        # Delete
        assert await ok(alice.delete(f"/api/v2/filters/{made['id']}")) == {}
        assert (await alice.get(f"/api/v2/filters/{made['id']}")).status_code == 404
        assert (await alice.get(f"/api/v2/filters/keywords/{finale['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"context": ["home"]}, "Title can't be blank"),
        ({"title": "x"}, "invalid context"),
        ({"title": "x", "context": ["home", "everywhere"]}, "invalid context"),
        ({"title": "x", "context": ["home"], "filter_action": "explode"}, "Filter action"),
        ({"title": "x", "context": ["home"], "expires_in": "soon"}, "Expires in"),
        (
            {"title": "x", "context": ["home"], "keywords_attributes": [{"whole_word": True}]},
            "keyword can't be blank",
        ),
    ],
)
async def test_invalid_filters_are_refused(rig: Rig, body: dict[str, Any], message: str) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        response = await alice.post("/api/v2/filters", json=body)
        assert response.status_code == 422
        assert response.json()["error"].startswith("Validation failed: ")
        assert message in response.json()["error"]
        assert await ok(alice.get("/api/v2/filters")) == []


async def test_filters_need_their_scopes(rig: Rig) -> None:
    reader = await rig.api_client("a.test", "alice", "read:filters")
    writer = await rig.api_client("a.test", "alice", "write:filters")
    other = await rig.api_client("a.test", "alice", "read:statuses write:statuses")
    async with reader, writer, other:
        body = {"title": "x", "context": ["home"]}
        assert (await reader.post("/api/v2/filters", json=body)).status_code == 403
        assert (await writer.post("/api/v2/filters", json=body)).status_code == 200
        assert (await other.get("/api/v2/filters")).status_code == 403
        assert (await other.get("/api/v1/filters")).status_code == 403
        assert len(await ok(reader.get("/api/v2/filters"))) == 1


async def test_keyword_and_status_endpoints(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        made = await new_filter(alice, "Noise", ["home"])
        base = f"/api/v2/filters/{made['id']}"

        keyword = await ok(alice.post(f"{base}/keywords", data={"keyword": "crypto"}))
        assert keyword == {"id": keyword["id"], "keyword": "crypto", "whole_word": True}
        assert await ok(alice.get(f"{base}/keywords")) == [keyword]
        assert await ok(alice.get(f"/api/v2/filters/keywords/{keyword['id']}")) == keyword
        changed = await ok(
            alice.put(f"/api/v2/filters/keywords/{keyword['id']}", data={"whole_word": "false"})
        )
        assert changed == {**keyword, "whole_word": False}
        assert (await bob.get(f"/api/v2/filters/keywords/{keyword['id']}")).status_code == 404
        assert await ok(alice.delete(f"/api/v2/filters/keywords/{keyword['id']}")) == {}
        assert await ok(alice.get(f"{base}/keywords")) == []

        seen = await post(bob, "a post alice can see")
        hidden = await post(bob, "@carol not for alice", visibility="direct")
        entry = await ok(alice.post(f"{base}/statuses", data={"status_id": seen["id"]}))
        assert entry == {"id": entry["id"], "status_id": seen["id"]}
        again = await alice.post(f"{base}/statuses", data={"status_id": seen["id"]})
        assert again.status_code == 422 and "already been taken" in again.json()["error"]
        refused = await alice.post(f"{base}/statuses", data={"status_id": hidden["id"]})
        assert refused.status_code == 422
        assert await ok(alice.get(f"{base}/statuses")) == [entry]
        assert await ok(alice.get(f"/api/v2/filters/statuses/{entry['id']}")) == entry
        assert (await ok(alice.get(base)))["statuses"] == [entry]
        assert (await bob.delete(f"/api/v2/filters/statuses/{entry['id']}")).status_code == 404
        assert await ok(alice.delete(f"/api/v2/filters/statuses/{entry['id']}")) == {}
        assert await ok(alice.get(f"{base}/statuses")) == []


# ----- v1 ------------------------------------------------------------------------------------


async def test_v1_filters_are_one_keyword_each(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    async with alice:
        form = [("phrase", "election"), ("context[]", "home"), ("irreversible", "true")]
        v1 = await ok(alice.post("/api/v1/filters", **encoded(form)))
        assert list(v1) == V1_KEYS
        assert (v1["phrase"], v1["context"], v1["whole_word"], v1["irreversible"]) == (
            "election",
            ["home"],
            True,
            True,
        )
        # ... seen by v2 as a filter titled by the phrase, with that keyword
        (v2,) = await ok(alice.get("/api/v2/filters"))
        assert (v2["title"], v2["filter_action"]) == ("election", "hide")
        assert [k["id"] for k in v2["keywords"]] == [v1["id"]]
        assert await ok(alice.get("/api/v1/filters")) == [v1]
        assert await ok(alice.get(f"/api/v1/filters/{v1['id']}")) == v1

        updated = await ok(
            alice.put(
                f"/api/v1/filters/{v1['id']}",
                data={"phrase": "elections", "whole_word": "false", "irreversible": "false"},
            )
        )
        assert (updated["phrase"], updated["whole_word"], updated["irreversible"]) == (
            "elections",
            False,
            False,
        )

        # A v2 filter with two keywords shows as two v1 filters; its shared fields are locked
        two = await new_filter(alice, "Sports", ["public"], "football", "cricket")
        v1_list = await ok(alice.get("/api/v1/filters"))
        assert [f["phrase"] for f in v1_list] == ["elections", "football", "cricket"]
        football = two["keywords"][0]["id"]
        locked = await alice.put(f"/api/v1/filters/{football}", data={"context[]": "home"})
        assert locked.status_code == 422
        whole_word_only = await alice.put(
            f"/api/v1/filters/{football}", data={"whole_word": "false"}
        )
        assert whole_word_only.status_code == 200, whole_word_only.text

        # Deleting a v1 filter deletes its keyword
        assert await ok(alice.delete(f"/api/v1/filters/{football}")) == {}
        assert [f["phrase"] for f in await ok(alice.get("/api/v1/filters"))] == [
            "elections",
            "cricket",
        ]
        assert (await alice.get(f"/api/v1/filters/{football}")).status_code == 404


# ----- matching ------------------------------------------------------------------------------


def _status(text: str = "", *, content: str = "", spoiler: str = "", local: bool = True) -> Any:
    """A status record with only what matching reads (fields added later default to None)."""
    values: dict[str, Any] = {f.name: None for f in fields(StatusRecord)}
    values.update(
        id=1, uri="https://a.test/s/1", account_id=1, local=local, visibility="public",
        object_type="Note", text=text, content=content, spoiler_text=spoiler, sensitive=False,
        replies_count=0, reblogs_count=0, favourites_count=0, created_at=datetime.now(UTC),
    )  # fmt: skip
    return StatusRecord(**values)


@pytest.mark.parametrize(
    ("keyword", "whole_word", "text", "matched"),
    [
        ("cat", True, "My Cat! sleeps", "Cat"),
        ("cat", True, "concatenate the lists", None),
        ("cat", False, "concatenate the lists", "cat"),
        ("#tag", True, "look #tag here", "#tag"),
        ("c++", True, "I write C++ daily", "C++"),
        ("new york", True, "in New  York", None),
        ("new york", True, "in New York today", "New York"),
        ("a.b", False, "axb", None),
    ],
)
def test_keywords_match_like_mastodon(
    keyword: str, whole_word: bool, text: str, matched: str | None
) -> None:
    found = re.search(keyword_pattern(keyword, whole_word), text, re.IGNORECASE)
    assert (found.group(0) if found else None) == matched


def test_remote_html_and_spoiler_text_are_searched() -> None:
    remote = _status(content="<p>first</p><p>second<br>third</p>", local=False)
    assert searchable_text(remote).split() == ["first", "second", "third"]
    warned = _status("plain body", spoiler="finale spoilers")
    assert "finale spoilers" in searchable_text(warned)
    assert FilterView().matches(warned) == []


# ----- applying ------------------------------------------------------------------------------


async def test_warn_marks_statuses_filtered_in_the_filter_conids(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        alice_id = (await ok(alice.get("/api/v1/accounts/verify_credentials")))["id"]
        await ok(bob.post(f"/api/v1/accounts/{alice_id}/follow"))
        made = await new_filter(bob, "Spoilers", ["home", "thread"], "finale")
        spoiler = await post(alice, "The FINALE was wild")
        calm = await post(alice, "nothing to see")

        (clean, flagged) = await ok(bob.get("/api/v1/timelines/home"))
        assert (flagged["id"], clean["id"]) == (spoiler["id"], calm["id"])
        assert clean["filtered"] == []
        (result,) = flagged["filtered"]
        assert result == {
            "filter": {
                "id": made["id"],
                "title": "Spoilers",
                "context": ["home", "thread"],
                "expires_at": None,
                "filter_action": "warn",
            },
            "keyword_matches": ["FINALE"],
            "status_matches": None,
        }
        # Not a `public` filter: the public timeline shows the status unmarked
        public = await ok(bob.get("/api/v1/timelines/public"))
        assert [s["filtered"] for s in public if s["id"] == spoiler["id"]] == [[]]
        # A single status (no context) reports every filter in force, as Mastodon
        single = await ok(bob.get(f"/api/v1/statuses/{spoiler['id']}"))
        assert [r["filter"]["id"] for r in single["filtered"]] == [made["id"]]
        # The author has no filters: nothing is marked for her
        assert (await ok(alice.get("/api/v1/timelines/home")))[0]["filtered"] == []

        # A boost of the post is filtered as the post, inside and out
        carol = await rig.api_client("a.test", "carol")
        async with carol:
            carol_id = (await ok(carol.get("/api/v1/accounts/verify_credentials")))["id"]
            await ok(bob.post(f"/api/v1/accounts/{carol_id}/follow"))
            await ok(carol.post(f"/api/v1/statuses/{spoiler['id']}/reblog"))
        boost = (await ok(bob.get("/api/v1/timelines/home")))[0]
        assert boost["reblog"]["id"] == spoiler["id"]
        assert [r["filter"]["id"] for r in boost["filtered"]] == [made["id"]]
        assert [r["filter"]["id"] for r in boost["reblog"]["filtered"]] == [made["id"]]


async def test_hide_removes_statuses_from_home_notifications_threads_and_profiles(
    rig: Rig,
) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        alice_id = (await ok(alice.get("/api/v1/accounts/verify_credentials")))["id"]
        await ok(bob.post(f"/api/v1/accounts/{alice_id}/follow"))
        root = await post(bob, "what did you think of the show?")
        spoiler = await post(alice, "@bob the finale!", in_reply_to_id=root["id"])
        calm = await post(alice, "@bob it was fine", in_reply_to_id=root["id"])

        # Before: everything shows
        assert spoiler["id"] in ids(await ok(bob.get("/api/v1/timelines/home")))
        # When bob hides "finale" in home, notifications, thread and account
        await new_filter(
            bob,
            "No spoilers",
            ["home", "notifications", "thread", "account"],
            "finale",
            filter_action="hide",
        )
        home = ids(await ok(bob.get("/api/v1/timelines/home")))
        assert spoiler["id"] not in home and calm["id"] in home
        notes = await ok(bob.get("/api/v1/notifications"))
        assert [n["status"]["id"] for n in notes] == [calm["id"]]
        context = await ok(bob.get(f"/api/v1/statuses/{root['id']}/context"))
        assert ids(context["descendants"]) == [calm["id"]]
        profile = await ok(bob.get(f"/api/v1/accounts/{alice_id}/statuses"))
        assert ids(profile) == [calm["id"]]
        # Not a public filter: the public timeline still shows it, marked
        public = await ok(bob.get("/api/v1/timelines/public"))
        assert [s["filtered"] for s in public if s["id"] == spoiler["id"]] == [[]]
        # Another reader is not affected
        assert spoiler["id"] in ids(await ok(alice.get("/api/v1/timelines/home")))


async def test_status_filters_hide_the_status_and_its_boosts_in_public_and_tags(rig: Rig) -> None:
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("a.test", "bob")
    async with alice, bob:
        noisy = await post(alice, "the #launch is today")
        other = await post(alice, "another #launch note")
        made = await new_filter(bob, "That one", ["public"], filter_action="hide")
        await ok(
            bob.post(f"/api/v2/filters/{made['id']}/statuses", data={"status_id": noisy["id"]})
        )
        public = ids(await ok(bob.get("/api/v1/timelines/public")))
        assert noisy["id"] not in public and other["id"] in public
        tagged = ids(await ok(bob.get("/api/v1/timelines/tag/launch")))
        assert tagged == [other["id"]]
        # Shown where the filter does not apply, with its status match
        single = await ok(bob.get(f"/api/v1/statuses/{noisy['id']}"))
        assert single["filtered"][0]["status_matches"] == [noisy["id"]]
        assert single["filtered"][0]["keyword_matches"] is None


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_expired_filters_stay_listed_and_do_nothing(make_config: MakeConfig) -> None:
    clock = Clock()
    config = make_config("a.test")
    app = create_app(config, clock=clock)
    async with running(app, config.instance.base_url) as client:
        svc = app.state.services
        for name in ("alice", "bob"):
            await create_user(svc.db, svc.uris, name, now=clock(), password="password123")
        tokens = {
            name: await create_token(svc.db, name, ("read", "write", "follow"), clock())
            for name in ("alice", "bob")
        }

        def as_(name: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[name]}"}

        alice = await client.get("/api/v1/accounts/verify_credentials", headers=as_("alice"))
        await client.post(f"/api/v1/accounts/{alice.json()['id']}/follow", headers=as_("bob"))
        body = {
            "title": "For an hour",
            "context": ["home"],
            "filter_action": "hide",
            "expires_in": 3600,
            "keywords_attributes": [{"keyword": "rumour"}],
        }
        made = (await client.post("/api/v2/filters", json=body, headers=as_("bob"))).json()
        expected = clock() + timedelta(hours=1)
        assert made["expires_at"][:16] == expected.strftime("%Y-%m-%dT%H:%M")
        status = await client.post(
            "/api/v1/statuses", json={"status": "a rumour"}, headers=as_("alice")
        )
        assert status.status_code == 200

        home = (await client.get("/api/v1/timelines/home", headers=as_("bob"))).json()
        assert home == []

        # When the hour has passed, the filter is still listed but hides nothing
        clock.now += timedelta(hours=1, seconds=1)
        home = (await client.get("/api/v1/timelines/home", headers=as_("bob"))).json()
        assert [s["id"] for s in home] == [status.json()["id"]] and home[0]["filtered"] == []
        listed = (await client.get("/api/v2/filters", headers=as_("bob"))).json()
        assert [f["id"] for f in listed] == [made["id"]]


def test_a_view_without_context_never_hides() -> None:
    assert view_of([], None).hides(_status("anything")) is False
