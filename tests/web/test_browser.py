"""The pages in a real browser (headless chromium) against two live divisions: sign in,
post, see a colleague's post arrive on another division without reloading, post an image
with its description. Screenshots of the main pages go to tests/web/artifacts/."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable

from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import Divisions, screenshot, sign_in

NewPage = Callable[..., Page]
LIVE_WAIT = 15_000
"""Milliseconds for a post to cross divisions: delivery, the peer's inbox, its stream."""


def test_the_sign_in_page_is_what_a_new_user_sees(divisions: Divisions, new_page: NewPage) -> None:
    page = new_page()
    page.goto(f"{divisions.sales.base_url}/web/home")
    expect(page).to_have_url(f"{divisions.sales.base_url}/web/sign_in?next=%2Fweb%2Fhome")
    expect(page.get_by_role("heading", name="Sign in to Watercooler")).to_be_visible()
    screenshot(page, "01-sign-in")
    page.get_by_label("Username or e-mail").fill("alice")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()


def test_a_post_on_one_division_appears_live_on_the_other(
    divisions: Divisions, new_page: NewPage
) -> None:
    bob = new_page()
    sign_in(bob, divisions.eng, "bob")
    bob.goto(f"{divisions.eng.base_url}/web/org")
    expect(bob.locator("#live-status")).to_contain_text("Live")
    bob.evaluate("window.notReloaded = true")

    alice = new_page()
    sign_in(alice, divisions.sales, "alice")
    screenshot(alice, "02-home-first-visit")
    words = f"All-hands moved to Friday {uuid.uuid4().hex[:8]}"
    alice.get_by_label("What is happening?").fill(words)
    expect(alice.locator("#compose-counter")).to_have_text(f"{5000 - len(words)} characters left")
    alice.get_by_label("Who can see it").select_option("org")
    alice.get_by_role("button", name="Post").click()
    expect(alice.locator("#timeline")).to_contain_text(words)

    arrived = bob.locator("#timeline .status", has_text=words)
    expect(arrived).to_be_visible(timeout=LIVE_WAIT)
    expect(arrived).to_contain_text("@alice@sales.test")
    assert bob.evaluate("window.notReloaded") is True
    screenshot(bob, "03-org-timeline-live")

    arrived.get_by_role("link", name="Reply to").click()
    bob.get_by_label("Your reply").press_sequentially("Thanks!")
    expect(bob.get_by_label("Your reply")).to_have_value("@alice@sales.test Thanks!")
    bob.get_by_role("button", name="Reply").click()
    expect(bob.locator(".status.focus")).to_contain_text(words)
    expect(bob.locator("#timeline, .timeline").last).to_contain_text("Thanks!")
    screenshot(bob, "04-thread")


def test_an_image_with_its_description(divisions: Divisions, new_page: NewPage) -> None:
    page = new_page(viewport={"width": 390, "height": 844})  # a phone
    sign_in(page, divisions.sales, "alice")
    picture = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 120, 200)).save(picture, format="PNG")
    page.get_by_label("What is happening?").fill("The new meeting room")
    page.get_by_text("Add an image").click()
    page.get_by_label("Image", exact=True).set_input_files(
        {"name": "room.png", "mimeType": "image/png", "buffer": picture.getvalue()}
    )
    page.get_by_label("Image description").fill("A blue meeting room wall")
    page.get_by_role("button", name="Post").click()
    image = page.get_by_role("img", name="A blue meeting room wall")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth > 0") is True
    screenshot(page, "05-phone-image-post")
