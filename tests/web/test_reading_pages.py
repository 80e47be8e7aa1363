"""The reading pages over HTTP, in process: notifications (and answering a follow request),
search with its operators, the people directory with its department filter, bookmarks and
favourites, and the buttons of a status card (CSRF-checked, through the publisher)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import httpx
import pytest

from outbox.publish import ProfileChange
from store import accounts, follows, threads
from store.records import AccountRecord, StatusRecord
from watercooler.accounts import create_user
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str) -> AccountRecord:
    await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD)
    return await _account(svc, name)


async def _account(svc: Services, name: str) -> AccountRecord:
    async with svc.db.read() as conn:
        found = await accounts.get_local(conn, name)
    assert found is not None
    return found


async def _profile(
    svc: Services,
    name: str,
    *,
    display_name: str = "",
    locked: bool = False,
    fields: tuple[tuple[str, str], ...] = (),
) -> AccountRecord:
    """Save a profile as the settings do (the publisher's `update_profile`)."""
    account = await _account(svc, name)
    change = ProfileChange(
        display_name=display_name,
        note="",
        locked=locked,
        discoverable=True,
        actor_type="Person",
        avatar_file=None,
        header_file=None,
        fields=fields,
    )
    await svc.publisher.update_profile(account, change)
    return await _account(svc, name)


@pytest.fixture
async def alice(instance: Instance) -> httpx.AsyncClient:
    """The instance's client, signed in to the web pages as alice."""
    svc, client = instance
    await _user(svc, "alice")
    answer = await sign_in(client, "alice", PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


async def _index(svc: Services) -> None:
    """Run the search indexer until it has nothing left (it runs off the request path)."""
    while await svc.workers.search.run_once():
        pass


def _text(page: httpx.Response) -> str:
    """A page's text without tags, entities decoded: what a reader sees."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


async def _press(
    client: httpx.AsyncClient, page: str, status_id: int, action: str
) -> httpx.Response:
    """Press a card's button on `page`, as the form there sends it."""
    shown = await client.get(page)
    assert f'action="/web/statuses/{status_id}/{action}"' in shown.text, (page, action)
    return await client.post(
        f"/web/statuses/{status_id}/{action}",
        data={"csrf_token": csrf_token(shown), "next": f"{page}#status-{status_id}"},
    )


# ----- notifications -------------------------------------------------------------------------


async def test_notifications_say_who_did_what(instance: Instance, alice: httpx.AsyncClient) -> None:
    svc, _ = instance
    me = await _account(svc, "alice")
    await _user(svc, "bob")
    bob = await _profile(svc, "bob", display_name="Bob B")
    mine = await svc.publisher.post(me, "Our numbers are in", visibility="public")
    await svc.publisher.follow(bob, me)
    await svc.publisher.like(bob, mine)
    mention = await svc.publisher.post(bob, "@alice lunch today?", visibility="public")

    page = await alice.get("/web/notifications")
    assert page.status_code == 200
    assert 'aria-current="page"' in page.text
    text = _text(page)
    for words in ("Bob B", "mentioned you", "favourited your post", "followed you"):
        assert words in text, words
    assert text.index("mentioned you") < text.index("favourited your post")  # newest first
    assert f'href="/web/accounts/{bob.id}"' in page.text
    assert f'href="/web/statuses/{mention.id}"' in page.text
    assert f'href="/web/statuses/{mine.id}"' in page.text
    assert "lunch today?" in text and "Our numbers are in" in text

    only_older = await alice.get(f"/web/notifications?max_id={min_id(page)}")
    assert "mentioned you" not in _text(only_older)


def min_id(page: httpx.Response) -> int:
    return min(int(found) for found in re.findall(r'id="notification-(\d+)"', page.text))


async def test_a_follow_request_is_accepted_from_the_page(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    me = await _profile(svc, "alice", locked=True)
    bob = await _user(svc, "bob")
    await svc.publisher.follow(bob, me)
    page = await alice.get("/web/notifications")
    assert "asked to follow you" in _text(page)
    assert f'action="/web/follow_requests/{bob.id}/authorize"' in page.text

    refused = await alice.post(f"/web/follow_requests/{bob.id}/authorize", data={})
    assert refused.status_code == 403
    async with svc.db.read() as conn:
        assert (await follows.get(conn, bob.id, me.id)).state == follows.PENDING  # type: ignore[union-attr]

    answer = await alice.post(
        f"/web/follow_requests/{bob.id}/authorize",
        data={"csrf_token": csrf_token(page), "next": "/web/notifications"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/notifications"
    async with svc.db.read() as conn:
        record = await follows.get(conn, bob.id, me.id)
    assert record is not None and record.state != follows.PENDING
    after = await alice.get("/web/notifications")
    assert "asked to follow you" not in _text(after)
    again = await alice.post(
        f"/web/follow_requests/{bob.id}/reject", data={"csrf_token": csrf_token(after)}
    )
    assert again.status_code == 404  # answered already


# ----- search --------------------------------------------------------------------------------


async def test_search_finds_posts_people_and_hashtags_it_may_show(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    me = await _account(svc, "alice")
    await _user(svc, "bob")
    bob = await _profile(svc, "bob", display_name="Bob Builder")
    carol = await _user(svc, "carol")
    await svc.publisher.post(me, "The forecast for the #budget is ready", visibility="public")
    by_bob = await svc.publisher.post(bob, "My forecast: sunny", visibility="org")
    await svc.publisher.post(carol, "Secret forecast for my followers", visibility="private")
    await _index(svc)

    found = await alice.get("/web/search", params={"q": "forecast"})
    assert found.status_code == 200
    text = _text(found)
    assert "The forecast for the" in text and "My forecast: sunny" in text
    assert "Secret forecast" not in text  # carol's followers-only post: alice does not follow

    by_operator = _text(await alice.get("/web/search", params={"q": "from:bob forecast"}))
    assert "My forecast: sunny" in by_operator and "The forecast for the" not in by_operator
    excluded = _text(await alice.get("/web/search", params={"q": "forecast -sunny"}))
    assert "My forecast: sunny" not in excluded and "The forecast for the" in excluded
    assert "has:media" in text  # the help lists the operators

    people = await alice.get("/web/search", params={"q": "Builder", "type": "accounts"})
    assert "Bob Builder" in _text(people)
    assert f'href="/web/accounts/{bob.id}"' in people.text
    assert f'action="/web/accounts/{bob.id}/follow"' in people.text
    assert 'name="next" value="/web/search?q=Builder&amp;type=accounts#account-' in people.text

    tags = await alice.get("/web/search", params={"q": "#bud"})
    assert 'href="/web/tags/budget"' in tags.text
    tag_page = await alice.get("/web/tags/budget")
    assert tag_page.status_code == 200
    assert "The forecast for the" in _text(tag_page)
    assert (await alice.get("/web/tags/no-such-tag!")).status_code == 404

    post_card = f'id="status-{by_bob.id}"'
    assert post_card in found.text
    nothing = await alice.get("/web/search", params={"q": "zebra"})
    assert "Nothing found" in _text(nothing)


async def test_search_pages_with_more_results(instance: Instance, alice: httpx.AsyncClient) -> None:
    svc, _ = instance
    me = await _account(svc, "alice")
    for number in range(25):
        await svc.publisher.post(me, f"standup note {number}", visibility="public")
    await _index(svc)
    first = await alice.get("/web/search", params={"q": "standup", "type": "statuses"})
    assert first.text.count('<li class="status') == 20
    assert "/web/search?q=standup&amp;type=statuses&amp;offset=20" in first.text
    second = await alice.get("/web/search?q=standup&type=statuses&offset=20")
    assert second.text.count('<li class="status') == 5
    assert "More results" not in second.text


# ----- the directory -------------------------------------------------------------------------


async def test_the_directory_lists_people_and_filters_by_department(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    await _user(svc, "carol")
    bob = await _profile(svc, "bob", display_name="Bob", fields=(("Department", "Sales"),))
    carol = await _profile(
        svc, "carol", display_name="Carol", fields=(("Department", "Engineering"),)
    )
    me = await _account(svc, "alice")
    await svc.publisher.follow(me, carol)

    everyone = await alice.get("/web/directory")
    assert everyone.status_code == 200
    for card in (f'id="account-{bob.id}"', f'id="account-{carol.id}"'):
        assert card in everyone.text
    assert f'action="/web/accounts/{bob.id}/follow"' in everyone.text
    assert f'action="/web/accounts/{carol.id}/unfollow"' in everyone.text  # alice follows her
    assert f'action="/web/accounts/{me.id}/' not in everyone.text  # no button for oneself
    assert '<option value="Engineering">' in everyone.text  # departments to pick from

    sales = await alice.get("/web/directory", params={"department": "sales"})
    assert f'id="account-{bob.id}"' in sales.text
    assert f'id="account-{carol.id}"' not in sales.text
    assert 'value="sales"' in sales.text
    assert 'name="next" value="/web/directory?department=sales#account-' in sales.text
    nobody = await alice.get("/web/directory", params={"department": "Legal"})
    assert 'id="account-' not in nobody.text


# ----- a card's buttons ----------------------------------------------------------------------


async def _bobs_post(svc: Services, text: str, visibility: str = "public") -> StatusRecord:
    bob = await _account(svc, "bob")
    return await svc.publisher.post(bob, text, visibility=visibility)


async def test_bookmark_and_favourite_from_a_card_then_undo(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    post = await _bobs_post(svc, "Worth keeping")
    me = await _account(svc, "alice")
    for kind, action in (("bookmarks", "bookmark"), ("favourites", "favourite")):
        empty = await alice.get(f"/web/{kind}")
        assert empty.status_code == 200 and "Worth keeping" not in empty.text
        done = await _press(alice, "/web/local", post.id, action)
        assert done.status_code == 303
        assert done.headers["location"] == f"/web/local#status-{post.id}"
        kept = await alice.get(f"/web/{kind}")
        assert "Worth keeping" in kept.text
        assert f'action="/web/statuses/{post.id}/un{action}"' in kept.text
        assert 'aria-pressed="true"' in kept.text
        undone = await _press(alice, f"/web/{kind}", post.id, f"un{action}")
        assert undone.headers["location"] == f"/web/{kind}#status-{post.id}"
        assert "Worth keeping" not in (await alice.get(f"/web/{kind}")).text
    async with svc.db.read() as conn:
        assert await threads.bookmarked_page(conn, me.id, max_id=None, limit=5) == []
        assert await threads.favourited_page(conn, me.id, max_id=None, limit=5) == []


async def test_boost_only_where_the_publisher_allows_it(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    me = await _account(svc, "alice")
    public = await _bobs_post(svc, "Boost me")
    private = await svc.publisher.post(me, "Just for followers", visibility="private")
    page = await alice.get("/web/local")
    assert f'action="/web/statuses/{public.id}/reblog"' in page.text
    assert f'action="/web/statuses/{private.id}/reblog"' not in page.text
    thread = f"/web/statuses/{private.id}"
    assert f'action="/web/statuses/{private.id}/favourite"' in (await alice.get(thread)).text
    boosted = await _press(alice, "/web/local", public.id, "reblog")
    assert boosted.status_code == 303
    card = await alice.get(f"/web/statuses/{public.id}")
    assert f'action="/web/statuses/{public.id}/unreblog"' in card.text
    forced = await alice.post(
        f"/web/statuses/{private.id}/reblog", data={"csrf_token": csrf_token(page)}
    )
    assert forced.status_code == 422


async def test_an_action_without_the_csrf_token_changes_nothing(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    post = await _bobs_post(svc, "Do not touch")
    me = await _account(svc, "alice")
    for action in ("favourite", "bookmark", "reblog"):
        for data in ({}, {"csrf_token": "forged"}):
            answer = await alice.post(f"/web/statuses/{post.id}/{action}", data=data)
            assert answer.status_code == 403, action
    async with svc.db.read() as conn:
        assert await threads.bookmarked_page(conn, me.id, max_id=None, limit=5) == []
        assert await threads.favourited_page(conn, me.id, max_id=None, limit=5) == []
    page = await alice.get("/web/local")
    assert 'aria-pressed="true"' not in page.text


async def test_an_action_on_a_post_one_may_not_see_is_not_found(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    hidden = await _bobs_post(svc, "Followers only", visibility="private")
    page = await alice.get("/web/home")
    answer = await alice.post(
        f"/web/statuses/{hidden.id}/favourite", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 404
    assert "Followers only" not in answer.text


async def test_a_live_card_has_working_buttons_back_to_its_page(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    post = await _bobs_post(svc, "Fresh off the press")
    card = await alice.get(
        f"/web/statuses/{post.id}/card", headers={"Referer": "http://a.test/web/org"}
    )
    assert card.status_code == 200
    assert f'value="/web/org#status-{post.id}"' in card.text
    done = await alice.post(
        f"/web/statuses/{post.id}/favourite",
        data={"csrf_token": csrf_token(card), "next": f"/web/org#status-{post.id}"},
    )
    assert done.status_code == 303
    elsewhere = await alice.get(
        f"/web/statuses/{post.id}/card", headers={"Referer": "http://evil.example/web/org"}
    )
    assert f'value="/web/statuses/{post.id}#status-{post.id}"' in elsewhere.text
    assert 'aria-pressed="true"' in elsewhere.text
