"""A person's archive and CSV lists from the settings pages, as a browser without JavaScript
downloads them, read back by parsing the zip: every own post of every visibility, the actor
with its key, the media bytes, likes, bookmarks and follows in Mastodon's CSV shape."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import httpx
from PIL import Image

from store import audit
from tests.rig import Rig
from tests.watercooler.conftest import post
from tests.web.signing import csrf_token, sign_in
from watercooler.csv_cells import safe_cell
from watercooler.media import MediaFiles

PASSWORD = "password123"
VISIBILITIES = ("public", "unlisted", "org", "private", "direct")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


async def _alice_world(rig: Rig) -> dict[str, dict]:
    """alice (a.test) posts one status of each visibility, one with an image, boosts bob's
    post, likes and bookmarks it, and follows bob (b.test); bob follows alice."""
    alice = await rig.api_client("a.test", "alice")
    bob = await rig.api_client("b.test", "bob")
    bobs = await post(bob, "bob's news")
    await rig.drain()
    made = {}
    for visibility in VISIBILITIES:
        made[visibility] = await post(
            alice, f"{visibility} post for @bob@b.test", visibility=visibility
        )
    upload = await alice.post(
        "/api/v2/media",
        files={"file": ("blue.png", png(), "image/png")},
        data={"description": "a blue square"},
    )
    assert upload.status_code in (200, 202), upload.text
    made["media"] = await post(alice, "with a picture", media_ids=[upload.json()["id"]])
    found = await alice.get("/api/v2/search", params={"q": bobs["uri"], "resolve": "true"})
    bobs_here = found.json()["statuses"][0]
    for action in ("reblog", "favourite", "bookmark"):
        done = await alice.post(f"/api/v1/statuses/{bobs_here['id']}/{action}")
        assert done.status_code == 200, done.text
    bob_here = await alice.get("/api/v1/accounts/lookup", params={"acct": "bob@b.test"})
    followed = await alice.post(
        f"/api/v1/accounts/{bob_here.json()['id']}/follow", data={"notify": "true"}
    )
    assert followed.status_code == 200
    await rig.drain()
    made["liked"] = bobs_here
    await alice.aclose()
    await bob.aclose()
    return made


async def _download(client: httpx.AsyncClient, action: str) -> httpx.Response:
    page = await client.get("/web/settings/export")
    assert page.status_code == 200, page.text
    assert "Download archive" in page.text and "Following (CSV)" in page.text
    return await client.post(action, data={"csrf_token": csrf_token(page)})


async def test_the_archive_holds_every_own_post_the_actor_media_and_follows(rig: Rig) -> None:
    # Given alice's posts of every visibility, an image, a boost, a like, a bookmark, a follow
    made = await _alice_world(rig)
    svc = rig.services("a.test")
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 303
        # When she downloads her archive from the settings page
        answer = await _download(browser, "/web/settings/export/archive")
    # Then it is a zip in Mastodon's layout
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "attachment" in answer.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    names = set(archive.namelist())
    assert {"outbox.json", "actor.json", "likes.json", "bookmarks.json"} <= names
    assert "following_accounts.csv" in names

    outbox = json.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection" and outbox["id"] == "outbox.json"
    items = outbox["orderedItems"]
    assert outbox["totalItems"] == len(items) == 7  # 5 visibilities + media + the boost
    creates = {i["object"]["id"]: i for i in items if i["type"] == "Create"}
    announces = [i for i in items if i["type"] == "Announce"]
    assert [a["object"] for a in announces] == [made["liked"]["uri"]]
    for visibility in VISIBILITIES:
        note = creates[made[visibility]["uri"]]["object"]
        assert note["type"] == "Note" and visibility in note["content"]
    public = "https://www.w3.org/ns/activitystreams#Public"
    direct = creates[made["direct"]["uri"]]["object"]
    assert public not in direct["to"] + direct["cc"] and direct["to"]
    assert creates[made["org"]["uri"]]["object"].get("orgOnly") is True

    # the attachment points into the archive, whose file holds the stored bytes
    note = creates[made["media"]["uri"]]["object"]
    [attachment] = note["attachment"]
    assert attachment["url"].startswith("media_attachments/files/")
    assert attachment["name"] == "a blue square"
    stored = MediaFiles(svc.config.media.path).path(attachment["url"].rsplit("/", 1)[1])
    assert stored is not None and archive.read(attachment["url"]) == stored.read_bytes()

    actor = json.loads(archive.read("actor.json"))
    assert actor["id"] == "http://a.test/users/alice"
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in archive.read("actor.json").decode()
    assert (actor["outbox"], actor["likes"], actor["bookmarks"]) == (
        "outbox.json",
        "likes.json",
        "bookmarks.json",
    )
    for name in ("likes.json", "bookmarks.json"):
        collection = json.loads(archive.read(name))
        assert collection["orderedItems"] == [made["liked"]["uri"]]
        assert collection["totalItems"] == 1

    rows = list(csv.reader(io.StringIO(archive.read("following_accounts.csv").decode())))
    assert rows == [
        ["Account address", "Show boosts", "Notify on new posts", "Languages"],
        ["bob@b.test", "true", "true", ""],
    ]
    # a person's own download is not an admin action: nothing in the audit log
    async with svc.db.read() as conn:
        assert [e for e in await audit.page(conn) if e.action == "archive.export"] == []


async def test_nobody_else_gets_alices_posts_and_forms_need_their_token(rig: Rig) -> None:
    made = await _alice_world(rig)
    await rig.user("a.test", "olga")
    async with rig.client("a.test") as browser:
        # an anonymous visitor is sent to sign in, and a form without its token does nothing
        anonymous = await browser.post("/web/settings/export/archive")
        assert anonymous.status_code == 303 and "/web/sign_in" in anonymous.headers["location"]
        assert (await sign_in(browser, "olga", PASSWORD)).status_code == 303
        forged = await browser.post("/web/settings/export/archive", data={"csrf_token": "x"})
        assert forged.status_code == 403
        answer = await _download(browser, "/web/settings/export/archive")
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    text = archive.read("outbox.json").decode()
    assert json.loads(text)["orderedItems"] == []
    assert not any(made[v]["uri"] in text for v in VISIBILITIES)


async def test_following_csv_download(rig: Rig) -> None:
    await _alice_world(rig)
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 303
        answer = await _download(browser, "/web/settings/export/following_accounts.csv")
        missing = await _download(browser, "/web/settings/export/passwords.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.text.splitlines() == [
        "Account address,Show boosts,Notify on new posts,Languages",
        "bob@b.test,true,true,",
    ]
    assert missing.status_code == 404


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    for formula in ('=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("bob@b.test") == "bob@b.test"
    assert safe_cell(True) == "true" and safe_cell(None) == ""


async def test_an_admin_takes_a_persons_archive_from_the_api_and_the_account_page(
    rig: Rig,
) -> None:
    """An employee leaving, a request from Legal: an admin downloads someone's archive; it is
    audited (origin 'api' or 'web'), and nobody else may."""
    made = await _alice_world(rig)
    admin = await rig.admin_client("a.test")
    svc = rig.services("a.test")
    alice_id = (await admin.get("/api/v1/accounts/lookup", params={"acct": "alice"})).json()["id"]
    bob_id = (await admin.get("/api/v1/accounts/lookup", params={"acct": "bob@b.test"})).json()[
        "id"
    ]
    # the admin API: the same zip as her own download
    answer = await admin.get(f"/api/v1/admin/accounts/{alice_id}/archive")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["x-archive-statuses"] == "7"
    outbox = json.loads(zipfile.ZipFile(io.BytesIO(answer.content)).read("outbox.json"))
    creates = {i["object"]["id"] for i in outbox["orderedItems"] if i["type"] == "Create"}
    assert made["direct"]["uri"] in creates
    # a remote account has no archive here, an unknown id neither
    assert (await admin.get(f"/api/v1/admin/accounts/{bob_id}/archive")).status_code == 404
    assert (await admin.get("/api/v1/admin/accounts/999/archive")).status_code == 404
    # an employee, even with the admin scopes, is refused, and nothing is recorded for it
    olga = await rig.api_client("a.test", "olga", "read admin:read")
    assert (await olga.get(f"/api/v1/admin/accounts/{alice_id}/archive")).status_code == 403
    await olga.aclose()
    # the admin pages: a form on the account page, CSRF-checked
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "admin", PASSWORD)).status_code == 303
        page = await browser.get(f"/web/admin/accounts/{alice_id}")
        assert "Download the archive" in page.text
        action = f"/web/admin/accounts/{alice_id}/archive"
        assert (await browser.post(action, data={"csrf_token": "x"})).status_code == 403
        web = await browser.post(action, data={"csrf_token": csrf_token(page)})
        assert web.status_code == 200 and web.headers["content-type"] == "application/zip"
        assert "outbox.json" in zipfile.ZipFile(io.BytesIO(web.content)).namelist()
        remote = await browser.get(f"/web/admin/accounts/{bob_id}")
        assert "Download the archive" not in remote.text
    async with svc.db.read() as conn:
        rows = [e for e in await audit.page(conn) if e.action == "archive.export"]
    assert [(e.origin, e.target, e.actor_name) for e in rows] == [
        ("web", "alice", "admin"),
        ("api", "alice", "admin"),
    ]
    assert rows[-1].details == {"statuses": 7, "media_files": 1, "to": "download"}
    await admin.aclose()
