"""Browser tests: Playwright's Python package driving Debian's chromium against live
instances (real `watercooler serve` processes on loopback). The browser reaches each
division by its domain through chromium's host resolver rules, as employees do by DNS.

Screenshots go to tests/web/artifacts/ (git-ignored), to be looked at by people."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import LiveInstance, start_all

CHROMIUM = Path(os.environ.get("WATERCOOLER_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "correct horse battery"
LINK_WAIT = 30.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing (`make test` installs Debian's chromium)", allow_module_level=True
    )

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, Locator, Page, sync_playwright  # noqa: E402

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ACROSS = 90.0
"""Seconds for something to cross divisions: a delivery and its processing take a second or
two; the directory's first sync may have to retry (30 s) when a peer was not up yet."""


@dataclass(frozen=True)
class Divisions:
    """Two divisions peered with each other, with alice on sales and bob on eng."""

    sales: LiveInstance
    eng: LiveInstance


def _linked(live: LiveInstance, peer: str) -> bool:
    """Do the instance actors of `live` and `peer` follow each other (`peer status`)?"""
    lines = live.cli("peer", "status").stdout.strip().splitlines()
    header = lines[0].split("\t")
    for line in lines[1:]:
        row = dict(zip(header, line.split("\t"), strict=False))
        if row.get("domain") == peer:
            return row.get("linked") == "accepted/accepted"
    return False


def wait_until(condition: Callable[[], bool], what: str, seconds: float = LINK_WAIT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def sales_config() -> str:
    """More lines for sales.test's config (a test module overrides this fixture to add any)."""
    return ""


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory, sales_config: str) -> Iterator[Divisions]:
    folder = tmp_path_factory.mktemp("divisions")
    sales = LiveInstance("sales.test", folder / "sales")
    eng = LiveInstance("eng.test", folder / "eng")
    resolve = {sales.domain: sales.address, eng.domain: eng.address}
    sales.write_config(peers=[eng.domain], resolve=resolve, extra=sales_config)
    eng.write_config(peers=[sales.domain], resolve=resolve)
    sales.cli("user", "add", "alice", "--password-stdin", stdin=f"{PASSWORD}\n")
    eng.cli("user", "add", "bob", "--password-stdin", stdin=f"{PASSWORD}\n")
    start_all([sales, eng])
    try:
        wait_until(
            lambda: _linked(sales, eng.domain) and _linked(eng, sales.domain),
            "the divisions' link",
        )
        yield Divisions(sales, eng)
    finally:
        sales.stop()
        eng.stop()


@pytest.fixture(scope="module")
def browser(divisions: Divisions) -> Iterator[Browser]:
    """Headless chromium that resolves both divisions' domains to their loopback ports."""
    rules = ", ".join(
        f"MAP {live.domain} {live.address}" for live in (divisions.sales, divisions.eng)
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules={rules}"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Pages in fresh browser contexts (each its own cookies: one person), all closed after."""
    contexts = []

    def make(**options: object) -> Page:
        context = browser.new_context(**options)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, live: LiveInstance, username: str) -> None:
    page.goto(f"{live.base_url}/web/sign_in")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.base_url}/web/home")


def serious_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations of serious or critical impact on the page as it is:
    rule, impact and where. axe runs through the DevTools protocol (`page.evaluate`), which the
    pages' CSP does not govern, so pages are checked exactly as served."""
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [
        f"{found['id']} ({found['impact']}): {[node['target'] for node in found['nodes'][:3]]}"
        for found in results.response["violations"]
        if found["impact"] in ("serious", "critical")
    ]


def reload_until(page: Page, shown: Callable[[], Locator], what: str) -> None:
    """Reload the page until `shown()` finds something: what arrives off the request path (a
    delivery, the search index, the directory sync)."""

    def arrived() -> bool:
        if shown().count() > 0:
            return True
        page.reload()
        return shown().count() > 0

    wait_until(arrived, what, seconds=ACROSS)


def followers_of(live: LiveInstance, username: str) -> list[str]:
    """The accts `live` lists as `username`'s followers (its public API)."""
    with live.client() as client:
        account = client.get("/api/v1/accounts/lookup", params={"acct": username}).json()
        found = client.get(f"/api/v1/accounts/{account['id']}/followers").json()
    return [follower["acct"] for follower in found]
