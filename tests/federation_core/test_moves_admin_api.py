"""IT moves an employee between divisions through the admin API (issue 10: each tool has an
admin API): alice@sales becomes alice2@eng, the alias added on eng and the move made on sales
by each division's admin, no password asked; alice's follower on sales follows alice2. Two
real apps, real signed HTTP between them (tests/rig.py), real SQLite files."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store import audit, follows
from store import moves as stored_moves
from tests.conftest import MakeConfig
from tests.federation_core.test_moves import ENG, SALES, follow, follow_state
from tests.rig import Rig

ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture
async def rig(make_config: MakeConfig) -> AsyncIterator[Rig]:
    configs = [make_config(SALES, peers=(ENG,)), make_config(ENG, peers=(SALES,))]
    async with Rig(configs) as rig:
        yield rig


async def test_it_moves_an_employee_with_the_admin_api(rig: Rig) -> None:
    # Given alice on sales, followed by carol on sales, and her new account alice2 on eng
    alice = await rig.user(SALES, "alice")
    carol = await rig.user(SALES, "carol")
    alice2 = await rig.user(ENG, "alice2")
    await follow(rig, SALES, carol, alice.uri)
    assert await follow_state(rig, SALES, carol.uri, alice.uri) == follows.ACCEPTED

    # When eng's admin lists alice as an alias of alice2
    async with await rig.admin_client(ENG) as eng_admin:
        added = await eng_admin.post(
            f"/api/v1/admin/accounts/{alice2.id}/aliases", data={"acct": "@alice@sales.test"}
        )
        assert added.status_code == 200, added.text
        assert added.json() == {"id": str(alice2.id), "aliases": [alice.uri], "moved_to": None}
        shown = await eng_admin.get(f"/api/v1/admin/accounts/{alice2.id}/aliases")
        assert shown.json()["aliases"] == [alice.uri]
    await rig.drain()

    # and sales's admin moves alice there (a JSON body, as scripts send)
    async with await rig.admin_client(SALES) as sales_admin:
        moved = await sales_admin.post(
            f"/api/v1/admin/accounts/{alice.id}/move", json={"acct": "alice2@eng.test"}
        )
        assert moved.status_code == 200, moved.text
    await rig.drain()

    # Then the answer is alice's Admin::Account, pointing to the new account
    entity = moved.json()
    assert entity["id"] == str(alice.id) and entity["username"] == "alice"
    assert entity["account"]["moved"]["acct"] == "alice2@eng.test"
    # carol follows alice2 (accepted on eng too) and no longer follows alice
    assert await follow_state(rig, SALES, carol.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, ENG, carol.uri, alice2.uri) == follows.ACCEPTED
    assert await follow_state(rig, SALES, carol.uri, alice.uri) is None
    # and both steps are in the audit log as the CLI writes them, by the admins, origin 'api'
    async with rig.services(ENG).db.read() as conn:
        (alias,) = await audit.page(conn, action="account.alias")
    assert (alias.origin, alias.actor_name, alias.target) == ("api", "admin", alice2.uri)
    assert alias.details == {"add": alice.uri}
    async with rig.services(SALES).db.read() as conn:
        (move,) = await audit.page(conn, action="account.move")
    assert (move.origin, move.actor_name, move.target) == ("api", "admin", alice.uri)
    assert move.details == {"to": alice2.uri, "followers_queued": 1}


async def test_only_admins_may_and_a_bad_target_is_refused(rig: Rig) -> None:
    alice = await rig.user(SALES, "alice")
    dave = await rig.user(ENG, "dave")  # does not list alice as an alias
    moderator_like = await rig.api_client(SALES, "bob", scopes=ADMIN_SCOPES)
    async with moderator_like:
        for answer in (
            await moderator_like.get(f"/api/v1/admin/accounts/{alice.id}/aliases"),
            await moderator_like.post(
                f"/api/v1/admin/accounts/{alice.id}/aliases", data={"acct": "@dave@eng.test"}
            ),
            await moderator_like.post(
                f"/api/v1/admin/accounts/{alice.id}/move", data={"acct": "@dave@eng.test"}
            ),
        ):
            assert answer.status_code == 403, answer.text
    async with await rig.admin_client(SALES) as admin:
        for target, reason in (
            ("@dave@eng.test", "does not list"),
            ("@nobody@eng.test", "could be found"),
            ("@alice@sales.test", "itself"),
            ("", "acct or uri is missing"),
        ):
            answer = await admin.post(
                f"/api/v1/admin/accounts/{alice.id}/move", data={"acct": target}
            )
            assert answer.status_code == 422, (target, answer.text)
            assert reason in answer.json()["error"]
        unknown = await admin.post("/api/v1/admin/accounts/999999/move", data={"acct": "x"})
        assert unknown.status_code == 404
        # an account of another division (known here since the refused move fetched it) is
        # not this division's to move
        dave_here = await rig.account(SALES, dave.uri)
        assert dave_here is not None
        remote = await admin.post(
            f"/api/v1/admin/accounts/{dave_here.id}/move", data={"acct": "@alice@sales.test"}
        )
        assert remote.status_code == 422
        assert "on this division" in remote.json()["error"]
    # Nothing changed and nothing was audited
    async with rig.services(SALES).db.read() as conn:
        assert await stored_moves.aliases(conn, alice.id) == []
        assert await audit.page(conn, action="account.move") == []
        assert await audit.page(conn, action="account.alias") == []
    still = await rig.account(SALES, alice.uri)
    assert still is not None and still.moved_to_account_id is None


async def test_an_alias_is_taken_off(rig: Rig) -> None:
    alice = await rig.user(SALES, "alice")
    alice2 = await rig.user(ENG, "alice2")
    path = f"/api/v1/admin/accounts/{alice2.id}/aliases"
    async with await rig.admin_client(ENG) as admin:
        assert (await admin.post(path, data={"uri": alice.uri})).status_code == 200
        removed = await admin.request("DELETE", path, params={"uri": alice.uri})
        assert removed.status_code == 200, removed.text
        assert removed.json()["aliases"] == []
        again = await admin.request("DELETE", path, params={"uri": alice.uri})
        assert again.status_code == 404
    async with rig.services(ENG).db.read() as conn:
        rows = await audit.page(conn, action="account.alias")
    assert sorted((row.origin, tuple(row.details)) for row in rows) == [
        ("api", ("add",)),
        ("api", ("remove",)),
    ]
