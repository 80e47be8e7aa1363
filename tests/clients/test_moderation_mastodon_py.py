"""Account moderation through Mastodon.py against a real `watercooler serve` process, as a
moderation tool built on it does: a moderator (the `moderator` role, given with
`watercooler user role`) lists accounts with `admin_accounts_v2` and `admin_accounts`, warns
and limits one with `admin_account_moderate`, lifts the limit with `admin_account_unsilence`;
the user sees the warning with `notifications()`, and acting on an admin is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mastodon import Mastodon, MastodonAPIError

from tests.live import LiveInstance, one_instance

ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    with one_instance(tmp_path_factory.mktemp("moderation-live"), ("mia", "dave")) as live:
        live.cli(
            "user", "add", "root", "--admin", "--password-stdin", stdin="correct horse battery\n"
        )
        live.cli("user", "role", "mia", "--add", "moderator")
        yield live


def as_moderator(server: LiveInstance, name: str) -> Mastodon:
    return Mastodon(
        access_token=server.token(name, ADMIN_SCOPES),
        api_base_url=server.url,
        version_check_mode="created",
        request_timeout=15,
    )


def test_a_moderation_tool_on_mastodon_py(server: LiveInstance) -> None:
    mia, dave = as_moderator(server, "mia"), server.mastodon("dave")
    local = mia.admin_accounts_v2(origin="local")
    assert sorted(a.username for a in local) == ["dave", "mia", "root"]
    [found] = mia.admin_accounts_v2(username="dav")
    assert (found.username, found.silenced, found.suspended, found.account.acct) == (
        "dave",
        False,
        False,
        "dave",
    )
    staff = mia.admin_accounts(staff_only=True)  # v1 (Mastodon.py types it as one entity)
    assert sorted(a["username"] for a in staff) == ["mia", "root"]

    mia.admin_account_moderate(found.id, "silence", text="Please keep it on topic.")
    silenced: Any = mia.admin_account(found.id)
    assert silenced.silenced is True and silenced.account.limited is True
    assert [a.username for a in mia.admin_accounts_v2(status="silenced")] == ["dave"]
    [warning] = [n for n in dave.notifications() if n.type == "moderation_warning"]
    assert warning.moderation_warning.text == "Please keep it on topic."
    assert warning.moderation_warning.action == "silence"

    assert mia.admin_account_unsilence(found.id).silenced is False

    [root] = mia.admin_accounts_v2(username="root")
    with pytest.raises(MastodonAPIError) as refused:
        mia.admin_account_moderate(root.id, "suspend")
    assert refused.value.args[1] == 403
    assert mia.admin_account(root.id).suspended is False
    with pytest.raises(MastodonAPIError):
        dave.admin_accounts_v2()  # no admin scopes, no role

    # a suspended account's profile shows as Mastodon shows it, its posts do not
    dave.status_post("Before the suspension")
    assert len(mia.account_statuses(found.id)) == 1
    mia.admin_account_moderate(found.id, "suspend")
    suspended: Any = mia.account(found.id)
    assert (suspended.acct, suspended.suspended, suspended.display_name) == ("dave", True, "")
    assert mia.account_statuses(found.id) == []
    mia.admin_account_unsuspend(found.id)
    assert mia.account(found.id).get("suspended") is None
    assert len(mia.account_statuses(found.id)) == 1
