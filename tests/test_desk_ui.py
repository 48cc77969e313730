"""The desk and the wall as people use them (issue 18), in real Chromium against a real Daphne and
the PHLO simulator: status rules people can trust, alerts, transfers that say what they do,
buttons that act on what the person saw, every screen size, and the API docs with no network.

The world is tests/test_browser.py's (same agents, same simulator), with a short wrap-up so a
status can be followed through the end of a call.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.feed import socket_feed
from tests.support.reading import click_once_read
from tests.support.servers import ROOT
from tests.test_browser import (
    AGENTS,
    PASSWORD,
    PHLO_ID,
    World,
    ago,
    call_card,
    hang_up_customers,
    running_world,
    sign_in,
)

pytestmark = pytest.mark.slow

WRAP_UP_SECONDS = 3
# Every size's screenshot goes to the git-ignored test-artifacts/; `UPDATE_SCREENSHOTS=1` also
# refreshes the README's small-screen and compact-wall pictures.
SHOTS = ROOT / "test-artifacts/screenshots"
README_SHOTS = {"agent-phone-390x844.png": "agent-desk-phone.png",
                "supervisor-laptop-1280x720-list.png": "supervisor-wall-list.png"}


def screenshot(page: Page, name: str, **options) -> None:
    page.screenshot(path=str(SHOTS / name), **options)
    if os.environ.get("UPDATE_SCREENSHOTS") and name in README_SHOTS:
        page.screenshot(path=str(ROOT / "docs/screenshots" / README_SHOTS[name]), **options)

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # The ring is played without a click first, as it is for a person who has used the page.
    with running_world(tmp_path_factory.mktemp("desk-ui"), wrap_up_seconds=WRAP_UP_SECONDS,
                       chromium_args=("--autoplay-policy=no-user-gesture-required",)) as world:
        yield world


@pytest.fixture
def pages(world):
    world.page_errors.clear()
    yield world
    world.close_pages()
    hang_up_customers(world)
    assert not world.page_errors, world.page_errors


def customer_row(page: Page, shown: str):
    return call_card(page, shown).locator(".member", has_text="Customer")


def my_status(page: Page):
    return page.locator("#my-status")


# --- 1. status means what the person chose ----------------------------------------------------------


def test_an_offline_agent_who_takes_a_transfer_returns_to_offline_and_next_status_waits(pages):
    pages.api.set_status("alice", "available")
    pages.api.set_status("bob", "offline")
    alice, bob = pages.page_for("alice"), pages.page_for("bob")
    wall = pages.page_for("sam")
    pages.simulator.customer_calls("+12025550101", "alice")
    card = call_card(alice, "+1 202 555 0101")
    expect(customer_row(alice, "+1 202 555 0101")).to_contain_text("Connected")

    # Bob is offline: listed with why, but not a target one can pick.
    picker = card.get_by_label("Agent", exact=True)
    expect(picker.locator("option:disabled", has_text="Bob Chen — offline")).to_have_count(1)
    expect(picker.locator("option:not([disabled])", has_text="Bob Chen")).to_have_count(0)

    # Alice brings him in by his number all the same (a colleague asked for it): he is on a call.
    card.get_by_label("Number or SIP URI").fill(AGENTS["bob"][1])
    card.get_by_role("button", name="Warm transfer").click()
    bob_card = call_card(bob, "+1 202 555 0101")
    expect(bob_card.locator(".member", has_text="Bob Chen (you)")).to_contain_text("Connected")
    expect(my_status(bob)).to_have_text("Busy")
    expect(bob.locator("#status-next")).to_have_text("Next: Offline after this call")
    expect(bob.get_by_role("button", name="Offline after this call")).to_have_attribute("aria-pressed", "true")

    # During the call the status control sets what comes next, and says so.
    bob.get_by_role("button", name="Away after this call").click()
    expect(bob.locator(".toast-success", has_text="You will be Away after this call.")).to_be_visible()
    expect(my_status(bob)).to_have_text("Busy")
    expect(bob.locator("#status-next")).to_have_text("Next: Away after this call")
    expect(wall.locator("#agent-board tr", has_text="Bob Chen")).to_contain_text("Busy")
    expect(wall.locator("[data-counter='available'] .counter-value")).not_to_have_text(re.compile("^[1-9]"))

    bob_card.get_by_role("button", name="Join all three").click()
    alice.get_by_role("button", name="Leave the call (hang up yourself)").click()
    expect(alice.locator("#no-call")).to_be_visible()
    bob_card.get_by_role("button", name="Hang up customer +1 202 555 0101").click()

    # Wrap-up, then each goes back to what they chose: Bob away (not available), Alice available.
    expect(my_status(bob)).to_contain_text("Wrap-up")
    expect(my_status(bob)).to_have_text("Away", timeout=WRAP_UP_SECONDS * 1000 + 10_000)
    expect(my_status(alice)).to_have_text("Available", timeout=WRAP_UP_SECONDS * 1000 + 10_000)
    expect(wall.locator("#agent-board tr", has_text="Bob Chen")).to_contain_text("Away")
    expect(wall.locator("#agent-board tr", has_text="Bob Chen")).not_to_contain_text("On call")


def test_signing_out_makes_the_agent_offline_for_everyone(pages):
    pages.api.set_status("henry", "available")
    wall = pages.page_for("sam")
    henry = pages.page_for("henry")
    row = wall.locator("#agent-board tr", has_text="Henry Adeyemi")
    expect(row).to_contain_text("Available")
    # Arrow keys on the status control change nothing: they are buttons, not radios.
    henry.get_by_role("button", name="Available").focus()
    henry.keyboard.press("ArrowRight")
    henry.keyboard.press("ArrowRight")
    expect(my_status(henry)).to_have_text("Available")
    henry.get_by_role("button", name="Sign out").click()
    expect(henry).to_have_url(re.compile(r"/login/$"))
    expect(row).to_contain_text("Offline")


# --- 2. alerts --------------------------------------------------------------------------------------

# The page believes it is hidden (another tab is in front) and records what it asks of the browser.
HIDDEN_PAGE = """
window.__seen = { notifications: [], plays: 0 };
Object.defineProperty(Document.prototype, "visibilityState", { get: () => "hidden", configurable: true });
Object.defineProperty(Document.prototype, "hidden", { get: () => true, configurable: true });
const RealNotification = window.Notification;
function RecordingNotification(title, options) {
  window.__seen.notifications.push({ title, body: (options || {}).body });
  return new RealNotification(title, options);
}
Object.defineProperty(RecordingNotification, "permission", { get: () => RealNotification.permission });
RecordingNotification.requestPermission = () => RealNotification.requestPermission();
window.Notification = RecordingNotification;
const realPlay = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { window.__seen.plays += 1; return realPlay.call(this); };
"""


def test_a_new_call_on_a_hidden_page_rings_changes_the_title_and_notifies(pages):
    pages.api.set_status("carol", "available")
    context = pages.browser.new_context(viewport={"width": 1280, "height": 800}, base_url=pages.daphne.url)
    pages.contexts.append(context)
    context.grant_permissions(["notifications"], origin=pages.daphne.url)
    context.add_init_script(HIDDEN_PAGE)
    desk = context.new_page()
    desk.on("pageerror", lambda error: pages.page_errors.append(str(error)))
    sign_in(desk, "carol")
    title = desk.title()
    icon = desk.locator("link[rel=icon]").get_attribute("href")

    pages.simulator.customer_calls("+12025550102", "carol")

    expect(customer_row(desk, "+1 202 555 0102")).to_contain_text("Connected")
    desk.wait_for_function("window.__seen.notifications.length > 0")
    seen = desk.evaluate("window.__seen")
    assert seen["notifications"][0]["title"] == "New call: +1 202 555 0102"
    assert seen["plays"] >= 1
    expect(desk).to_have_title(re.compile("New call: \\+1 202 555 0102"))
    assert desk.locator("link[rel=icon]").get_attribute("href") != icon
    assert "favicon-alert" in desk.locator("link[rel=icon]").get_attribute("href")

    # Muting is remembered; the ring button says which it is in words.
    sound = desk.get_by_role("button", name="Ring: on")
    sound.click()
    expect(desk.get_by_role("button", name="Ring: off")).to_have_attribute("aria-pressed", "false")
    assert desk.evaluate("localStorage.getItem('desk.alerts.muted')") == "true"
    assert title.endswith("Agent Desk")


# A page that is not hidden gets no notification, and the offer from the routing messages shows.
def test_an_offer_shows_the_caller_and_the_wait_and_rings_until_it_is_settled(pages):
    desk = pages.new_page()
    send = socket_feed(desk)
    desk.add_init_script("window.__plays = 0; const p = HTMLMediaElement.prototype.play;"
                         "HTMLMediaElement.prototype.play = function () { window.__plays += 1; return p.call(this); };")
    sign_in(desk, "dave")
    me = desk.evaluate("JSON.parse(document.getElementById('page-data').textContent).me")

    # The contract's shapes (README "Live updates"): the call offered to me, my status, coalesced.
    call = {
        "id": 9001, "phlo_id": PHLO_ID, "status": "waiting", "direction": "inbound", "version": 1,
        "started_at": "2026-01-01T10:00:00Z", "waiting_since": "2026-01-01T10:00:00Z", "offered_to": me["id"],
        "answered_at": None, "ended_at": None, "outcome": None, "recording": None, "recordings": [],
        "disposition": None, "notes": "",
        "members": [{"id": 1, "address": "+12025550177", "role": "customer", "state": "connected", "agent": None,
                     "joined_at": "2026-01-01T10:00:00Z", "left_at": None, "state_since": "2026-01-01T10:00:00Z",
                     "state_changed_by": None, "transfer_role": None, "joined_via": "inbound", "invited_by": None,
                     "muted": False, "monitor_mode": None}],
    }
    send({"type": "call.updated", "call": call})
    send({"type": "agents.updated", "agents": [{**me, "status": "offered", "status_reason": ""}]})
    send({"type": "queue.updated", "queue": {"waiting": 3, "longest_wait_seconds": 40}})

    # The call ringing me is not one waiting for someone (issue 25, 8: it counted it).
    expect(desk.locator("#queue-count")).to_have_text("2 other callers waiting")
    offer = desk.get_by_role("region", name="Incoming call")
    expect(offer).to_contain_text("From +1 202 555 0177")
    expect(offer.get_by_role("timer")).to_have_text(re.compile(r"^\d+:\d\d:\d\d$"))  # since 10:00 that day
    expect(desk.locator("#my-status")).to_have_text("Offered a call")
    expect(desk).to_have_title(re.compile("Incoming call from \\+1 202 555 0177"))
    desk.wait_for_function("window.__plays > 0")

    # The offer fails: the call goes elsewhere, the desk says why and how to get back.
    send({"type": "call.updated", "call": {**call, "version": 2, "offered_to": None}})
    send({"type": "agent.updated", "agent": {**me, "status": "away", "chosen_status": "away",
                                              "status_reason": "missed call"}})
    expect(offer).to_be_hidden()
    expect(desk.locator("#my-status-note")).to_contain_text("You missed a call")
    expect(desk.locator("#my-status-note")).to_contain_text("Choose Available")
    expect(desk).not_to_have_title(re.compile("Incoming"))


# --- 3. transfers that say what they do ----------------------------------------------------------------


def test_a_cold_transfer_as_both_agents_see_it(pages):
    for username in ("erin", "frank"):
        pages.api.set_status(username, "available")
    erin, frank = pages.page_for("erin"), pages.page_for("frank")
    pages.api.set_status("grace", "available")
    pages.simulator.customer_calls("+12025550103", "grace")  # Grace is busy on another call
    pages.simulator.customer_calls("+12025550104", "erin")
    card = call_card(erin, "+1 202 555 0104")
    row = customer_row(erin, "+1 202 555 0104")
    expect(row).to_contain_text("Connected")
    erin.get_by_role("button", name="Put customer +1 202 555 0104 on hold").click()
    expect(row).to_contain_text("On hold")

    # A number that cannot be one is said at once, in one sentence, and nothing can be sent.
    address = card.get_by_label("Number or SIP URI")
    address.fill("555-CALL-BOB")
    expect(card.locator(".field-error")).to_have_text(
        "Enter a phone number in E.164 form (like +14155550123) or a SIP URI (like sip:name@example.com).")
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(card.get_by_role("button", name="Cold transfer")).to_be_disabled()

    # A busy colleague's number: Plivo refuses, and the agent reads who and why.
    address.fill(AGENTS["grace"][1])
    expect(card.locator(".field-error")).to_have_text("")
    card.get_by_role("button", name="Cold transfer").click()
    expect(erin.get_by_role("alert")).to_contain_text("Grace Park is on another call; pick someone who is available.")
    expect(erin.get_by_role("alert")).not_to_contain_text("multiparty")
    expect(row).to_contain_text("On hold")

    address.fill("")
    card.get_by_label("Agent", exact=True).select_option(label="Frank Ito")
    card.get_by_role("button", name="Cold transfer").click()

    # Erin: told where the call went; the card moves to her recent calls.
    expect(erin.locator(".toast-success", has_text="Transferred to Frank Ito.")).to_be_visible()
    expect(erin.locator("#no-call")).to_be_visible()
    expect(erin.locator("#recent-calls .recent-row").first).to_contain_text("transferred to Frank Ito")
    # Frank: who it came from, and the customer talking to him, not on hold.
    frank_card = call_card(frank, "+1 202 555 0104")
    expect(frank_card.locator(".call-origin")).to_have_text("Transferred from Erin Walsh")
    expect(frank_card.locator(".member", has_text="Frank Ito (you)")).to_contain_text("Connected")
    expect(customer_row(frank, "+1 202 555 0104")).to_contain_text("Connected")


# --- 4. buttons act on what the person saw --------------------------------------------------------------

CLICK_AS_IT_FLIPS = """
([name]) => {
  const button = [...document.querySelectorAll("button")].find((b) => b.getAttribute("aria-label") === name);
  window.__flip = null;
  const observer = new MutationObserver(() => {
    if (button.dataset.icon !== "unhold") return;
    observer.disconnect();
    button.click();  // in the same moment the label changes: the person could not have read it
    window.__flip = { ignored: Boolean(button.dataset.ignoredAt) };
  });
  observer.observe(button, { attributes: true, attributeFilter: ["data-icon"] });
}
"""


def test_a_hold_button_that_flips_under_the_pointer_ignores_the_click(pages):
    pages.api.set_status("henry", "available")
    desk = pages.page_for("henry")
    pages.simulator.customer_calls("+12025550105", "henry")
    row = customer_row(desk, "+1 202 555 0105")
    expect(row).to_contain_text("Connected")
    posts: list[str] = []
    desk.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)

    desk.evaluate(CLICK_AS_IT_FLIPS, ["Put customer +1 202 555 0105 on hold"])
    call = next(c for c in pages.api.calls("henry") if c["members"][0]["address"] == "+12025550105")
    customer = next(m for m in call["members"] if m["role"] == "customer")
    pages.api.member_action("sam", call["id"], customer["id"], "hold")  # the supervisor holds the customer

    desk.wait_for_function("window.__flip !== null")
    assert desk.evaluate("window.__flip") == {"ignored": True}
    # The dropped click says why (issue 25, 8: it said nothing).
    expect(desk.locator(".toast-info .toast-text")).to_contain_text(
        "Nothing done: customer +1 202 555 0105 was just put on hold by someone else.")
    expect(row).to_contain_text("On hold")
    expect(row).to_contain_text("held by your supervisor (Sam Rivera)")
    told = "Your supervisor Sam Rivera put +1 202 555 0105 on hold."
    # One message at a time (issue 25, 7): the newest of the two says the supervisor's hold.
    expect(desk.locator(".toast-info", has_text=told).or_(desk.locator(".toast-info", has_text="Nothing done"))
           ).to_be_visible()
    assert not [url for url in posts if "/members/" in url]
    # The timer counts time on hold, from when the supervisor held them.
    timer = row.get_by_role("timer")
    expect(timer).to_have_attribute("aria-label", "Time on hold for customer +1 202 555 0105")
    expect(timer).to_have_text(re.compile(r"^0:0\d$"))

    # Once the label has been there long enough to be read, a click does what it says.
    unhold = row.get_by_role("button", name="Take customer +1 202 555 0105 off hold")
    click_once_read(unhold)
    expect(row).to_contain_text("Connected")
    assert any("/unhold/" in url for url in posts)


# --- 5. every screen ----------------------------------------------------------------------------------------

SIZES = {
    "phone-390x844": ({"width": 390, "height": 844}, 1),
    "tablet-768x1024": ({"width": 768, "height": 1024}, 1),
    "laptop-1280x720": ({"width": 1280, "height": 720}, 1),
    "desktop-1920x1080": ({"width": 1920, "height": 1080}, 1),
    # 200% zoom: the CSS viewport is half as wide and high, at twice the pixel density.
    "laptop-1280x720-zoom200": ({"width": 640, "height": 360}, 2),
    "desktop-1920x1080-zoom200": ({"width": 960, "height": 540}, 2),
}

# Every control and phone number must be on the page, whole: not wider than the viewport, not
# cut by an ancestor that hides overflow, its text not clipped inside it.
LAYOUT_PROBLEMS = """
() => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    problems.push(`page scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
  }
  const visible = (el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden";
  const words = (el) => (el.getAttribute("aria-label") || el.textContent).trim().slice(0, 40);
  const name = (el) => `${el.tagName.toLowerCase()}.${el.className} "${words(el)}"`;
  for (const el of document.querySelectorAll("button, a, input, select, summary, .addr, .badge, .timer, .call-title")) {
    if (!visible(el) || el.closest(".visually-hidden, .skip-link")) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > doc.clientWidth + 1) problems.push(`off screen: ${name(el)} ${r.left}..${r.right}`);
    if (el.scrollWidth > el.clientWidth + 1 && !["INPUT", "SELECT"].includes(el.tagName)) {
      problems.push(`text clipped: ${name(el)} ${el.scrollWidth} > ${el.clientWidth}`);
    }
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const box = a.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1) problems.push(`cut by ${a.className}: ${name(el)}`);
      break;
    }
  }
  return problems;
}
"""


def busy_floor(world: World) -> None:
    """Several live calls on the floor, one on hold, one with a long SIP URI, so every shape is shown."""
    plivo = world.plivo
    for n, (customer, agent) in enumerate([("+442071838750", "bob"), ("+12025550188", "carol"),
                                           ("sip:customer.with.a.long.name@voice.example.com", "dave"),
                                           ("+61291234567", "erin")]):
        mpc = f"mpc-sizes-{n}"
        plivo.customer_joins(mpc, customer, minutes_ago=5 + n)
        plivo.agent_joins(mpc, agent, minutes_ago=5 + n)
    plivo.member_event("ParticipantHold", "mpc-sizes-1", "c", "+12025550188", EventTimestamp=ago(1.5))


def test_the_desk_and_the_wall_fit_every_screen(pages):
    busy_floor(pages)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for label, (viewport, scale) in SIZES.items():
            for username, path in (("carol", "/agent/"), ("sam", "/supervisor/")):
                context = pages.browser.new_context(viewport=viewport, device_scale_factor=scale,
                                                    base_url=pages.daphne.url)
                pages.contexts.append(context)
                page = context.new_page()
                page.on("pageerror", lambda error: pages.page_errors.append(str(error)))
                sign_in(page, username)
                expect(page.locator(".call-card").first).to_be_visible()
                expect(page.locator(".call-card", has_text="+1 202 555 0188").first).to_contain_text("On hold")
                problems = page.evaluate(LAYOUT_PROBLEMS)
                screenshot(page, f"{path.strip('/')}-{label}.png", full_page=True)
                assert problems == [], f"{path} at {label}: {problems}"
                # Whole phone numbers, never "+1 202 555 …".
                expect(page.locator(".addr", has_text="+1 202 555 0188").first).to_be_visible()
                if path == "/supervisor/" and label == "laptop-1280x720":
                    fully_shown = page.evaluate(
                        "() => [...document.querySelectorAll('.call-card')].filter((c) => {"
                        " const r = c.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }).length")
                    assert fully_shown >= 2, f"the wall at 1280x720 shows {fully_shown} whole call(s)"
                    # The compact list and folded counters show more of a dense center at once.
                    page.get_by_role("button", name="Compact list").click()
                    page.get_by_role("button", name="Hide live counters").click()
                    expect(page.locator("#counters")).to_be_hidden()
                    assert page.evaluate(LAYOUT_PROBLEMS) == []
                    listed = page.evaluate(
                        "() => [...document.querySelectorAll('.call-card')].filter((c) =>"
                        " c.getBoundingClientRect().bottom <= innerHeight).length")
                    screenshot(page, f"supervisor-{label}-list.png")
                    assert listed >= 4, listed
                context.close()
                pages.contexts.remove(context)
    finally:
        for n in range(4):
            pages.plivo.end(f"mpc-sizes-{n}")


# --- 6. the API docs with no network --------------------------------------------------------------------


def test_the_api_docs_load_with_no_network(pages):
    context = pages.browser.new_context(base_url=pages.daphne.url)
    pages.contexts.append(context)
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(pages.daphne.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile("/agent/$"))
    page.goto("/api/docs/")
    expect(page.locator(".opblock-summary-path", has_text="/api/calls/{call_id}/cold-transfer/")).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/me/").first).to_be_visible()
    assert outside == []
