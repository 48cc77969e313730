"""The desk and the wall in real Chromium, against a real Daphne (README "Live updates", "Pages").

One Daphne serves a throwaway database; the PHLO simulator (`manage.py phlo_simulator`) answers
the desk's PHLO requests and plays the calls the desks act on, sending its signed callbacks
back; the test itself sends signed callbacks for the calls that only set the scene. Every wait
is for something on the page, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.support.plivo import mpc_event, participant, signed_headers
from tests.support.reading import click_once_read
from tests.support.servers import PYTHON, ROOT, Stack, free_port, stop, wait_for_port

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
# The README's screenshots: refreshed with `UPDATE_SCREENSHOTS=1 make test`; otherwise a run
# writes them to the git-ignored test-artifacts/ so a test run leaves the tree clean.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "test-artifacts/screenshots")
VIEWPORT = {"width": 1400, "height": 900}
PASSWORD = "desk-test-password-1"
PHLO_ID, AUTH_TOKEN = "phlo-desk-ui", "ui-test-token-never-shown"

AGENTS = {
    # username: (name, address, supervisor)
    "alice": ("Alice Moreno", "+14155550101", False),
    "bob": ("Bob Chen", "+14155550102", False),
    "carol": ("Carol Okafor", "+14155550103", False),
    "dave": ("Dave Lindqvist", "+14155550104", False),
    "erin": ("Erin Walsh", "+14155550105", False),
    "frank": ("Frank Ito", "+14155550106", False),
    "grace": ("Grace Park", "+14155550107", False),
    "henry": ("Henry Adeyemi", "+14155550108", False),
    "sam": ("Sam Rivera", "+14155550199", True),
}
CUSTOMER = "+12025550143"
CUSTOMER_SHOWN = "+1 202 555 0143"

expect.set_options(timeout=15_000)


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S.%f")


class Plivo:
    """Sends signed multiparty-call callbacks to the Daphne under test, as Plivo would."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/callbacks/plivo/{PHLO_ID}/"
        self.http = httpx.Client(timeout=10)

    def send(self, params: dict) -> None:
        headers = signed_headers(auth_token=AUTH_TOKEN, url=self.url, method="POST", params=params)
        response = self.http.post(self.url, data=params, headers=headers)
        assert response.status_code == 200, response.text

    def customer_joins(self, mpc: str, address: str, *, minutes_ago: float = 0) -> None:
        self.send(mpc_event("MPCStart", mpc, EventTimestamp=ago(minutes_ago)))
        self.send(participant("ParticipantJoin", mpc, f"{mpc}-c", address, EventTimestamp=ago(minutes_ago)))

    def agent_joins(self, mpc: str, username: str, *, minutes_ago: float = 0) -> None:
        address = AGENTS[username][1]
        self.send(participant("ParticipantJoin", mpc, f"{mpc}-{username}", address, role="Agent",
                              direction="outbound", EventTimestamp=ago(minutes_ago)))

    def member_event(self, name: str, mpc: str, member: str, address: str, **extra) -> None:
        self.send(participant(name, mpc, f"{mpc}-{member}", address, **extra))

    def end(self, mpc: str, *, minutes_ago: float = 0) -> None:
        self.send(mpc_event("MPCEnd", mpc, EventTimestamp=ago(minutes_ago)))


