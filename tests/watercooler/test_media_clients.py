"""A real client uploads to a real `watercooler serve` process: Mastodon.py's `media_post`
(which picks `POST /api/v2/media` from the version the instance reports), `media` and
`media_update`, `status_post` and `status_update` with `media_ids`, and
`account_update_credentials` with an avatar and a header.

The instance's domain is its own loopback address, so the media URLs in the entities are
the addresses the test fetches.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonNotFoundError
from PIL import Image

from tests.live import LiveInstance, one_instance

TIMEOUT = 15


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("media-live"), ("alice",)) as live:
        yield live


@pytest.fixture
def api(server: LiveInstance) -> Mastodon:
    return Mastodon(
        api_base_url=server.url,
        access_token=server.token("alice"),
        version_check_mode="none",
        request_timeout=TIMEOUT,
    )


def picture(file_format: str, size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, file_format)
    return buffer.getvalue()


def fetch(url: str) -> Image.Image:
    response = httpx.get(url, timeout=TIMEOUT)
    assert response.status_code == 200, (url, response.text)
    return Image.open(io.BytesIO(response.content))


def test_mastodon_py_uploads_and_posts_media(api: Mastodon, server: LiveInstance) -> None:
    first = api.media_post(
        picture("JPEG", (1024, 768), (250, 200, 0)),
        mime_type="image/jpeg",
        description="The whiteboard",
        focus=(0.25, -0.5),
    )
    assert first.url is not None and first.type == "image"  # done at once: no polling
    assert first.meta.original.size == "1024x768" and first.meta.small.width == 640
    assert first.meta.focus.x == 0.25 and first.description == "The whiteboard"
    assert fetch(first.url).size == (1024, 768)
    assert fetch(first.preview_url).size == (640, 480)
    updated = api.media_update(first, description="The whiteboard, Monday")
    assert api.media(first).description == updated.description == "The whiteboard, Monday"

    status = api.status_post("Notes from the meeting", media_ids=[first])
    assert [m.id for m in status.media_attachments] == [first.id]
    assert status.media_attachments[0].description == "The whiteboard, Monday"
    with pytest.raises(MastodonNotFoundError):
        api.media(first)  # attached: changed through the status from now on

    second = api.media_post(picture("PNG", (300, 300), (0, 0, 255)), mime_type="image/png")
    edited = api.status_update(status, "Notes, with the right photo", media_ids=[second])
    assert [m.id for m in edited.media_attachments] == [second.id]
    assert fetch(edited.media_attachments[0].url).format == "PNG"
    mine = api.account_statuses(api.me(), only_media=True)
    assert [s.id for s in mine] == [status.id]
    assert '"POST /api/v2/media HTTP/1.1" 200' in server.log()  # v2, answered at once


def test_mastodon_py_updates_avatar_and_header(api: Mastodon) -> None:
    account = api.account_update_credentials(
        display_name="Alice",
        avatar=picture("PNG", (640, 480), (10, 200, 10)),
        avatar_mime_type="image/png",
        header=picture("JPEG", (3000, 1000), (80, 80, 80)),
        header_mime_type="image/jpeg",
    )
    assert account.display_name == "Alice"
    assert "/media/" in account.avatar and "/media/" in account.header
    assert fetch(account.avatar).size == (400, 400)
    assert fetch(account.header).size == (1500, 500)
    assert api.account_verify_credentials().avatar == account.avatar
