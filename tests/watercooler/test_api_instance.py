"""The instance as apps discover it, over HTTP: the instance documents without a token, peers,
activity, emojis, preferences, filters, announcements, markers, the default images, and 404
JSON for any unknown API path."""

from __future__ import annotations

import re
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from store import accounts
from store.accounts import NewAccount
from tests.conftest import MakeConfig, running
from watercooler import __version__
from watercooler.accounts import create_token, create_user
from watercooler.app import create_app
from watercooler.config import ConfigError, parse_config
from watercooler.services import Services

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
V1_KEYS = {
    "uri", "title", "short_description", "description", "email", "version", "urls", "stats",
    "thumbnail", "languages", "registrations", "approval_required", "invites_enabled",
    "configuration", "contact_account", "rules",
}  # fmt: skip
V2_KEYS = {
    "domain", "title", "version", "source_url", "description", "usage", "thumbnail", "icon",
    "languages", "configuration", "registrations", "api_versions", "contact", "rules",
}  # fmt: skip


@pytest.fixture
async def site(make_config: MakeConfig) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """a.test peered with b.test and c.test, with an admin (the contact) and a user."""
    config = make_config("a.test", peers=("b.test", "c.test"))
    app: Starlette = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc: Services = app.state.services
        now = datetime.now(UTC)
        await create_user(svc.db, svc.uris, "admin", now=now, password="x" * 8, admin=True,
                          email="it@a.test")  # fmt: skip
        await create_user(svc.db, svc.uris, "alice", now=now, password="x" * 8)
        yield svc, client


async def bearer(svc: Services, name: str, *scopes: str) -> dict[str, str]:
    token = await create_token(svc.db, name, scopes or ("read", "write"), datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def png_size(body: bytes) -> tuple[int, int]:
    assert body.startswith(b"\x89PNG\r\n\x1a\n") and body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return width, height


# ----- the instance documents ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_instance_v1_without_a_token(site, path: str) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    await svc.publisher.post(await _alice(svc), "hello")

    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == V1_KEYS
    assert body["uri"] == "a.test" and body["title"] == "a.test"
    assert body["version"] == f"4.3.0 (compatible; Watercooler {__version__})"
    assert body["urls"] == {"streaming_api": "ws://a.test"}
    assert body["stats"] == {"user_count": 2, "status_count": 1, "domain_count": 2}
    assert body["thumbnail"] == "http://a.test/images/preview.png"
    assert body["registrations"] is False and body["email"] == "it@a.test"
    assert body["contact_account"]["username"] == "admin"
    assert body["configuration"]["statuses"] == {
        "max_characters": 5000, "max_media_attachments": 4, "characters_reserved_per_url": 23,
    }  # fmt: skip
    assert body["rules"] == []


async def test_instance_v2_without_a_token(site) -> None:  # type: ignore[no-untyped-def]
    _, client = site

    response = await client.get("/api/v2/instance")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == V2_KEYS
    assert body["domain"] == "a.test"
    assert body["version"].startswith("4.3.0 (compatible; Watercooler ")
    assert body["thumbnail"] == {"url": "http://a.test/images/preview.png"}
    configuration = body["configuration"]
    assert configuration["urls"]["streaming"] == "ws://a.test"
    assert configuration["statuses"]["max_characters"] == 5000
    assert configuration["statuses"]["max_media_attachments"] == 4
    assert configuration["statuses"]["characters_reserved_per_url"] == 23
    media = configuration["media_attachments"]
    assert "image/png" in media["supported_mime_types"] and media["image_size_limit"] > 0
    assert set(configuration["polls"]) == {
        "max_options", "max_characters_per_option", "min_expiration", "max_expiration",
    }  # fmt: skip
    assert configuration["accounts"]["max_featured_tags"] == 10
    assert body["registrations"]["enabled"] is False
    assert body["registrations"]["approval_required"] is True
    assert body["api_versions"] == {"mastodon": 2}
    assert body["contact"]["email"] == "it@a.test"
    assert body["contact"]["account"]["acct"] == "admin"
    assert body["contact"]["account"]["roles"] == [{"id": "3", "name": "Admin", "color": ""}]
    assert body["usage"] == {"users": {"active_month": 0}}
    assert body["rules"] == []


async def test_description_comes_from_the_config(make_config: MakeConfig) -> None:
    from dataclasses import replace

    config = make_config("a.test")
    config = replace(config, instance=replace(config.instance, description="Engineering talk"))
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()
    assert v1["description"] == v1["short_description"] == "Engineering talk"
    assert v2["description"] == "Engineering talk"
    assert v1["contact_account"] is None and v2["contact"] == {"email": "", "account": None}


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("/images/preview.png", (1200, 630)),
        ("/images/icon.png", (192, 192)),
        ("/avatars/original/missing.png", (120, 120)),
        ("/headers/original/missing.png", (3, 1)),
    ],
)
async def test_default_images_are_served(site, path: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    _, client = site
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert png_size(response.content) == size


async def test_peers_are_configured_and_known_domains(site) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    async with svc.db.transaction() as conn:
        await accounts.insert_account(
            conn,
            svc.db.new_id(),
            NewAccount(username="dan", domain="d.test", uri="http://d.test/users/dan", url=None),
            datetime.now(UTC),
        )
    response = await client.get("/api/v1/instance/peers")
    assert response.status_code == 200
    assert response.json() == ["b.test", "c.test", "d.test"]


async def test_weekly_activity(site) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    await svc.publisher.post(await _alice(svc), "one")
    await svc.publisher.post(await _alice(svc), "two")

    weeks = (await client.get("/api/v1/instance/activity")).json()

    assert len(weeks) == 12
    assert all(set(w) == {"week", "statuses", "logins", "registrations"} for w in weeks)
    assert all(isinstance(v, str) for w in weeks for v in w.values())
    this_week = datetime.fromtimestamp(int(weeks[0]["week"]), UTC)
    assert this_week.weekday() == 0 and this_week <= datetime.now(UTC)
    assert int(weeks[0]["week"]) - int(weeks[1]["week"]) == 7 * 86400
    assert (weeks[0]["statuses"], weeks[0]["registrations"]) == ("2", "2")
    assert all(w["statuses"] == "0" for w in weeks[1:])


async def test_custom_emojis_are_an_empty_list(site) -> None:  # type: ignore[no-untyped-def]
    _, client = site
    response = await client.get("/api/v1/custom_emojis")
    assert (response.status_code, response.json()) == (200, [])


# ----- per-user documents ------------------------------------------------------------------------


async def test_preferences(site) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    assert (await client.get("/api/v1/preferences")).status_code == 401
    refused = await client.get("/api/v1/preferences", headers=await bearer(svc, "alice", "write"))
    assert refused.status_code == 403 and "error" in refused.json()

    response = await client.get(
        "/api/v1/preferences", headers=await bearer(svc, "alice", "read:accounts")
    )

    assert response.json() == {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }


@pytest.mark.parametrize("path", ["/api/v1/filters", "/api/v2/filters", "/api/v1/announcements"])
async def test_empty_lists_for_a_signed_in_user(site, path: str) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    response = await client.get(path)
    assert response.status_code == 401
    assert response.json() == {"error": "The access token is invalid"}
    response = await client.get(path, headers=await bearer(svc, "alice", "read"))
    assert (response.status_code, response.json()) == (200, [])


async def test_markers_are_stored_and_versioned(site) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    headers = await bearer(svc, "alice", "read", "write")
    query = "/api/v1/markers?timeline[]=home&timeline[]=notifications"
    assert (await client.get(query, headers=headers)).json() == {}

    saved = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "103194548672408537"}, headers=headers
    )

    assert saved.status_code == 200
    marker = saved.json()["home"]
    assert set(saved.json()) == {"home"}
    assert marker["last_read_id"] == "103194548672408537" and marker["version"] == 0
    assert TIME.match(marker["updated_at"])
    again = await client.post(
        "/api/v1/markers",
        json={"home": {"last_read_id": "103194548672408999"},
              "notifications": {"last_read_id": "5"}},
        headers=headers,
    )  # fmt: skip
    assert again.json()["home"]["version"] == 1
    assert again.json()["notifications"] == {
        "last_read_id": "5", "version": 0, "updated_at": again.json()["notifications"]["updated_at"]
    }  # fmt: skip
    read = (await client.get(query, headers=headers)).json()
    assert read["home"]["last_read_id"] == "103194548672408999" and read["home"]["version"] == 1
    only_home = (await client.get("/api/v1/markers?timeline[]=home", headers=headers)).json()
    assert set(only_home) == {"home"}
    # Another user has their own markers.
    bob_headers = await bearer(svc, "admin", "read")
    assert (await client.get(query, headers=bob_headers)).json() == {}