class Simulator:
    """`manage.py phlo_simulator` in a process of its own, and its controls (`/_sim/…`)."""

    def __init__(self, stack: Stack, *, port: int, callback_base: str) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=10)
        log = open(stack.workdir / "simulator.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "phlo_simulator", "--host", "127.0.0.1", "--port", str(port),
             "--callback-base", callback_base, "--ring-seconds", "0.2-0.4", "--retry-delays", "0.5,1,2"],
            cwd=ROOT, env=stack.env, stdout=log, stderr=subprocess.STDOUT,
        )
        stack.processes.append(self.process)  # stopped with the stack
        wait_for_port(port, process=self.process, timeout=30)

    def customer_calls(self, customer: str, username: str) -> None:
        """A customer calls in and that agent is dialled in (and answers after a short ring): the PHLO
        request the desk's router would send (this desk's router is off, so the test picks the agent)."""
        response = self.http.post("/_sim/inbound", json={"from": customer, "talk_seconds": 600})
        assert response.status_code == 201, response.text
        response = self.http.post(
            f"/v1/phlo/{PHLO_ID}/multi_party_call/node-ui/", auth=("MAUITESTAUTHID", AUTH_TOKEN),
            json={"action": "call", "trigger_source": customer, "to": AGENTS[username][1], "role": "agent"},
        )
        assert response.status_code == 201, response.text

    def faults(self, **faults) -> None:
        response = self.http.post("/_sim/faults", json=faults)
        assert response.status_code == 200, response.text

    def no_faults(self) -> None:
        assert self.http.delete("/_sim/faults").status_code == 200


class Api:
    """The HTTP API with an agent's token, for setting the scene (statuses, a transfer on another call)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = httpx.Client(timeout=10)
        self.tokens: dict[str, str] = {}

    def _auth(self, username: str) -> dict:
        if username not in self.tokens:
            response = self.http.post(f"{self.base}/api/auth/token/", json={"username": username, "password": PASSWORD})
            self.tokens[username] = response.json()["token"]
        return {"Authorization": f"Token {self.tokens[username]}"}

    def set_status(self, username: str, status: str) -> None:
        response = self.http.patch(f"{self.base}/api/me/", json={"status": status}, headers=self._auth(username))
        assert response.status_code == 200, response.text

    def calls(self, username: str) -> list[dict]:
        return self.http.get(f"{self.base}/api/calls/", headers=self._auth(username)).json()

    def member_action(self, username: str, call_id: int, member_id: int, action: str) -> None:
        response = self.http.post(f"{self.base}/api/calls/{call_id}/members/{member_id}/{action}/",
                                  headers=self._auth(username))
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Database with agents and a PHLO app, Daphne, the PHLO simulator, and one Chromium."""
    with running_world(tmp_path_factory.mktemp("browser"), wrap_up_seconds=600) as world:
        yield world


@contextmanager
def running_world(workdir: Path, *, wrap_up_seconds: int, chromium_args: tuple[str, ...] = (),
                  **env: str) -> Iterator[World]:
    """`env`: more of the desk's environment (`ROUTER_ENABLED="true"`: the desk routes waiting customers)."""
    simulator_port = free_port()
    # tests.settings: the real settings with a fast password hasher (nine agents sign in).
    stack = Stack(workdir, DJANGO_SETTINGS_MODULE="tests.settings", PHLO_BASE_URL=f"http://127.0.0.1:{simulator_port}/v1",
                  PLIVO_API_BASE_URL=f"http://127.0.0.1:{simulator_port}/v1", PHLO_TIMEOUT="10",
                  WRAP_UP_SECONDS=str(wrap_up_seconds), **env)
    try:
        stack.manage("shell", "-c", setup_script())
        daphne = stack.start_daphne()
        simulator = Simulator(stack, port=simulator_port, callback_base=daphne.url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *chromium_args]
            )
            try:
                yield World(stack, daphne, simulator, browser, workdir)
            finally:
                browser.close()
    finally:
        stack.stop()


def setup_script() -> str:
    """One process runs the real commands (one Django start-up instead of eleven)."""
    commands = [
        ("migrate", "--noinput", "-v0"),
        ("configure_phlo", "--name", "Support line", "--phlo-id", PHLO_ID, "--node-id", "node-ui",
         "--auth-id", "MAUITESTAUTHID", "--auth-token", AUTH_TOKEN, "--default"),
        *(
            ("create_agent", username, "--password", PASSWORD, "--address", address, "--name", name,
             *(["--supervisor"] if supervisor else []))
            for username, (name, address, supervisor) in AGENTS.items()
        ),
    ]
    return "import io\nfrom django.core.management import call_command\n" + "\n".join(
        f"call_command(*{list(command)!r}, stdout=io.StringIO())" for command in commands
    )


