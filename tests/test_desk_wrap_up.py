"""Wrap-up as an agent lives it (README, "Pages"), in real Chromium against a real Daphne and the PHLO
simulator: the time left shows, a warning comes before the end, typing keeps it running, More time
adds to it, a reload keeps the draft, and what was typed is saved when it ends."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.test_browser import call_card, running_world
from tests.test_desk_ui import customer_row, my_status

pytestmark = pytest.mark.slow

WRAP_UP_SECONDS = 8  # shorter than the warning's 10 s: the warning shows from the start

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with running_world(tmp_path_factory.mktemp("wrap-up"), wrap_up_seconds=WRAP_UP_SECONDS) as world:
        yield world


@pytest.fixture
def pages(world):
    world.page_errors.clear()
    yield world
    world.close_pages()
    assert not world.page_errors, world.page_errors


def hang_up(page, shown: str) -> None:
    # On the line themselves first: a customer who leaves before any agent answered abandoned the call
    # (no wrap-up follows); under load the agent's own join can come a moment after the customer's.
    expect(call_card(page, shown).locator(".member.is-me")).to_contain_text("Connected")
    call_card(page, shown).get_by_role("button", name=f"Hang up customer {shown}").click()
    expect(page.get_by_label("Your notes")).to_be_visible()


def test_typing_in_wrap_up_keeps_it_running_and_nothing_typed_is_lost(pages):
    """Found by hand: the wrap-up ran out mid-sentence, and the form and what was typed vanished."""
    pages.api.set_status("frank", "available")
    frank = pages.page_for("frank")
    pages.simulator.customer_calls("+12025550161", "frank")
    expect(customer_row(frank, "+1 202 555 0161")).to_contain_text("Connected")
    hang_up(frank, "+1 202 555 0161")
    notes = frank.get_by_label("Your notes")
    expect(frank.locator("#wrap-up .wrap-up-left .timer")).to_have_text(re.compile(r"\d"))

    # Typing for twice the wrap-up's length: it is extended while the person types.
    sentence = "Customer wants a refund for the May invoice, call back on Monday morning please"
    for word in sentence.split():
        notes.press_sequentially(word + " ", delay=40)
        frank.wait_for_timeout(1000)
    assert frank.locator("#my-status").inner_text() == "Wrap-up"

    # A reload keeps the draft.
    frank.reload()
    expect(frank.get_by_label("Your notes")).to_have_value(sentence + " ")

    # Stopped typing: the time runs out, the warning came first, and what was typed is saved.
    expect(frank.locator(".wrap-up-warning")).to_be_visible()
    expect(my_status(frank)).to_have_text("Available", timeout=WRAP_UP_SECONDS * 1000 + 15_000)

    def saved_notes():
        ended = pages.api.http.get(f"{pages.api.base}/api/calls/?status=ended&limit=1",
                                   headers=pages.api._auth("frank")).json()[0]
        return [w["notes"] for w in ended["wrap_ups"]]

    deadline = time.monotonic() + 10
    while saved_notes() != [sentence] and time.monotonic() < deadline:  # the API trims the trailing space
        time.sleep(0.2)
    assert saved_notes() == [sentence]


def test_more_time_adds_the_wrap_up_seconds(pages):
    pages.api.set_status("grace", "available")
    grace = pages.page_for("grace")
    pages.simulator.customer_calls("+12025550162", "grace")
    expect(customer_row(grace, "+1 202 555 0162")).to_contain_text("Connected")
    hang_up(grace, "+1 202 555 0162")
    started = time.monotonic()
    for _ in range(2):
        grace.locator("#wrap-up").get_by_role("button", name="More time").click()
        grace.wait_for_timeout(300)
    # Two extensions of 8 s: still wrapping up well after the first 8 s.
    grace.wait_for_timeout(max(0.0, WRAP_UP_SECONDS + 3 - (time.monotonic() - started)) * 1000)
    expect(my_status(grace)).to_have_text("Wrap-up")
    expect(my_status(grace)).to_have_text("Available", timeout=WRAP_UP_SECONDS * 3000 + 10_000)


