"""Media and profiles across instances: a post's images travel as `Document` attachments and
show on the other side by their origin's URL; edits replace them; attachments from other
servers' shapes are read tolerantly and cleaned; a profile edit reaches followers' instances
as an `Update` of the actor, and an `Update` of someone else's actor changes nothing.

a.test has alice, b.test has bob (who follows alice) and mallory.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from federation import activities
from federation.keys import load_private_key
from federation.objects import Note, note_to_json
from federation.signatures import sign_request
from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.keyresolver import StoreKeyResolver

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
BOB = "http://b.test/users/bob"
MALLORY = "http://b.test/users/mallory"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "activitypub"
_serial = count(1)


@dataclass
class World:
    rig: Rig
    alice: httpx.AsyncClient
    bob: httpx.AsyncClient
    alice_on_b: str  # alice's account id as b.test knows her


@pytest.fixture
async def world(make_config: MakeConfig) -> AsyncIterator[World]:
    # a.test is open: the fixtures' media live on other servers, which an allowlist would drop
    # (tests/federation_core/test_peering.py shows that).
    configs = [
        make_config("a.test", peers=("b.test",), mode="open"),
        make_config("b.test", peers=("a.test",)),
    ]
    async with Rig(configs) as rig:
        alice = await rig.api_client("a.test", "alice")
        bob = await rig.api_client("b.test", "bob")
        await rig.user("b.test", "mallory")
        async with alice, bob:
            found = await bob.get("/api/v1/accounts/lookup", params={"acct": "alice@a.test"})
            assert found.status_code == 200, found.text
            alice_on_b = found.json()["id"]
            assert (await bob.post(f"/api/v1/accounts/{alice_on_b}/follow")).status_code == 200
            await rig.drain()
            yield World(rig, alice, bob, alice_on_b)


def jpeg(size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


async def upload(client: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v2/media", files={"file": ("a.jpg", jpeg(), "image/jpeg")}, data=fields
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def deliver(rig: Rig, document: dict[str, Any], name: str) -> None:
    """POST `document` to a.test's shared inbox, signed with b.test user `name`'s own key."""
    svc = rig.services("b.test")
    key_id = svc.uris.key_id(name)
    key = load_private_key(await StoreKeyResolver.signing_key(svc.db, key_id))
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/activity+json"}
    headers |= sign_request(
        "POST",
        "http://a.test/inbox",
        headers,
        body,
        key_id=key_id,
        private_key=key,  # type: ignore[arg-type]
        now=datetime.now(UTC),
    )
    async with rig.client("a.test") as client:
        response = await client.post("/inbox", content=body, headers=headers)
    assert response.status_code == 202, response.text
    await rig.drain()


def fixture_attachment(path: str) -> dict[str, Any]:
    document = json.loads((FIXTURES / path).read_text())
    return dict(document.get("object", document)["attachment"][0])


# ----- posts with images ---------------------------------------------------------------------


async def test_post_with_image_federates_as_document(world: World) -> None:
    # Given alice's upload, with alt text and a focal point
    media = await upload(world.alice, description="Q3 chart", focus="0.5,-0.25")
    # When she posts it
    made = await world.alice.post("/api/v1/statuses", json={"media_ids": [media["id"]]})
    assert made.status_code == 200, made.text
    status = made.json()
    await world.rig.drain()
    # Then the Note she serves carries Mastodon's Document
    note = (
        await world.alice.get(
            httpx.URL(status["uri"]).path, headers={"Accept": "application/activity+json"}
        )
    ).json()
    original = media["meta"]["original"]
    assert note["attachment"] == [
        {
            "type": "Document",
            "mediaType": "image/jpeg",
            "url": media["url"],
            "name": "Q3 chart",
            "blurhash": media["blurhash"],
            "focalPoint": [0.5, -0.25],
            "width": original["width"],
            "height": original["height"],
        }
    ]
    # And bob's instance shows it by a.test's URL, with what the Document said
    home = (await world.bob.get("/api/v1/timelines/home")).json()
    assert [s["uri"] for s in home] == [status["uri"]]
    (shown,) = home[0]["media_attachments"]
    assert shown["type"] == "image" and shown["id"] != media["id"]
    assert shown["url"] == shown["preview_url"] == shown["remote_url"] == media["url"]
    assert shown["preview_remote_url"] is None and shown["text_url"] is None
    assert shown["description"] == "Q3 chart" and shown["blurhash"] == media["blurhash"]
    assert shown["meta"]["original"] == original
    assert shown["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    image = await world.alice.get(httpx.URL(shown["url"]).path)  # the file is at its origin
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    # And only_media on b.test's copy of alice's profile finds it
    path = f"/api/v1/accounts/{world.alice_on_b}/statuses"
    assert [s["uri"] for s in (await world.bob.get(path, params={"only_media": "1"})).json()] == [
        status["uri"]
    ]


async def test_edit_replaces_the_remote_attachments(world: World) -> None:
    first, second = await upload(world.alice), await upload(world.alice, description="new")
    status = (
        await world.alice.post(
            "/api/v1/statuses", json={"status": "v1", "media_ids": [first["id"]]}
        )
    ).json()
    await world.rig.drain()
    edited = await world.alice.put(
        f"/api/v1/statuses/{status['id']}", json={"status": "v2", "media_ids": [second["id"]]}
    )
    assert edited.status_code == 200, edited.text
    await world.rig.drain()
    (copy,) = (await world.bob.get("/api/v1/timelines/home")).json()
    assert "v2" in copy["content"]
    assert [m["remote_url"] for m in copy["media_attachments"]] == [second["url"]]
    assert copy["media_attachments"][0]["description"] == "new"


async def test_attachments_of_other_servers_are_read_tolerantly_and_cleaned(
    world: World,
) -> None:
    mastodon = fixture_attachment("mastodon/note-reply-with-media.json")
    pixelfed = fixture_attachment("pixelfed/create-note.json")
    attachments: list[Any] = [
        mastodon,
        pixelfed,
        {  # url as a Link, alt text with markup
            "type": "Document",
            "mediaType": "image/png",
            "url": {"type": "Link", "href": "https://cdn.b.test/1.png", "mediaType": "image/png"},
            "name": "<b>bold</b><script>alert(1)</script> text",
            "blurhash": "not a blurhash because spaces",
            "focalPoint": [3, 0],
            "width": -4,
        },
        {"type": "Document", "url": ["https://cdn.b.test/2.mp4"], "mediaType": "video/mp4"},
        {"type": "Link", "href": "https://b.test/some/page"},  # a link preview, not media
        {"type": "Document", "url": "javascript:alert(1)", "mediaType": "image/png"},
        {"type": "Image", "url": "https://cdn.b.test/" + "x" * 3000 + ".png"},
        *({"type": "Image", "url": f"https://cdn.b.test/{i}.jpg"} for i in range(20)),
    ]
    note = note_to_json(
        Note(
            id=f"{BOB}/statuses/{next(_serial)}",
            type="Note",
            attributed_to=BOB,
            content="<p>pictures</p>",
            published=datetime.now(UTC),
            to=(PUBLIC,),
            cc=(f"{BOB}/followers",),
        )
    )
    await deliver(world.rig, activities.create(BOB, note | {"attachment": attachments}), "bob")
    stored = await world.rig.status("a.test", note["id"])
    assert stored is not None
    async with await world.rig.api_client("a.test", "reader") as reader:
        shown = (await reader.get(f"/api/v1/statuses/{stored.id}")).json()["media_attachments"]
    assert len(shown) == 16
    assert shown[0]["remote_url"] == mastodon["url"]
    assert (
        shown[0]["description"] == mastodon["name"] and shown[0]["blurhash"] == mastodon["blurhash"]
    )
    assert shown[0]["meta"]["original"]["size"] == "1500x1095"
    assert shown[1]["remote_url"] == pixelfed["url"] and shown[1]["type"] == "image"
    assert shown[2]["remote_url"] == "https://cdn.b.test/1.png"
    assert shown[2]["description"] == "bold text"  # plain text, the script gone
    assert shown[2]["blurhash"] is None and "focus" not in shown[2]["meta"]
    assert "original" not in shown[2]["meta"]
    assert (shown[3]["remote_url"], shown[3]["type"]) == ("https://cdn.b.test/2.mp4", "video")
    assert shown[4]["remote_url"] == "https://cdn.b.test/0.jpg"  # Link, javascript:, long URL
    assert all(m["url"].startswith("https://") for m in shown)

    # An Update of the note replaces the set; a single object counts as a list of one
    single = {"type": "Image", "mediaType": "image/webp", "url": "https://cdn.b.test/new.webp"}
    updated = note | {"attachment": single, "updated": datetime.now(UTC).isoformat()}
    update = activities.update(BOB, updated, id=f"{note['id']}#updates/1")
    await deliver(world.rig, update, "bob")
    async with await world.rig.api_client("a.test", "reader2") as reader:
        shown = (await reader.get(f"/api/v1/statuses/{stored.id}")).json()["media_attachments"]
    assert [m["remote_url"] for m in shown] == ["https://cdn.b.test/new.webp"]


# ----- profiles ------------------------------------------------------------------------------


async def test_profile_edit_reaches_followers_instance(world: World) -> None:
    # Given b.test shows alice with the default images
    path = f"/api/v1/accounts/{world.alice_on_b}"
    before = (await world.bob.get(path)).json()
    assert before["avatar"] == "http://b.test/avatars/original/missing.png"
    # When alice changes her name, fields and images
    me = await world.alice.patch(
        "/api/v1/accounts/update_credentials",
        data={
            "display_name": "Alice (Sales)",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://sales.example",
        },
        files={
            "avatar": ("a.jpg", jpeg((500, 500)), "image/jpeg"),
            "header": ("h.jpg", jpeg((1500, 500)), "image/jpeg"),
        },
    )
    assert me.status_code == 200, me.text
    await world.rig.drain()
    # Then b.test shows the new profile, images by a.test's URLs
    after = (await world.bob.get(path)).json()
    assert after["display_name"] == "Alice (Sales)"
    assert after["avatar"] == me.json()["avatar"] and after["avatar"].startswith("http://a.test/")
    assert after["header"] == me.json()["header"]
    assert after["fields"][0]["name"] == "Site"
    assert 'href="https://sales.example"' in after["fields"][0]["value"]
    assert "<script" not in after["fields"][0]["value"]
    # And saving without a change sends nothing more
    sent = await world.rig.drain()
    assert (
        await world.alice.patch(
            "/api/v1/accounts/update_credentials", data={"display_name": "Alice (Sales)"}
        )
    ).status_code == 200
    assert await world.rig.drain() == sent == 0


async def test_update_of_someone_elses_actor_changes_nothing(world: World) -> None:
    # Given a.test knows bob (he follows alice)
    async with await world.rig.api_client("a.test", "viewer") as viewer:
        bob_id = (
            await viewer.get("/api/v1/accounts/lookup", params={"acct": "bob@b.test"})
        ).json()["id"]
        # When mallory, of bob's own server, sends an Update of bob's actor, plainly or hidden
        # behind her own IRI in a list
        async with world.rig.client("b.test") as peer:
            served = await peer.get("/users/bob", headers={"Accept": "application/activity+json"})
        bob_doc = served.json()
        forged = bob_doc | {"name": "pwned", "icon": {"type": "Image", "url": "https://evil/x"}}
        for index, target in enumerate((forged, [MALLORY, forged])):
            update = activities.update(
                MALLORY, forged, id=f"{MALLORY}#updates/{index}", published=datetime.now(UTC)
            )
            update["object"] = target
            await deliver(world.rig, update, "mallory")
        # Then a.test still shows bob as he is
        shown = (await viewer.get(f"/api/v1/accounts/{bob_id}")).json()
        assert shown["display_name"] != "pwned"
        assert shown["avatar"] == "http://a.test/avatars/original/missing.png"
        # And bob's own Update is taken
        await deliver(
            world.rig,
            activities.update(
                BOB,
                bob_doc | {"name": "Bob B."},
                id=f"{BOB}#updates/1",
                published=datetime.now(UTC),
            ),
            "bob",
        )
        assert (await viewer.get(f"/api/v1/accounts/{bob_id}")).json()["display_name"] == "Bob B."
