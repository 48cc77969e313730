"""The desk for real work (issue 25, README, "Pages"), in real Chromium against a real Daphne with its
router on and the PHLO simulator: declining a ringing call, the caller's earlier calls, calling out
and calling back, keyboard shortcuts, a history that reads on a phone, messages that cover nothing,
and controls that mean what they say.

The world is tests/test_browser.py's, with the desk's router running: a customer who calls in waits
and is offered to an available agent, whose phone (the simulator's) rings. A phone told never to
answer (`/_sim/phones`) keeps an offer on screen as long as a test needs it.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.feed import socket_feed
from tests.support.reading import click_once_read
from tests.test_browser import AGENTS, call_card, hang_up_customers, running_world, sign_in
from tests.test_desk_ui import LAYOUT_PROBLEMS, customer_row, my_status

pytestmark = pytest.mark.slow

WRAP_UP_SECONDS = 30
TIMINGS: dict[str, list[float]] = {}  # the main paths' times, measured in Chromium (printed at the end)

expect.set_options(timeout=15_000)

# When the offer panel shows, by the page's own clock (ms since the epoch, as the test's).
OFFER_SHOWN = """
window.__offerShownAt = null;
document.addEventListener("DOMContentLoaded", () => {
  const offer = document.getElementById("offer");
  if (!offer) return;
  new MutationObserver(() => {
    if (!offer.hidden && window.__offerShownAt === null) window.__offerShownAt = Date.now();
    if (offer.hidden) window.__offerShownAt = null;
  }).observe(offer, { attributes: true, attributeFilter: ["hidden"] });
});
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with running_world(tmp_path_factory.mktemp("desk-work"), wrap_up_seconds=WRAP_UP_SECONDS,
                       ROUTER_ENABLED="true", ROUTING_RING_SECONDS="30") as world:
        yield world
    for name, values in TIMINGS.items():
        print(f"{name}: {', '.join(f'{v:.0f} ms' for v in values)}")


@pytest.fixture
def pages(world):
    world.page_errors.clear()
    for username in AGENTS:  # nobody takes calls unless a test says so
        world.api.set_status(username, "offline")
    yield world
    world.close_pages()
    world.simulator.http.delete("/_sim/phones")
    for username in AGENTS:
        world.api.set_status(username, "offline")
    hang_up_customers(world)
    assert not world.page_errors, world.page_errors


def desk_for(world, username: str, *, viewport=None) -> Page:
    context = world.browser.new_context(viewport=viewport or {"width": 1280, "height": 800},
                                        base_url=world.daphne.url)
    world.contexts.append(context)
    context.add_init_script(OFFER_SHOWN)
    page = context.new_page()
    page.on("pageerror", lambda error: world.page_errors.append(f"{page.url}: {error}"))
    sign_in(page, username)
    return page


def never_answers(world, username: str) -> None:
    response = world.simulator.http.post("/_sim/phones", json={"address": AGENTS[username][1], "answer": "never"})
    assert response.status_code == 200, response.text


def customer_waits(world, customer: str) -> float:
    """A customer calls in and waits for the router; returns when (ms since the epoch)."""
    at = time.time() * 1000
    response = world.simulator.http.post("/_sim/inbound", json={"from": customer, "talk_seconds": 600})
    assert response.status_code == 201, response.text
    return at


def offer_shown_after(page: Page, since_ms: float) -> float:
    page.wait_for_function("window.__offerShownAt !== null")
    return page.evaluate("window.__offerShownAt") - since_ms


# --- 3. declining ----------------------------------------------------------------------------------------