class World:
    def __init__(self, stack: Stack, daphne, simulator: Simulator, browser: Browser, workdir: Path) -> None:
        self.stack, self.daphne, self.simulator, self.browser, self.workdir = stack, daphne, simulator, browser, workdir
        self.plivo = Plivo(daphne.url)
        self.api = Api(daphne.url)
        self.contexts: list[BrowserContext] = []
        self.page_errors: list[str] = []

    def kill_daphne(self) -> None:
        self.daphne.process.send_signal(signal.SIGKILL)
        stop(self.daphne.process)

    def start_daphne_again(self) -> None:
        """On the same port, as a restarted service would be: the pages must find it by themselves."""
        self.daphne = self.stack.start_daphne(port=self.daphne.port)
        self.plivo = Plivo(self.daphne.url)

    def new_page(self) -> Page:
        """A browser of its own (own cookies); uncaught script errors fail the test."""
        context = self.browser.new_context(viewport=VIEWPORT, base_url=self.daphne.url)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def page_for(self, username: str) -> Page:
        page = self.new_page()
        sign_in(page, username)
        return page

    def close_pages(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


def hang_up_customers(world: World) -> None:
    """Every customer still on an agent's call is hung up, so the next test starts with free agents."""
    for username in AGENTS:
        for call in world.api.calls(username):
            for member in call["members"]:
                if member["role"] == "customer" and member["state"] != "left":
                    world.api.http.post(
                        f"{world.api.base}/api/calls/{call['id']}/members/{member['id']}/hangup/",
                        headers=world.api._auth(username),
                    )


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expected = "/supervisor/" if AGENTS[username][2] else "/agent/"
    expect(page).to_have_url(re.compile(f"{expected}$"))
    expect_live(page)


def expect_live(page: Page) -> None:
    connection = page.locator("#connection")
    expect(connection).to_have_attribute("data-state", "connected")
    expect(connection).to_contain_text("Live")


def call_card(page: Page, text: str):
    return page.locator(".call-card", has_text=text)


def member_row(page: Page, text: str, *, within: str = CUSTOMER_SHOWN):
    return call_card(page, within).locator(".member", has_text=text)


def counter(page: Page, name: str):
    return page.locator(f'[data-counter="{name}"] .counter-value')


@pytest.fixture
def pages(world):
    world.page_errors.clear()
    yield world
    world.close_pages()
    assert not world.page_errors, world.page_errors


def test_sign_in_shows_a_wrong_password_and_sends_an_agent_to_the_desk(pages):
    page = pages.new_page()
    page.goto("/agent/")
    page.get_by_label("Username").fill("henry")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))
    expect_live(page)
    expect(page.get_by_role("heading", name="Current call")).to_be_visible()
    expect(page.locator("#no-call")).to_contain_text("No call right now")
    # Signing out returns to the sign-in page, and the desk is closed to the signed-out browser.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    page.goto("/agent/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/agent/$"))


def set_the_scene(world: World) -> None:
    """Other calls on the floor, so the wall looks like a working afternoon."""
    plivo, api = world.plivo, world.api
    # Alice's earlier calls, for her "Recent calls".
    for n, (customer, start, end) in enumerate([("+15105550164", 52, 47), ("+13105550127", 31, 22)]):
        mpc = f"mpc-earlier-{n}"
        plivo.customer_joins(mpc, customer, minutes_ago=start)
        plivo.agent_joins(mpc, "alice", minutes_ago=start)
        plivo.end(mpc, minutes_ago=end)
    # Carol's customer waits on hold.
    plivo.customer_joins("mpc-carol", "+13125550178", minutes_ago=6.2)
    plivo.agent_joins("mpc-carol", "carol", minutes_ago=6.1)
    plivo.member_event("ParticipantHold", "mpc-carol", "c", "+13125550178", EventTimestamp=ago(2.5))
    # Dave with a customer, and Erin brought in to help.
    plivo.customer_joins("mpc-dave", "+16465550112", minutes_ago=12.5)
    plivo.agent_joins("mpc-dave", "dave", minutes_ago=12.4)
    plivo.agent_joins("mpc-dave", "erin", minutes_ago=3.3)
    # Grace just finished a call: wrap-up.
    plivo.customer_joins("mpc-grace", "+17185550133", minutes_ago=4)
    plivo.agent_joins("mpc-grace", "grace", minutes_ago=4)
    plivo.end("mpc-grace")
    for username, status in [("alice", "available"), ("bob", "available"), ("frank", "away"),
                             ("henry", "available")]:
        api.set_status(username, status)


