"""A new employee's first sign-in in a real browser (headless chromium) against a live
instance: the one-time password from `watercooler user add`, the forced choice of their own
password, then the profile with their department, seen on their profile page. Screenshots
`first_sign_in` and `settings` go to tests/web/artifacts/."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.live import LiveInstance
from watercooler.oauth import OOB

from .conftest import CHROMIUM, CHROMIUM_ARGS, screenshot, serious_violations

NEW_PASSWORD = "paper lantern orchard"


def _add_user(live: LiveInstance, name: str) -> str:
    """Create `name` the way IT does: no password given, so a one-time one is printed."""
    printed = live.cli("user", "add", name).stdout
    found = re.search(r"one-time password: (\S+)", printed)
    assert found is not None, printed
    return found.group(1)


@pytest.fixture(scope="module")
def hr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveInstance, str]]:
    """hr.test, live, with dana and her one-time password."""
    live = LiveInstance("hr.test", tmp_path_factory.mktemp("settings") / "hr")
    live.write_config(peers=[], resolve={}, workers=False)
    one_time = _add_user(live, "dana")
    live.start()
    try:
        yield live, one_time
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser(hr: tuple[LiveInstance, str]) -> Iterator[Browser]:
    live, _ = hr
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {live.domain} {live.address}"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _picture(path: Path) -> Path:
    Image.new("RGB", (120, 90), "#2563eb").save(path, "PNG")
    return path


def _sign_in(page: Page, live: LiveInstance, password: str) -> None:
    page.goto(f"{live.base_url}/web/home")
    page.get_by_label("Username or e-mail").fill("dana")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_new_employee_chooses_a_password_then_fills_the_profile(
    hr: tuple[LiveInstance, str], page: Page, tmp_path: Path
) -> None:
    live, one_time = hr
    base = live.base_url

    _sign_in(page, live, one_time)
    expect(page).to_have_url(f"{base}/web/settings/password?next=%2Fweb%2Fhome")
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("one-time password")
    screenshot(page, "first_sign_in")
    assert serious_violations(page) == []

    page.goto(f"{base}/web/org")  # every page sends them back until they choose
    expect(page).to_have_url(f"{base}/web/settings/password?next=%2Fweb%2Forg")
    page.get_by_label("One-time password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Choose password").click()
    expect(page).to_have_url(f"{base}/web/org")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(f"{base}/web/settings")
    page.get_by_label("Display name").fill("Dana Scully")
    page.get_by_label("About you").fill("Payroll and benefits. Ask me about leave.")
    page.get_by_label("Label 1").fill("Department")
    page.get_by_label("Content 1").fill("People Operations")
    page.get_by_label("Label 2").fill("Pronouns")
    page.get_by_label("Content 2").fill("she/her")
    page.get_by_label("Picture").set_input_files(str(_picture(tmp_path / "dana.png")))
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Your profile is saved.")
    expect(page.get_by_label("Content 1")).to_have_value("People Operations")
    avatar = page.get_by_role("img", name="Your current picture")
    expect(avatar).to_have_attribute("src", re.compile(r"/media/"))
    screenshot(page, "settings")
    problems = {"/web/settings": serious_violations(page)}
    for path in ("/web/settings/preferences", "/web/settings/password", "/web/settings/apps"):
        page.goto(f"{base}{path}")
        problems[path] = serious_violations(page)
    assert {path: found for path, found in problems.items() if found} == {}
    page.goto(f"{base}/web/settings")

    # what the page saved is what the API answers; the avatar was cropped square and is served
    with live.client(timeout=10) as http:
        token = live.token("dana", "read")
        me = http.get(
            "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
        ).json()
        served = http.get(me["avatar"])
    assert me["source"]["fields"][0] == {
        "name": "Department",
        "value": "People Operations",
        "verified_at": None,
    }
    assert served.status_code == 200
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.width == image.height

    # signed out, the one-time password no longer works and the new one does
    page.get_by_role("button", name="Sign out").click()
    _sign_in(page, live, one_time)
    expect(page.get_by_role("alert")).to_be_visible()
    _sign_in(page, live, NEW_PASSWORD)
    expect(page).to_have_url(f"{base}/web/home")

    # and the profile page (/web/accounts/{id}, the profile pages') shows the fields
    page.goto(f"{base}/web/settings")
    page.get_by_role("link", name="See your profile").click()
    main = page.locator("main")
    expect(main).to_contain_text("Dana Scully")
    expect(main).to_contain_text("Department")
    expect(main).to_contain_text("People Operations")


def test_an_app_sign_in_with_a_one_time_password_goes_by_the_password_form(
    hr: tuple[LiveInstance, str], page: Page
) -> None:
    live, _ = hr
    one_time = _add_user(live, "erin")
    with live.client(timeout=10) as http:
        app = http.post(
            "/api/v1/apps",
            data={"client_name": "Pager", "redirect_uris": OOB, "scopes": "read write"},
        ).json()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": OOB,
            "scope": "read",
        }
    )
    page.goto(f"{live.base_url}/oauth/authorize?{query}")
    expect(page.get_by_role("heading", name="Sign in to hr.test")).to_be_visible()
    page.get_by_label("Username or e-mail").fill("erin")
    page.get_by_label("Password", exact=True).fill(one_time)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
    page.get_by_label("One-time password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Choose password").click()

    expect(page.get_by_role("heading", name="Authorize access")).to_be_visible()
    expect(page.locator("main")).to_contain_text("@erin@hr.test")
    assert serious_violations(page) == []
    screenshot(page, "oauth_consent")
    page.get_by_role("button", name="Authorize").click()
    code = page.locator("#authorization-code")
    expect(code).to_have_value(re.compile(r"^[A-Za-z0-9_-]{40,}$"))
    screenshot(page, "oauth_code")
    with live.client(timeout=10) as http:
        grant = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code.input_value(),
                "redirect_uri": OOB,
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
            },
        )
    assert grant.status_code == 200, grant.text