def test_declining_a_ringing_call_hands_it_to_the_next_agent_at_once(pages):
    for username in ("alice", "bob"):
        never_answers(pages, username)
    alice, bob = desk_for(pages, "alice"), desk_for(pages, "bob")
    pages.api.set_status("alice", "available")  # the longest available: offered first
    pages.api.set_status("bob", "available")

    called = customer_waits(pages, "+12025550171")
    offer = alice.get_by_role("region", name="Incoming call")
    expect(offer).to_contain_text("From +1 202 555 0171")
    TIMINGS.setdefault("offer on screen after the customer called", []).append(offer_shown_after(alice, called))
    # The call ringing her is hers, not one waiting for someone (it was "1 caller waiting").
    expect(alice.locator("#queue-count")).to_have_text("0 other callers waiting")

    declined = alice.evaluate("Date.now()")
    offer.get_by_role("button", name="Decline").click()
    expect(bob.get_by_role("region", name="Incoming call")).to_contain_text("From +1 202 555 0171")
    TIMINGS.setdefault("decline → the next agent's offer on screen", []).append(offer_shown_after(bob, declined))
    expect(offer).to_be_hidden()
    expect(alice.locator(".toast-success .toast-text")).to_have_text("Declined: the call goes to the next agent.")
    expect(my_status(alice)).to_have_text("Available")  # she keeps what she chose
    expect(my_status(bob)).to_have_text("Offered a call")


def test_away_while_a_call_rings_ends_the_offer_now_and_says_so(pages):
    for username in ("carol", "dave"):
        never_answers(pages, username)
    carol, dave = desk_for(pages, "carol"), desk_for(pages, "dave")
    pages.api.set_status("carol", "available")
    pages.api.set_status("dave", "available")
    customer_waits(pages, "+12025550172")
    offer = carol.get_by_role("region", name="Incoming call")
    expect(offer).to_be_visible()
    away = carol.get_by_role("button", name="Away (declines the ringing call)")
    expect(away).to_be_visible()
    away.click()
    expect(carol.locator(".toast-success .toast-text")).to_have_text(
        "The ringing call goes to the next agent; your status is now Away.")
    expect(carol.locator(".toast")).not_to_contain_text("after this call")
    expect(offer).to_be_hidden()
    expect(my_status(carol)).to_have_text("Away")
    expect(dave.get_by_role("region", name="Incoming call")).to_contain_text("From +1 202 555 0172")
    expect(carol.locator("#recent-calls")).not_to_contain_text("+1 202 555 0172")  # never hers


# --- 9. keyboard shortcuts ------------------------------------------------------------------------------


def test_keyboard_shortcuts_are_listed_and_never_fire_while_typing(pages):
    for username in ("erin", "frank"):
        never_answers(pages, username)
    erin = desk_for(pages, "erin")
    pages.api.set_status("erin", "available")
    pages.api.set_status("frank", "available")

    # "?" opens the list; it says which key does what; Esc closes it.
    erin.locator("body").press("?")
    dialog = erin.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Decline the call ringing you")
    expect(dialog).to_contain_text("Hold or unhold the customer")
    erin.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    erin.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()

    customer_waits(pages, "+12025550173")
    offer = erin.get_by_role("region", name="Incoming call")
    expect(offer).to_be_visible()
    # Typing a "d" (or a "2") in a field is typing, not declining or going away.
    field = erin.get_by_label("Number or SIP URI")
    field.press_sequentially("d2", delay=20)
    expect(offer).to_be_visible()
    expect(my_status(erin)).to_have_text("Offered a call")
    field.fill("")
    erin.locator("body").click(position={"x": 5, "y": 300})
    erin.keyboard.press("d")
    expect(offer).to_be_hidden()
    expect(my_status(erin)).to_have_text("Available")
    erin.keyboard.press("2")
    expect(my_status(erin)).to_have_text("Away")


# --- 9. calling out and calling back --------------------------------------------------------------------


def test_calling_out_refuses_what_cannot_be_a_number_and_calls_what_can(pages):
    grace = desk_for(pages, "grace")
    field = grace.get_by_label("Number or SIP URI")
    form = grace.locator("#call-out")
    posts: list[str] = []
    grace.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/api/calls/") else 0)
    field.fill("555-CALL-NOW")
    expect(form.locator(".field-error")).to_have_text(re.compile("Enter a phone number in E.164 form"))
    expect(field).to_have_attribute("aria-invalid", "true")
    form.get_by_role("button", name="Call").click()
    assert posts == []

    # As people write numbers: the formatting is no problem.
    field.fill("+1 (202) 555-0174")
    expect(form.locator(".field-error")).to_have_text("")
    form.get_by_role("button", name="Call").click()
    expect(grace.locator(".toast-success")).to_contain_text("Calling +1 202 555 0174")
    expect(call_card(grace, "+1 202 555 0174")).to_be_visible()
    assert len(posts) == 1


