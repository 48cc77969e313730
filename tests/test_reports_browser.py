"""The reports page in real Chromium (docs/reports.md), against a real Daphne: a supervisor opens
yesterday's report from the wall, reads the charts (and their numbers as tables), follows a bar to
the history of its calls, and reads it on a phone; an agent is sent back to their desk.

The world (Daphne, `manage.py phlo_simulator`, Chromium) is tests/test_browser.py's, started once
more for this module; yesterday's calls and the agents' work are written straight into its
database (their figures' rules are tested in tests/test_reports_*.py). Screenshots for the README:
`UPDATE_SCREENSHOTS=1`, as there.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests import test_browser
from tests.test_browser import SCREENSHOTS, sign_in
from tests.test_desk_ui import LAYOUT_PROBLEMS

pytestmark = pytest.mark.slow
world = test_browser.world  # the fixture: one world more, for this module

TZ = "Europe/Paris"
# Calls by the hour of yesterday, Paris time: a working day with a morning and an afternoon peak.
SHAPE = {7: 4, 8: 14, 9: 26, 10: 31, 11: 22, 12: 12, 13: 15, 14: 24, 15: 28, 16: 19, 17: 11, 18: 5}
BUSIEST = 10
YESTERDAY = f"""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from agents import worklog
from agents.models import Agent
from calls.models import PhloApp, Queue
from tests.factories import CallFactory, MemberFactory

tz = ZoneInfo({TZ!r})
day = (timezone.now().astimezone(tz) - timedelta(days=1)).date()
app = PhloApp.objects.get()
queues = [Queue.objects.create(name="Sales", service_level_seconds=30), Queue.objects.create(name="Support"), None]
agents = list(Agent.objects.filter(is_supervisor=False).order_by("pk"))
free = {{agent.pk: datetime.combine(day, time(7), tzinfo=tz) for agent in agents}}
for agent in agents:
    worklog.status_changed(agent.pk, "available", free[agent.pk])