async def test_markers_check_scopes_and_ids(site) -> None:  # type: ignore[no-untyped-def]
    svc, client = site
    read_only = await bearer(svc, "alice", "read")
    assert (await client.get("/api/v1/markers")).status_code == 401
    refused = await client.post(
        "/api/v1/markers", data={"home[last_read_id]": "1"}, headers=read_only
    )
    assert refused.status_code == 403
    bad = await client.post(
        "/api/v1/markers",
        data={"home[last_read_id]": "not-an-id"},
        headers=await bearer(svc, "alice", "write:statuses"),
    )
    assert bad.status_code == 422 and "error" in bad.json()


# ----- unknown paths ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_api_paths_answer_404_json(site, method: str) -> None:  # type: ignore[no-untyped-def]
    _, client = site
    response = await client.request(method, "/api/v1/no_such_thing/7")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "Record not found"}
    response = await client.get("/api/v3/instance")
    assert response.json() == {"error": "Record not found"}


async def _alice(svc: Services):  # type: ignore[no-untyped-def]
    async with svc.db.read() as conn:
        return await accounts.get_local(conn, "alice")


def test_config_keys_for_the_client_api() -> None:
    minimal = {"instance": {"domain": "eng.example.com"}}
    config = parse_config(minimal)
    assert config.instance.description == "" and config.oauth.password_grant is True
    config = parse_config(
        {
            "instance": {"domain": "eng.example.com", "description": "Shop talk"},
            "oauth": {"password_grant": False},
        }
    )
    assert config.instance.description == "Shop talk"
    assert config.oauth.password_grant is False
    for data, key in (
        ({"instance": {"domain": "e.example", "description": 3}}, "instance.description"),
        ({**minimal, "oauth": {"password_grant": "no"}}, "oauth.password_grant"),
        ({**minimal, "oauth": {"grants": []}}, "oauth.grants"),
    ):
        with pytest.raises(ConfigError, match=key):
            parse_config(data)


async def test_browser_apps_get_cors_on_the_api(instance) -> None:  # type: ignore[no-untyped-def]
    _, client = instance
    preflight = await client.options(
        "/api/v1/timelines/home",
        headers={"Origin": "https://elk.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    answer = await client.get("/api/v1/instance", headers={"Origin": "https://elk.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "Link" in answer.headers["access-control-expose-headers"]
    page = await client.get("/users/nobody", headers={"Origin": "https://elk.example"})
    assert "access-control-allow-origin" not in page.headers  # only the API
