"""Every main page checked in chromium by axe-core (Deque's accessibility engine, the one
browsers' own audits use), at a desktop and at a phone's width: no violation of serious or
critical impact (WCAG 2.1 A/AA rules: labels, names, contrast, landmarks, headings...).
The pages that show data (the report queue, account moderation, retention) are checked with some
in them: a world seeded through the API and the CLI, as an instance's people and admins make it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.live import LiveInstance

from .conftest import PASSWORD, Divisions, screenshot, serious_violations, sign_in

NewPage = Callable[..., Page]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SIGNED_IN_PAGES = (
    "/web/home",
    "/web/org",
    "/web/local",
    "/web/questions",
    "/web/compose",
    "/web/notifications",
    "/web/search?q=hello",
    "/web/directory",
    "/web/communities",
    "/web/bookmarks",
    "/web/favourites",
    "/web/tags/hello",
    "/web/settings",
    "/web/settings/preferences",
    "/web/settings/password",
    "/web/settings/apps",
    "/web/settings/export",
    "/web/settings/import",
    "/web/settings/moving",
    "/web/@ada",
    "/web/admin",
    "/web/admin/users",
    "/web/admin/peers",
    "/web/admin/queue",
    "/web/admin/audit",
    "/web/admin/audit?action=report.create&actor=ada&since=2020-01-01",
    "/web/admin/reports",
    "/web/admin/reports?resolved=1",
    "/web/admin/accounts",
    "/web/admin/retention",
    "/web/admin/ediscovery",
    "/web/admin/sso",
)
SCREENSHOTS = {
    "/web/sign_in": "a11y-sign-in-sso",
    "/web/settings/export": "a11y-settings-export",
    "/web/settings/import": "a11y-settings-import",
    "/web/settings/moving": "a11y-settings-moving",
    "/web/admin/audit?action=report.create&actor=ada&since=2020-01-01": "a11y-admin-audit",
    "/web/admin/reports": "a11y-admin-reports",
    "/web/admin/reports?resolved=1": "a11y-admin-reports-resolved",
    "/web/admin/accounts": "a11y-admin-accounts",
    "/web/admin/retention": "a11y-admin-retention",
    "/web/admin/ediscovery": "a11y-admin-ediscovery",
}
"""Pages photographed at the desktop's width, for people to look at (with `seeded`'s)."""


@pytest.fixture(scope="module")
def sales_config() -> str:
    """Single sign-on configured, so the sign-in page shows its button beside the password form
    (the provider is asked nothing until someone presses it)."""
    return '[oidc]\nissuer = "http://idp.test"\nclient_id = "wc"\nclient_secret = "s3cret"'


@pytest.fixture(scope="module")
def admin(divisions: Divisions) -> str:
    """An admin on sales.test, to see the admin pages too."""
    divisions.sales.cli("user", "add", "ada", "--admin", "--password-stdin", stdin=f"{PASSWORD}\n")
    return "ada"


def _post(live: LiveInstance, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with live.client() as client:
        answer = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _account_id(live: LiveInstance, acct: str) -> str:
    """The id `live` knows `acct` by (a remote one looked up through WebFinger)."""
    with live.client() as client:
        answer = client.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


@pytest.fixture(scope="module")
def seeded(divisions: Divisions, admin: str) -> dict[str, str]:
    """Posts, two reports (one resolved, one assigned with a note), a warning, a retention
    policy and a legal hold on sales.test; the pages that need ids: the report form for a post
        and for a remote account, the delete confirmation, local and remote account moderation
    (each with the name of its screenshot)."""
    sales = divisions.sales
    alice, ada = sales.token("alice"), sales.token(admin)
    post = _post(sales, alice, "/api/v1/statuses", {"status": "hello #hello"})
    own = _post(sales, ada, "/api/v1/statuses", {"status": "my own post"})
    alice_id, bob_id = _account_id(sales, "alice"), _account_id(sales, "bob@eng.test")
    first = _post(
        sales,
        ada,
        "/api/v1/reports",
        {"account_id": alice_id, "status_ids": [post["id"]], "comment": "spam", "category": "spam"},
    )
    second = _post(sales, alice, "/api/v1/reports", {"account_id": bob_id, "comment": "rude"})
    sales.cli("report", "assign", first["id"], admin)
    sales.cli("report", "note", first["id"], "Looking into it")
    sales.cli("report", "resolve", second["id"])
    sales.cli("account", "warn", "alice", "--text", "Please keep it civil")
    sales.cli("retention", "set", "--days", "365")
    sales.cli("hold", "add", "--account", "alice", "--reason", "Case 42", "--name", "Case 42")
    return {
        f"/web/accounts/{alice_id}/report?status_id={post['id']}": "a11y-report-post",
        f"/web/accounts/{bob_id}/report": "a11y-report-remote",
        f"/web/statuses/{own['id']}/delete": "a11y-delete-status",
        f"/web/admin/accounts/{alice_id}": "a11y-admin-account-local",
        f"/web/admin/accounts/{bob_id}": "a11y-admin-account-remote",
    }


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_main_pages_pass_axe(
    divisions: Divisions, new_page: NewPage, seeded: dict[str, str], device: str
) -> None:
    page = new_page(**(PHONE if device == "phone" else DESKTOP))
    base = divisions.sales.base_url
    problems: dict[str, list[str]] = {}
    for anonymous in ("/", "/about", "/web/sign_in", "/@alice"):
        page.goto(base + anonymous)
        problems[anonymous] = serious_violations(page)
        if anonymous == "/web/sign_in":  # with its single sign-on button
            assert page.get_by_role("link", name="Sign in with single sign-on").count() == 1
        if device == "desktop" and anonymous in SCREENSHOTS:
            screenshot(page, SCREENSHOTS[anonymous])
    sign_in(page, divisions.sales, "ada")
    for path in (*SIGNED_IN_PAGES, *seeded):
        answer = page.goto(base + path)
        assert answer is not None and answer.ok, f"{path}: {answer and answer.status}"
        problems[path] = serious_violations(page)
        if device == "phone" and path == "/web/home":
            screenshot(page, "phone-home")
        if device == "desktop" and (name := {**SCREENSHOTS, **seeded}.get(path)):
            screenshot(page, name)
    assert {path: found for path, found in problems.items() if found} == {}
