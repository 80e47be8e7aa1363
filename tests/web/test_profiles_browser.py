"""A profile page in a real browser against two live divisions: alice (sales.test) opens
bob's profile (eng.test) by his handle, follows him with the page's button, and bob's
division records her as his follower; then what a visitor without an account sees (the front
page, alice's public profile). Each page is checked by axe-core too. Screenshots: profile,
front-page, public-profile (tests/web/artifacts/)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from .conftest import (
    Divisions,
    followers_of,
    reload_until,
    screenshot,
    serious_violations,
    sign_in,
    wait_until,
)

NewPage = Callable[..., Page]


def test_follow_a_colleague_on_another_division_from_his_profile(
    divisions: Divisions, new_page: NewPage
) -> None:
    sales, eng = divisions.sales, divisions.eng
    words = f"Release train leaves at four {uuid.uuid4().hex[:6]}"
    with eng.client(headers={"Authorization": f"Bearer {eng.token('bob')}"}) as client:
        posted = client.post("/api/v1/statuses", data={"status": words, "visibility": "org"})
        assert posted.status_code == 200, posted.text

    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.goto(f"{sales.base_url}/web/@bob@eng.test")  # known from the directory, or looked up
    expect(alice.get_by_role("heading", level=1)).to_have_text("bob")
    expect(alice.locator(".profile-handle")).to_contain_text("@bob@eng.test")
    reload_until(alice, lambda: alice.locator("#profile-posts", has_text=words), "bob's post")

    alice.get_by_role("button", name="Follow bob", exact=True).click()
    reload_until(
        alice, lambda: alice.get_by_role("button", name="Unfollow bob"), "bob's division's Accept"
    )
    expect(alice.locator("#you-follow")).to_be_visible()
    wait_until(lambda: "alice@sales.test" in followers_of(divisions.eng, "bob"), "bob's follower")
    assert serious_violations(alice) == []
    screenshot(alice, "profile")

    alice.goto(f"{sales.base_url}/web/home")
    alice.get_by_label("What is happening?").fill("Our stand at the trade fair is number 12")
    alice.get_by_label("Who can see it").select_option("public")
    alice.get_by_role("button", name="Post").click()
    expect(alice.locator("#timeline")).to_contain_text("trade fair")

    visitor = new_page()  # no account: an e-mailed link
    visitor.goto(f"{sales.base_url}/")
    expect(visitor.get_by_role("link", name="Sign in").first).to_be_visible()
    assert serious_violations(visitor) == []
    screenshot(visitor, "front-page")
    visitor.goto(f"{sales.base_url}/@alice")
    expect(visitor.locator("#profile-posts")).to_contain_text("trade fair")
    assert serious_violations(visitor) == []
    screenshot(visitor, "public-profile")