def test_a_warm_transfer_live_on_two_desks_and_the_wall(pages):
    set_the_scene(pages)
    wall = pages.page_for("sam")
    alice = pages.page_for("alice")
    bob = pages.page_for("bob")

    expect(counter(wall, "active")).to_have_text("2")
    expect(counter(wall, "wrap_up")).to_have_text("1")
    expect(alice.locator("#recent-calls")).to_contain_text("+1 310 555 0127")

    # A customer calls and Alice is put through: her desk and the wall show it without a reload.
    pages.simulator.customer_calls(CUSTOMER, "alice")
    expect(member_row(alice, "Customer")).to_contain_text("Connected")
    expect(member_row(alice, "Alice Moreno (you)")).to_contain_text("Connected")
    expect(alice.locator("#my-status")).to_have_text("Busy")
    expect(counter(wall, "active")).to_have_text("3")
    expect(call_card(wall, CUSTOMER_SHOWN)).to_contain_text("Alice Moreno")
    expect(wall.locator("#agent-board tr", has_text="Alice Moreno")).to_contain_text("Busy")

    # Alice holds the customer and sees it; so does the wall.
    click_once_read(alice.get_by_role("button", name=f"Put customer {CUSTOMER_SHOWN} on hold"))
    expect(member_row(alice, "Customer")).to_contain_text("On hold")
    expect(member_row(wall, "Customer")).to_contain_text("On hold")
    expect(counter(wall, "on_hold")).to_have_text("2")
    click_once_read(alice.get_by_role("button", name=f"Take customer {CUSTOMER_SHOWN} off hold"))
    expect(member_row(alice, "Customer")).to_contain_text("Connected")
    expect(counter(wall, "on_hold")).to_have_text("1")

    # Warm transfer to Bob, picked from the live directory (available agents first).
    card = call_card(alice, CUSTOMER_SHOWN)
    picker = card.get_by_label("Agent", exact=True)
    expect(picker.locator("optgroup[label='Available'] option", has_text="Bob Chen")).to_have_count(1)
    expect(picker.locator("optgroup[label='Not available'] option", has_text="Carol Okafor — busy")).to_have_count(1)
    picker.select_option(label="Bob Chen")
    card.get_by_role("button", name="Warm transfer").click()
    consult = card.get_by_role("region", name="Warm transfer in progress")
    expect(consult).to_contain_text("Consulting Bob Chen")
    expect(member_row(alice, "Customer")).to_contain_text("On hold")
    expect(consult.get_by_role("button", name="Abort transfer")).to_be_visible()

    # Bob's desk shows the consult as soon as he is dialled; he answers.
    bob_consult = call_card(bob, CUSTOMER_SHOWN).get_by_role("region", name="Warm transfer in progress")
    expect(bob_consult).to_contain_text("Alice Moreno is transferring this call to you")
    expect(bob_consult.get_by_role("button", name="Abort transfer")).to_be_hidden()
    expect(member_row(bob, "Bob Chen (you)")).to_contain_text("Connected")
    expect(counter(wall, "transfers")).to_have_text("1")
    expect(call_card(wall, CUSTOMER_SHOWN).get_by_role("region", name="Warm transfer in progress")).to_contain_text(
        "Alice Moreno is consulting Bob Chen"
    )
    expect(member_row(alice, "Bob Chen")).to_contain_text("Connected")

    # Meanwhile two customers wait (this world's router is off, so nobody is dialled for them): the
    # wall lists them longest first, and they are not calls anyone is on.
    waiting = {"mpc-waits-1": ("+13125550190", 2.5), "mpc-waits-2": ("+16465550191", 0.7)}
    for mpc, (customer, minutes) in waiting.items():
        pages.plivo.customer_joins(mpc, customer, minutes_ago=minutes)
    expect(counter(wall, "waiting")).to_have_text("2")
    expect(wall.locator("#waiting-calls li").first).to_contain_text("+1 312 555 0190")
    expect(wall.locator("#waiting-calls li").nth(1)).to_contain_text("+1 646 555 0191")
    expect(call_card(wall, "+1 312 555 0190")).to_have_count(0)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    alice.screenshot(path=str(SCREENSHOTS / "agent-desk.png"))
    wall.screenshot(path=str(SCREENSHOTS / "supervisor-wall.png"))
    for mpc in waiting:
        pages.plivo.end(mpc)
    expect(counter(wall, "waiting")).to_have_text("0")

    # Bob could bring everyone together; handing the call over is Alice's.
    expect(bob_consult.get_by_role("button", name="Join all three")).to_be_visible()
    expect(bob_consult.get_by_role("button", name="Complete transfer")).to_be_hidden()

    # Alice completes the transfer: the customer is back with Bob, Alice is off the call, the
    # consult is gone everywhere. Her desk is free again and lists nothing current.
    consult.get_by_role("button", name="Complete transfer").click()
    expect(alice.locator("#no-call")).to_be_visible()
    expect(member_row(bob, "Customer")).to_contain_text("Connected")
    expect(call_card(bob, CUSTOMER_SHOWN).get_by_role("region", name="Warm transfer in progress")).to_be_hidden()
    alice_name = bob.locator(".member-name", has_text="Alice Moreno")
    alice_row = call_card(bob, CUSTOMER_SHOWN).locator(".member", has=alice_name)
    expect(alice_row).to_contain_text("Left")
    expect(member_row(wall, "Customer")).to_contain_text("Connected")
    expect(counter(wall, "transfers")).to_have_text("0")
    expect(member_row(bob, "Bob Chen (you)")).to_contain_text("transferred from Alice Moreno")
    expect(member_row(wall, "Bob Chen")).to_contain_text("Connected")
    expect(counter(wall, "transfers")).to_have_text("0")

    # Bob hangs up the customer, which ends the call: it leaves the wall and joins the recent
    # calls of both desks.
    bob.get_by_role("button", name=f"Hang up customer {CUSTOMER_SHOWN}").click()
    expect(call_card(wall, CUSTOMER_SHOWN)).to_have_count(0)
    expect(bob.locator("#no-call")).to_be_visible()
    expect(bob.locator("#recent-calls")).to_contain_text(CUSTOMER_SHOWN)
    expect(alice.locator("#recent-calls")).to_contain_text(CUSTOMER_SHOWN)
    expect(alice.locator("#my-status")).to_contain_text("Wrap-up")
    expect(alice.locator("#my-status-since")).to_have_attribute("data-countdown", re.compile(".+"))