n = 0
for hour, calls in {SHAPE!r}.items():
    for k in range(calls):
        n += 1
        waited = datetime.combine(day, time(hour), tzinfo=tz) + timedelta(seconds=k * 3600 // calls + 7)
        wait = [3, 6, 9, 5, 12, 15, 8, 24][n % 8]  # and longer when every agent is busy: the peaks
        abandoned = n % 9 == 0 or (hour == 10 and n % 4 == 0)
        queue = queues[n % 3]
        customer = f"+1312555{{n:04d}}"
        if abandoned:
            call = CallFactory(phlo_app=app, status="ended", direction="inbound", started_at=waited,
                               waiting_since=waited, ended_at=waited + timedelta(seconds=wait + 20),
                               outcome="abandoned", queue=queue)
            MemberFactory(call=call, address=customer, address_key=customer[1:], role="customer", state="left",
                          joined_at=waited, left_at=call.ended_at)
            continue
        answered = waited + timedelta(seconds=wait)
        agent = min(agents, key=lambda a: free[a.pk])  # the one free the longest
        answered = max(answered, free[agent.pk])
        ended = answered + timedelta(seconds=240 + (n * 37) % 900)
        call = CallFactory(phlo_app=app, status="ended", direction="inbound", started_at=waited, waiting_since=waited,
                           answered_at=answered, ended_at=ended, outcome="answered", queue=queue)
        MemberFactory(call=call, address=customer, address_key=customer[1:], role="customer", state="left",
                      joined_at=waited, left_at=ended)
        MemberFactory(call=call, address=agent.address, agent=agent, role="agent", state="left", joined_at=answered,
                      left_at=ended)
        worklog.status_changed(agent.pk, "offered", answered - timedelta(seconds=4))
        worklog.status_changed(agent.pk, "busy", answered)
        hold = timedelta(seconds=(n * 13) % 50)
        worklog.calls_finished({{agent.pk: worklog.CallWork(talk=ended - answered - hold, hold=hold)}}, ended)
        worklog.status_changed(agent.pk, "wrap_up", ended)
        free[agent.pk] = ended + timedelta(seconds=30 + (n * 7) % 40)
        worklog.status_changed(agent.pk, "available", free[agent.pk])
for agent in agents:
    worklog.status_changed(agent.pk, "offline", datetime.combine(day, time(19), tzinfo=tz))
"""


@pytest.fixture(scope="module")
def yesterday(world):
    world.stack.manage("shell", "-c", YESTERDAY)
    return world


@pytest.fixture
def pages(yesterday):
    yesterday.page_errors.clear()
    yield yesterday
    yesterday.close_pages()
    assert not yesterday.page_errors, yesterday.page_errors


def reports_page(pages, *, viewport=None):
    context = pages.browser.new_context(viewport=viewport or test_browser.VIEWPORT, base_url=pages.daphne.url,
                                        timezone_id=TZ, locale="en-GB")
    pages.contexts.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: pages.page_errors.append(f"{page.url}: {error}"))
    # The page's Content-Security-Policy (script-src 'self', style-src 'self') must refuse nothing.
    page.on("console", lambda message: "Content Security Policy" in message.text
            and pages.page_errors.append(f"{page.url}: {message.text}"))
    sign_in(page, "sam")
    return page


def test_a_supervisor_reads_yesterday_and_follows_a_bar_to_its_calls(pages):
    page = reports_page(pages)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/reports/$"))
    expect(page.locator("body")).to_have_attribute("data-report", "shown")
    page.get_by_label("Range", exact=True).select_option("yesterday")
    expect(page).to_have_url(re.compile(r"range=yesterday"))
    expect(page.locator('[data-total="offered"] dd')).to_have_text(str(sum(SHAPE.values())))
    expect(page.get_by_label("Interval", exact=True)).to_have_value("1h")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value(TZ)

    # Both charts are drawn, each with a short description for screen readers.
    for chart in ("#volume-chart", "#level-chart"):
        expect(page.locator(f"{chart} canvas")).to_have_count(1)
        assert page.locator(f"{chart} canvas").bounding_box()["width"] > 600
    expect(page.locator("#volume-summary")).to_contain_text(f"the busiest, {BUSIEST}:00, had {SHAPE[BUSIEST]} offered")
    expect(page.locator("#agent-rows tr")).to_have_count(8)
    expect(page.locator("#agent-rows tr").first).to_contain_text("Alice Moreno")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)

    # The numbers behind each chart, as a table, on request.
    toggle = page.get_by_role("region", name="Calls per interval").locator("button[aria-controls=volume-table]")
    expect(toggle).to_have_text("Show as a table")
    expect(page.locator("#volume-table")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_text("Hide the table")
    rows = page.locator("#volume-rows tr")
    expect(rows).to_have_count(24)
    busiest = rows.nth(BUSIEST)
    expect(busiest.locator("th")).to_have_text(f"{BUSIEST}:00")
    expect(busiest.locator("td").first).to_have_text(str(SHAPE[BUSIEST]))
    level = page.get_by_role("region", name="Service level and average wait")
    level.get_by_role("button", name="Show as a table").click()
    expect(page.locator("#level-rows tr")).to_have_count(24)
    expect(page.locator("#level-rows tr").nth(3)).to_contain_text("—")  # 03:00: nobody called

    # A bar opens the history of its calls: those that started waiting in that hour.
    page.locator("#volume-chart").scroll_into_view_if_needed()
    plot = page.locator("#volume-chart .u-over").bounding_box()
    x = plot["x"] + (BUSIEST + 0.5) * plot["width"] / 24
    page.mouse.move(x, plot["y"] + plot["height"] - 4)
    page.mouse.click(x, plot["y"] + plot["height"] - 4)
    expect(page).to_have_url(re.compile(r"/history/\?waited_since="))
    asked = parse_qs(urlsplit(page.url).query)
    assert asked["waited_since"][0].endswith(f"T{BUSIEST}:00:00+01:00")
    assert asked["waited_until"][0].endswith(f"T{BUSIEST + 1}:00:00+01:00")
    expect(page.locator("#history-window")).to_contain_text("Calls whose customer started waiting from")
    expect(page.locator("#history-rows tr")).to_have_count(SHAPE[BUSIEST])
    page.screenshot(path=str(SCREENSHOTS / "reports-bar-history.png"))

    # Back on the report, one queue: the history link carries it.
    page.go_back()
    page.get_by_label("Queue", exact=True).select_option("Sales")
    expect(page).to_have_url(re.compile(r"queue=Sales"))
    if page.locator("#volume-table").is_hidden():  # a fresh page, unless the browser kept the one we left
        toggle.click()
    first = page.locator("#volume-rows tr").nth(BUSIEST).get_by_role("link")
    expect(first).to_have_attribute("href", re.compile(r"waited_since=.*&queue=Sales$"))
    offered = int(page.locator("#volume-rows tr").nth(BUSIEST).locator("td").first.inner_text())
    first.click()
    expect(page.locator("#history-rows tr")).to_have_count(offered)
    expect(page.get_by_label("Queue", exact=True)).to_have_value("Sales")


def test_the_report_on_a_phone(pages):
    page = reports_page(pages, viewport={"width": 390, "height": 844})
    page.goto("/reports/?range=yesterday&interval=1h")
    expect(page.locator("body")).to_have_attribute("data-report", "shown")
    expect(page.locator("#volume-chart canvas")).to_have_count(1)
    page.get_by_role("button", name="Show as a table").first.click()
    expect(page.locator("#volume-rows tr")).to_have_count(24)
    assert page.locator("#volume-chart canvas").bounding_box()["width"] <= 390
    problems = page.evaluate(LAYOUT_PROBLEMS)
    page.screenshot(path=str(SCREENSHOTS / "reports-phone.png"), full_page=True)
    assert problems == [], problems


def test_agents_are_sent_to_their_desk(pages):
    page = pages.new_page()
    sign_in(page, "alice")
    page.goto("/reports/")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    expect(page.get_by_role("navigation", name="Pages").get_by_role("link", name="Reports")).to_have_count(0)
