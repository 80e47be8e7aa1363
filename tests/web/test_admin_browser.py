"""An admin adding a peer, in a real browser: two divisions that do not federate yet, each
admin adds the other on the peers page, and the link shows there both ways; the audit log
names the admin. Screenshots of the admin pages go to tests/web/artifacts/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.live import LiveInstance, start_all

from .conftest import PASSWORD, Divisions, screenshot, sign_in, wait_until

NewPage = Callable[..., Page]


@pytest.fixture(scope="module")
def divisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Divisions]:
    """Overrides the package's: sales.test and eng.test, not peered, each with an admin."""
    folder: Path = tmp_path_factory.mktemp("unpeered")
    sales = LiveInstance("sales.test", folder / "sales")
    eng = LiveInstance("eng.test", folder / "eng")
    resolve = {sales.domain: sales.address, eng.domain: eng.address}
    for live in (sales, eng):
        live.write_config(peers=[], resolve=resolve)
        live.cli("user", "add", "root", "--admin", "--password-stdin", stdin=f"{PASSWORD}\n")
    start_all([sales, eng])
    try:
        yield Divisions(sales, eng)
    finally:
        sales.stop()
        eng.stop()


def add_peer(page: Page, live: LiveInstance, peer: str, name: str) -> None:
    page.goto(f"{live.base_url}/web/admin")
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Peers").click()
    page.get_by_label("Domain").fill(peer)
    page.get_by_label("Division name (optional)").fill(name)
    page.get_by_role("button", name="Add peer").click()
    expect(page.get_by_role("status")).to_contain_text(f"{peer} added")


def test_an_admin_adds_a_peer(divisions: Divisions, new_page: NewPage) -> None:
    sales_admin, eng_admin = new_page(), new_page()
    sign_in(sales_admin, divisions.sales, "root")
    sign_in(eng_admin, divisions.eng, "root")

    add_peer(sales_admin, divisions.sales, "eng.test", "Engineering")
    row = sales_admin.get_by_role("row").filter(has_text="eng.test")
    expect(row).to_contain_text("Engineering")
    screenshot(sales_admin, "admin-01-peer-added")

    add_peer(eng_admin, divisions.eng, "sales.test", "Sales")

    def linked() -> bool:
        sales_admin.reload()
        return "accepted/accepted" in row.inner_text()

    wait_until(linked, "the divisions' instance actors to follow each other")
    screenshot(sales_admin, "admin-02-peer-linked")

    sales_admin.get_by_role("link", name="Audit log").click()
    entry = sales_admin.get_by_role("row").filter(has_text="peer.add")
    expect(entry).to_contain_text("eng.test")
    expect(entry).to_contain_text("root")
    screenshot(sales_admin, "admin-03-audit-log")

    sales_admin.get_by_role("link", name="Users").click()
    sales_admin.get_by_label("Username").fill("carol")
    sales_admin.get_by_role("button", name="Create with a one-time password").click()
    expect(sales_admin.get_by_role("status")).to_contain_text("One-time password for carol")
    screenshot(sales_admin, "admin-04-one-time-password")
    sales_admin.get_by_role("link", name="Overview").click()
    expect(sales_admin.get_by_role("row").filter(has_text="carol")).to_contain_text("user.create")
    screenshot(sales_admin, "admin-05-overview")
