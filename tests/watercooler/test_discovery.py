"""Discovery as Mastodon peers use it: WebFinger, host-meta, NodeInfo, actor documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from federation import discovery_docs, vocab
from store import users
from watercooler.accounts import create_user, disable_user
from watercooler.services import Services

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MASTODON_CONTEXT = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
]
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

Instance = tuple[Services, httpx.AsyncClient]


async def add_user(services: Services, name: str, **kwargs: object) -> None:
    await create_user(services.db, services.uris, name, now=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@a.test",
        "acct:Alice@A.TEST",
        "alice@a.test",
        "acct:@alice@a.test",
        "http://a.test/users/alice",
        "http://a.test/@alice",
    ],
)
async def test_webfinger_finds_a_user(instance: Instance, resource: str) -> None:
    services, client = instance
    await add_user(services, "alice")
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    assert response.headers["access-control-allow-origin"] == "*"
    jrd = response.json()
    assert jrd["subject"] == "acct:alice@a.test"
    assert jrd["aliases"] == ["http://a.test/@alice", "http://a.test/users/alice"]
    links = {link["rel"]: link for link in jrd["links"]}
    assert links["self"] == {"rel": "self", "type": AP, "href": "http://a.test/users/alice"}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == "http://a.test/@alice"
    # What a peer does with it: the JRD parses and points at the actor.
    assert discovery_docs.parse_jrd(jrd).actor_url() == "http://a.test/users/alice"


async def test_webfinger_with_and_without_the_port(make_config) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import running
    from watercooler.app import create_app

    config = make_config("localhost:8080")
    app = create_app(config)
    async with running(app, config.instance.base_url) as client:
        await add_user(app.state.services, "alice")
        for resource in ("acct:alice@localhost:8080", "acct:alice@localhost"):
            response = await client.get("/.well-known/webfinger", params={"resource": resource})
            assert response.status_code == 200, resource
            assert response.json()["subject"] == "acct:alice@localhost:8080"


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (None, 400),
        ("", 400),
        ("acct:", 400),
        ("acct:alice", 400),
        ("acct:a@b@a.test", 400),
        ("acct:nobody@a.test", 404),
        ("acct:alice@elsewhere.test", 404),
        ("https://elsewhere.test/users/alice", 404),
        ("acct:bad%20name@a.test", 404),
    ],
)
async def test_webfinger_refusals(instance: Instance, resource: str | None, status: int) -> None:
    services, client = instance
    await add_user(services, "alice")
    params = {} if resource is None else {"resource": resource}
    response = await client.get("/.well-known/webfinger", params=params)
    assert response.status_code == status
    assert "error" in response.json()


async def test_webfinger_finds_the_instance_actor(instance: Instance) -> None:
    _, client = instance
    response = await client.get("/.well-known/webfinger", params={"resource": "acct:a.test@a.test"})
    assert response.status_code == 200
    assert discovery_docs.parse_jrd(response.json()).actor_url() == "http://a.test/actor"


async def test_host_meta_points_at_webfinger(instance: Instance) -> None:
    _, client = instance
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    assert 'template="http://a.test/.well-known/webfinger?resource={uri}"' in response.text, (
        response.text
    )


async def test_nodeinfo_documents(instance: Instance) -> None:
    services, client = instance
    await add_user(services, "alice")
    await add_user(services, "bob")
    await add_user(services, "carol")
    await disable_user(services.db, "bob", NOW)
    async with services.db.transaction() as conn:
        alice = await users.get_by_username(conn, "alice")
        carol = await users.get_by_username(conn, "carol")
        assert alice is not None and carol is not None
        await users.touch_last_active(conn, alice.id, services.clock() - timedelta(days=2))
        await users.touch_last_active(conn, carol.id, services.clock() - timedelta(days=90))
    alice_account = await services.actors.get("http://a.test/users/alice")
    assert alice_account is not None
    await services.publisher.post(alice_account, "one")
    second = await services.publisher.post(alice_account, "two")
    await services.publisher.delete(alice_account, second)
    links = (await client.get("/.well-known/nodeinfo")).json()["links"]
    assert [link["rel"].rsplit("/", 1)[1] for link in links] == ["2.0", "2.1"]
    for link in links:
        response = await client.get(link["href"])
        assert response.status_code == 200
        assert "nodeinfo.diaspora.software/ns/schema" in response.headers["content-type"]
        document = response.json()
        info = discovery_docs.parse_nodeinfo(document)
        assert info.software_name == "watercooler"
        assert info.protocols == ("activitypub",) or list(info.protocols) == ["activitypub"]
        assert info.open_registrations is False
        assert document["usage"]["users"] == {"total": 2, "activeMonth": 1, "activeHalfyear": 2}
        assert document["usage"]["localPosts"] == 1  # the deleted one does not count
        assert document["metadata"]["federation"]["mode"] == "allowlist"
    assert (await client.get("/nodeinfo/9.9")).status_code == 404


@pytest.mark.parametrize("accept", [AP, LD, f"{LD}, text/html;q=0.5"])
async def test_actor_document_as_mastodon_serves_it(instance: Instance, accept: str) -> None:
    services, client = instance
    await add_user(services, "alice")
    response = await client.get("/users/alice", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/activity+json")
    document = response.json()
    assert document["@context"][:2] == MASTODON_CONTEXT
    assert document["@context"][2]["toot"] == "http://joinmastodon.org/ns#"
    assert document["type"] == "Person"
    assert document["id"] == "http://a.test/users/alice"
    for key, value in {
        "preferredUsername": "alice",
        "name": "alice",
        "url": "http://a.test/@alice",
        "inbox": "http://a.test/users/alice/inbox",
        "outbox": "http://a.test/users/alice/outbox",
        "followers": "http://a.test/users/alice/followers",
        "following": "http://a.test/users/alice/following",
        "featured": "http://a.test/users/alice/collections/featured",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
    }.items():
        assert document[key] == value, key
    assert "summary" in document and document["published"].endswith("Z")
    assert document["endpoints"] == {
        "sharedInbox": "http://a.test/inbox",
        "oauthAuthorizationEndpoint": "http://a.test/oauth/authorize",
        "oauthTokenEndpoint": "http://a.test/oauth/token",
        "proxyUrl": "http://a.test/proxy",
    }
    key = document["publicKey"]
    assert key["id"] == "http://a.test/users/alice#main-key"
    assert key["owner"] == "http://a.test/users/alice"
    assert load_pem_public_key(key["publicKeyPem"].encode()).key_size == 2048
    actor = vocab.parse_actor(document)
    assert actor.preferred_username == "alice" and actor.shared_inbox == "http://a.test/inbox"


async def test_each_account_has_its_own_key(instance: Instance) -> None:
    services, client = instance
    await add_user(services, "alice")
    await add_user(services, "bob")
    pems = set()
    for path in ("/users/alice", "/users/bob", "/actor"):
        pems.add(
            (await client.get(path, headers={"Accept": AP})).json()["publicKey"]["publicKeyPem"]
        )
    assert len(pems) == 3


async def test_a_browser_gets_the_profile_page(instance: Instance) -> None:
    services, client = instance
    await add_user(services, "alice")
    redirect = await client.get("/users/alice", headers={"Accept": "text/html"})
    assert redirect.status_code == 302
    assert redirect.headers["location"] == "http://a.test/@alice"
    page = await client.get("/@alice", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "@alice@a.test" in page.text
    assert '<link rel="alternate" type="application/activity+json"' in page.text
    as_json = await client.get("/@alice", headers={"Accept": AP})
    assert as_json.json()["id"] == "http://a.test/users/alice"


async def test_instance_actor(instance: Instance) -> None:
    _, client = instance
    response = await client.get("/actor", headers={"Accept": AP})
    assert response.status_code == 200
    document = response.json()
    assert document["type"] == "Application"
    assert document["id"] == "http://a.test/actor"
    assert document["preferredUsername"] == "a.test"
    assert document["publicKey"]["id"] == "http://a.test/actor#main-key"
    assert document["inbox"] == "http://a.test/actor/inbox"
    assert vocab.parse_actor(document).type == "Application"


async def test_unknown_and_disabled_users(instance: Instance) -> None:
    services, client = instance
    await add_user(services, "bob")
    await disable_user(services.db, "bob", NOW)
    for path in ("/users/nobody", "/@nobody"):
        assert (await client.get(path, headers={"Accept": AP})).status_code == 404
    for path in ("/users/bob", "/@bob"):
        assert (await client.get(path, headers={"Accept": AP})).status_code == 410
    gone = await client.get("/.well-known/webfinger", params={"resource": "acct:bob@a.test"})
    assert gone.status_code == 410
    # The instance actor is not a user: no profile page under its name.
    assert (await client.get("/users/a.test", headers={"Accept": AP})).status_code == 404


async def test_hostile_display_name_is_escaped(instance: Instance) -> None:
    services, client = instance
    await add_user(services, "mallory")
    async with services.db.transaction() as conn:
        await conn.execute(
            "UPDATE accounts SET display_name = '<script>alert(1)</script>',"
            " note = '<img src=x onerror=alert(1)>' WHERE username = 'mallory'"
        )
    page = await client.get("/@mallory")
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;script&gt;" in page.text
    document = (await client.get("/users/mallory", headers={"Accept": AP})).json()
    assert "<img" not in document["summary"]
