"""After the call in real Chromium (docs/history.md), against a real Daphne and the PHLO simulator:
an agent ends a call and saves its disposition on the desk; a supervisor finds the call by the
customer's number in the history, exports the search as CSV and reads the call's timeline.

The world (Daphne, `manage.py phlo_simulator`, Chromium) is tests/test_browser.py's, started once
more for this module. Screenshots for the README: `UPDATE_SCREENSHOTS=1`, as there.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests import test_browser
from tests.test_browser import PASSWORD, SCREENSHOTS

pytestmark = pytest.mark.slow
world, pages = test_browser.world, test_browser.pages  # the fixtures: one world more, for this module

CUSTOMER = "+16505550143"
CUSTOMER_SHOWN = "+1 650 555 0143"
DISPOSITIONS = ["Resolved", "Follow-up needed", "Escalated", "Billing question", "Wrong number"]
# Earlier calls, so the history has a past: (customer, agent, started minutes ago, length, disposition, notes).
EARLIER = [
    ("+13125550178", "carol", 190, 7, "Billing question", "Explained the November invoice."),
    ("+16465550112", "dave", 150, 12, "Escalated", "Outage report; ticket 4471 opened for the network team."),
    ("+17185550133", "grace", 95, 4, "Resolved", ""),
    ("+15105550164", "alice", 60, 9, "Follow-up needed", "Send the contract draft by Friday."),
    ("+13105550127", "erin", 35, 3, None, ""),
]


class Desk:
    """The HTTP API as people use it, for setting the scene."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.tokens: dict[str, str] = {}

    def headers(self, username: str) -> dict:
        if username not in self.tokens:
            response = self.http.post("/api/auth/token/", json={"username": username, "password": PASSWORD})
            self.tokens[username] = response.json()["token"]
        return {"Authorization": f"Token {self.tokens[username]}"}

    def wrap_up(self, username: str, call_id: int, **body) -> None:
        response = self.http.patch(f"/api/calls/{call_id}/wrap-up/", json=body, headers=self.headers(username))
        assert response.status_code == 200, response.text

    def history(self, username: str, **params) -> list[dict]:
        response = self.http.get("/api/calls/", params={"status": "ended", **params}, headers=self.headers(username))
        assert response.status_code == 200, response.text
        return response.json()


def earlier_calls(scene, desk: Desk) -> None:
    for n, (customer, username, started, length, disposition, notes) in enumerate(EARLIER):
        mpc = f"mpc-past-{n}"
        scene.plivo.customer_joins(mpc, customer, minutes_ago=started)
        scene.plivo.agent_joins(mpc, username, minutes_ago=started - 0.4)
        scene.plivo.end(mpc, minutes_ago=started - length)
        if disposition:
            [call] = desk.history("sam", q=customer)
            desk.wrap_up(username, call["id"], disposition=disposition, notes=notes, done=True)


