"""The media API over HTTP as apps drive it: uploads of each image type, hostile files, EXIF
stripping, previews, the served files and their headers, attaching to statuses (and edits),
`only_media`, and avatar and header uploads through update_credentials.

Test images are made with Pillow here; nothing binary is checked in.
"""

from __future__ import annotations

import io
import sqlite3
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import MakeConfig
from tests.rig import Rig
from watercooler.api.media import MAX_UPLOAD_BODY
from watercooler.media import IMAGE_SIZE_LIMIT

MEDIA_KEYS = [
    "id", "type", "url", "preview_url", "remote_url", "preview_remote_url", "text_url", "meta",
    "description", "blurhash",
]  # fmt: skip
GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    async with Rig([make_config("a.test")]) as rig:
        yield rig


@pytest.fixture
async def alice(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    async with await rig.api_client("a.test", "alice") as client:
        yield client


def image(
    file_format: str,
    size: tuple[int, int] = (800, 600),
    color: tuple[int, ...] = (200, 30, 30),
    mode: str = "RGB",
    **options: Any,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, file_format, **options)
    return buffer.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (120, 80), i) for i in (10, 200)]
    frames[0].putpalette([v for i in range(256) for v in (i, 255 - i, 0)])
    frames[1].putpalette([v for i in range(256) for v in (0, i, 255 - i)])
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def multi_picture_jpeg() -> bytes:
    """An MPO, as many phone cameras write: a JPEG followed by more pictures."""
    first, second = Image.new("RGB", (300, 200), (0, 200, 0)), Image.new("RGB", (300, 200))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, *, pixels: bool = True) -> bytes:
    """A 1-bit greyscale PNG of all zeros: megapixels that compress to a few kilobytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = b""
    if pixels:
        compressor = zlib.compressobj(9)
        row = b"\x00" * (1 + (width + 7) // 8)
        data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
    version: str = "v2",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        f"/api/{version}/media", files={"file": (name, data, content_type)}, data=fields
    )


async def served(client: httpx.AsyncClient, url: str) -> httpx.Response:
    response = await client.get(httpx.URL(url).path, headers={"Authorization": ""})
    assert response.status_code == 200, (url, response.text)
    return response


def media_files(rig: Rig) -> list[Path]:
    root = Path(rig.services("a.test").config.media.path)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def plant(path: Path) -> None:
    """A file in the media folder under a name we never make: it must not be served."""
    path.write_bytes(b"secret")


def media_rows(rig: Rig) -> int:
    with closing(sqlite3.connect(rig.services("a.test").db.path)) as conn:
        return int(conn.execute("SELECT count(*) FROM media_attachments").fetchone()[0])


# ----- uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "claimed", "served_type", "first_pixel"),
    [
        (image("JPEG"), "image/jpeg", "image/jpeg", (200, 30, 30)),
        (image("PNG", mode="RGBA", color=(0, 90, 200, 128)), "image/png", "image/png", None),
        (image("WEBP", quality=95), "image/webp", "image/webp", (200, 30, 30)),
        (animated_gif(), "image/gif", "image/png", (10, 245, 0)),  # the first frame, as PNG
        (multi_picture_jpeg(), "image/jpeg", "image/jpeg", (0, 200, 0)),
    ],
    ids=["jpeg", "png", "webp", "gif", "mpo"],
)
async def test_upload_each_type(
    alice: httpx.AsyncClient,
    data: bytes,
    claimed: str,
    served_type: str,
    first_pixel: tuple[int, int, int] | None,
) -> None:
    response = await upload(alice, data, name="upload.bin", content_type=claimed)
    assert response.status_code == 200, response.text  # processed at once, so not 202
    entity = response.json()
    assert list(entity) == MEDIA_KEYS
    assert entity["type"] == "image" and isinstance(entity["id"], str)
    assert entity["remote_url"] is None and entity["preview_remote_url"] is None
    assert entity["description"] is None and entity["blurhash"]
    width, height = Image.open(io.BytesIO(data)).size
    original = entity["meta"]["original"]
    assert original == {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": width / height,
    }
    small = entity["meta"]["small"]
    assert max(small["width"], small["height"]) <= 640 and "focus" not in entity["meta"]
    file = await served(alice, entity["url"])
    assert file.headers["content-type"] == served_type
    assert file.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in file.headers["cache-control"]
    decoded = Image.open(io.BytesIO(file.content))
    assert decoded.size == (width, height)
    if first_pixel is not None:
        pixel = decoded.convert("RGB").getpixel((5, 5))
        assert isinstance(pixel, tuple)
        assert all(abs(a - b) <= 6 for a, b in zip(pixel, first_pixel, strict=True))
    preview = Image.open(io.BytesIO((await served(alice, entity["preview_url"])).content))
    assert preview.size == (small["width"], small["height"])


async def test_preview_fits_640_and_large_originals_shrink(alice: httpx.AsyncClient) -> None:
    wide = (await upload(alice, image("JPEG", size=(2000, 500)))).json()
    assert wide["meta"]["small"]["width"] == 640 and wide["meta"]["small"]["height"] == 160
    tiny = (await upload(alice, image("PNG", size=(40, 30)), content_type="image/png")).json()
    assert tiny["meta"]["small"]["size"] == "40x30"  # previews never upscale
    huge = (await upload(alice, image("JPEG", size=(5000, 4000)))).json()
    width, height = huge["meta"]["original"]["width"], huge["meta"]["original"]["height"]
    assert width * height <= 3840 * 2160 and abs(width / height - 1.25) < 0.01


async def test_description_focus_and_updates_before_attaching(
    rig: Rig, alice: httpx.AsyncClient
) -> None:
    made = await upload(
        alice, image("JPEG"), version="v1", description="A red square", focus="-0.5,0.25"
    )
    assert made.status_code == 200, made.text
    entity = made.json()
    assert entity["description"] == "A red square"
    assert entity["meta"]["focus"] == {"x": -0.5, "y": 0.25}
    path = f"/api/v1/media/{entity['id']}"
    assert (await alice.get(path)).json() == entity
    changed = await alice.put(path, json={"description": "Still red"})
    assert changed.status_code == 200 and changed.json()["description"] == "Still red"
    assert changed.json()["meta"]["focus"] == {"x": -0.5, "y": 0.25}  # left as it was
    refocused = await alice.put(path, data={"focus": "0.1,-1"})
    assert refocused.json()["meta"]["focus"] == {"x": 0.1, "y": -1.0}
    for bad in ({"focus": "2,0"}, {"focus": "left"}, {"description": "x" * 1501}):
        response = await alice.put(path, data=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"].startswith("Validation failed")
    assert (await alice.get(path)).json()["description"] == "Still red"
    async with await rig.api_client("a.test", "bob") as bob:
        assert (await bob.get(path)).status_code == 404  # someone else's upload
        assert (await bob.put(path, data={"description": "mine"})).status_code == 404
    assert (await alice.get("/api/v1/media/123")).status_code == 404


async def test_hostile_and_oversized_files_are_refused_and_store_nothing(
    rig: Rig, alice: httpx.AsyncClient
) -> None:
    cases: list[tuple[bytes, str, int, str]] = [
        (b"I am only text\n" * 20, "image/png", 422, "content type is invalid"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 422, "content type"),
        (image("JPEG")[:300], "image/jpeg", 422, "could not be processed"),  # truncated
        (image("BMP", size=(20, 20)), "image/png", 422, "content type"),  # real, not ours
        (png_bomb(8000, 8000), "image/png", 422, "8000x8000 images are not supported"),
        (png_bomb(50000, 50000, pixels=False), "image/png", 422, "content type"),  # past Pillow's
        (b"", "image/png", 422, "can't be blank"),
    ]
    for data, claimed, status, message in cases:
        response = await upload(alice, data, name="x.png", content_type=claimed)
        assert response.status_code == status, (message, response.text)
        assert message in response.json()["error"], response.json()
    big = b"\xff\xd8" + b"\x00" * IMAGE_SIZE_LIMIT
    too_big = await upload(alice, big)
    assert too_big.status_code == 422 and "16 MB" in too_big.json()["error"]
    body = await upload(alice, b"\x00" * (MAX_UPLOAD_BODY + 1))
    assert body.status_code == 413
    no_file = await alice.post("/api/v2/media", data={"description": "no file"})
    assert no_file.status_code == 422
    assert media_files(rig) == [] and media_rows(rig) == 0
    async with await rig.api_client("a.test", "reader", scopes="read") as reader:
        assert (await upload(reader, image("JPEG"))).status_code == 403
    anonymous = await alice.post(
        "/api/v2/media", files={"file": ("a.jpg", image("JPEG"), "image/jpeg")},
        headers={"Authorization": ""},
    )  # fmt: skip
    assert anonymous.status_code == 401


async def test_exif_with_gps_is_gone_and_orientation_applied(alice: httpx.AsyncClient) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "Camera maker"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 1.0), 3: "E", 4: (4.0, 53.0, 2.0)}
    data = image("JPEG", size=(600, 400), exif=exif, comment=b"home address")
    assert GPS_IFD in Image.open(io.BytesIO(data)).getexif()  # the upload carries it
    entity = (await upload(alice, data)).json()
    assert entity["meta"]["original"]["size"] == "400x600"  # upright
    for url in (entity["url"], entity["preview_url"]):
        stored = Image.open(io.BytesIO((await served(alice, url)).content))
        assert dict(stored.getexif()) == {}
        assert "comment" not in stored.info and "exif" not in stored.info
        assert stored.height > stored.width


async def test_served_files_only_by_their_names(rig: Rig, alice: httpx.AsyncClient) -> None:
    entity = (await upload(alice, image("PNG"), content_type="image/png")).json()
    name = httpx.URL(entity["url"]).path.rsplit("/", 1)[1]
    assert len(name.split(".")[0]) == 32  # 128 random bits
    head = await alice.head(f"/media/{name}")
    assert head.status_code == 200 and head.headers["content-type"] == "image/png"
    plant(Path(rig.services("a.test").config.media.path, "secret.png"))
    for path in (
        "/media/secret.png",
        "/media/..%2Fdb.sqlite3",
        "/media/%2e%2e%2fdb.sqlite3",
        "/media/../db.sqlite3",
        f"/media/{name[:2]}%2F{name}",
        f"/media/{name.upper()}",
        f"/media/{'0' * 32}.png",
        f"/media/{name}.png",
    ):
        response = await alice.get(path)
        assert response.status_code == 404, path
        assert response.content != b"secret" and b"SQLite" not in response.content


# ----- statuses with media -------------------------------------------------------------------


async def test_attach_to_status_in_order_and_only_media(rig: Rig, alice: httpx.AsyncClient) -> None:
    uploads = [
        (await upload(alice, image("JPEG", color=(i * 40, 0, 0)), description=f"n{i}")).json()
        for i in range(5)
    ]
    ids = [u["id"] for u in uploads]
    too_many = await alice.post("/api/v1/statuses", data={"status": "x", "media_ids[]": ids})
    assert too_many.status_code == 422 and "4" in too_many.json()["error"]
    made = await alice.post("/api/v1/statuses", data={"media_ids[]": [ids[2], ids[0]]})
    assert made.status_code == 200, made.text  # no text: media is enough
    status = made.json()
    assert [m["id"] for m in status["media_attachments"]] == [ids[2], ids[0]]
    assert status["media_attachments"][0] == uploads[2]
    again = await alice.post("/api/v1/statuses", json={"status": "again", "media_ids": [ids[0]]})
    assert again.status_code == 422 and "already attached" in again.json()["error"]
    assert (await alice.get(f"/api/v1/media/{ids[0]}")).status_code == 404  # attached now
    assert (await alice.post("/api/v1/statuses", data={"status": " "})).status_code == 422
    async with await rig.api_client("a.test", "bob") as bob:
        theirs = await bob.post("/api/v1/statuses", json={"status": "x", "media_ids": [ids[1]]})
        assert theirs.status_code == 422
        plain = await alice.post("/api/v1/statuses", json={"status": "words only"})
        me = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
        path = f"/api/v1/accounts/{me}/statuses"
        everything = [s["id"] for s in (await bob.get(path)).json()]
        assert everything == [plain.json()["id"], status["id"]]
        only_media = [s["id"] for s in (await bob.get(path, params={"only_media": "true"})).json()]
        assert only_media == [status["id"]]
        got = (await bob.get(f"/api/v1/statuses/{status['id']}")).json()
        assert [m["description"] for m in got["media_attachments"]] == ["n2", "n0"]


async def test_edit_replaces_media(alice: httpx.AsyncClient) -> None:
    a, b, c = [(await upload(alice, image("JPEG"))).json()["id"] for _ in range(3)]
    status = (
        await alice.post("/api/v1/statuses", json={"status": "v1", "media_ids": [a, b]})
    ).json()
    path = f"/api/v1/statuses/{status['id']}"
    kept = await alice.put(path, json={"status": "v2"})  # media_ids left out: kept
    assert [m["id"] for m in kept.json()["media_attachments"]] == [a, b]
    edited = await alice.put(path, json={"status": "v3", "media_ids": [c, a]})
    assert edited.status_code == 200, edited.text
    assert [m["id"] for m in edited.json()["media_attachments"]] == [c, a]
    other = await alice.post("/api/v1/statuses", json={"status": "x", "media_ids": [b]})
    assert other.status_code == 422  # taken off in the edit, still tied to its status
    no_text = await alice.put(path, json={"status": "", "media_ids": []})
    assert no_text.status_code == 422  # neither text nor media
    cleared = await alice.put(path, json={"status": "v4", "media_ids": []})
    assert cleared.json()["media_attachments"] == []
    assert (await alice.get(path)).json()["media_attachments"] == []
    back = await alice.put(path, json={"status": "v5", "media_ids": [b]})  # its own, again
    assert [m["id"] for m in back.json()["media_attachments"]] == [b]


async def test_edit_changes_alt_text_of_attached_media(alice: httpx.AsyncClient) -> None:
    """Tusky and others send `media_attributes` to fix alt text after posting."""
    a = (await upload(alice, image("JPEG"), description="old", focus="0.5,0.5")).json()["id"]
    status = (await alice.post("/api/v1/statuses", json={"status": "x", "media_ids": [a]})).json()
    path = f"/api/v1/statuses/{status['id']}"
    edited = await alice.put(
        path,
        json={
            "status": "x",
            "media_ids": [a],
            "media_attributes": [{"id": a, "description": "A chart of sales"}, {"id": "1"}],
        },
    )
    assert edited.status_code == 200, edited.text
    (media,) = edited.json()["media_attachments"]
    assert media["description"] == "A chart of sales"
    assert media["meta"]["focus"] == {"x": 0.5, "y": 0.5}  # not sent: kept
    bad = await alice.put(
        path, json={"status": "x", "media_attributes": [{"id": a, "description": "x" * 1501}]}
    )
    assert bad.status_code == 422
    assert (await alice.get(path)).json()["media_attachments"][0]["description"] == (
        "A chart of sales"
    )


async def test_delete_and_redraft_keeps_the_media(alice: httpx.AsyncClient) -> None:
    media = (await upload(alice, image("JPEG"), description="photo")).json()
    status = (await alice.post("/api/v1/statuses", json={"media_ids": [media["id"]]})).json()
    deleted = await alice.delete(f"/api/v1/statuses/{status['id']}")
    assert deleted.status_code == 200
    assert [m["id"] for m in deleted.json()["media_attachments"]] == [media["id"]]
    redraft = await alice.post("/api/v1/statuses", json={"media_ids": [media["id"]]})
    assert redraft.status_code == 200, redraft.text
    assert redraft.json()["media_attachments"][0]["description"] == "photo"


# ----- avatar and header ---------------------------------------------------------------------


async def test_avatar_and_header_uploads(rig: Rig, alice: httpx.AsyncClient) -> None:
    path = "/api/v1/accounts/update_credentials"
    before = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert before["avatar"].endswith("/avatars/original/missing.png")
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 1.0)}
    response = await alice.patch(
        path,
        data={"display_name": "Alice A."},
        files={
            "avatar": ("me.jpg", image("JPEG", size=(900, 600), exif=exif), "image/jpeg"),
            "header": ("wide.png", image("PNG", size=(3000, 1500)), "image/png"),
        },
    )
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "Alice A."
    assert me["avatar"] == me["avatar_static"] and "/media/" in me["avatar"]
    assert me["header"] == me["header_static"] and "/media/" in me["header"]
    avatar = Image.open(io.BytesIO((await served(alice, me["avatar"])).content))
    assert avatar.size == (400, 400) and dict(avatar.getexif()) == {}
    header = Image.open(io.BytesIO((await served(alice, me["header"])).content))
    assert header.size == (1000, 500)
    again = await alice.patch(path, data={"note": "Hello"})  # images stay
    assert (again.json()["avatar"], again.json()["header"]) == (me["avatar"], me["header"])
    refused = await alice.patch(path, files={"avatar": ("x.png", b"not an image", "image/png")})
    assert refused.status_code == 422 and "avatar" in refused.json()["error"].lower()
    profile = (await alice.get(f"/api/v1/accounts/{me['id']}")).json()
    assert profile["avatar"] == me["avatar"]
    actor = (
        await alice.get("/users/alice", headers={"Accept": "application/activity+json"})
    ).json()
    assert actor["icon"] == {"type": "Image", "mediaType": "image/jpeg", "url": me["avatar"]}
    assert actor["image"] == {"type": "Image", "mediaType": "image/png", "url": me["header"]}
