"""The pages anyone may read, over HTTP in process: a person's public profile (`/@name`),
one public post (`/@name/ID`) and the front page (`/`, `/about`). Only what is public
shows; OpenGraph tags and the ActivityStreams alternate link are there; the same URLs
still give peers ActivityStreams."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime

import httpx
import pytest
from PIL import Image

from store import accounts
from store.records import AccountRecord, StatusRecord
from watercooler.accounts import CreatedUser, create_user
from watercooler.admin import Actor, AdminActions
from watercooler.services import Services

from .signing import csrf_token, sign_in

PASSWORD = "correct horse battery"
AP = {"Accept": "application/activity+json"}
Instance = tuple[Services, httpx.AsyncClient]


async def _user(svc: Services, name: str, *, admin: bool = False) -> AccountRecord:
    created = await create_user(
        svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, admin=admin
    )
    return created.account


def _meta(page: httpx.Response, prop: str) -> str | None:
    """The content of `<meta property=prop>` (or name=prop), unescaped."""
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)">', page.text)
    return html.unescape(found.group(1)) if found else None


def _metas(page: httpx.Response) -> str:
    """Every meta tag and link of the head: what previews and crawlers read."""
    head = page.text.split("</head>", 1)[0]
    return "\n".join(re.findall(r"<(?:meta|link|title)[^>]*>[^<]*", head))


@pytest.fixture
async def alice(instance: Instance) -> AccountRecord:
    svc, _ = instance
    return await _user(svc, "alice")


async def _every_kind(svc: Services, author: AccountRecord) -> dict[str, StatusRecord]:
    """One post of each audience, named by it."""
    posts = {}
    for visibility in ("public", "unlisted", "org", "private", "direct"):
        posts[visibility] = await svc.publisher.post(
            author, f"Post for {visibility} readers", visibility=visibility
        )
    posts["local_only"] = await svc.publisher.post(
        author, "Post for this division only", visibility="public", local_only=True
    )
    return posts


async def test_the_public_profile_shows_public_posts_only(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    posts = await _every_kind(svc, alice)
    page = await client.get("/@alice")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Post for public readers" in page.text
    assert "Post for unlisted readers" in page.text  # as on Mastodon: on the profile
    for hidden in ("org", "private", "direct"):
        assert f"Post for {hidden} readers" not in page.text, hidden
    assert "this division only" not in page.text
    assert "@alice@a.test" in page.text
    assert 'href="/web/sign_in?next=/web/accounts/' in page.text
    assert "csrf_token" not in page.text.split("</header>", 1)[1]  # no forms for visitors
    # the cards link a visitor to public pages, never to pages that only ask to sign in
    cards = page.text.split('id="profile-posts"', 1)[1]
    assert f'href="{alice.url}"' in cards
    assert f'href="{posts["public"].url}"' in cards
    assert "/web/" not in cards


async def test_the_public_profile_carries_opengraph_and_the_alternate(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    async with svc.db.transaction() as conn:
        await conn.execute(
            "UPDATE accounts SET display_name = 'Alice A.', note = :note WHERE id = :id",
            {"note": "Sales lead & <b>tea</b> fan\n\nSecond line", "id": alice.id},
        )
    page = await client.get("/@alice")
    head = _metas(page)
    alternate = '<link rel="alternate" type="application/activity+json" href="{}">'
    assert alternate.format("http://a.test/users/alice") in head
    assert _meta(page, "og:type") == "profile"
    assert _meta(page, "og:title") == "Alice A. (@alice@a.test)"
    assert _meta(page, "og:description") == "Sales lead & <b>tea</b> fan Second line"
    assert _meta(page, "og:url") == "http://a.test/@alice"
    assert (_meta(page, "og:image") or "").startswith("http://a.test/")
    assert _meta(page, "og:site_name") == "a.test"  # the instance's name (none: its domain)
    assert _meta(page, "robots") is None  # discoverable
    assert "<b>tea</b>" not in page.text and "&lt;b&gt;tea&lt;/b&gt;" in page.text

    async with svc.db.transaction() as conn:
        await conn.execute("UPDATE accounts SET discoverable = 0 WHERE id = :id", {"id": alice.id})
    hidden = await client.get("/@alice")
    assert _meta(hidden, "robots") == "noindex"


async def test_hostile_names_are_escaped_on_the_public_pages(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    async with svc.db.transaction() as conn:
        await conn.execute(
            "UPDATE accounts SET display_name = :name WHERE id = :id",
            {"name": '"><script>alert(1)</script>', "id": alice.id},
        )
    post = await svc.publisher.post(alice, "<script>alert(2)</script>", visibility="public")
    for path in ("/@alice", f"/@alice/{post.id}"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert "<script>" not in page.text, path
        assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path


async def test_the_public_status_page_carries_opengraph(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    await sign_in(client, "alice", PASSWORD)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(picture, format="PNG")
    form = await client.get("/web/home")
    posted = await client.post(
        "/web/statuses",
        data={
            "csrf_token": csrf_token(form),
            "status": "The new sign is up",
            "visibility": "public",
            "description": "A red sign",
        },
        files={"image": ("sign.png", picture.getvalue(), "image/png")},
    )
    assert posted.status_code == 303
    client.cookies.clear()  # an anonymous visitor from here
    async with svc.db.read() as conn:
        found = await accounts.get_local(conn, "alice")
    assert found is not None
    token_free = await client.get("/api/v1/accounts/" + str(found.id) + "/statuses")
    (entity,) = token_free.json()
    page = await client.get(f"/@alice/{entity['id']}")
    assert page.status_code == 200
    head = _metas(page)
    alternate = '<link rel="alternate" type="application/activity+json" href="{}">'
    assert alternate.format(entity["uri"]) in head
    assert _meta(page, "og:type") == "article"
    assert _meta(page, "og:title") == "alice (@alice@a.test)"
    assert _meta(page, "og:description") == "The new sign is up"
    assert _meta(page, "og:url") == f"http://a.test/@alice/{entity['id']}"
    assert _meta(page, "og:image") == entity["media_attachments"][0]["url"]
    assert _meta(page, "article:published_time") == entity["created_at"]
    assert 'alt="A red sign"' in page.text
    assert "You are signed in" not in page.text


async def test_a_content_warning_hides_the_text_from_previews(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    post = await svc.publisher.post(
        alice, "The quarterly numbers are down", visibility="public", spoiler_text="Finance"
    )
    page = await client.get(f"/@alice/{post.id}")
    assert _meta(page, "og:description") == "Finance"
    assert _meta(page, "description") == "Finance"
    assert "quarterly numbers" not in _metas(page)
    assert "<summary>Content warning: Finance</summary>" in page.text  # behind the warning


async def test_statuses_that_are_not_public_are_not_found(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    posts = await _every_kind(svc, alice)
    for kind in ("org", "private", "direct", "local_only"):
        page = await client.get(f"/@alice/{posts[kind].id}")
        assert page.status_code == 404, kind
        assert "readers" not in page.text and "division only" not in page.text
    unlisted = await client.get(f"/@alice/{posts['unlisted'].id}")
    assert unlisted.status_code == 200 and "Post for unlisted readers" in unlisted.text
    assert _meta(unlisted, "robots") == "noindex"  # kept out of discovery
    public = await client.get(f"/@alice/{posts['public'].id}")
    assert _meta(public, "robots") is None
    bob = await _user(svc, "bob")
    bobs = await svc.publisher.post(bob, "Bob's", visibility="public")
    assert (await client.get(f"/@alice/{bobs.id}")).status_code == 404  # not hers
    assert (await client.get("/@nobody")).status_code == 404
    assert (await client.get("/@nobody/1")).status_code == 404


async def test_peers_still_get_activitystreams(instance: Instance, alice: AccountRecord) -> None:
    svc, client = instance
    post = await svc.publisher.post(alice, "Hello peers", visibility="public")
    actor = await client.get("/@alice", headers=AP)
    assert actor.status_code == 200
    assert actor.headers["content-type"].startswith("application/activity+json")
    assert actor.json()["id"] == "http://a.test/users/alice"
    note = await client.get(f"/@alice/{post.id}", headers=AP)
    assert note.status_code == 200
    assert note.json()["type"] == "Note" and note.json()["content"] == "<p>Hello peers</p>"
    org = await svc.publisher.post(alice, "Org only", visibility="org")
    assert (await client.get(f"/@alice/{org.id}", headers=AP)).status_code == 404  # unsigned


async def test_a_signed_in_visitor_gets_the_full_page_link(
    instance: Instance, alice: AccountRecord
) -> None:
    svc, client = instance
    post = await svc.publisher.post(alice, "Seen by a colleague", visibility="public")
    await _user(svc, "bob")
    await sign_in(client, "bob", PASSWORD)
    profile = await client.get("/@alice")
    assert f'<a href="/web/accounts/{alice.id}">Open the full page</a>' in profile.text
    assert 'href="/web/home">Your timeline' in profile.text
    status = await client.get(f"/@alice/{post.id}")
    assert f'<a href="/web/statuses/{post.id}">Open the full page</a>' in status.text


async def test_the_front_page(instance: Instance) -> None:
    svc, client = instance
    for path in ("/", "/about"):
        page = await client.get(path)
        assert page.status_code == 200, path
        assert '<a class="button big" href="/web/sign_in">Sign in</a>' in page.text
        assert "a.test" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
    root = Actor.of_user((await _admin(svc)).user, "web")
    await AdminActions.of(svc).change_settings(
        root, {"name": "Sales <division>", "description": "We sell things.\n\nAsk us & see."}
    )
    page = await client.get("/")
    assert '<h1 id="about-name">Sales &lt;division&gt;</h1>' in page.text
    assert "<p>We sell things.</p><p>Ask us &amp; see.</p>" in page.text
    assert _meta(page, "og:site_name") == "Sales <division>"
    await sign_in(client, "root", PASSWORD)
    signed = await client.get("/")
    assert 'href="/web/home">Go to your timeline' in signed.text
    assert "Signed in as @root" in signed.text


async def _admin(svc: Services) -> CreatedUser:
    return await create_user(
        svc.db, svc.uris, "root", now=datetime.now(UTC), password=PASSWORD, admin=True
    )