def test_an_agent_wraps_up_and_a_supervisor_finds_the_call_and_its_story(pages):
    pages.stack.manage("shell", "-c", (
        "from calls.models import Disposition\n"
        f"for n, name in enumerate({DISPOSITIONS!r}): Disposition.objects.get_or_create(name=name, order=n)"
    ))
    desk = Desk(pages.daphne.url)
    earlier_calls(pages, desk)
    pages.api.set_status("alice", "available")
    alice = pages.page_for("alice")

    # A customer calls and Alice is put through; she hangs up when they are done.
    pages.simulator.customer_calls(CUSTOMER, "alice")
    card = alice.locator(".call-card", has_text=CUSTOMER_SHOWN)
    expect(card.locator(".member", has_text="Customer")).to_contain_text("Connected")
    # She is on the line herself before she ends it: a customer who leaves before any agent answers
    # has abandoned the call (docs/routing.md), whoever pressed the button.
    expect(card.locator(".member", has_text="Alice Moreno (you)")).to_contain_text("Connected")
    card.get_by_role("button", name=f"Hang up customer {CUSTOMER_SHOWN}").click()
    expect(alice.locator("#no-call")).to_be_visible()

    # Wrap-up: the desk asks what the call was about, for the call she just finished.
    wrap_up = alice.get_by_role("region", name="Wrap-up")
    expect(wrap_up).to_be_visible()
    expect(wrap_up).to_contain_text(f"Your call with {CUSTOMER_SHOWN}")
    expect(alice.locator("#my-status")).to_contain_text("Wrap-up")
    wrap_up.get_by_label("Disposition").select_option("Resolved")
    wrap_up.get_by_label("Notes").fill("Reset the router; the line is back. No follow-up needed.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "wrap-up.png"))
    wrap_up.get_by_role("button", name="Done: save and finish wrap-up").click()
    expect(alice.locator("#my-status")).to_have_text("Available")  # what she had chosen, without waiting
    expect(wrap_up).to_be_hidden()
    expect(alice.locator("#recent-calls li", has_text=CUSTOMER_SHOWN)).to_contain_text("Resolved")

    # The supervisor goes from the wall to the history and finds the call by the number, as typed.
    wall = pages.page_for("sam")
    wall.get_by_role("navigation", name="Pages").get_by_role("link", name="History").click()
    expect(wall).to_have_url(re.compile(r"/history/$"))
    rows = wall.locator("#history-rows tr")
    expect(rows).to_have_count(len(EARLIER) + 1)
    wall.screenshot(path=str(SCREENSHOTS / "history.png"))
    wall.get_by_label("Number or agent name").fill("+1 (650) 555-0143")
    wall.get_by_label("Outcome").select_option("answered")
    wall.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(wall).to_have_url(re.compile(r"/history/\?q=.*650.*&outcome=answered$"))
    row = rows.first
    for text in (CUSTOMER_SHOWN, "Alice Moreno", "Answered", "Resolved"):
        expect(row).to_contain_text(text)

    # The same search as CSV, from the page.
    with wall.expect_download() as download:
        wall.get_by_role("link", name="Export CSV").click()
    exported = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    # A number with its + is written as text, so no spreadsheet reads it as a formula (docs/reliability.md).
    assert [(r["customer"], r["agents"], r["disposition"]) for r in exported] == [("'" + CUSTOMER, "Alice Moreno",
                                                                                  "Resolved")]

    # Its timeline, in words.
    row.get_by_role("link", name=CUSTOMER_SHOWN).click()
    expect(wall).to_have_url(re.compile(r"/history/\d+/$"))
    story = wall.locator("ol.timeline")
    for text in (f"Customer {CUSTOMER_SHOWN} joined", "Alice Moreno joined", f"Alice Moreno hung up on customer "
                 f"{CUSTOMER_SHOWN}", "The call ended", "Alice Moreno saved the wrap-up", "Disposition: Resolved"):
        expect(story).to_contain_text(text)
    expect(wall.locator(".call-summary")).to_contain_text("Reset the router; the line is back.")
    expect(wall.locator(".facts")).to_contain_text("Resolved")
    wall.screenshot(path=str(SCREENSHOTS / "timeline.png"), full_page=True)

    # Back to the search the supervisor came from, as it was.
    wall.go_back()
    expect(wall.get_by_label("Number or agent name")).to_have_value("+1 (650) 555-0143")
    expect(rows).to_have_count(1)


def test_the_history_pages_a_long_list_and_says_what_is_wrong(pages):
    pages.api.set_status("alice", "away")  # nobody to route these customers to: they give up waiting
    desk = Desk(pages.daphne.url)
    for n in range(55):  # more than a page
        mpc = f"mpc-many-{n}"
        pages.plivo.customer_joins(mpc, f"+1917555{n:04d}", minutes_ago=300 + n)
        pages.plivo.end(mpc, minutes_ago=299 + n)
    page = pages.page_for("sam")
    page.goto("/history/?outcome=abandoned")
    rows = page.locator("#history-rows tr")
    expect(rows).to_have_count(50)
    more = page.get_by_role("button", name="Show more calls")
    more.click()
    expect(rows).to_have_count(55)
    expect(more).to_be_hidden()
    expect(page.locator("#history-rows a").nth(50)).to_be_focused()  # the first new call, for the keyboard
    assert len(desk.history("sam", outcome="abandoned", limit=200)) == 55

    page.get_by_label("Number or agent name").fill("123")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Type at least 4 digits of a number (its first or last digits), or part of a name.")
    expect(rows).to_have_count(0)  # the rows of the search before are not this one's answer
