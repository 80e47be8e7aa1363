"""The signed-in profile pages over HTTP, in process: what they show (escaped), the Follow /
Unfollow button (CSRF-checked, through the publisher: a remote account gets a real Follow),
the posts the viewer may see, paging, and `/web/@acct`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from store import accounts, api_queries, deliveries, follows
from store.accounts import NewAccount
from store.records import AccountRecord
from watercooler.accounts import create_token, create_user
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str, *, locked: bool = False) -> AccountRecord:
    created = await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD)
    if locked:
        async with svc.db.transaction() as conn:
            await conn.execute(
                "UPDATE accounts SET manually_approves_followers = 1 WHERE id = :id",
                {"id": created.account.id},
            )
    async with svc.db.read() as conn:
        account = await accounts.get_by_id(conn, created.account.id)
    assert account is not None
    return account


async def _remote(svc: Services, name: str = "carol", domain: str = "b.test") -> AccountRecord:
    """A colleague on another division, as the store keeps one: HTML sanitised on arrival."""
    new = NewAccount(
        username=name,
        domain=domain,
        uri=f"http://{domain}/users/{name}",
        url=f"http://{domain}/@{name}",
        display_name="Carol C.",
        note="<p>Runs the <strong>build farm</strong></p>",
        inbox_url=f"http://{domain}/users/{name}/inbox",
    )
    async with svc.db.transaction() as conn:
        account = await accounts.insert_account(conn, svc.db.new_id(), new, datetime.now(UTC))
        await api_queries.replace_profile_fields(
            conn,
            account.id,
            [("Department", "Engineering"), ("Site", '<a href="http://b.test/wiki">wiki</a>')],
        )
    return account


@pytest.fixture
async def alice(instance: Instance) -> httpx.AsyncClient:
    """The instance's client, signed in to the web pages as alice."""
    svc, client = instance
    await _user(svc, "alice")
    answer = await sign_in(client, "alice", PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


async def _account(svc: Services, name: str) -> AccountRecord:
    async with svc.db.read() as conn:
        account = await accounts.get_local(conn, name)
    assert account is not None
    return account


def _button(page: httpx.Response) -> str | None:
    """The label of the profile's follow form's button, if there is one."""
    found = re.search(
        r'<div class="profile-action">.*?<button type="submit"[^>]*>([^<]+)<', page.text, re.S
    )
    return found.group(1).strip() if found else None


async def _press(client: httpx.AsyncClient, account_id: int, action: str) -> httpx.Response:
    page = await client.get(f"/web/accounts/{account_id}")
    return await client.post(
        f"/web/accounts/{account_id}/{action}",
        data={"csrf_token": csrf_token(page), "next": f"/web/accounts/{account_id}"},
    )


async def test_a_hostile_profile_is_shown_escaped(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "mallory")
    token = await create_token(svc.db, "mallory", ("read", "write"), datetime.now(UTC))
    changed = await alice.patch(
        "/api/v1/accounts/update_credentials",
        headers={"Authorization": f"Bearer {token}"},
        data={
            "display_name": "<script>alert('name')</script>",
            "note": "Tea & <b>code</b>\n\n<img src=x onerror=alert(1)>",
            "fields_attributes[0][name]": "<i>Team</i>",
            "fields_attributes[0][value]": '<script>alert("field")</script> https://example.com/x',
        },
    )
    assert changed.status_code == 200, changed.text
    mallory = await _account(svc, "mallory")
    page = await alice.get(f"/web/accounts/{mallory.id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "<i>Team</i>" not in page.text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page.text  # the name
    assert "Tea &amp; &lt;b&gt;code&lt;/b&gt;" in page.text  # the note, as its owner typed it
    assert '<th scope="row">&lt;i&gt;Team&lt;/i&gt;</th>' in page.text
    assert "&lt;script&gt;alert(&quot;field&quot;)&lt;/script&gt;" in page.text
    assert 'href="https://example.com/x"' in page.text  # the field's link, made by us
    assert "@mallory@a.test" in page.text


async def test_follow_then_unfollow_from_the_page(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    bob = await _user(svc, "bob")
    me = await _account(svc, "alice")
    page = await alice.get(f"/web/accounts/{bob.id}")
    assert _button(page) == "Follow"
    followed = await _press(alice, bob.id, "follow")
    assert followed.status_code == 303
    assert followed.headers["location"] == f"/web/accounts/{bob.id}"
    async with svc.db.read() as conn:
        assert await follows.is_following(conn, me.id, bob.id)
    page = await alice.get(f"/web/accounts/{bob.id}")
    assert _button(page) == "Unfollow"
    assert 'id="you-follow"' in page.text
    assert "<dt>Followers</dt><dd>1</dd>" in page.text

    unfollowed = await _press(alice, bob.id, "unfollow")
    assert unfollowed.status_code == 303
    async with svc.db.read() as conn:
        assert not await follows.is_following(conn, me.id, bob.id)
        assert await follows.get(conn, me.id, bob.id) is None
    assert _button(await alice.get(f"/web/accounts/{bob.id}")) == "Follow"


async def test_a_follow_without_the_form_token_is_refused(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    bob = await _user(svc, "bob")
    me = await _account(svc, "alice")
    for data in ({}, {"csrf_token": "forged"}):
        answer = await alice.post(f"/web/accounts/{bob.id}/follow", data=data)
        assert answer.status_code == 403
    async with svc.db.read() as conn:
        assert await follows.get(conn, me.id, bob.id) is None
    await _press(alice, bob.id, "follow")
    refused = await alice.post(f"/web/accounts/{bob.id}/unfollow", data={})
    assert refused.status_code == 403
    async with svc.db.read() as conn:
        assert await follows.is_following(conn, me.id, bob.id)  # still


async def test_a_visitor_without_a_session_is_sent_to_sign_in(instance: Instance) -> None:
    svc, client = instance
    bob = await _user(svc, "bob")
    page = await client.get(f"/web/accounts/{bob.id}")
    assert page.status_code == 303
    assert page.headers["location"] == f"/web/sign_in?next=%2Fweb%2Faccounts%2F{bob.id}"


async def test_my_own_profile_has_no_follow_button(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    me = await _account(svc, "alice")
    home = await alice.get("/web/home")
    assert f'href="/web/accounts/{me.id}"' in home.text  # the header's link to it
    page = await alice.get(f"/web/accounts/{me.id}")
    assert page.status_code == 200
    assert _button(page) is None
    assert f"/web/accounts/{me.id}/follow" not in page.text
    assert 'href="/web/settings">Edit your profile' in page.text
    form = await alice.get("/web/home")
    refused = await alice.post(
        f"/web/accounts/{me.id}/follow", data={"csrf_token": csrf_token(form)}
    )
    assert refused.status_code == 403


async def test_a_locked_account_shows_requested(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    dora = await _user(svc, "dora", locked=True)
    await _press(alice, dora.id, "follow")
    page = await alice.get(f"/web/accounts/{dora.id}")
    assert 'id="requested"' in page.text
    assert (_button(page) or "").startswith("Requested")
    assert "Follow" != _button(page)


async def test_a_remote_colleagues_profile_and_a_real_follow(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    carol = await _remote(svc)
    me = await _account(svc, "alice")
    page = await alice.get(f"/web/accounts/{carol.id}")
    assert page.status_code == 200
    assert "Carol C." in page.text and "@carol@b.test" in page.text
    assert "Runs the <strong>build farm</strong>" in page.text  # sanitised on arrival
    assert '<th scope="row">Department</th>' in page.text and "Engineering" in page.text
    assert '<a href="http://b.test/wiki">wiki</a>' in page.text
    assert 'href="http://b.test/@carol"' in page.text  # their page on their division
    assert _button(page) == "Follow"

    await _press(alice, carol.id, "follow")
    async with svc.db.read() as conn:
        record = await follows.get(conn, me.id, carol.id)
        assert record is not None and record.state == follows.PENDING  # until her Accept
        (sent,) = await deliveries.list_for_activity(conn, record.uri)
    assert sent.inbox_url == "http://b.test/users/carol/inbox"
    assert json.loads(sent.body)["type"] == "Follow"
    assert json.loads(sent.body)["object"] == carol.uri
    page = await alice.get(f"/web/accounts/{carol.id}")
    assert 'id="requested"' in page.text

    async with svc.db.transaction() as conn:  # what her division's Accept does, in the inbox
        await follows.set_state(conn, record.id, follows.ACCEPTED, datetime.now(UTC))
    page = await alice.get(f"/web/accounts/{carol.id}")
    assert _button(page) == "Unfollow"
    token = await create_token(svc.db, "alice", ("read",), datetime.now(UTC))
    answer = await alice.get(
        "/api/v1/accounts/relationships",
        params={"id[]": str(carol.id)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.json()[0]["following"] is True


async def test_the_posts_the_viewer_may_see_paged(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    bob = await _user(svc, "bob")
    await svc.publisher.post(bob, "Bob for followers", visibility="private")
    await svc.publisher.post(bob, "Bob for the org", visibility="org")
    await svc.publisher.post(bob, "Bob to himself", visibility="direct")
    for number in range(21):
        await svc.publisher.post(bob, f"Bob public number {number}", visibility="public")
    page = await alice.get(f"/web/accounts/{bob.id}")
    assert page.text.count('<li class="status') == 20
    assert "Bob public number 20" in page.text and "Bob public number 0<" not in page.text
    older = re.search(r'<a href="([^"]+)" rel="next">Older posts', page.text)
    assert older is not None
    second = await alice.get(older.group(1).replace("&amp;", "&"))
    assert "Bob public number 0" in second.text and "Bob for the org" in second.text
    assert "Bob for followers" not in second.text and "Bob to himself" not in second.text
    assert 'href="/web/accounts/' in second.text and ">Newest</a>" in second.text

    await _press(alice, bob.id, "follow")
    followed = await alice.get(older.group(1).replace("&amp;", "&"))
    assert "Bob for followers" in followed.text  # a follower sees followers-only posts
    assert "Bob to himself" not in followed.text
    assert (await alice.get(f"/web/accounts/{bob.id}?max_id=abc")).status_code == 400


async def test_an_unknown_account_is_not_found(alice: httpx.AsyncClient) -> None:
    for path in ("/web/accounts/12345", "/web/accounts/abc", "/web/@nobody", "/web/@x@a.test"):
        answer = await alice.get(path)
        assert answer.status_code == 404, path
        assert "Not found" in answer.text


async def test_a_handle_goes_to_the_profile(instance: Instance, alice: httpx.AsyncClient) -> None:
    svc, _ = instance
    bob = await _user(svc, "bob")
    carol = await _remote(svc)
    for handle, target in (
        ("bob", bob.id),
        ("bob@a.test", bob.id),
        ("@bob@a.test", bob.id),
        ("carol@b.test", carol.id),
        ("carol@B.TEST", carol.id),
    ):
        answer = await alice.get(f"/web/@{handle}")
        assert answer.status_code == 303, handle
        assert answer.headers["location"] == f"/web/accounts/{target}"


async def test_the_follow_form_goes_back_where_it_was_never_elsewhere(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    bob = await _user(svc, "bob")
    page = await alice.get("/web/directory")
    back = f"/web/directory#account-{bob.id}"
    followed = await alice.post(
        f"/web/accounts/{bob.id}/follow", data={"csrf_token": csrf_token(page), "next": back}
    )
    assert followed.headers["location"] == back  # the directory card's button
    unfollowed = await alice.post(
        f"/web/accounts/{bob.id}/unfollow",
        data={"csrf_token": csrf_token(page), "next": "https://evil.example/"},
    )
    assert unfollowed.headers["location"] == f"/web/accounts/{bob.id}"


def _pinned_section(page: httpx.Response) -> str:
    found = re.search(r'<ol class="timeline" id="profile-pinned".*?</ol>', page.text, re.S)
    return found.group(0) if found else ""


async def test_pin_from_the_card_heads_the_profile_for_who_may_see_it(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, client = instance
    me = await _account(svc, "alice")
    kept = await svc.publisher.post(me, "Read this first: how we work", visibility="public")
    quiet = await svc.publisher.post(me, "For my followers: the team page", visibility="private")
    await svc.publisher.post(me, "Just a later post", visibility="public")
    direct = await svc.publisher.post(me, "Psst @alice", visibility="direct")
    own = await alice.get(f"/web/accounts/{me.id}")
    assert f"/web/statuses/{kept.id}/pin" in own.text
    assert f"/web/statuses/{direct.id}/pin" not in own.text  # Mastodon pins no direct post
    for status in (kept, quiet):
        pinned = await alice.post(
            f"/web/statuses/{status.id}/pin",
            data={"csrf_token": csrf_token(own), "next": f"/web/accounts/{me.id}"},
        )
        assert pinned.status_code == 303, pinned.text
    own = await alice.get(f"/web/accounts/{me.id}")
    assert "how we work" in _pinned_section(own) and "the team page" in _pinned_section(own)
    assert "later post" not in _pinned_section(own)
    assert f"/web/statuses/{kept.id}/unpin" in own.text  # pressed: the button undoes it

    # bob, signed in, does not follow alice: the public pin only.
    await _user(svc, "bob")
    bob = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with bob:
        assert (await sign_in(bob, "bob", PASSWORD)).status_code == 303
        seen = await bob.get(f"/web/accounts/{me.id}")
        assert "how we work" in _pinned_section(seen)
        assert "the team page" not in seen.text
        assert f"/web/statuses/{kept.id}/pin" not in seen.text  # not his to pin
        refused = await bob.post(
            f"/web/statuses/{kept.id}/pin", data={"csrf_token": csrf_token(seen)}
        )
        assert refused.status_code == 422
        assert "pin" in refused.text.lower()
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as anon:
        public = await anon.get("/@alice", headers={"Accept": "text/html"})
    assert public.status_code == 200
    assert "how we work" in _pinned_section(public) and "the team page" not in public.text

    unpinned = await alice.post(
        f"/web/statuses/{kept.id}/unpin",
        data={"csrf_token": csrf_token(own), "next": f"/web/accounts/{me.id}"},
    )
    assert unpinned.status_code == 303
    own = await alice.get(f"/web/accounts/{me.id}")
    assert "how we work" not in _pinned_section(own) and "the team page" in _pinned_section(own)
    older = await alice.get(f"/web/accounts/{me.id}?max_id={kept.id}")
    assert 'id="profile-pinned"' not in older.text  # the first page only
