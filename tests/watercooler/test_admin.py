"""Admin actions (`watercooler.admin`): each change does what it says and writes exactly one
audit row naming who did what to what, from the pages' service, the admin API and the CLI."""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from store import accounts, audit, deliveries, users
from store.audit import AuditEntry, entry_hash
from store.db import Connection
from tests.conftest import MakeConfig, running
from watercooler.accounts import AccountError, create_token, create_user
from watercooler.admin import Actor, AdminActions, AdminError, Missing
from watercooler.app import create_app
from watercooler.instance_settings import SettingError
from watercooler.passwords import verify_password
from watercooler.services import Services

Instance = tuple[Services, httpx.AsyncClient]
PASSWORD = "correct horse battery"


async def _log(svc: Services) -> list[AuditEntry]:
    async with svc.db.read() as conn:
        return await audit.chain(conn)


async def _user(svc: Services, name: str, *, admin: bool = False) -> Actor:
    created = await create_user(
        svc.db, svc.uris, name, now=datetime.now(UTC), password=PASSWORD, admin=admin
    )
    return Actor.of_user(created.user, "web")


async def _dead_delivery(svc: Services, host: str) -> None:
    """One delivery to `host` that gave up."""
    now = svc.clock()
    async with svc.db.transaction() as conn:
        actor = await _instance_actor_id(conn)
        uri = f"http://a.test/activities/{host}"
        await deliveries.enqueue(
            conn,
            svc.db.new_id,
            activity_uri=uri,
            actor_account_id=actor,
            inboxes=[f"http://{host}/inbox"],
            body="{}",
            now=now,
        )
        [queued] = await deliveries.list_for_activity(conn, uri)
        assert await deliveries.mark_dead(
            conn, queued.id, attempts=15, last_status=500, last_error="HTTP 500", now=now
        )


async def _instance_actor_id(conn: Connection) -> int:
    actor = await accounts.get_instance_actor(conn)
    assert actor is not None
    return actor.id


async def test_each_action_writes_one_row_with_actor_action_and_target(instance: Instance) -> None:
    svc, _ = instance
    root = await _user(svc, "root", admin=True)
    admin = AdminActions.of(svc)
    await _dead_delivery(svc, "eng.test")

    created = await admin.create_user(root, "carol", email="carol@a.test")
    await admin.reset_password(root, "carol")
    await admin.set_admin(root, "carol", True)
    await admin.set_admin(root, "carol", False)
    await admin.disable_user(root, "carol")
    await admin.add_peer(root, "Eng.Test", name="Engineering")
    await admin.block_domain(root, "spam.example", severity="silence", reason="noise")
    await admin.unblock_domain(root, "spam.example")
    assert await admin.retry_dead(root, host="eng.test") == 1
    await admin.remove_peer(root, "eng.test")
    await admin.change_settings(root, {"name": "Sales", "default_visibility": "org"})

    rows = await _log(svc)
    assert [(r.action, r.target) for r in rows] == [
        ("user.create", "carol"),
        ("user.reset_password", "carol"),
        ("user.make_admin", "carol"),
        ("user.unmake_admin", "carol"),
        ("user.disable", "carol"),
        ("peer.add", "eng.test"),
        ("domain.block", "spam.example"),
        ("domain.unblock", "spam.example"),
        ("queue.retry", "eng.test"),
        ("peer.remove", "eng.test"),
        ("settings.change", "instance"),
    ]
    assert {(r.actor_account_id, r.actor_name, r.origin) for r in rows} == {
        (root.account_id, "root", "web")
    }
    assert rows[0].details == {"admin": False, "one_time_password": True}
    assert rows[6].details == {"severity": "silence", "reason": "noise"}
    assert rows[8].details == {"count": 1}
    assert rows[10].details == {
        "name": {"from": "a.test", "to": "Sales"},
        "default_visibility": {"from": "public", "to": "org"},
    }
    assert all(entry_hash(r) == r.hash for r in rows)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    text = json.dumps([r.details for r in rows])
    assert created.generated_password and created.generated_password not in text


async def test_changes_take_effect_in_the_running_server_at_once(instance: Instance) -> None:
    svc, client = instance
    root = await _user(svc, "root", admin=True)
    admin = AdminActions.of(svc)
    await admin.add_peer(root, "eng.test")
    assert svc.policy.is_peer("eng.test")
    await admin.block_domain(root, "noisy.example", severity="silence")
    assert svc.policy.is_silenced("noisy.example")
    await admin.remove_peer(root, "eng.test")
    assert not svc.policy.is_peer("eng.test")
    await admin.change_settings(root, {"name": "Sales division", "description": "We sell."})
    document = (await client.get("/api/v2/instance")).json()
    assert (document["title"], document["description"]) == ("Sales division", "We sell.")