def test_history_on_a_phone_is_cards_in_end_time_order_with_call_back(pages):
    # Two earlier calls of Henry's: the first started earlier but ended later.
    plivo = pages.plivo
    plivo.customer_joins("mpc-long", "+13125550181", minutes_ago=50)
    plivo.agent_joins("mpc-long", "henry", minutes_ago=49.5)
    plivo.customer_joins("mpc-short", "+13125550182", minutes_ago=40)
    plivo.agent_joins("mpc-short", "henry", minutes_ago=39.5)
    plivo.end("mpc-short", minutes_ago=35)
    plivo.end("mpc-long", minutes_ago=10)

    phone = desk_for(pages, "henry", viewport={"width": 390, "height": 844})
    phone.goto("/history/")
    rows = phone.locator("#history-rows tr")
    expect(rows.first).to_contain_text("+1 312 555 0181")  # ended last: first, though it started first
    expect(rows.nth(1)).to_contain_text("+1 312 555 0182")
    header = phone.locator(".history-table thead th").first
    assert header.inner_text().strip().lower() == "ended"
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    for label in ("Wait", "Talk", "Disposition"):
        expect(rows.first.locator(f"td[data-label='{label}']")).to_be_visible()
    phone.screenshot(path=str(pages.workdir / "history-phone.png"), full_page=True)

    # A search too short to answer says so, and the rows of the last search go.
    phone.get_by_label("Number or agent name").fill("181")
    phone.get_by_role("button", name="Search").click()
    expect(phone.get_by_role("alert")).to_contain_text("at least 4 digits")
    expect(rows).to_have_count(0)
    # The last digits, with the formatting people type.
    phone.get_by_label("Number or agent name").fill("555-0181")
    phone.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(phone.get_by_role("alert")).to_be_hidden()

    rows.first.get_by_role("button", name="Call back +1 312 555 0181").click()
    expect(phone.locator(".toast-success")).to_contain_text("Calling +1 312 555 0181")
    calls = pages.api.calls("henry")
    assert any(m["address"] == "+13125550181" for c in calls for m in c["members"]), calls


# --- 5 and 8: a warm transfer after a supervisor's hold; controls that mean what they say -----------------


