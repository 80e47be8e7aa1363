"""Every main page checked in chromium by axe-core (Deque's accessibility engine, the one
browsers' own audits use), at a desktop and at a phone's width: no violation of serious or
critical impact (WCAG 2.1 A/AA rules: labels, names, contrast, landmarks, headings...).

axe runs through the DevTools protocol (`page.evaluate`), which the pages' CSP does not
govern, so the pages are checked exactly as served."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from .conftest import PASSWORD, Divisions, screenshot, sign_in

NewPage = Callable[..., Page]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SIGNED_IN_PAGES = (
    "/web/home",
    "/web/org",
    "/web/local",
    "/web/compose",
    "/web/admin",
    "/web/admin/users",
    "/web/admin/peers",
    "/web/admin/queue",
    "/web/admin/audit",
)


def _violations(page: Page) -> list[str]:
    """Serious and critical violations on the page as it is: rule, impact and where."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


@pytest.fixture(scope="module")
def admin(divisions: Divisions) -> str:
    """An admin on sales.test, to see the admin pages too."""
    divisions.sales.cli("user", "add", "ada", "--admin", "--password-stdin", stdin=f"{PASSWORD}\n")
    return "ada"


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_main_pages_pass_axe(
    divisions: Divisions, new_page: NewPage, admin: str, device: str
) -> None:
    page = new_page(**(PHONE if device == "phone" else DESKTOP))
    base = divisions.sales.base_url
    problems: dict[str, list[str]] = {}
    for anonymous in ("/", "/web/sign_in"):
        page.goto(base + anonymous)
        problems[anonymous] = _violations(page)
    sign_in(page, divisions.sales, admin)
    for path in SIGNED_IN_PAGES:
        page.goto(base + path)
        problems[path] = _violations(page)
        if device == "phone" and path == "/web/home":
            screenshot(page, "phone-home")
    assert {path: found for path, found in problems.items() if found} == {}
