"""A legal hold against a real `watercooler serve` process, with a stock client: Legal puts
dave's account on hold with `watercooler hold add`; dave deletes a post with Mastodon.py's
`status_delete` and sees it deleted, as on any Mastodon server (the answer carries its text,
for redraft; the status is 404 afterwards, gone from his timeline and from search); the admin
API lists the copy kept for Legal; releasing the hold erases it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mastodon import MastodonNotFoundError

from tests.live import LiveInstance, one_instance

ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("holds-live"), ("dave",)) as live:
        live.cli(
            "user", "add", "root", "--admin", "--password-stdin", stdin="correct horse battery\n"
        )
        yield live


def test_a_held_post_deleted_with_mastodon_py_is_hidden_and_kept(server: LiveInstance) -> None:
    made = server.cli("hold", "add", "--account", "dave", "--reason", "Matter 12").stdout
    hold_id = made.split()[1]
    dave = server.mastodon("dave")
    kept = dave.status_post("Supplier terms: net 90", visibility="private")
    other = dave.status_post("Lunch at noon")

    deleted = dave.status_delete(kept.id)
    assert deleted.text == "Supplier terms: net 90"  # as Mastodon answers, for redraft
    with pytest.raises(MastodonNotFoundError):
        dave.status(kept.id)
    assert [s.id for s in dave.account_statuses(dave.me().id)] == [other.id]
    server.cli("worker", "--once")  # the search indexer (this server runs no workers)
    assert [s.id for s in dave.search_v2("Lunch", result_type="statuses").statuses] == [other.id]
    assert dave.search_v2("Supplier", result_type="statuses").statuses == []

    admin = {"Authorization": f"Bearer {server.token('root', ADMIN_SCOPES)}"}
    with server.client(headers=admin) as api:
        copies = api.get(f"/api/v1/admin/legal_holds/{hold_id}/preserved").json()
        assert [c["uri"] for c in copies] == [kept.uri]
        assert copies[0]["snapshot"]["status"]["text"] == "Supplier terms: net 90"
        assert copies[0]["visibility"] == "private"
        released = api.post(f"/api/v1/admin/legal_holds/{hold_id}/release")
        assert released.status_code == 200 and released.json()["erased_count"] == 1
        assert api.get(f"/api/v1/admin/legal_holds/{hold_id}/preserved").json() == []
        listed = api.get("/api/v1/admin/legal_holds").json()
        assert [(h["id"], h["active"]) for h in listed] == [(hold_id, False)]
