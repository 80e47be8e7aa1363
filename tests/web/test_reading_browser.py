"""The reading pages in a real browser against two live divisions: alice (sales.test) finds
her own post by a word, keeps it as a bookmark, meets bob of eng.test in the people
directory (synced between the divisions) and reads bob's mention among her notifications.
Each page is checked by axe-core too. Screenshots: search, bookmarks, directory,
notifications (tests/web/artifacts/)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

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


def test_search_bookmarks_directory_and_notifications(
    divisions: Divisions, new_page: NewPage
) -> None:
    sales, eng = divisions.sales, divisions.eng
    alice = new_page()
    sign_in(alice, sales, "alice")
    word = f"kumquat{uuid.uuid4().hex[:6]}"
    alice.get_by_label("What is happening?").fill(f"The {word} report is out, read it")
    alice.get_by_label("Who can see it").select_option("org")
    alice.get_by_role("button", name="Post").click()
    expect(alice.locator("#timeline")).to_contain_text(word)

    # Search: her own post, by one of its words.
    alice.get_by_role("navigation", name="Main").get_by_role("link", name="Search").click()
    expect(alice.get_by_role("link", name="Search", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    alice.get_by_label("Search posts, people and hashtags").fill(word)
    alice.get_by_role("button", name="Search", exact=True).click()
    found = alice.locator(".timeline .status", has_text=word)
    reload_until(alice, lambda: alice.locator(".timeline .status", has_text=word), "the index")
    expect(found).to_contain_text("@alice@sales.test")
    alice.get_by_text("How to search").click()
    expect(alice.get_by_text("from:me, from:name, from:@name@domain")).to_be_visible()
    assert serious_violations(alice) == []
    screenshot(alice, "search")

    # Keep it: the card's Bookmark button, back to the same results.
    found.get_by_role("button", name="Bookmark").click()
    expect(alice).to_have_url(f"{sales.base_url}/web/search?q={word}#status-{_id(found)}")
    expect(found.get_by_role("button", name="Bookmark")).to_have_attribute("aria-pressed", "true")
    alice.get_by_role("link", name="Bookmarks").click()
    expect(alice.locator("#kept .status", has_text=word)).to_be_visible()
    assert serious_violations(alice) == []
    screenshot(alice, "bookmarks")

    # The directory: bob of the other division is there once the divisions synced.
    alice.get_by_role("link", name="People").click()
    bob_card = lambda: alice.locator(".person", has_text="@bob@eng.test")  # noqa: E731
    reload_until(alice, bob_card, "bob in sales' directory")
    expect(bob_card().get_by_role("button", name="Follow")).to_be_visible()
    assert serious_violations(alice) == []
    screenshot(alice, "directory")

    # Notifications: bob, on his own division, finds alice by her handle and mentions her.
    bob = new_page()
    sign_in(bob, eng, "bob")
    bob.goto(f"{eng.base_url}/web/search?q=%40alice%40sales.test")
    expect(bob.locator(".person", has_text="@alice@sales.test")).to_be_visible()
    bob.goto(f"{eng.base_url}/web/home")
    bob.get_by_label("What is happening?").fill("@alice@sales.test did you see the numbers?")
    bob.get_by_label("Who can see it").select_option("org")
    bob.get_by_role("button", name="Post").click()
    expect(bob.locator("#timeline")).to_contain_text("did you see the numbers?")

    alice.get_by_role("link", name="Notifications").click()
    mention = lambda: alice.locator(".notification", has_text="mentioned you")  # noqa: E731
    reload_until(alice, mention, "bob's mention on sales")
    expect(mention()).to_contain_text("did you see the numbers?")
    expect(mention()).to_contain_text("@bob@eng.test")
    assert serious_violations(alice) == []
    screenshot(alice, "notifications")


def _id(card: Locator) -> str:
    value = card.get_attribute("data-id")
    assert value is not None
    return value


def test_follow_a_colleague_found_in_the_directory_by_department(
    divisions: Divisions, new_page: NewPage
) -> None:
    """bob (eng.test) names his department in his settings; sales.test's IT asks for a
    directory sync now (`watercooler peer sync`) rather than waiting for the next one; alice
    filters the people directory by that department, finds him and follows him there."""
    sales, eng = divisions.sales, divisions.eng
    bob = new_page()
    sign_in(bob, eng, "bob")
    bob.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    bob.get_by_label("Label 1").fill("Department")
    bob.get_by_label("Content 1").fill("Platform Engineering")
    bob.get_by_role("button", name="Save profile").click()
    expect(bob.get_by_text("Your profile is saved.")).to_be_visible()
    synced = sales.cli("peer", "sync", eng.domain)
    assert synced.returncode == 0, synced.stderr

    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.get_by_role("link", name="People").click()
    alice.get_by_label("Department").fill("platform engineering")
    alice.get_by_role("button", name="Show").click()
    card = lambda: alice.locator(".person", has_text="@bob@eng.test")  # noqa: E731
    reload_until(alice, card, "bob's department in sales' directory")
    expect(alice.locator(".person")).to_have_count(1)  # alice names no department
    assert serious_violations(alice) == []

    card().get_by_role("button", name="Follow").click()
    expect(alice).to_have_url(re.compile(r"/web/directory\?department=platform"))
    reload_until(alice, lambda: card().get_by_role("button", name="Unfollow"), "eng's Accept")
    wait_until(lambda: "alice@sales.test" in followers_of(divisions.eng, "bob"), "bob's follower")
    screenshot(alice, "directory-followed")