def test_a_warm_transfer_names_no_old_holder_shows_the_target_ringing_and_joins_once_they_answer(pages):
    """Found by hand: after a supervisor once held and released the customer, Alice's own warm transfer
    showed "held by your supervisor" (and a toast) on both desks; Bob stayed "Available" while the
    transfer rang him, and "Join all three" could be pressed before he answered."""
    alice, bob, wall = desk_for(pages, "alice"), desk_for(pages, "bob"), desk_for(pages, "sam")
    pages.simulator.customer_calls("+12025550175", "alice")
    row = customer_row(alice, "+1 202 555 0175")
    expect(row).to_contain_text("Connected")
    expect(alice.locator(".member", has_text="Alice Moreno (you)")).to_contain_text("Connected")

    # The supervisor holds the customer and lets them go again.
    call = next(c for c in pages.api.calls("alice") if any(m["address"] == "+12025550175" for m in c["members"]))
    customer = next(m for m in call["members"] if m["role"] == "customer")
    pages.api.member_action("sam", call["id"], customer["id"], "hold")
    expect(row).to_contain_text("held by your supervisor (Sam Rivera)")
    pages.api.member_action("sam", call["id"], customer["id"], "unhold")
    expect(row).to_contain_text("Connected")

    # Bob's phone rings for a few seconds before he answers.
    response = pages.simulator.http.post("/_sim/phones", json={"address": AGENTS["bob"][1], "answer": "late",
                                                                "after": 4})
    assert response.status_code == 200, response.text
    pages.api.set_status("bob", "available")
    card = call_card(alice, "+1 202 555 0175")
    card.get_by_label("Agent", exact=True).select_option(label="Bob Chen")
    card.get_by_role("button", name="Warm transfer").click()
    consult = card.get_by_role("region", name="Warm transfer in progress")
    expect(consult).to_contain_text("Consulting Bob Chen")

    # While it rings him: Bob is shown ringing, and nobody can join a target who is not there yet.
    expect(alice.locator("#directory li", has_text="Bob Chen")).to_contain_text("Ringing")
    expect(wall.locator("#agent-board tr", has_text="Bob Chen")).to_contain_text("Ringing")
    expect(consult.get_by_role("button", name="Join all three")).to_be_disabled()
    expect(row).to_contain_text("On hold")
    expect(row).not_to_contain_text("held by")
    bob_card = call_card(bob, "+1 202 555 0175")
    expect(bob_card.locator(".member", has_text="Bob Chen (you)")).to_contain_text("Connected", timeout=20_000)
    expect(consult.get_by_role("button", name="Join all three")).to_be_enabled()
    expect(bob_card.locator(".member", has_text="Customer")).not_to_contain_text("supervisor")
    for page in (alice, bob):
        expect(page.locator(".toast", has_text="supervisor")).to_have_count(0)

    # Everyone stays; then Alice leaves from the keyboard: the focus goes to her wrap-up, not the page.
    consult.get_by_role("button", name="Join all three").click()
    expect(consult).to_be_hidden()
    leave = card.get_by_role("button", name="Leave the call (hang up yourself)")
    leave.focus()
    alice.keyboard.press("Enter")
    expect(alice.locator("#no-call")).to_be_visible()
    expect(alice.get_by_label("Disposition")).to_be_focused()


def test_a_monitoring_supervisor_adds_but_never_transfers_and_the_wall_asks_before_hanging_up(pages):
    wall = desk_for(pages, "sam")
    pages.simulator.customer_calls("+12025550176", "carol")
    card = call_card(wall, "+1 202 555 0176")
    expect(card.locator(".member", has_text="Customer")).to_contain_text("Connected")
    expect(card.locator(".member", has_text="Carol Okafor")).to_contain_text("Connected")
    card.get_by_role("button", name="Listen to this call").click()
    expect(card.locator(".member", has_text="Sam Rivera")).to_contain_text("Connected")
    # A monitoring leg is no agent's leg: no transfer (the server would refuse it), adding is fine.
    card.locator("summary", has_text="Add someone to this call").click()
    expect(card.get_by_role("button", name="Add to call")).to_be_visible()
    expect(card.get_by_role("button", name="Warm transfer")).to_be_hidden()
    expect(card.get_by_role("button", name="Cold transfer")).to_be_hidden()

    posts: list[str] = []
    wall.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/hangup/" in r.url else None)
    customer = card.locator(".member", has_text="Customer")
    customer.get_by_role("button", name="Hang up customer +1 202 555 0176").click()
    confirm = customer.get_by_role("button", name="Confirm: Hang up customer +1 202 555 0176")
    expect(confirm).to_have_text(re.compile("Confirm hang up"))
    wall.wait_for_timeout(300)
    assert posts == []
    confirm.click()
    expect(card).to_have_count(0)
    assert len(posts) == 1


# --- 7. messages ----------------------------------------------------------------------------------------------

# What a message covers of what one clicks, types in, or reads the time from (the toast's own close button aside).
TOAST_COVERS = """
() => {
  const toast = document.querySelector(".toasts .toast");
  if (!toast) return null;
  const t = toast.getBoundingClientRect();
  const covered = [];
  const clear = "button, a[href], input, select, textarea, summary, .timer, #agent-board";
  for (const el of document.querySelectorAll(clear)) {
    if (toast.contains(el) || !el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.left < t.right && t.left < r.right && r.top < t.bottom && t.top < r.bottom) {
      const words = (el.getAttribute("aria-label") || el.textContent).trim().slice(0, 30);
      covered.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} "${words}"`);
    }
  }
  return covered;
}
"""


