"""Follows imported from a CSV file on the settings page, across two divisions: the Follows
reach b.test and come back accepted; bad rows are reported, not fatal; hostile files get a
clear 4xx and change nothing."""

from __future__ import annotations

import httpx
import pytest

from store import exports, follows
from tests.rig import Rig
from tests.web.signing import csrf_token, sign_in
from watercooler.follows_import import (
    MAX_BYTES,
    MAX_ROWS,
    ImportRefused,
    parse_address,
    read_follows_csv,
)

PASSWORD = "password123"
HEADER = "Account address,Show boosts,Notify on new posts,Languages\n"


async def _upload(
    browser: httpx.AsyncClient, data: bytes, *, mode: str = "merge", token: str | None = None
) -> httpx.Response:
    page = await browser.get("/web/settings/import")
    assert page.status_code == 200, page.text
    return await browser.post(
        "/web/settings/import",
        data={"csrf_token": token or csrf_token(page), "mode": mode},
        files={"file": ("following_accounts.csv", data, "text/csv")},
    )


async def _follows(rig: Rig, domain: str, name: str) -> dict[str, str]:
    """Whom `name` follows on `domain`, by acct, with the follow's state."""
    svc = rig.services(domain)
    found = {}
    async with svc.db.read() as conn:
        me = await rig.account(domain, svc.uris.actor(name))
        assert me is not None
        for row in await exports.following_page(conn, me.id, after=-1, limit=100):
            target = await rig.account(
                domain, f"http://{row.domain or domain}/users/{row.username}"
            )
            assert target is not None
            record = await follows.get(conn, me.id, target.id)
            assert record is not None
            found[f"{row.username}@{row.domain or domain}"] = record.state
    return found


@pytest.fixture
async def people(rig: Rig) -> Rig:
    await rig.user("a.test", "alice")
    await rig.user("a.test", "olga")
    for name in ("bob", "carol", "dave"):
        await rig.user("b.test", name)
    return rig


async def test_import_follows_across_divisions_and_reports_bad_rows(people: Rig) -> None:
    rig = people
    text = (
        HEADER
        + "bob@b.test,true,false,\n"
        + "@carol@b.test,false,true,en\n"
        + "olga@a.test,true,false,\n"
        + '"=HYPERLINK(""http://evil"")",true,false,\n'
        + "nobody@b.test,true,false,\n"
        + "eve@x.test,true,false,\n"
        + "bob@b.test,true,false,\n"
    )
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 303
        # When alice uploads the file
        answer = await _upload(browser, text.encode())
        assert answer.status_code == 303, answer.text
        # Then nothing is followed in the request: the worker does it
        assert await _follows(rig, "a.test", "alice") == {}
        await rig.drain()
        page = await browser.get("/web/settings/import")
    # the Follows reached b.test and were accepted; the local one at once
    assert await _follows(rig, "a.test", "alice") == {
        "bob@b.test": "accepted",
        "carol@b.test": "accepted",
        "olga@a.test": "accepted",
    }
    alice_uri = "http://a.test/users/alice"
    svc_b = rig.services("b.test")
    async with svc_b.db.read() as conn:
        alice_on_b = await rig.account("b.test", alice_uri)
        assert alice_on_b is not None
        for name in ("bob", "carol"):
            target = await rig.account("b.test", f"http://b.test/users/{name}")
            assert target is not None
            record = await follows.get(conn, alice_on_b.id, target.id)
            assert record is not None and record.state == "accepted"
    # the options of each row were applied
    svc = rig.services("a.test")
    async with svc.db.read() as conn:
        alice = await rig.account("a.test", alice_uri)
        carol = await rig.account("a.test", "http://b.test/users/carol")
        assert alice is not None and carol is not None
        assert await follows.options(conn, alice.id, carol.id) == (True, False)
    # the page reports every row's outcome
    assert page.status_code == 200
    assert "Finished, merge: 3 followed, 4 failed, 0 to do, of 7" in page.text
    assert "Not an account address" in page.text
    assert "No account nobody@b.test was found" in page.text
    assert "x.test is not a division this one federates with" in page.text
    assert "Listed twice" in page.text
    assert "<td>=HYPERLINK(&#34;http://evil&#34;)</td>" in page.text  # shown escaped


