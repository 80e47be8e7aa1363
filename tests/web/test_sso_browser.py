"""Single sign-on in a real browser: chromium signs in to a live `watercooler serve` (password
sign-in off) through the OpenID provider of tests/oidc_provider.py, as an employee does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.live import LiveInstance
from tests.oidc_provider import Provider, running_provider

from .conftest import CHROMIUM, CHROMIUM_ARGS, screenshot, serious_violations

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the provider on plain http
        with running_provider() as running:
            running.set_user(
                "u-dana",
                {
                    "preferred_username": "dana",
                    "name": "Dana Scully",
                    "email": "dana@corp.example",
                    "department": "Forensics",
                    "title": "Special Agent",
                },
            )
            yield running


@pytest.fixture(scope="module")
def live(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveInstance]:
    instance = LiveInstance("sso.test", Path(tmp_path_factory.mktemp("sso")))
    client_id, secret = provider.register_client(f"{instance.base_url}/web/sso/callback")
    instance.write_config(
        peers=[],
        resolve={},
        workers=False,
        extra="\n".join(
            [
                "[auth]",
                "password_sign_in = false",
                "[oidc]",
                f'issuer = "{provider.issuer}"',
                f'client_id = "{client_id}"',
                f'client_secret = "{secret}"',
                'display_name = "Corp ID"',
            ]
        ),
    )
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def browser(live: LiveInstance) -> Iterator[Browser]:
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


def test_an_employee_signs_in_with_the_company_idp(live: LiveInstance, browser: Browser) -> None:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # Given password sign-in is off, the sign-in page offers only the IdP
        page.goto(f"{live.base_url}/web/sign_in")
        expect(page.get_by_label("Password")).to_have_count(0)
        button = page.get_by_role("link", name="Sign in with Corp ID")
        expect(button).to_be_visible()
        assert serious_violations(page) == []
        screenshot(page, "sso-sign-in")
        # When she signs in at the IdP
        button.click()
        page.wait_for_url("**/oauth2/authorize?*")
        page.get_by_placeholder("sub").fill("u-dana")
        page.get_by_role("button", name="Authorize").click()
        # Then she is back, signed in to an account made for her, with her IdP profile
        page.wait_for_url(f"{live.base_url}/web/home")
        expect(page.get_by_text("@dana").first).to_be_visible()
        page.goto(f"{live.base_url}/@dana")
        expect(page.get_by_text("Forensics").first).to_be_visible()
        expect(page.get_by_text("Special Agent").first).to_be_visible()
        screenshot(page, "sso-signed-in-profile")
    finally:
        context.close()