def test_messages_come_one_at_a_time_briefly_and_cover_no_control(pages):
    henry = desk_for(pages, "henry")
    wall = desk_for(pages, "sam")
    pages.simulator.customer_calls("+12025550177", "henry")
    row = customer_row(henry, "+1 202 555 0177")
    expect(row).to_contain_text("Connected")
    expect(henry.locator(".member", has_text="Henry Adeyemi (you)")).to_contain_text("Connected")
    # Four actions in a row: one message at a time, the newest.
    for action in ("Put", "Take", "Put", "Take"):
        name = f"{action} customer +1 202 555 0177 {'on hold' if action == 'Put' else 'off hold'}"
        button = row.get_by_role("button", name=name)
        click_once_read(button)  # as a person would, once its label can be read
        expect(henry.locator(".toast-text")).to_have_text(
            f"Customer +1 202 555 0177 is {'on hold' if action == 'Put' else 'off hold'}.")
        expect(henry.locator(".toasts .toast")).to_have_count(1)
        assert henry.evaluate(TOAST_COVERS) == [], henry.evaluate(TOAST_COVERS)
    henry.screenshot(path=str(pages.workdir / "toast-desk-1280x800.png"))
    # A success goes within a few seconds (it stayed 6 s, four at a time).
    expect(henry.locator(".toasts .toast")).to_have_count(0, timeout=5_000)

    card = call_card(wall, "+1 202 555 0177")
    card.locator(".member", has_text="Customer").get_by_role(
        "button", name="Put customer +1 202 555 0177 on hold").click()
    expect(wall.locator(".toast-text")).to_have_text("Customer +1 202 555 0177 is on hold.")
    wall.screenshot(path=str(pages.workdir / "toast-wall-1280x800.png"))
    assert wall.evaluate(TOAST_COVERS) == [], wall.evaluate(TOAST_COVERS)


# --- 9 and issue 27: queues and the caller's earlier calls, as the contract shapes them ---------------------
# These pages are fed the contract's shapes through their own socket (a proxy adds messages), so they
# read what the server sends however the server came by it.


def a_call(call_id: int, customer: str, *, queue: str | None, status: str = "active", agent: dict | None = None,
           **fields) -> dict:
    member = {"id": call_id * 10, "address": customer, "role": "customer", "state": "connected", "agent": None,
              "joined_at": "2026-01-01T10:00:00Z", "left_at": None, "state_since": "2026-01-01T10:00:00Z",
              "state_changed_by": None, "transfer_role": None, "joined_via": "inbound", "invited_by": None,
              "muted": False, "monitor_mode": None}
    members = [member]
    if agent:
        members.append({**member, "id": call_id * 10 + 1, "address": agent["address"], "role": "agent",
                        "agent": agent["id"], "joined_via": "routed"})
    return {"id": call_id, "phlo_id": "phlo-desk-ui", "status": status, "direction": "inbound", "version": 1,
            "started_at": "2026-01-01T10:00:00Z", "waiting_since": "2026-01-01T10:00:00Z", "offered_to": None,
            "answered_at": None, "ended_at": None, "outcome": None, "recording": None, "recordings": [],
            "disposition": None, "notes": "", "wrap_ups": [], "queue": queue, "customer_history": [],
            "members": members, **fields}


