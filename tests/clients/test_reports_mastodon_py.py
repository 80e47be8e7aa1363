"""Reports through Mastodon.py against two live divisions: bob (eng) reports alice (sales)
for her post with `report(..., forward=True)`; IT gives sales a moderator with `watercooler
user role`, who works the forwarded report with `admin_reports`, `admin_report`,
`admin_report_assign`, `admin_report_unassign`, `admin_report_resolve` and
`admin_report_reopen`, as moderation tools do; then `watercooler report` on the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from mastodon import Mastodon, MastodonAPIError

from tests.clients.network import PASSWORD, Division, two_divisions, wait_for

SALES, ENG = "sales.test", "eng.test"


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Division]]:
    with two_divisions(tmp_path_factory.mktemp("reports-py")) as found:
        yield found


def test_a_forwarded_report_worked_in_mastodon_py(divisions: dict[str, Division]) -> None:
    sales, eng = divisions[SALES], divisions[ENG]
    alice, bob = sales.live.mastodon("alice"), eng.live.mastodon("bob")
    posted = alice.status_post("Unsubscribe me from this list!!!", visibility="public")
    found = wait_for(
        "alice's post on eng",
        lambda: bob.search_v2(posted.url or posted.uri, resolve=True).statuses,
    )
    status = found[0]

    report = bob.report(
        status.account, status_ids=[status], comment="Reply-all", forward=True, category="spam"
    )
    assert report.category == "spam" and report.forwarded is True
    assert [str(i) for i in report.status_ids] == [str(status.id)]
    assert report.target_account.acct == "alice@sales.test"

    sales.live.cli("user", "add", "mod", "--password-stdin", stdin=f"{PASSWORD}\n")
    sales.live.cli("user", "role", "mod", "--add", "moderator")
    moderator = Mastodon(
        access_token=sales.live.token("mod", "read admin:read:reports admin:write:reports"),
        api_base_url=sales.url,
        version_check_mode="created",
        request_timeout=15,
    )
    [theirs] = wait_for("the Flag on sales", moderator.admin_reports)
    assert theirs.account.domain == ENG and theirs.account.email is None
    assert theirs.target_account.username == "alice" and theirs.target_account.domain is None
    assert theirs.comment == "Reply-all" and [s.uri for s in theirs.statuses] == [posted.uri]
    assert moderator.admin_report(theirs).id == theirs.id

    assert moderator.admin_report_assign(theirs).assigned_account.username == "mod"
    assert moderator.admin_report_unassign(theirs).assigned_account is None
    resolved = moderator.admin_report_resolve(theirs)
    assert resolved.action_taken is True and resolved.action_taken_by_account.username == "mod"
    assert moderator.admin_reports() == []
    assert [r.id for r in moderator.admin_reports(resolved=True)] == [theirs.id]
    assert moderator.admin_report_reopen(theirs).action_taken is False

    # alice, who may not moderate, is refused even with the admin scopes
    with pytest.raises(MastodonAPIError, match=r"403"):
        Mastodon(
            access_token=sales.live.token("alice", "admin:read:reports"),
            api_base_url=sales.url,
            version_check_mode="created",
        ).admin_reports()

    # The shell: list, note, show, resolve, each change in the audit log with origin 'cli'
    listed = sales.live.cli("report", "list").stdout
    assert f"{theirs.id}\t" in listed and "eng.test (forwarded)" in listed
    sales.live.cli("report", "note", str(theirs.id), "Spoke with alice")
    assert "assigned" in sales.live.cli("report", "assign", str(theirs.id), "mod").stdout
    assert "\tmod\t" in sales.live.cli("report", "list").stdout
    shown = sales.live.cli("report", "show", str(theirs.id)).stdout
    assert "Spoke with alice" in shown and "target\talice" in shown
    assert "resolved" in sales.live.cli("report", "resolve", str(theirs.id)).stdout
    refused = sales.live.cli_result("report", "resolve", "12345")
    assert refused.returncode == 2 and "Record not found" in refused.stderr
    exported = sales.live.cli("audit", "export", "--action", "report.").stdout.splitlines()
    rows = [json.loads(line) for line in exported]
    assert [(r["action"], r["origin"]) for r in rows] == [
        ("report.received", "federation"),
        ("report.assign", "api"),
        ("report.unassign", "api"),
        ("report.resolve", "api"),
        ("report.reopen", "api"),
        ("report.note", "cli"),
        ("report.assign", "cli"),
        ("report.resolve", "cli"),
    ]
