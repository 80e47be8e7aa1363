"""Every main page checked in chromium by axe-core (Deque's accessibility engine, the one
browsers' own audits use), at a desktop and at a phone's width: no violation of serious or
critical impact (WCAG 2.1 A/AA rules: labels, names, contrast, landmarks, headings...)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

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
    "/web/@ada",
    "/web/admin",
    "/web/admin/users",
    "/web/admin/peers",
    "/web/admin/queue",
    "/web/admin/audit",
)


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
    for anonymous in ("/", "/about", "/web/sign_in", "/@alice"):
        page.goto(base + anonymous)
        problems[anonymous] = serious_violations(page)
    sign_in(page, divisions.sales, admin)
    for path in SIGNED_IN_PAGES:
        page.goto(base + path)
        problems[path] = serious_violations(page)
        if device == "phone" and path == "/web/home":
            screenshot(page, "phone-home")
    assert {path: found for path, found in problems.items() if found} == {}