def test_the_offer_says_which_queue_and_who_called_before_with_links_to_their_timelines(pages):
    desk = pages.new_page()
    send = socket_feed(desk)
    sign_in(desk, "alice")
    me = desk.evaluate("JSON.parse(document.getElementById('page-data').textContent).me")
    history = [
        {"id": 701, "ended_at": "2026-01-01T09:30:00Z", "outcome": "answered", "queue": "Billing",
         "disposition": "Follow-up needed", "notes": "Promised a refund by Friday.", "agents": ["Bob Chen"]},
        {"id": 655, "ended_at": "2025-12-20T15:00:00Z", "outcome": "abandoned", "queue": "Billing",
         "disposition": None, "notes": "", "agents": []},
    ]
    call = a_call(9101, "+12025550178", queue="Billing", status="waiting", offered_to=me["id"],
                  customer_history=history)
    send({"type": "call.updated", "call": call})
    send({"type": "agents.updated", "agents": [{**me, "status": "offered", "skills": [
        {"queue": "Billing", "level": 8}, {"queue": "Sales", "level": 3}]}]})

    offer = desk.get_by_role("region", name="Incoming call")
    expect(offer).to_contain_text("From +1 202 555 0178")
    expect(offer).to_contain_text("Billing queue")
    earlier = offer.locator(".context-call")
    expect(earlier).to_have_count(2)
    expect(earlier.first).to_contain_text("Answered · Billing queue · Follow-up needed · with Bob Chen")
    expect(earlier.first).to_contain_text("Promised a refund by Friday.")
    expect(earlier.first.get_by_role("link")).to_have_attribute("href", "/history/701/")
    expect(earlier.nth(1)).to_contain_text("Abandoned")
    expect(desk.locator("#my-skills")).to_have_text("Your queues: Billing (level 8), Sales (level 3)")
    desk.screenshot(path=str(pages.workdir / "offer-with-history.png"))

    # Answered: the same context under the call, for the length of it.
    mine = a_call(9101, "+12025550178", queue="Billing", agent=me, customer_history=history, version=2)
    send({"type": "call.updated", "call": mine})
    send({"type": "agents.updated", "agents": [{**me, "status": "busy"}]})
    card = call_card(desk, "+1 202 555 0178")
    expect(offer).to_be_hidden()
    expect(card.locator(".call-meta")).to_contain_text("Billing queue")
    expect(card.locator(".caller-context .context-call")).to_have_count(2)
    # A first call says so.
    send({"type": "call.updated", "call": {**mine, "version": 3, "customer_history": []}})
    expect(card.locator(".caller-context")).to_contain_text("No earlier calls from this number.")


def test_the_wall_shows_each_queues_figures_and_filters_calls_and_agents_by_queue(pages):
    wall = pages.new_page()
    send = socket_feed(wall)
    sign_in(wall, "sam")
    data = wall.evaluate("JSON.parse(document.getElementById('page-data').textContent).snapshot")
    agents = {a["username"]: a for a in data["agents"]}
    skilled = [
        {**agents["alice"], "status": "busy", "skills": [{"queue": "Sales", "level": 8}]},
        {**agents["bob"], "status": "available", "skills": [{"queue": "Support", "level": 5}]},
        {**agents["carol"], "status": "available", "skills": []},  # takes every queue
    ]
    row = {"waiting": 0, "longest_wait_seconds": None, "answered_today": 12, "abandoned_today": 1,
           "service_level_percent": 91.7, "average_wait_seconds": 14, "average_handle_seconds": 240,
           "agents_available": 1}
    stats = {"waiting": 1, "longest_wait_seconds": 30, "answered_today": 20, "abandoned_today": 3,
             "service_level_percent": 85.0, "average_wait_seconds": 18, "average_handle_seconds": 200, "agents": [],
             "queues": [{**row, "name": "Sales"},
                        {**row, "name": "Support", "waiting": 1, "longest_wait_seconds": 30, "answered_today": 8,
                         "abandoned_today": 2, "service_level_percent": 75.0, "agents_available": 2}]}
    send({"type": "snapshot", "calls": [
        a_call(9201, "+12025550191", queue="Sales", agent=skilled[0]),
        a_call(9202, "+12025550192", queue="Support", status="waiting"),
    ], "agents": skilled, "stats": stats})

    table = wall.locator(".queue-table")
    expect(table.locator("tr", has_text="Sales")).to_contain_text("92%")
    expect(table.locator("tr", has_text="Support")).to_contain_text("75%")
    expect(wall.locator("#waiting-calls")).to_contain_text("Support")
    expect(wall.locator(".call-card")).to_have_count(1)
    wall.screenshot(path=str(pages.workdir / "wall-queues.png"))

    wall.get_by_label("Queue", exact=True).select_option("Support")
    expect(wall.locator(".call-card")).to_have_count(0)
    expect(wall.locator("#waiting-calls li")).to_have_count(1)
    expect(wall.locator("[data-stat='answered_today'] dd")).to_have_text("8")
    board = wall.locator("#agent-board tr")
    expect(board).to_have_count(2)  # Bob (Support) and Carol (every queue), not Alice (Sales)
    expect(wall.locator("#agent-board")).not_to_contain_text("Alice Moreno")

    wall.get_by_label("Queue", exact=True).select_option("Sales")
    expect(wall.locator(".call-card")).to_have_count(1)
    expect(wall.locator("#waiting-calls li")).to_have_count(0)
    expect(wall.locator("[data-stat='answered_today'] dd")).to_have_text("12")
    expect(wall.locator("#agent-board")).not_to_contain_text("Bob Chen")
    # Kept for the next visit, as the wall's other choices are.
    assert wall.evaluate("localStorage.getItem('wall.queue')") == "Sales"
    wall.get_by_label("Queue", exact=True).select_option("")
    expect(board).to_have_count(3)


