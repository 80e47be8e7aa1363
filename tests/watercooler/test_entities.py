"""The client API's entities have Mastodon 4.3's exact keys, string ids and millisecond times,
and leave out what Mastodon leaves out (no viewer, no viewer keys; remote, no `roles`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import httpx

from store import accounts, oauth, statuses
from store.accounts import NewAccount
from store.statuses import NewStatus
from watercooler import __version__
from watercooler.accounts import create_user
from watercooler.api.entities import (
    account_entity,
    iso,
    relationship_entity,
    status_entity,
    streaming_url,
    version_string,
)
from watercooler.services import Services

Instance = tuple[Services, httpx.AsyncClient]
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ACCOUNT_KEYS = {
    "id", "username", "acct", "display_name", "locked", "bot", "discoverable", "indexable",
    "group", "created_at", "note", "url", "uri", "avatar", "avatar_static", "header",
    "header_static", "followers_count", "following_count", "statuses_count", "last_status_at",
    "hide_collections", "emojis", "fields",
}  # fmt: skip
LOCAL_ACCOUNT_KEYS = ACCOUNT_KEYS | {"noindex", "roles"}
STATUS_KEYS = {
    "id", "created_at", "in_reply_to_id", "in_reply_to_account_id", "sensitive", "spoiler_text",
    "visibility", "language", "uri", "url", "replies_count", "reblogs_count",
    "favourites_count", "edited_at", "content", "reblog", "account", "media_attachments",
    "mentions", "tags", "emojis", "card", "poll",
    "local_only",  # GoToSocial's extra key (division-only posts)
}  # fmt: skip
VIEWER_KEYS = {"favourited", "reblogged", "muted", "bookmarked", "filtered"}
RELATIONSHIP_KEYS = {
    "id", "following", "showing_reblogs", "notifying", "languages", "followed_by", "blocking",
    "blocked_by", "muting", "muting_notifications", "requested", "requested_by",
    "domain_blocking", "endorsed", "note",
}  # fmt: skip


async def remote_account(svc: Services, name: str = "bob", domain: str = "b.test"):  # type: ignore[no-untyped-def]
    new = NewAccount(
        username=name,
        domain=domain,
        uri=f"http://{domain}/users/{name}",
        url=f"http://{domain}/@{name}",
        display_name="Bob B.",
        note='<p>Builds <a href="http://b.test/tags/x" rel="tag">#x</a></p>',
        inbox_url=f"http://{domain}/users/{name}/inbox",
    )
    async with svc.db.transaction() as conn:
        return await accounts.insert_account(conn, svc.db.new_id(), new, datetime.now(UTC))


def test_times_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 1, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert iso(moment) == "2026-01-01T10:00:00.123Z"
    assert iso(datetime(2026, 1, 1, 10, tzinfo=UTC)) == "2026-01-01T10:00:00.000Z"


def test_version_reads_like_mastodon_with_ours_inside() -> None:
    assert version_string() == f"4.3.0 (compatible; Watercooler {__version__})"
    assert re.match(r"^\d+\.\d+\.\d+ ", version_string())
    assert streaming_url("https://eng.example") == "wss://eng.example"
    assert streaming_url("http://localhost:8080") == "ws://localhost:8080"


async def test_local_account_entity(instance: Instance) -> None:
    svc, _ = instance
    created = await create_user(
        svc.db, svc.uris, "alice", now=datetime.now(UTC), password="password123", admin=True
    )
    await svc.publisher.post(created.account, "Hello <world>")
    async with svc.db.transaction() as conn:
        await conn.execute(
            "UPDATE accounts SET note = :note WHERE id = :id",
            {"note": "Tea & <b>code</b>\n\nSecond", "id": created.account.id},
        )
        account = await accounts.get_by_id(conn, created.account.id)
    assert account is not None
    async with svc.db.read() as conn:
        entity = await account_entity(conn, account, uris=svc.uris, local_domain="a.test")

    assert set(entity) == LOCAL_ACCOUNT_KEYS
    assert entity["id"] == str(account.id)
    assert (entity["username"], entity["acct"]) == ("alice", "alice")
    assert entity["uri"] == "http://a.test/users/alice"
    assert entity["url"] == "http://a.test/@alice"
    assert entity["note"] == "<p>Tea &amp; &lt;b&gt;code&lt;/b&gt;</p><p>Second</p>"
    assert TIME.match(entity["created_at"]) and entity["created_at"].endswith("T00:00:00.000Z")
    assert (
        entity["avatar"]
        == entity["avatar_static"]
        == ("http://a.test/avatars/original/missing.png")
    )
    assert entity["header"] == "http://a.test/headers/original/missing.png"
    assert entity["statuses_count"] == 1
    assert entity["last_status_at"] == datetime.now(UTC).date().isoformat()
    assert (entity["followers_count"], entity["following_count"]) == (0, 0)
    assert entity["locked"] is False and entity["bot"] is False and entity["group"] is False
    assert entity["discoverable"] is True and entity["noindex"] is False
    assert entity["roles"] == [{"id": "3", "name": "Admin", "color": ""}]
    assert entity["emojis"] == [] and entity["fields"] == []


async def test_remote_account_entity_has_no_local_only_keys(instance: Instance) -> None:
    svc, _ = instance
    bob = await remote_account(svc)
    async with svc.db.read() as conn:
        entity = await account_entity(conn, bob, uris=svc.uris, local_domain="a.test")
    assert set(entity) == ACCOUNT_KEYS
    assert entity["acct"] == "bob@b.test"
    assert entity["note"] == bob.note  # sanitised on arrival, passed as stored
    assert entity["display_name"] == "Bob B."
    assert entity["last_status_at"] is None
    assert entity["indexable"] is False


async def test_status_entity_without_and_with_a_viewer(instance: Instance) -> None:
    svc, _ = instance
    alice = await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC), password="x" * 8)
    carol = await create_user(svc.db, svc.uris, "carol", now=datetime.now(UTC), password="x" * 8)
    post = await svc.publisher.post(alice.account, "Hi @carol #Launch", language="en")
    reply = await svc.publisher.post(carol.account, "@alice thanks", in_reply_to=post)
    await svc.publisher.like(carol.account, post)
    boost = await svc.publisher.boost(carol.account, post)

    async with svc.db.read() as conn:
        post = await statuses.get_by_id(conn, post.id)  # type: ignore[assignment]
        assert post is not None
        anonymous = await status_entity(
            conn, post, viewer_account_id=None, uris=svc.uris, local_domain="a.test"
        )
        as_author = await status_entity(
            conn, post, viewer_account_id=alice.account.id, uris=svc.uris, local_domain="a.test"
        )
        as_carol = await status_entity(
            conn, post, viewer_account_id=carol.account.id, uris=svc.uris, local_domain="a.test"
        )
        reply_entity = await status_entity(
            conn, reply, viewer_account_id=None, uris=svc.uris, local_domain="a.test"
        )
        boost_entity = await status_entity(
            conn, boost, viewer_account_id=carol.account.id, uris=svc.uris, local_domain="a.test"
        )

    assert set(anonymous) == STATUS_KEYS  # posted without an app: no `application`
    assert anonymous["id"] == str(post.id) and TIME.match(anonymous["created_at"])
    assert anonymous["visibility"] == "public" and anonymous["language"] == "en"
    assert anonymous["url"] == f"http://a.test/@alice/{post.id}"
    assert anonymous["mentions"] == [
        {"id": str(carol.account.id), "username": "carol", "url": "http://a.test/@carol",
         "acct": "carol"}
    ]  # fmt: skip
    assert anonymous["tags"] == [{"name": "launch", "url": "http://a.test/tags/launch"}]
    assert anonymous["favourites_count"] == 1 and anonymous["reblogs_count"] == 1
    assert anonymous["replies_count"] == 1
    assert anonymous["reblog"] is None and anonymous["edited_at"] is None
    assert set(anonymous["account"]) == LOCAL_ACCOUNT_KEYS

    assert set(as_author) == STATUS_KEYS | VIEWER_KEYS | {"pinned"}
    assert as_author["favourited"] is False and as_author["pinned"] is False
    assert set(as_carol) == STATUS_KEYS | VIEWER_KEYS
    assert as_carol["favourited"] is True and as_carol["reblogged"] is True
    assert as_carol["filtered"] == [] and as_carol["bookmarked"] is False

    assert reply_entity["in_reply_to_id"] == str(post.id)
    assert reply_entity["in_reply_to_account_id"] == str(alice.account.id)

    assert boost_entity["id"] == str(boost.id)
    assert boost_entity["reblog"]["id"] == str(post.id)
    assert boost_entity["reblog"]["reblogged"] is True
    assert "application" not in boost_entity and boost_entity["content"] == ""
    assert boost_entity["account"]["username"] == "carol"


async def test_a_status_names_the_application_it_was_posted_with(instance: Instance) -> None:
    svc, _ = instance
    alice = await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC), password="x" * 8)
    async with svc.db.transaction() as conn:
        app = await oauth.insert_application(
            conn,
            svc.db.new_id(),
            name="Tusky",
            website="https://tusky.app",
            redirect_uris=("oauth2redirect://com.keylesspalace.tusky/",),
            scopes=("read", "write"),
            client_id="client",
            client_secret_hash="hash",
            now=datetime.now(UTC),
        )
    post = await svc.publisher.post(alice.account, "from my phone", application_id=app.id)
    async with svc.db.read() as conn:
        entity = await status_entity(
            conn, post, viewer_account_id=None, uris=svc.uris, local_domain="a.test"
        )
    assert entity["application"] == {"name": "Tusky", "website": "https://tusky.app"}


async def test_remote_status_has_no_application(instance: Instance) -> None:
    svc, _ = instance
    bob = await remote_account(svc)
    async with svc.db.transaction() as conn:
        status = await statuses.insert(
            conn,
            svc.db.new_id(),
            NewStatus(
                uri="http://b.test/users/bob/statuses/1",
                url=None,
                account_id=bob.id,
                local=False,
                visibility="public",
                content="<p>from b</p>",
            ),
            datetime.now(UTC),
        )
    async with svc.db.read() as conn:
        entity = await status_entity(
            conn, status, viewer_account_id=None, uris=svc.uris, local_domain="a.test"
        )
    assert set(entity) == STATUS_KEYS
    assert entity["url"] == status.uri  # no url: the id, as Mastodon falls back
    assert entity["account"]["acct"] == "bob@b.test"


async def test_relationship_entity(instance: Instance) -> None:
    svc, _ = instance
    alice = await create_user(svc.db, svc.uris, "alice", now=datetime.now(UTC), password="x" * 8)
    bob = await remote_account(svc)
    await svc.publisher.follow(alice.account, bob)
    async with svc.db.read() as conn:
        entity = await relationship_entity(conn, alice.account.id, bob.id, now=datetime.now(UTC))
    assert set(entity) == RELATIONSHIP_KEYS
    assert entity["id"] == str(bob.id)
    assert entity["requested"] is True and entity["following"] is False
    assert entity["showing_reblogs"] is True and entity["languages"] is None
    assert entity["note"] == ""