async def test_a_bare_list_and_overwrite(people: Rig) -> None:
    rig = people
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 303
        assert (await _upload(browser, b"dave@b.test\r\nbob@b.test\r\n")).status_code == 303
        await rig.drain()
        assert set(await _follows(rig, "a.test", "alice")) == {"dave@b.test", "bob@b.test"}
        # overwrite: only those in the file remain followed
        answer = await _upload(browser, b"carol@b.test\nbob@b.test\n", mode="overwrite")
        assert answer.status_code == 303
        await rig.drain()
    assert await _follows(rig, "a.test", "alice") == {
        "bob@b.test": "accepted",
        "carol@b.test": "accepted",
    }
    dave = await rig.account("b.test", "http://b.test/users/dave")
    alice_on_b = await rig.account("b.test", "http://a.test/users/alice")
    assert dave is not None and alice_on_b is not None
    async with rig.services("b.test").db.read() as conn:
        assert await follows.get(conn, alice_on_b.id, dave.id) is None  # the Undo arrived


async def test_hostile_files_are_refused_and_change_nothing(people: Rig) -> None:
    rig = people
    async with rig.client("a.test") as browser:
        assert (await sign_in(browser, "alice", PASSWORD)).status_code == 303
        huge = await _upload(browser, b"bob@b.test\n" * (MAX_BYTES // 10))
        assert huge.status_code == 413 and "larger than" in huge.text
        many = "".join(f"u{i}@b.test\n" for i in range(MAX_ROWS + 1)).encode()
        too_many = await _upload(browser, many)
        assert too_many.status_code == 422 and f"more than {MAX_ROWS}" in too_many.text
        binary = await _upload(browser, b"\xff\xfe\x00PK\x03\x04")
        assert binary.status_code == 422
        empty = await _upload(browser, HEADER.encode())
        assert empty.status_code == 422 and "no account" in empty.text
        forged = await _upload(browser, b"bob@b.test\n", token="forged")
        assert forged.status_code == 403
        mode = await _upload(browser, b"bob@b.test\n", mode="replace-all")
        assert mode.status_code == 422
        async with rig.services("a.test").db.read() as conn:
            alice = await rig.account("a.test", "http://a.test/users/alice")
            assert alice is not None
            assert await exports.imports_of(conn, alice.id, limit=10) == []
        # one import at a time
        assert (await _upload(browser, b"bob@b.test\n")).status_code == 303
        again = await _upload(browser, b"carol@b.test\n")
        assert again.status_code == 409
    async with rig.client("a.test") as anonymous:
        refused = await anonymous.post("/web/settings/import", data={"mode": "merge"})
        assert refused.status_code == 303 and "/web/sign_in" in refused.headers["location"]


def test_reading_addresses() -> None:
    assert str(parse_address("@Bob@B.Test")) == "Bob@b.test"
    assert str(parse_address("'@bob@b.test:8443")) == "bob@b.test:8443"
    for bad in ("bob", "bob@", "@b.test", "=1+1", "bob@b.test:99999", "b ob@b.test", "a@b@c"):
        assert parse_address(bad) is None, bad
    rows = read_follows_csv(("\ufeff" + HEADER + "bob@b.test,false,true,\n,,,\n").encode())
    assert [(r.address, r.show_reblogs, r.notify, r.failed) for r in rows] == [
        ("bob@b.test", False, True, None)
    ]
    with pytest.raises(ImportRefused) as refused:
        read_follows_csv(b'"unterminated\n' + b"x" * 200_000)
    assert refused.value.status == 422