# --- the same, from the server: a real queue, a real earlier call (last in this module: the queue stays) ------


def test_a_ringing_call_shows_its_queue_and_the_callers_earlier_calls_as_the_server_tells_them(pages):
    from tests.test_browser import PASSWORD, PHLO_ID

    pages.stack.manage("configure_queue", "Billing", "--phlo-id", PHLO_ID)
    name, address, _ = AGENTS["alice"]
    pages.stack.manage("create_agent", "alice", "--password", PASSWORD, "--address", address, "--name", name,
                       "--skill", "Billing:8")
    pages.api.tokens.pop("alice", None)  # a login changed by the command signs its tokens out
    # An earlier call of this customer's, with Bob, and his notes.
    plivo = pages.plivo
    plivo.customer_joins("mpc-before", "+12025550179", minutes_ago=90)
    plivo.agent_joins("mpc-before", "bob", minutes_ago=89.5)
    plivo.end("mpc-before", minutes_ago=85)
    [before] = pages.api.http.get(f"{pages.api.base}/api/calls/", params={"status": "ended", "q": "555 0179"},
                                  headers=pages.api._auth("bob")).json()
    response = pages.api.http.patch(f"{pages.api.base}/api/calls/{before['id']}/wrap-up/",
                                    json={"notes": "Asked about the May invoice.", "done": True},
                                    headers=pages.api._auth("bob"))
    assert response.status_code == 200, response.text
    time.sleep(5.5)  # each process reads the queues again within 5 s (calls/core/queues.py)

    never_answers(pages, "alice")
    alice, wall = desk_for(pages, "alice"), desk_for(pages, "sam")
    expect(alice.locator("#my-skills")).to_have_text("Your queues: Billing (level 8)")
    pages.api.set_status("alice", "available")
    customer_waits(pages, "+12025550179")
    offer = alice.get_by_role("region", name="Incoming call")
    expect(offer).to_contain_text("From +1 202 555 0179")
    expect(offer).to_contain_text("Billing queue")
    earlier = offer.locator(".context-call")
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text("Answered")
    expect(earlier).to_contain_text("with Bob Chen")
    expect(earlier).to_contain_text("Asked about the May invoice.")
    expect(earlier.get_by_role("link")).to_have_attribute("href", f"/history/{before['id']}/")
    alice.screenshot(path=str(pages.workdir / "offer-from-the-server.png"))

    # The wall: the queue's own figures, and the waiting caller under it.
    expect(wall.locator(".queue-table tr", has_text="Billing")).to_be_visible()
    wall.get_by_label("Queue", exact=True).select_option("Billing")
    expect(wall.locator("#waiting-calls li")).to_contain_text("+1 202 555 0179")
    expect(wall.locator("#agent-board")).to_contain_text("Alice Moreno")