def test_a_failed_action_says_why_and_changes_nothing(pages):
    pages.api.set_status("henry", "available")
    desk = pages.page_for("henry")
    pages.simulator.customer_calls("+19175550111", "henry")
    card = call_card(desk, "+1 917 555 0111")
    row = card.locator(".member", has_text="Customer")
    expect(row).to_contain_text("Connected")

    # From the keyboard: while the action is in flight its call's buttons are disabled, so nobody
    # acts twice; afterwards the focus is back on the same (now "Unhold") button.
    pages.simulator.faults(latency=1.0)
    try:
        row.get_by_role("button", name="Put customer +1 917 555 0111 on hold").press("Enter")
        expect(row.get_by_role("button", name="Hang up customer +1 917 555 0111")).to_be_disabled()
        expect(card).to_have_attribute("aria-busy", "true")
    finally:
        pages.simulator.no_faults()
    unhold = row.get_by_role("button", name="Take customer +1 917 555 0111 off hold")
    expect(unhold).to_be_enabled()
    expect(unhold).to_be_focused()
    expect(row).to_contain_text("On hold")
    expect(desk.locator(".toast-success")).to_have_text(re.compile("Customer \\+1 917 555 0111 is on hold."))

    # PHLO fails: the agent reads why, in a sentence, where it can be seen, and nothing changes.
    pages.simulator.faults(error_rate=1.0)
    try:
        click_once_read(unhold)
        error = desk.get_by_role("alert").filter(has_text="Could not take")
        expect(error).to_contain_text("Could not take customer +1 917 555 0111 off hold")
        expect(error).to_contain_text("PHLO had a problem (HTTP 500) and did not act; nothing was changed.")
        expect(error).not_to_contain_text("Internal server error")  # Plivo's own words stay in the log
        expect(row).to_contain_text("On hold")
        expect(unhold).to_be_enabled()
    finally:
        pages.simulator.no_faults()
    error.get_by_role("button", name="Dismiss message").click()
    expect(error).to_be_hidden()
    click_once_read(unhold)
    expect(row).to_contain_text("Connected")
    row.get_by_role("button", name="Hang up customer +1 917 555 0111").click()
    expect(desk.locator("#no-call")).to_be_visible()