async def test_no_change_and_refused_changes_write_nothing(instance: Instance) -> None:
    svc, _ = instance
    root = await _user(svc, "root", admin=True)
    await _user(svc, "dave")
    admin = AdminActions.of(svc)
    with pytest.raises(AdminError, match="only admin"):
        await admin.disable_user(root, "root")
    with pytest.raises(AdminError, match="only admin"):
        await admin.set_admin(root, "root", False)
    with pytest.raises(Missing):
        await admin.reset_password(root, "nobody")
    with pytest.raises(Missing):
        await admin.unblock_domain(root, "never.example")
    with pytest.raises(Missing):
        await admin.remove_peer(root, "never.example")
    with pytest.raises(AdminError, match="domain"):
        await admin.add_peer(root, "not a domain")
    with pytest.raises(AccountError):
        await admin.create_user(root, "dave")
    with pytest.raises(SettingError):
        await admin.change_settings(root, {"default_visibility": "everyone"})
    with pytest.raises(SettingError):
        await admin.change_settings(root, {"domain": "elsewhere.test"})
    await admin.set_admin(root, "dave", False)  # already not an admin
    assert await admin.retry_dead(root) == 0  # nothing dead
    assert await admin.change_settings(root, {"name": "a.test"}) == {}  # its value already
    assert await _log(svc) == []
    async with svc.db.read() as conn:
        still = await users.get_by_username(conn, "root")
    assert still is not None and still.admin and not still.disabled


async def test_a_reset_password_is_one_time_and_ends_every_session(instance: Instance) -> None:
    svc, client = instance
    root = await _user(svc, "root", admin=True)
    await _user(svc, "erin")
    token = await create_token(svc.db, "erin", ("read",), datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).is_success

    password = await AdminActions.of(svc).reset_password(root, "erin")

    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=headers)
    ).status_code == 401
    async with svc.db.read() as conn:
        erin = await users.get_by_username(conn, "erin")
    assert erin is not None and erin.must_change_password
    assert verify_password(password, erin.password_hash)
    assert not verify_password(PASSWORD, erin.password_hash)


async def test_settings_hold_after_a_restart(make_config: MakeConfig) -> None:
    config = make_config("a.test")
    app = create_app(config, run_workers=False)
    async with running(app, config.instance.base_url):
        svc: Services = app.state.services
        root = await _user(svc, "root", admin=True)
        await AdminActions.of(svc).change_settings(root, {"name": "Renamed"})
    again = create_app(config, run_workers=False)
    async with running(again, config.instance.base_url) as client:
        assert (await client.get("/api/v1/instance")).json()["title"] == "Renamed"
        assert again.state.services.config.instance.name == "Renamed"


# ----- the admin API -----------------------------------------------------------------------


async def test_admin_api_changes_are_audited_with_origin_api(instance: Instance) -> None:
    svc, client = instance
    root = await _user(svc, "root", admin=True)
    token = await create_token(svc.db, "root", ("admin:read", "admin:write"), datetime.now(UTC))
    client.headers["Authorization"] = f"Bearer {token}"

    assert (
        await client.post("/api/v1/admin/domain_allows", json={"domain": "eng.test"})
    ).is_success
    assert (
        await client.post(
            "/api/v1/admin/domain_blocks", json={"domain": "spam.example", "severity": "silence"}
        )
    ).is_success
    assert (
        await client.put("/api/v1/admin/domain_blocks/spam.example", json={"severity": "suspend"})
    ).is_success
    assert (await client.delete("/api/v1/admin/domain_blocks/spam.example")).is_success
    assert (await client.delete("/api/v1/admin/domain_allows/eng.test")).is_success
    assert (await client.delete("/api/v1/admin/domain_allows/eng.test")).status_code == 404
    assert (await client.delete("/api/v1/admin/domain_blocks/spam.example")).status_code == 404

    rows = await _log(svc)
    assert [(r.action, r.target, r.details.get("severity")) for r in rows] == [
        ("peer.add", "eng.test", None),
        ("domain.block", "spam.example", "silence"),
        ("domain.block", "spam.example", "reject"),
        ("domain.unblock", "spam.example", None),
        ("peer.remove", "eng.test", None),
    ]
    assert {(r.actor_account_id, r.actor_name, r.origin) for r in rows} == {
        (root.account_id, "root", "api")
    }


# ----- the CLI -----------------------------------------------------------------------------


def wc(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watercooler", "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


def test_cli_changes_are_audited_with_origin_cli(tmp_path: Path) -> None:
    config = tmp_path / "wc.toml"
    assert wc(config, "init", "--domain", "eng.test", "--allow-http").returncode == 0
    steps = [
        ("user", "add", "frank"),
        ("user", "disable", "frank"),
        ("peer", "add", "sales.test", "--name", "Sales"),
        ("domain", "block", "spam.example", "--reason", "noise"),
        ("domain", "unblock", "spam.example"),
        ("peer", "remove", "sales.test"),
        ("queue", "retry"),  # nothing dead: no row
    ]
    for step in steps:
        result = wc(config, *step)
        assert result.returncode == 0, (step, result.stderr)
    refused = wc(config, "domain", "unblock", "spam.example")
    assert refused.returncode == 2 and "not blocked" in refused.stderr

    database = sqlite3.connect(config.parent / "data" / "watercooler.sqlite3")
    try:
        rows = database.execute(
            "SELECT actor_account_id, actor_name, origin, action, target FROM audit_log ORDER BY id"
        ).fetchall()
    finally:
        database.close()
    who = (None, getpass.getuser(), "cli")
    assert rows == [
        (*who, "user.create", "frank"),
        (*who, "user.disable", "frank"),
        (*who, "peer.add", "sales.test"),
        (*who, "domain.block", "spam.example"),
        (*who, "domain.unblock", "spam.example"),
        (*who, "peer.remove", "sales.test"),
    ]
