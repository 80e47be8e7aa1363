"""What reaches the audit log besides the admin actions (sign-ins and their failures,
sign-outs, password changes, token grants and revocations, the org manifest, the config's
peers), how admins and moderators search and download it on the web pages, and that no code
path can change or delete a row."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from federation.manifest import generate_key
from store import audit
from store.audit import AuditEntry
from store.audit_verify import ChainCheck
from store.db import Database
from tests.conftest import MakeConfig, running
from tests.federation_core.test_org_manifest import KEY, manifest
from tests.watercooler.test_oauth import (
    PASSWORD,
    Harness,
    authorize_query,
    consent,
    exchange,
    h,
    register,
    token,
)
from tests.web.signing import csrf_token, sign_in
from watercooler.accounts import create_user
from watercooler.admin import Actor, AdminActions
from watercooler.app import create_app
from watercooler.audit_export import parse_bound
from watercooler.org_manifest import offer_manifest

__all__ = ["h"]  # the fixture, shared with test_oauth

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = "Tr0ub4dor&3-typed-as-a-name"


async def _log(harness: Harness) -> list[AuditEntry]:
    async with harness.services.db.read() as conn:
        return await audit.chain(conn)


def _since(rows: list[AuditEntry], count: int) -> list[AuditEntry]:
    return rows[count:]


# ----- sign-in, sign-out, password -----------------------------------------------------------


async def test_web_sign_ins_failures_sign_out_and_password_change_are_rows(h: Harness) -> None:
    browser = h.browser("10.1.2.3")
    # Given a wrong password, a name that is no account, then the right password
    assert (await sign_in(browser, "alice", "not it at all")).status_code == 401
    assert (await sign_in(browser, SECRET_NAME, PASSWORD)).status_code == 401
    assert (await sign_in(browser, "alice@corp.example", PASSWORD)).status_code == 303
    # When alice changes her password, then signs out
    form = await browser.get("/web/settings/password")
    wrong = await browser.post(
        "/web/settings/password",
        data={
            "csrf_token": csrf_token(form),
            "current_password": "guess",
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert wrong.status_code == 401
    changed = await browser.post(
        "/web/settings/password",
        data={
            "csrf_token": csrf_token(form),
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
            "end_app_tokens": "1",
        },
    )
    assert changed.status_code == 303
    home = await browser.get("/web/home")
    signed_out = await browser.post("/web/sign_out", data={"csrf_token": csrf_token(home)})
    assert signed_out.status_code == 303

    # Then each is a row, origin 'web', with the address and never a password
    rows = await _log(h)
    assert [(r.action, r.target, r.origin) for r in rows] == [
        ("auth.sign_in_failed", "alice", "web"),
        ("auth.sign_in_failed", "(unknown)", "web"),
        ("auth.sign_in", "alice", "web"),
        ("auth.password_change_failed", "alice", "web"),
        ("auth.password_change", "alice", "web"),
        ("auth.sign_out", "alice", "web"),
    ]
    failed, unknown, signed_in = rows[0], rows[1], rows[2]
    assert failed.details == {
        "method": "password",
        "address": "10.1.2.3",
        "username": "alice",
        "reason": "wrong_password",
    }
    assert failed.actor_account_id is not None and failed.actor_name == "alice"
    assert unknown.details == {
        "method": "password",
        "address": "10.1.2.3",
        "username": None,
        "reason": "unknown_name",
    }
    assert unknown.actor_account_id is None
    assert signed_in.details == {"method": "password", "address": "10.1.2.3"}
    assert signed_in.actor_account_id == failed.actor_account_id
    assert rows[3].details == {"address": "10.1.2.3", "reason": "wrong_password"}
    assert rows[4].details == {"address": "10.1.2.3", "apps_signed_out": True}
    stored = _everything_stored(h)
    for secret in (PASSWORD, "not it at all", SECRET_NAME, "a brand new passphrase", "guess"):
        assert secret not in stored


def _everything_stored(harness: Harness) -> str:
    """The audit table as text, straight from the file."""
    with sqlite3.connect(harness.services.config.database.path) as conn:
        return json.dumps(conn.execute("SELECT * FROM audit_log").fetchall())


async def test_a_disabled_account_and_the_lockout_are_failures_too(h: Harness) -> None:
    svc = h.services
    await create_user(svc.db, svc.uris, "gone", now=h.clock(), password=PASSWORD)
    await AdminActions.of(svc).disable_user(Actor(None, "ops", "cli"), "gone")
    browser = h.browser("10.9.9.9")
    assert (await sign_in(browser, "gone", PASSWORD)).status_code == 403
    for _ in range(12):
        await sign_in(browser, "alice", "wrong")
    assert (await sign_in(browser, "alice", PASSWORD)).status_code == 429
    rows = [r for r in await _log(h) if r.action == "auth.sign_in_failed"]
    reasons = [(r.target, r.details["reason"]) for r in rows]
    assert reasons[0] == ("gone", "disabled")
    assert ("alice", "wrong_password") in reasons and reasons[-1] == ("alice", "rate_limited")
    assert not [r for r in await _log(h) if r.action == "auth.sign_in"]


# ----- OAuth ---------------------------------------------------------------------------------


async def test_every_token_grant_and_revocation_is_a_row(h: Harness) -> None:
    app = await register(h.client, client_name="Ivory")
    start = len(await _log(h))
    # the authorization code flow: a sign-in on the OAuth page (web), then the grant (api)
    code = await consent(h.browser("10.0.0.5"), authorize_query(app))
    grant = (await exchange(h.client, app, code)).json()
    # the password grant, a wrong password there, client credentials, a refresh
    pw = await token(h.client, app, grant_type="password", username="alice", password=PASSWORD)
    assert pw.status_code == 200
    refused = await token(h.client, app, grant_type="password", username="alice", password="x")
    assert refused.status_code == 400
    client = await token(h.client, app, grant_type="client_credentials", scope="read")
    assert client.status_code == 200
    refreshed = await token(
        h.client, app, grant_type="refresh_token", refresh_token=pw.json()["refresh_token"]
    )
    assert refreshed.status_code == 200
    # revocation by the app, twice (the second changes nothing)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    for _ in range(2):
        revoked = await h.client.post(
            "/oauth/revoke", data={**creds, "token": grant["access_token"]}
        )
        assert revoked.status_code == 200

    rows = _since(await _log(h), start)
    assert [(r.action, r.origin) for r in rows] == [
        ("auth.sign_in", "web"),
        ("oauth.token_grant", "api"),
        ("oauth.token_grant", "api"),
        ("auth.sign_in_failed", "api"),
        ("oauth.token_grant", "api"),
        ("oauth.token_grant", "api"),
        ("oauth.token_revoke", "api"),
    ]
    by_code, by_password, _, by_client, by_refresh, revoke = rows[1:]
    assert by_code.details == {
        "grant_type": "authorization_code",
        "app": "Ivory",
        "app_id": app["id"],
        "scopes": ["read", "write"],
        "user": "alice",
        "address": "127.0.0.1",
    }
    assert (by_code.actor_name, by_code.target) == ("alice", "alice")
    assert by_password.details["grant_type"] == "password"
    assert by_password.details["scopes"] == ["read"]
    assert by_client.details["grant_type"] == "client_credentials"
    assert (by_client.actor_name, by_client.target) == ("app:Ivory", "app:Ivory")
    assert by_client.actor_account_id is None and by_client.details["user"] is None
    assert by_refresh.details["grant_type"] == "refresh_token"
    assert revoke.target == "alice"
    assert revoke.details == {"app": "Ivory", "app_id": app["id"], "token": "access"}
    assert rows[3].details["username"] == "alice" and "x" not in rows[3].details.values()


async def test_a_user_withdrawing_an_app_is_a_row(h: Harness) -> None:
    app = await register(h.client, client_name="Tusky")
    browser = h.browser()
    await exchange(h.client, app, await consent(browser, authorize_query(app)))
    page = await browser.get("/web/settings/apps")
    assert "Tusky" in page.text
    answer = await browser.post(
        f"/web/settings/apps/{app['id']}/revoke", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 303
    [row] = [r for r in await _log(h) if r.action == "oauth.app_revoke"]
    assert (row.actor_name, row.target, row.origin) == ("alice", "alice", "web")
    assert row.details == {"app": "Tusky", "app_id": app["id"], "tokens": 1}


# ----- policy from outside: the org manifest, the config's peers ------------------------------


async def test_an_adopted_org_manifest_is_a_row_a_refused_or_repeated_one_is_not(
    db: Database,
) -> None:
    async def offer(document: dict[str, Any], source: str) -> str:
        outcome = await offer_manifest(
            db,
            document,
            keys=[KEY.public_key()],
            own_domain="a.test",
            source=source,
            now=datetime.now(UTC),
        )
        return outcome.status

    first = manifest(1, "a.test", "b.test", "c.test")
    assert await offer(first, "cli") == "adopted"
    assert await offer(first, "cli") == "current"
    assert await offer(manifest(2, "a.test", key=generate_key()), "cli") == "refused"
    assert await offer(manifest(3, "a.test", "b.test"), "http://b.test/actor") == "adopted"
    async with db.read() as conn:
        rows = await audit.chain(conn)
    assert [(r.action, r.origin, r.target) for r in rows] == [
        ("org.manifest_adopt", "cli", "serial 1"),
        ("org.manifest_adopt", "federation", "serial 3"),
    ]
    assert rows[0].details == {
        "source": "cli",
        "serial": 1,
        "added": ["b.test", "c.test"],
        "removed": [],
    }
    assert rows[1].actor_name == "b.test" and rows[1].details["removed"] == ["c.test"]


async def test_the_config_files_peers_changing_between_starts_is_a_row(
    make_config: MakeConfig,
) -> None:
    async def start(*peers: str) -> list[AuditEntry]:
        app = create_app(make_config("a.test", peers=peers), run_workers=False)
        async with running(app, "http://a.test"):
            async with app.state.services.db.read() as conn:
                return await audit.chain(conn)

    assert [(r.action, r.origin, r.details) for r in await start("b.test")] == [
        ("peer.config_sync", "system", {"added": ["b.test"], "removed": []}),
    ]
    rows = await start("c.test")
    assert rows[-1].details == {"added": ["c.test"], "removed": ["b.test"]}
    assert len(await start("c.test")) == 2  # no change, no row


# ----- the web page: search, dates, paging, who may read, the download ----------------------


@pytest.fixture
async def admin(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    svc = h.services
    await create_user(svc.db, svc.uris, "root", now=h.clock(), password=PASSWORD, admin=True)
    browser = h.browser("10.0.0.1")
    assert (await sign_in(browser, "root", PASSWORD)).status_code == 303
    yield browser


async def _history(h: Harness) -> None:
    """Blocks over ten days (2026-03-01 to 03-10), one per day, one with a % in its reason."""
    actions = AdminActions.of(h.services)
    ops = Actor(None, "ops", "cli")
    for day in range(10):
        reason = "50% off spam" if day == 4 else f"phishing wave {day}"
        await actions.block_domain(ops, f"d{day}.example", reason=reason)
        h.clock.advance(days=1)


async def test_search_matches_target_actor_action_and_details(
    h: Harness, admin: httpx.AsyncClient
) -> None:
    await _history(h)

    async def shown(**query: str) -> list[str]:
        page = await admin.get("/web/admin/audit", params=query)
        assert page.status_code == 200, page.text
        return re.findall(r"<td>(d\d\.example)</td>", page.text)

    assert await shown(q="D3.EXAMPLE") == ["d3.example"]  # the target, any case
    assert await shown(q="wave 7") == ["d7.example"]  # the details
    assert await shown(q="50%") == ["d4.example"]  # % is a character, not a wildcard
    assert await shown(q="5_%") == []
    assert len(await shown(q="ops")) == 10  # the actor
    assert len(await shown(q="domain.blo")) == 10  # the action
    assert await shown(q="d1", actor="root") == []  # the old filters still apply with it
    page = await admin.get("/web/admin/audit", params={"q": "<script>"})
    assert 'value="&lt;script&gt;"' in page.text and "<script>" not in page.text


async def test_a_date_range_and_paging_keep_the_filters(
    h: Harness, admin: httpx.AsyncClient
) -> None:
    await _history(h)

    async def shown(**query: str) -> list[str]:
        page = await admin.get("/web/admin/audit", params=query)
        return re.findall(r"<td>(d\d\.example)</td>", page.text)

    # d<n> on 2026-03-01 + n days; `until` takes in its whole day
    assert await shown(since="2026-03-04", until="2026-03-05") == ["d4.example", "d3.example"]
    assert await shown(since="2026-03-10") == ["d9.example"]
    assert await shown(until="2026-03-01") == ["d0.example"]
    bad = await admin.get("/web/admin/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and "Not a date" in bad.text

    actions = AdminActions.of(h.services)
    for number in range(55):
        await actions.block_domain(Actor(None, "ops", "cli"), f"bulk{number}.example")
    first = await admin.get("/web/admin/audit", params={"q": "bulk", "since": "2026-03-02"})
    assert "bulk54.example" in first.text and "bulk4.example" not in first.text
    older = re.search(r'href="(/web/admin/audit\?[^"]*before=\d+)"', first.text)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "q=bulk" in link and "since=2026-03-02" in link
    second = await admin.get(link)
    assert "bulk4.example" in second.text and "bulk54.example" not in second.text
    assert "d9.example" not in second.text  # the search held on the older page


async def test_moderators_read_the_log_but_neither_download_it_nor_see_admin_pages(
    h: Harness, admin: httpx.AsyncClient
) -> None:
    svc = h.services
    for name in ("mod", "emma"):
        await create_user(svc.db, svc.uris, name, now=h.clock(), password=PASSWORD)
    await AdminActions.of(svc).set_role(Actor(None, "ops", "cli"), "mod", "moderator", True)
    moderator, employee = h.browser("10.0.0.2"), h.browser("10.0.0.3")
    assert (await sign_in(moderator, "mod", PASSWORD)).status_code == 303
    assert (await sign_in(employee, "emma", PASSWORD)).status_code == 303

    page = await moderator.get("/web/admin/audit")
    assert page.status_code == 200 and "user.grant_role" in page.text
    assert 'href="/web/admin/users"' not in page.text  # no admin-only sections shown
    assert (
        'href="/web/admin/settings"' not in page.text and 'href="/web/admin/peers"' not in page.text
    )
    assert "audit.jsonl" not in page.text
    assert (await moderator.get("/web/admin/audit.jsonl")).status_code == 403
    assert (await moderator.get("/web/admin/users")).status_code == 403
    assert (await employee.get("/web/admin/audit")).status_code == 403
    assert (await employee.get("/web/admin/audit.jsonl")).status_code == 403
    anonymous = h.browser()
    assert (await anonymous.get("/web/admin/audit")).status_code in (302, 303)
    assert (await anonymous.get("/web/admin/audit.jsonl")).status_code in (302, 303)
    assert "audit.jsonl" in (await admin.get("/web/admin/audit")).text


async def test_the_download_streams_the_selection_and_is_recorded(
    h: Harness, admin: httpx.AsyncClient
) -> None:
    await _history(h)
    page = await admin.get("/web/admin/audit", params={"action": "domain.", "q": "wave"})
    link = re.search(r'href="(/web/admin/audit\.jsonl\?[^"]*)"', page.text)
    assert link is not None
    filtered = await admin.get(link.group(1).replace("&amp;", "&"))
    assert filtered.status_code == 200
    assert filtered.headers["content-type"].startswith("application/jsonl")
    assert filtered.headers["content-disposition"].startswith('attachment; filename="audit-a.test-')
    lines = [json.loads(line) for line in filtered.text.splitlines()]
    assert [row["target"] for row in lines] == [f"d{n}.example" for n in range(10) if n != 4]

    whole = await admin.get("/web/admin/audit.jsonl")
    check = ChainCheck()
    for number, line in enumerate(whole.text.splitlines(), start=1):
        assert check.check_line(line, number) is None
    verdict = check.verdict()
    assert verdict.intact and verdict.head_id == (await _log(h))[-1].id
    exports = [r for r in await _log(h) if r.action == "audit.export"]
    assert [(r.actor_name, r.origin, r.details) for r in exports] == [
        (
            "root",
            "web",
            {"filters": {"action": "domain.", "text": "wave"}, "format": "jsonl", "to": "download"},
        ),
        ("root", "web", {"filters": {}, "format": "jsonl", "to": "download"}),
    ]
    assert json.loads(whole.text.splitlines()[-1])["action"] == "audit.export"


# ----- no one edits or deletes through the software --------------------------------------------

_WRITES = re.compile(
    r"\b(UPDATE|DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO|DROP\s+TABLE|"
    r"DROP\s+TRIGGER|ALTER\s+TABLE|TRUNCATE)\s+(IF\s+EXISTS\s+)?[\"'`]?audit_log\b",
    re.IGNORECASE,
)


def _statements_touching_the_log() -> list[str]:
    found = []
    for package in ("store", "watercooler", "inbox", "outbox", "federation"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for match in _WRITES.finditer(" ".join(text.split())):
                found.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    return found


def test_no_code_path_changes_or_deletes_an_audit_row() -> None:
    """Only INSERT (store.audit.append) and SELECT touch the table in the code; the schema's
    own rebuild (migration 0027, SQL reviewed once) is not code that runs on a request."""
    assert _WRITES.search("await conn.execute('UPDATE audit_log SET target = 1')")
    assert _WRITES.search('"DELETE FROM audit_log WHERE id = :id"')
    assert _WRITES.search("INSERT OR REPLACE INTO audit_log SELECT 1")
    assert not _WRITES.search("INSERT INTO audit_log (id) VALUES (1)")
    assert _statements_touching_the_log() == []


async def test_the_triggers_refuse_update_and_delete_on_the_apps_database(h: Harness) -> None:
    await AdminActions.of(h.services).block_domain(Actor(None, "ops", "cli"), "spam.example")
    before = await _log(h)
    for statement in (
        "UPDATE audit_log SET target = 'nothing.example'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with h.services.db.transaction() as conn:
                await conn.execute(statement)
    # and the same outside the app, on the file
    with sqlite3.connect(h.services.config.database.path) as conn:
        for statement in ("UPDATE audit_log SET details = '{}'", "DELETE FROM audit_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    assert await _log(h) == before


def test_a_bare_date_as_until_takes_in_the_whole_day() -> None:
    assert parse_bound("2026-03-05", end=True) == datetime(2026, 3, 6, tzinfo=UTC)
    assert parse_bound("2026-03-05") == datetime(2026, 3, 5, tzinfo=UTC)
    assert parse_bound("2026-03-05T10:00:00+02:00") == datetime(2026, 3, 5, 8, tzinfo=UTC)
    assert parse_bound("2026-03-05T10:00") == datetime(2026, 3, 5, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_bound("last tuesday")


async def test_policy_edited_in_the_config_file_is_a_row_at_the_next_start(
    make_config: MakeConfig,
) -> None:
    async def start(**federation: Any) -> list[AuditEntry]:
        app = create_app(make_config("a.test", **federation), run_workers=False)
        async with running(app, "http://a.test"):
            async with app.state.services.db.read() as conn:
                return await audit.chain(conn)

    assert await start() == []  # the first start only notes the file
    assert await start() == []
    [row] = await start(mode="open", authorized_fetch=True, signature_max_skew=60)
    assert (row.action, row.actor_name, row.origin) == ("config.change", "config", "system")
    assert row.details == {
        "federation.authorized_fetch": {"from": False, "to": True},
        "federation.mode": {"from": "allowlist", "to": "open"},
    }  # a tuning knob (the skew) is not policy
    assert len(await start(mode="open", authorized_fetch=True)) == 1
