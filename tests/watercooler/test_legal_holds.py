"""Retention and legal holds through the admin web page (signed in, with CSRF, without
JavaScript) and the `watercooler retention` / `watercooler hold` commands, on one instance.
Retention deletes media with the post, except what a preserved copy names."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from store import accounts, legal_holds, statuses, users
from store import media as stored_media
from store.ids import IdGenerator
from store.media import NewMedia
from tests.conftest import MakeConfig, running
from tests.watercooler.test_admin import PASSWORD
from tests.watercooler.test_cli import wc
from tests.web.signing import csrf_token, sign_in
from watercooler.accounts import create_user
from watercooler.admin import Actor
from watercooler.app import create_app
from watercooler.config import load_config
from watercooler.holds import create_hold
from watercooler.media import MediaFiles, Purpose
from watercooler.retention import set_policy
from watercooler.services import Services, start_services

PAGE = "/web/admin/retention"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f7"
    "2f3a0000000049454e44ae426082"
)


class Clock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.current


Instance = tuple[Services, httpx.AsyncClient, Clock]


@pytest.fixture
async def site(make_config: MakeConfig) -> AsyncIterator[Instance]:
    """a.test on a clock the test turns; root is an admin, bob an employee."""
    clock = Clock()
    config = make_config("a.test")
    app = create_app(config, clock=clock.now, run_workers=False)
    async with running(app, config.instance.base_url) as client:
        svc: Services = app.state.services
        for name, admin in (("root", True), ("bob", False)):
            await create_user(
                svc.db, svc.uris, name, now=clock.now(), password=PASSWORD, admin=admin
            )
        yield svc, client, clock


def audit_rows(db: str, prefix: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    with closing(sqlite3.connect(db)) as conn:
        return [
            (action, actor, origin, json.loads(details))
            for action, actor, origin, details in conn.execute(
                "SELECT action, actor_name, origin, details FROM audit_log"
                " WHERE action LIKE ? ORDER BY id",
                (prefix + "%",),
            )
        ]


async def submit(client: httpx.AsyncClient, action: str, **fields: Any) -> httpx.Response:
    shown = await client.get(PAGE)
    assert shown.status_code == 200, shown.text
    return await client.post(action, data={"csrf_token": csrf_token(shown), **fields})


async def local_account(svc: Services, name: str) -> Any:

    async with svc.db.read() as conn:
        return await accounts.get_local(conn, name)


async def test_only_signed_in_admins_with_the_form_token_change_anything(site: Instance) -> None:
    svc, client, _ = site
    forms = (
        (PAGE, {"days": "1", "visibilities[]": "public"}),
        (f"{PAGE}/off", {}),
        (f"{PAGE}/run", {}),
        ("/web/admin/holds", {"kind": "account", "target": "bob", "reason": "x"}),
        ("/web/admin/holds/1/release", {}),
    )
    assert (await client.get(PAGE)).status_code == 303  # anonymous: to the sign-in
    for path, fields in forms:
        assert (await client.post(path, data=fields)).status_code == 303
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    assert (await client.get(PAGE)).status_code == 403
    token = csrf_token(await client.get("/web/home"))
    for path, fields in forms:
        answer = await client.post(path, data={"csrf_token": token, **fields})
        assert answer.status_code == 403, path
    await client.post("/web/sign_out", data={"csrf_token": token})
    client.cookies.clear()
    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    for path, fields in forms:  # root, without the token, or with a forged one
        assert (await client.post(path, data=fields)).status_code == 403, path
        forged = await client.post(path, data={"csrf_token": "x" * 43, **fields})
        assert forged.status_code == 403, path
    assert audit_rows(svc.db.path, "retention.") == audit_rows(svc.db.path, "hold.") == []


async def test_an_admin_sets_retention_makes_and_releases_a_hold(site: Instance) -> None:
    svc, client, clock = site
    root, bob = await local_account(svc, "root"), await local_account(svc, "bob")
    upload = await MediaFiles(svc.config.media.path).save(PNG, Purpose.ATTACHMENT)

    async with svc.db.transaction() as conn:
        attached = await stored_media.insert(
            conn,
            svc.db.new_id(),
            NewMedia(account_id=root.id, file_name=upload.file_name, content_type="image/png"),
            clock.now(),
        )
    roots = await svc.publisher.post(root, "Budget, followers only", visibility="private")
    async with svc.db.transaction() as conn:
        await stored_media.attach(conn, roots.id, [attached.id])
    bobs = await svc.publisher.post(bob, "Bob's direct note", visibility="direct")
    bobs_public = await svc.publisher.post(bob, "Bob's public note")
    files = MediaFiles(svc.config.media.path)
    assert files.path(upload.file_name).exists()  # type: ignore[union-attr]

    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    shown = await client.get(PAGE)
    assert shown.status_code == 200 and "Off: nothing is deleted by age." in shown.text
    assert 'aria-current="page"' in shown.text and "<script" not in shown.text
    # No visibility chosen: refused, nothing saved
    refused = await submit(client, PAGE, days="30")
    assert refused.status_code == 422 and "at least one visibility" in refused.text
    saved = await submit(client, PAGE, **{"days": "30", "visibilities[]": ["private", "direct"]})
    assert saved.status_code == 303 and saved.headers["location"] == f"{PAGE}?done=saved"
    shown = await client.get(PAGE)
    assert "30 days" in shown.text and "private, direct" in shown.text

    # A hold on bob (a hostile name is shown escaped), and a refused one
    bad = await submit(
        client, "/web/admin/holds", kind="account", target="<b>nobody</b>", reason="Case 9"
    )
    assert bad.status_code == 422 and "&lt;b&gt;nobody&lt;/b&gt;" in bad.text
    assert "<b>nobody</b>" not in bad.text
    made = await submit(
        client, "/web/admin/holds", kind="account", target="bob", reason="Case 9", name="HR-9"
    )
    assert made.status_code == 303
    shown = await client.get(PAGE)
    assert "HR-9" in shown.text and "account bob" in shown.text

    # Run now, 31 days later: root's old post goes (with its media), bob's are kept
    clock.current += timedelta(days=31)
    client.cookies.clear()  # the session has expired meanwhile
    assert (await sign_in(client, "root", PASSWORD)).status_code == 303
    ran = await submit(client, f"{PAGE}/run")
    assert ran.status_code == 303
    notice = await client.get(ran.headers["location"])
    assert "1 deleted, 0 remote copies purged, 1 kept by holds" in notice.text
    async with svc.db.read() as conn:
        assert (await statuses.get_by_id(conn, roots.id)).deleted_at is not None  # type: ignore[union-attr]
        assert (await statuses.get_by_id(conn, bobs.id)).deleted_at is None  # type: ignore[union-attr]
        assert (await statuses.get_by_id(conn, bobs_public.id)).deleted_at is None  # type: ignore[union-attr]
        assert await stored_media.get(conn, attached.id) is None
    assert not files.path(upload.file_name).exists()  # type: ignore[union-attr]

    # Bob deletes his held note: hidden, preserved; releasing the hold erases the copy
    await svc.publisher.delete(bob, bobs)
    async with svc.db.read() as conn:
        (copy,) = await legal_holds.preserved(conn)
    assert copy.snapshot["status"]["text"] == "Bob's direct note"
    hold_id = copy.hold_ids[0]
    released = await submit(client, f"/web/admin/holds/{hold_id}/release")
    assert released.status_code == 303
    assert "1 copies erased" in (await client.get(released.headers["location"])).text
    again = await submit(client, f"/web/admin/holds/{hold_id}/release")
    assert again.status_code == 404
    off = await submit(client, f"{PAGE}/off")
    assert off.status_code == 303 and "Off" in (await client.get(PAGE)).text

    rows = audit_rows(svc.db.path, "retention.") + audit_rows(svc.db.path, "hold.")
    assert [(a, actor, origin) for a, actor, origin, _ in rows] == [
        ("retention.set", "root", "web"),
        ("retention.run", "root", "web"),
        ("retention.set", "root", "web"),
        ("hold.create", "root", "web"),
        ("hold.preserve", "legal-hold", "system"),
        ("hold.release", "root", "web"),
    ]
    assert rows[0][3]["visibilities"] == ["private", "direct"]
    assert rows[1][3]["deleted"] == 1 and rows[1][3]["skipped_held"] == 1
    assert rows[3][3]["reason"] == "Case 9"


def test_the_commands_set_retention_and_holds(tmp_path: Path) -> None:
    path = tmp_path / "wc.toml"
    assert wc("--config", str(path), "init", "--domain", "eng.test").returncode == 0
    assert wc("--config", str(path), "user", "add", "alice").returncode == 0
    config = load_config(path)
    long_ago = datetime.now(UTC) - timedelta(days=40)

    async def old_post() -> None:
        svc = await start_services(config, clock=lambda: long_ago)
        try:
            svc.db.ids = IdGenerator(clock=long_ago.timestamp)  # ids minted back then, too
            async with svc.db.read() as conn:
                alice = await accounts.get_local(conn, "alice")
            assert alice is not None
            await svc.publisher.post(alice, "An old note", visibility="private")
        finally:
            await svc.aclose()

    asyncio.run(old_post())

    def run(*args: str) -> str:
        done = wc("--config", str(path), *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run("retention", "show").startswith("retention is off")
    bad = wc("--config", str(path), "retention", "set", "--days", "3", "--visibility", "secret")
    assert bad.returncode == 2 and "Unknown visibility secret" in bad.stderr
    assert "older than 30 days, of public,private" in run(
        "retention", "set", "--days", "30", "--visibility", "private,public"
    )
    assert "hold 1" not in run("hold", "list")
    made = run("hold", "add", "--account", "alice", "--reason", "Case 7")
    hold_id = made.split()[1]
    listed = run("hold", "list").splitlines()
    assert listed[1].split("\t")[:4] == [hold_id, "Hold on alice", "account alice", "Case 7"]
    assert "deleted 0, purged 0 remote copies, skipped 1 held" in run("retention", "run")
    assert "0 preserved copies erased" in run("hold", "release", hold_id)
    assert "deleted 1," in run("retention", "run")
    assert run("retention", "off").startswith("retention is off")
    twice = wc("--config", str(path), "hold", "release", hold_id)
    assert twice.returncode == 2 and "released already" in twice.stderr
    database = path.parent / "data" / "watercooler.sqlite3"
    rows = audit_rows(str(database), "retention.") + audit_rows(str(database), "hold.")
    assert [(action, origin) for action, _, origin, _ in rows] == [
        ("retention.set", "cli"),
        ("retention.run", "cli"),
        ("retention.set", "cli"),
        ("hold.create", "cli"),
        ("hold.release", "cli"),
    ]


async def test_deleting_a_held_post_from_the_web_pages_hides_it_and_keeps_a_copy(
    site: Instance,
) -> None:
    svc, client, clock = site
    root, bob = await local_account(svc, "root"), await local_account(svc, "bob")

    await create_hold(
        svc.db,
        Actor.of_user(await _user(svc, "root"), "cli"),
        local_domain="a.test",
        now=clock.now(),
        reason="Case 3",
        account="bob",
    )
    post = await svc.publisher.post(bob, "Offer letter wording", visibility="private")
    roots = await svc.publisher.post(root, "Root's own post")
    assert (await sign_in(client, "bob", PASSWORD)).status_code == 303
    home = await client.get("/web/home")
    assert f'href="/web/statuses/{post.id}/delete"' in home.text  # on bob's own card only
    assert f'href="/web/statuses/{roots.id}/delete"' not in home.text
    # Someone else's post: no page, no delete
    assert (await client.get(f"/web/statuses/{roots.id}/delete")).status_code == 404
    confirm = await client.get(f"/web/statuses/{post.id}/delete")
    assert confirm.status_code == 200 and "Offer letter wording" in confirm.text
    forged = await client.post(f"/web/statuses/{post.id}/delete", data={"csrf_token": "x"})
    assert forged.status_code == 403
    refused = await client.post(
        f"/web/statuses/{roots.id}/delete", data={"csrf_token": csrf_token(confirm)}
    )
    assert refused.status_code == 404
    done = await client.post(
        f"/web/statuses/{post.id}/delete", data={"csrf_token": csrf_token(confirm)}
    )
    assert done.status_code == 303
    # Gone for bob (his page, the thread) as any deleted post, but kept for Legal
    assert (await client.get(f"/web/statuses/{post.id}")).status_code == 404
    assert "Offer letter wording" not in (await client.get(done.headers["location"])).text
    async with svc.db.read() as conn:
        (copy,) = await legal_holds.preserved(conn)

        assert (await statuses.get_by_id(conn, roots.id)).deleted_at is None  # type: ignore[union-attr]
    assert copy.status_id == post.id and copy.snapshot["status"]["text"] == "Offer letter wording"


async def _user(svc: Services, name: str) -> Any:

    async with svc.db.read() as conn:
        return await users.get_by_username(conn, name)


async def test_a_preserved_copy_keeps_its_media_file_through_redraft_and_retention(
    site: Instance,
) -> None:
    svc, _, clock = site
    bob = await local_account(svc, "bob")
    files = MediaFiles(svc.config.media.path)
    upload = await files.save(PNG, Purpose.ATTACHMENT)
    async with svc.db.transaction() as conn:
        picture = await stored_media.insert(
            conn,
            svc.db.new_id(),
            NewMedia(account_id=bob.id, file_name=upload.file_name, content_type="image/png"),
            clock.now(),
        )
    await create_hold(
        svc.db,
        Actor.of_user(await _user(svc, "root"), "cli"),
        local_domain="a.test",
        now=clock.now(),
        reason="Case 5",
        query="whiteboard",
    )
    first = await svc.publisher.post(bob, "The whiteboard photo", media_ids=[picture.id])
    await svc.publisher.delete(bob, first)  # held: preserved with its media
    # "Delete and redraft": the upload goes on a new post the hold does not cover
    redraft = await svc.publisher.post(bob, "Photo of the plan", media_ids=[picture.id])
    async with svc.db.read() as conn:
        (copy,) = await legal_holds.preserved(conn)
    assert [m["file_name"] for m in copy.snapshot["media"]] == [upload.file_name]
    await set_retention(svc, days=30)
    clock.current += timedelta(days=31)
    result = await svc.workers.retention.run()
    assert (result.deleted, result.held) == (1, 0)
    async with svc.db.read() as conn:
        assert (await statuses.get_by_id(conn, redraft.id)).deleted_at is not None  # type: ignore[union-attr]
        assert await stored_media.get(conn, picture.id) is None  # the row went with the post
    assert files.path(upload.file_name).exists()  # type: ignore[union-attr]  # Legal's copy


async def set_retention(svc: Services, *, days: int) -> None:
    await set_policy(svc.db, Actor.system("test"), days, (), svc.clock())
