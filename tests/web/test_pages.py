"""The web pages over HTTP, in process: sign-in, CSRF, the security headers, escaping, and
what a visitor without a session gets (nothing)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image

from store import accounts, statuses
from store.records import StatusRecord
from watercooler.accounts import create_token, create_user
from watercooler.api.statuses import VISIBILITIES
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str) -> None:
    await create_user(svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD)


@pytest.fixture
async def alice(instance: Instance) -> httpx.AsyncClient:
    """The instance's client, signed in to the web pages as alice."""
    svc, client = instance
    await _user(svc, "alice")
    answer = await sign_in(client, "alice", PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


async def _post(
    client: httpx.AsyncClient, page: str = "/web/home", **fields: str
) -> httpx.Response:
    form = await client.get(page)
    return await client.post(
        "/web/statuses",
        data={"csrf_token": csrf_token(form), "next": page, **fields},
    )


async def test_pages_need_a_session(instance: Instance) -> None:
    _, client = instance
    for path in ("/web/home", "/web/org", "/web/local", "/web/compose", "/web/statuses/1"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/web/sign_in?next=%2Fweb%2F")


async def test_sign_in_goes_back_where_the_person_was(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "alice")
    form = await client.get("/web/sign_in?next=/web/org")
    answer = await client.post(
        "/web/sign_in",
        data={
            "csrf_token": csrf_token(form),
            "username": "alice",
            "password": PASSWORD,
            "next": "/web/org",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/org"
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=lax" in answer.headers["set-cookie"].lower()
    page = await client.get("/web/org")
    assert page.status_code == 200
    assert "@alice" in page.text


async def test_a_wrong_password_is_refused_with_the_reason(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "alice")
    answer = await sign_in(client, "alice", "not the password")
    assert answer.status_code == 401
    assert 'role="alert"' in answer.text
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert (await client.get("/web/home")).status_code == 303


async def test_next_never_leaves_the_site(instance: Instance) -> None:
    svc, client = instance
    await _user(svc, "alice")
    form = await client.get("/web/sign_in")
    answer = await client.post(
        "/web/sign_in",
        data={
            "csrf_token": csrf_token(form),
            "username": "alice",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert answer.headers["location"] == "/web/home"


async def test_forms_without_the_csrf_token_are_refused(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    for token in (None, "forged"):
        data = {"status": "should not be posted", "visibility": "public"}
        if token:
            data["csrf_token"] = token
        answer = await alice.post("/web/statuses", data=data)
        assert answer.status_code == 403
        assert "expired" in answer.text
    refused = await alice.post("/web/sign_out", data={})
    assert refused.status_code == 403
    assert (await alice.get("/web/home")).status_code == 200  # still signed in
    async with svc.db.read() as conn:
        assert await statuses.count_local(conn) == 0


async def test_pages_carry_the_security_headers(alice: httpx.AsyncClient) -> None:
    for path in ("/web/home", "/web/compose", "/web/statuses/999"):
        answer = await alice.get(path)
        assert answer.status_code in (200, 404), path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"]
    home = await alice.get("/web/home")
    assert "<script>" not in home.text  # scripts come from files only
    css = await alice.get("/web/static/watercooler.css")
    assert css.status_code == 200
    assert "max-age=31536000" in css.headers["cache-control"]
    assert css.headers["content-type"].startswith("text/css")


async def test_hostile_names_and_posts_are_escaped(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    token = await create_token(svc.db, "alice", ("read", "write"), datetime.now(UTC))
    changed = await alice.patch(
        "/api/v1/accounts/update_credentials",
        headers={"Authorization": f"Bearer {token}"},
        data={"display_name": "<script>alert('name')</script>"},
    )
    assert changed.status_code == 200, changed.text
    posted = await _post(alice, status='<img src=x onerror="alert(1)"> & <b>bold</b>')
    assert posted.status_code == 303
    page = await alice.get("/web/home")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page.text
    assert "<img src=x" not in page.text and 'onerror="alert' not in page.text
    assert "&lt;img src=x" in page.text


async def test_an_empty_home_points_a_new_employee_to_colleagues(
    alice: httpx.AsyncClient,
) -> None:
    home = await alice.get("/web/home")
    empty = home.text.split('id="empty-timeline"', 1)[1].split("</div>", 1)[0]
    assert 'href="/web/directory">People</a>' in empty and 'href="/web/org"' in empty
    org = await alice.get("/web/org")
    empty = org.text.split('id="empty-timeline"', 1)[1].split("</div>", 1)[0]
    assert "Write the first post!" in empty and "/web/directory" not in empty


async def test_a_post_from_the_form_reaches_the_timelines(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    answer = await _post(
        alice, "/web/org", status="Lunch at noon", visibility="org", spoiler_text="food"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/org"
    for path in ("/web/org", "/web/local", "/web/home"):
        page = await alice.get(path)
        assert "Lunch at noon" in page.text, path
        assert "Content warning: food" in page.text
    assert '<span class="badge">org</span>' in (await alice.get("/web/org")).text


async def test_the_compose_box_defaults_to_the_instance_visibility(
    alice: httpx.AsyncClient,
) -> None:
    page = await alice.get("/web/home")
    assert '<option value="org"' in page.text
    assert 'maxlength="5000"' in page.text
    assert 'for="compose-visibility"' in page.text and 'for="compose-cw"' in page.text


async def test_an_image_with_its_description(alice: httpx.AsyncClient) -> None:
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(image, format="PNG")
    form = await alice.get("/web/home")
    answer = await alice.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(form),
            "status": "The new sign",
            "visibility": "public",
            "description": "A red square",
        },
        files={"image": ("sign.png", image.getvalue(), "image/png")},
    )
    assert answer.status_code == 303, answer.text
    page = await alice.get("/web/home")
    assert 'alt="A red square"' in page.text


async def test_reply_and_thread(instance: Instance, alice: httpx.AsyncClient) -> None:
    svc, _ = instance
    await _post(alice, status="Who has the projector?", visibility="org")
    first = await _only_post(svc, "alice")
    compose = await alice.get(f"/web/compose?in_reply_to={first.id}")
    assert compose.status_code == 200
    assert f'name="in_reply_to_id" value="{first.id}"' in compose.text
    assert '<option value="org" selected>' in compose.text  # the thread's audience
    answer = await alice.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(compose),
            "status": "Room 4 has it",
            "visibility": "org",
            "in_reply_to_id": str(first.id),
            "next": f"/web/statuses/{first.id}",
        },
    )
    assert answer.headers["location"] == f"/web/statuses/{first.id}"
    thread = await alice.get(f"/web/statuses/{first.id}")
    assert thread.text.index("Who has the projector?") < thread.text.index("Room 4 has it")
    missing = await alice.get("/web/statuses/12345")
    assert missing.status_code == 404


async def test_org_posts_stay_away_from_visitors_without_a_session(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _post(alice, status="Only for colleagues", visibility="org")
    post = await _only_post(svc, "alice")
    card = await alice.get(f"/web/statuses/{post.id}/card")
    assert card.status_code == 200 and "Only for colleagues" in card.text
    async with httpx.AsyncClient(
        transport=alice._transport, base_url=str(alice.base_url)
    ) as visitor:
        for path in (f"/web/statuses/{post.id}", f"/web/statuses/{post.id}/card", "/web/org"):
            answer = await visitor.get(path)
            assert "Only for colleagues" not in answer.text
            assert answer.status_code in (303, 401), path
        stream = await visitor.get("/api/v1/streaming/public")
        assert stream.status_code == 401


async def test_sign_out_ends_the_session(alice: httpx.AsyncClient) -> None:
    page = await alice.get("/web/home")
    kept = dict(alice.cookies)  # a copy of the cookie, as someone who took it would keep it
    answer = await alice.post("/web/sign_out", data={"csrf_token": csrf_token(page)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/web/sign_in"
    assert (await alice.get("/web/home")).status_code == 303
    alice.cookies.update(kept)  # the old cookie signs no one in: the session ended
    assert (await alice.get("/web/home")).status_code == 303


async def _only_post(svc: Services, name: str) -> StatusRecord:
    async with svc.db.read() as conn:
        author = await accounts.get_local(conn, name)
        assert author is not None
        (post,) = await statuses.list_by_account(conn, author.id, visibilities=VISIBILITIES)
    return post


async def test_a_colleagues_followers_only_post_is_not_shown(
    instance: Instance, alice: httpx.AsyncClient
) -> None:
    svc, _ = instance
    await _user(svc, "bob")
    async with svc.db.read() as conn:
        bob = await accounts.get_local(conn, "bob")
    assert bob is not None
    private = await svc.publisher.post(bob, "For my followers only", visibility="private")
    for path in (f"/web/statuses/{private.id}", f"/web/statuses/{private.id}/card"):
        answer = await alice.get(path)
        assert answer.status_code == 404, path
        assert "For my followers only" not in answer.text
    reply = await alice.get(f"/web/compose?in_reply_to={private.id}")
    assert reply.status_code == 404


async def test_the_event_stream_takes_the_session_from_this_site_only(
    alice: httpx.AsyncClient,
) -> None:
    refused = await alice.get("/api/v1/streaming/public", headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 401
