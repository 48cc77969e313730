"""A supervisor whispers to an agent, an agent mutes and records, a recording plays from the desk's
recent calls: in real Chromium against a real Daphne and the PHLO simulator (its PHLO and Voice
APIs), with tests/test_browser.py's world. Both views are screenshot while the supervisor whispers."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.test_browser import (  # noqa: F401 - fixtures
    AGENTS,
    CUSTOMER,
    CUSTOMER_SHOWN,
    SCREENSHOTS,
    call_card,
    member_row,
    pages,
    world,
)
from tests.test_browser import pytestmark as browser_marks

pytestmark = browser_marks

SAM = AGENTS["sam"][0]


def test_a_supervisor_whispers_to_an_agent_who_mutes_records_and_finds_the_recording(pages):  # noqa: F811
    pages.api.set_status("alice", "available")
    alice = pages.page_for("alice")
    wall = pages.page_for("sam")
    pages.simulator.customer_calls(CUSTOMER, "alice")
    desk_card, wall_card = call_card(alice, CUSTOMER_SHOWN), call_card(wall, CUSTOMER_SHOWN)
    expect(member_row(alice, "Alice Moreno (you)")).to_contain_text("Connected")
    # Agents neither monitor nor see the controls for it.
    expect(desk_card.get_by_role("group", name="Monitor this call")).to_be_hidden()

    # Sam listens in, then whispers: his leg shows his mode on the wall and on Alice's desk, and
    # Alice reads that her supervisor is coaching her.
    monitor = wall_card.get_by_role("group", name="Monitor this call")
    monitor.get_by_role("button", name="Listen to this call").click()
    expect(member_row(wall, SAM)).to_contain_text("Listening")
    expect(member_row(wall, SAM)).to_contain_text("Connected")
    expect(desk_card.locator(".coaching")).to_have_text(f"Your supervisor {SAM} is listening to this call.")
    monitor.get_by_role("button", name="Whisper to this call").click()
    expect(member_row(wall, SAM)).to_contain_text("Whispering")
    expect(monitor.get_by_role("button", name="Whisper (your mode now)")).to_have_attribute("aria-pressed", "true")
    expect(member_row(alice, SAM)).to_contain_text("Whispering")
    coaching = desk_card.get_by_role("status").filter(has_text="Your supervisor is coaching you")
    expect(coaching).to_contain_text(f"{SAM} is heard by the agents only, never by the customer.")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "agent-desk-coached.png"))
    wall.screenshot(path=str(SCREENSHOTS / "supervisor-wall-whispering.png"))

    # Alice mutes herself, from the keyboard; the wall sees it; she unmutes.
    alice.get_by_role("button", name="Mute yourself").press("Enter")
    expect(member_row(alice, "Alice Moreno (you)")).to_contain_text("Muted")
    expect(member_row(wall, "Alice Moreno")).to_contain_text("Muted")
    expect(alice.get_by_role("button", name="Unmute yourself")).to_be_focused()
    alice.get_by_role("button", name="Unmute yourself").click()
    expect(member_row(wall, "Alice Moreno")).not_to_contain_text("Muted")

    # She records the call: the red mark shows on both views, paused, resumed, stopped.
    recording = desk_card.get_by_role("group", name="Recording")
    recording.get_by_role("button", name="Record").click()
    expect(desk_card.locator(".rec-mark")).to_have_text("Recording")
    expect(wall_card.locator(".rec-mark")).to_have_text("Recording")
    expect(desk_card.locator(".rec-mark")).to_have_css("background-color", "rgb(180, 35, 24)")
    recording.get_by_role("button", name="Pause recording").click()
    expect(wall_card.locator(".rec-mark")).to_have_text("Recording paused")
    recording.get_by_role("button", name="Resume recording").click()
    expect(wall_card.locator(".rec-mark")).to_have_text("Recording")
    recording.get_by_role("button", name="Stop recording").click()
    expect(wall_card.locator(".rec-mark")).to_be_hidden()
    expect(desk_card.locator(".rec-mark")).to_be_hidden()

    # Sam barges in, then leaves; the call goes on.
    monitor.get_by_role("button", name="Barge to this call").click()
    expect(desk_card.locator(".coaching")).to_have_text(
        f"Your supervisor {SAM} has joined the call: everyone hears them."
    )
    monitor.get_by_role("button", name="Stop monitoring this call").click()
    expect(member_row(alice, SAM)).to_contain_text("Left")
    expect(desk_card.locator(".coaching")).to_be_hidden()
    expect(member_row(alice, "Customer")).to_contain_text("Connected")

    # The call ends; its recording is in Alice's recent calls, and it plays.
    alice.get_by_role("button", name=f"Hang up customer {CUSTOMER_SHOWN}").click()
    link = alice.locator("#recent-calls .recent-row", has_text=CUSTOMER_SHOWN).get_by_role("link",
                                                                                            name="Play recording")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href.startswith(f"{pages.simulator.url}/_sim/recordings/") and href.endswith(".mp3")
    assert link.get_attribute("rel") == "noopener noreferrer"
    seconds = alice.evaluate(
        """(src) => new Promise((resolve, reject) => {
             const audio = new Audio(src);
             audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
             audio.addEventListener("error", () => reject(new Error(`cannot play ${src}`)));
           })""",
        href,
    )
    assert seconds > 0  # Chromium decodes the file the link points at
