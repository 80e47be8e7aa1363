"""Workplace conversations in a real browser across two live divisions (issue 9): an
announcement published on sales is a banner on eng; a question asked on sales is answered
from eng and accepted, and eng's answerer is told; a poll from sales is voted on from eng; a
community started on eng is joined and written to from sales. Every page is checked by
axe-core. Screenshots (tests/web/artifacts/): announcement-banner, question-accepted,
questions-list, poll-voted, community."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import Page, expect

from .conftest import Divisions, reload_until, screenshot, serious_violations, sign_in

NewPage = Callable[..., Page]


def _word() -> str:
    return uuid.uuid4().hex[:8]


def test_an_announcement_from_sales_is_a_banner_on_eng_until_dismissed(
    divisions: Divisions, new_page: NewPage
) -> None:
    sales, eng = divisions.sales, divisions.eng
    sales.cli("user", "role", "alice", "--add", "announcer")
    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.get_by_role("link", name="Announcements").click()
    word = _word()
    alice.get_by_label("Text").fill(f"Office closed on Friday {word}")
    alice.get_by_role("button", name="Publish to every division").click()
    expect(alice.locator(".announcements")).to_contain_text(word)  # her own banner too

    bob = new_page()
    sign_in(bob, eng, "bob")
    banner = lambda: bob.locator(".announcement", has_text=word)  # noqa: E731
    reload_until(bob, banner, "the announcement on eng")
    expect(banner()).to_contain_text("@alice@sales.test")
    assert serious_violations(bob) == []
    screenshot(bob, "announcement-banner")
    banner().get_by_role("button", name="Dismiss").click()
    expect(bob).to_have_url(f"{eng.base_url}/web/home")
    expect(bob.locator(".announcement", has_text=word)).to_have_count(0)


def test_a_question_from_sales_answered_from_eng_and_accepted(
    divisions: Divisions, new_page: NewPage
) -> None:
    sales, eng = divisions.sales, divisions.eng
    word = _word()
    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.get_by_label("What is happening?").fill(f"Who knows how to renew a VPN token {word}?")
    alice.get_by_label("Who can see it").select_option("org")
    alice.get_by_label("This is a question").check()
    alice.get_by_role("button", name="Post").click()
    asked = alice.locator("#timeline .status", has_text=f"VPN token {word}")
    expect(asked.locator(".badge.question")).to_have_text("Question")

    # bob finds it among eng's open questions and answers it from its thread.
    bob = new_page()
    sign_in(bob, eng, "bob")
    bob.goto(f"{eng.base_url}/web/questions")
    listed = lambda: bob.locator(".status", has_text=word)  # noqa: E731
    reload_until(bob, listed, "the question on eng")
    assert serious_violations(bob) == []
    screenshot(bob, "questions-list")
    listed().get_by_role("link", name="Reply").click()
    bob.get_by_label("Your reply").press_sequentially(f"Use the self-service portal {word}")
    bob.get_by_role("button", name="Reply").click()

    # alice accepts it on her question's thread, once the answer has reached sales.
    asked.locator("time").click()
    answer = lambda: alice.locator(".status", has_text="self-service portal")  # noqa: E731
    reload_until(alice, answer, "bob's answer on sales")
    answer().get_by_role("button", name="Accept this answer").click()
    expect(answer()).to_contain_text("✓ Accepted answer")
    assert serious_violations(alice) == []
    screenshot(alice, "question-accepted")

    # bob is told on his own division, and eng's list no longer counts it as unanswered.
    bob.goto(f"{eng.base_url}/web/notifications")
    told = lambda: bob.locator("main", has_text="accepted your answer")  # noqa: E731
    reload_until(bob, told, "the acceptance notification on eng")
    bob.goto(f"{eng.base_url}/web/questions")
    expect(bob.locator(".status", has_text=word)).to_have_count(0)
    bob.goto(f"{eng.base_url}/web/questions?state=answered")
    expect(bob.locator(".status", has_text=word).locator(".badge.answered")).to_be_visible()


def test_a_poll_from_sales_voted_on_from_eng(divisions: Divisions, new_page: NewPage) -> None:
    sales, eng = divisions.sales, divisions.eng
    word = _word()
    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.get_by_label("What is happening?").fill(f"Team lunch: where? {word}")
    alice.get_by_label("Who can see it").select_option("org")
    alice.get_by_text("Add a poll").click()
    alice.get_by_label("Option 1").fill("Noodle bar")
    alice.get_by_label("Option 2").fill("Canteen")
    alice.get_by_role("button", name="Post").click()
    expect(alice.locator("#timeline .status", has_text=word)).to_contain_text("Noodle bar")

    bob = new_page()
    sign_in(bob, eng, "bob")
    bob.goto(f"{eng.base_url}/web/org")
    card = lambda: bob.locator(".status", has_text=word)  # noqa: E731
    reload_until(bob, card, "the poll on eng's organisation timeline")
    card().get_by_label("Canteen").check()
    card().get_by_role("button", name="Vote").click()
    results = card().locator(".poll-results")
    expect(results).to_contain_text("Canteen: 1 vote")
    expect(results).to_contain_text("your choice")
    assert serious_violations(bob) == []
    screenshot(bob, "poll-voted")

    # The vote reached the poll's author: sales counts it.
    alice.reload()
    counted = lambda: alice.locator(".status", has_text="Canteen: 1 vote")  # noqa: E731
    reload_until(alice, counted, "bob's vote counted on sales")


def test_a_community_on_eng_joined_and_written_to_from_sales(
    divisions: Divisions, new_page: NewPage
) -> None:
    sales, eng = divisions.sales, divisions.eng
    name = f"guild_{_word()}"
    bob = new_page()
    sign_in(bob, eng, "bob")
    bob.goto(f"{eng.base_url}/web/communities")
    bob.locator("#community-name").fill(name)
    bob.get_by_label("Display name", exact=True).fill("Python guild")
    bob.get_by_label("Description").fill("Packaging, typing and testing.")
    bob.get_by_role("button", name="Start the community").click()
    expect(bob.get_by_role("heading", level=1)).to_have_text("Python guild")

    alice = new_page()
    sign_in(alice, sales, "alice")
    alice.goto(f"{sales.base_url}/web/@{name}@eng.test")
    expect(alice).to_have_url(re.compile(r"/web/communities/\d+$"))
    alice.get_by_role("button", name="Join").click()
    write = lambda: alice.get_by_label("Your post")  # noqa: E731
    reload_until(alice, write, "alice's membership accepted by eng")
    word = _word()
    alice.get_by_label("Your post").fill(f"Has anyone tried uv for our builds? {word}")
    alice.get_by_role("button", name="Post to Python guild").click()

    # The community announced it to its members: bob (a moderator) reads it on its page.
    bob.reload()
    shared = lambda: bob.locator("#community-posts .status", has_text=word)  # noqa: E731
    reload_until(bob, shared, "the post in the community on eng")
    expect(bob.get_by_role("button", name="Pin in the community")).to_be_visible()
    assert serious_violations(bob) == []
    screenshot(bob, "community")