def test_pages_reconnect_after_a_server_restart_and_show_the_truth(pages):
    pages.api.set_status("frank", "available")
    desk = pages.page_for("frank")
    wall = pages.page_for("sam")
    pages.plivo.customer_joins("mpc-restart", "+14695550177", minutes_ago=2)
    pages.plivo.agent_joins("mpc-restart", "frank", minutes_ago=2)
    row = member_row(desk, "Customer", within="+1 469 555 0177")
    wall_row = member_row(wall, "Customer", within="+1 469 555 0177")
    expect(row).to_contain_text("Connected")
    expect(wall_row).to_contain_text("Connected")

    pages.kill_daphne()
    for page in (desk, wall):
        expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        expect(page.locator("#connection")).to_contain_text("Reconnecting")
    # While the server is away the call changes (another process took the callback): only a
    # fresh snapshot can tell the pages.
    with sqlite3.connect(pages.workdir / "db.sqlite3") as db:
        db.execute("UPDATE calls_member SET state = 'on_hold' WHERE address = '+14695550177'")
        db.execute("UPDATE calls_call SET version = version + 1 WHERE mpc_uuid = 'mpc-restart'")
    pages.start_daphne_again()
    for page in (desk, wall):
        expect(page.locator("#connection")).to_have_attribute("data-state", "connected", timeout=20_000)
    expect(row).to_contain_text("On hold")
    expect(wall_row).to_contain_text("On hold")
    # And live updates flow again on the new sockets.
    pages.plivo.member_event("ParticipantUnhold", "mpc-restart", "c", "+14695550177")
    expect(row).to_contain_text("Connected")
    expect(wall_row).to_contain_text("Connected")
    pages.plivo.end("mpc-restart")
    expect(call_card(wall, "+1 469 555 0177")).to_have_count(0)


def wait_until(page: Page, condition, what: str, timeout: float = 10.0) -> None:
    """Poll `condition` while Playwright delivers its events (a wait for a result, not a blind sleep)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not condition():
        if datetime.now(UTC) > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def test_the_page_resyncs_on_a_gap_drops_stale_copies_and_takes_a_snapshot_whole(pages):
    pages.api.set_status("grace", "available")
    page = pages.new_page()
    seen = {"seq": 0, "calls": {}, "snapshots": 0}
    sent_by_page: list[dict] = []
    socket = {}

    def proxy(ws):
        server = ws.connect_to_server()
        socket["page"] = ws

        def from_page(message):
            sent_by_page.append(json.loads(message))
            server.send(message)

        def from_server(message):
            data = json.loads(message)
            seen["seq"] = data.get("seq", seen["seq"])
            seen["snapshots"] += data["type"] == "snapshot"
            for call in data.get("calls", []) + ([data["call"]] if "call" in data else []):
                seen["calls"][call["id"]] = call
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/dashboard/$"), proxy)
    sign_in(page, "grace")
    pages.plivo.customer_joins("mpc-truth", "+12065550190")
    pages.plivo.agent_joins("mpc-truth", "grace")
    row = member_row(page, "Customer", within="+1 206 555 0190")
    expect(row).to_contain_text("Connected")
    expect(page.locator("#my-status")).to_have_text("Busy")  # every message of the join has arrived
    call = next(c for c in seen["calls"].values() if any(m["address"] == "+12065550190" for m in c["members"]))

    # An older copy of the call, after a gap in seq: the page asks for a snapshot and ignores the copy.
    stale = {**call, "version": call["version"] - 1,
             "members": [{**m, "state": "left"} for m in call["members"]]}
    socket["page"].send(json.dumps({"type": "call.updated", "seq": seen["seq"] + 5, "call": stale}))
    wait_until(page, lambda: {"type": "resync"} in sent_by_page, "the page to ask for a resync")
    wait_until(page, lambda: seen["snapshots"] == 2, "the server's fresh snapshot")
    expect(row).to_contain_text("Connected")

    # A snapshot replaces everything the page knew.
    socket["page"].send(json.dumps({"type": "snapshot", "seq": 1000, "calls": [], "agents": []}))
    expect(page.locator("#no-call")).to_be_visible()
    expect(page.locator("#directory li")).to_have_count(0)
    # The next real message does not follow seq 1000: the page resyncs and shows the truth again.
    pages.plivo.member_event("ParticipantHold", "mpc-truth", "c", "+12065550190")
    expect(row).to_contain_text("On hold")
    wait_until(page, lambda: sent_by_page.count({"type": "resync"}) == 2, "a second resync")
    expect(page.locator("#directory li", has_text="Grace Park (you)")).to_contain_text("Busy")
    pages.plivo.end("mpc-truth")
    expect(page.locator("#no-call")).to_be_visible()


def test_an_aborted_warm_transfer_to_a_typed_number_then_a_cold_transfer(pages):
    pages.api.set_status("bob", "available")
    desk = pages.page_for("henry")
    pages.simulator.customer_calls("+13035550123", "henry")
    card = call_card(desk, "+1 303 555 0123")
    expect(card.locator(".member", has_text="Customer")).to_contain_text("Connected")

    # Warm transfer to a number typed by hand, then aborted: the target leaves, the customer is back.
    card.get_by_label("Number or SIP URI").fill(AGENTS["frank"][1])
    card.get_by_role("button", name="Warm transfer").click()
    consult = card.get_by_role("region", name="Warm transfer in progress")
    expect(consult).to_contain_text("Consulting Frank Ito")
    expect(card.locator(".member", has_text="Frank Ito")).to_contain_text("Connected")
    consult.get_by_role("button", name="Abort transfer").click()
    expect(consult).to_be_hidden()
    expect(card.locator(".member", has_text="Frank Ito")).to_contain_text("Left")
    expect(card.locator(".member", has_text="Customer")).to_contain_text("Connected")

    # Cold transfer to Bob from the directory: Henry is off the call at once.
    card.get_by_label("Agent", exact=True).select_option(label="Bob Chen")
    card.get_by_role("button", name="Cold transfer").click()
    expect(desk.locator("#no-call")).to_be_visible()
    bobs = next(c for c in pages.api.calls("bob") if any(m["address"] == "+13035550123" for m in c["members"]))
    customer = next(m for m in bobs["members"] if m["role"] == "customer")
    pages.api.member_action("bob", bobs["id"], customer["id"], "hangup")
    expect(desk.locator("#recent-calls")).to_contain_text("+1 303 555 0123")
