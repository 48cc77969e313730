"""One definition of the queue's figures (calls/core/measures.py) for the wall's day and the reports:
the same calls give `GET /api/stats/` and the report's day row the same answered, abandoned,
service level, average wait and handle time. And the reports' counted quarters (`QuarterFigures`)
say what the calls say: once counted, after a late change to one of their calls, after a queue's
service level changed. SQLite and PostgreSQL (`-p tests.pg_plugin --postgres`)."""

from __future__ import annotations

import bisect
from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from calls.core.measures import call_figures, counted_calls
from calls.history import reports
from calls.models import Call, QuarterFigures, Queue, SealedQuarter
from calls.queue.figures import day_end, day_start
from tests.factories import CallFactory
from tests.test_reports_api import ok, report, waited

pytestmark = pytest.mark.django_db

WALL = ("answered_today", "abandoned_today", "service_level_percent", "average_wait_seconds", "average_handle_seconds")
ROW = ("answered", "abandoned", "service_level_percent", "average_wait_seconds", "average_handle_seconds")


def a_day_of_calls(phlo_app, now):
    """Today's calls, hours old (counted quarters) and minutes old (read directly), of two queues
    with their own service levels; yesterday's and calls that never waited, which count for neither."""
    sales = Queue.objects.create(name="Sales", service_level_seconds=45)
    start = day_start(now)
    moments = [start + (now - start) * n / 12 for n in range(12)] + [now - timedelta(minutes=m) for m in (30, 5)]
    for n, at in enumerate(moments):
        waited(phlo_app, at, answer_after=[5, 19, 21, 44, 46, None][n % 6], talk=60 + 17 * n,
               queue=sales if n % 3 == 0 else None)
    waited(phlo_app, now - timedelta(minutes=2), still_waiting=True)
    waited(phlo_app, start - timedelta(minutes=1), answer_after=3)  # yesterday
    CallFactory(phlo_app=phlo_app, status="ended", direction="outbound", started_at=now, answered_at=now,
                ended_at=now, outcome="outbound")


def wall_and_day_row(client, now) -> tuple[dict, dict]:
    wall = ok(client.get("/api/stats/"))
    today = timezone.localtime(now).date().isoformat()
    day = ok(report(client, since=today, until=today, interval="1d"))
    [row] = day["rows"]
    assert row["start"] == day_start(now).isoformat()
    return wall, row


@pytest.mark.parametrize("center", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_the_walls_today_is_the_reports_day_row(api_for, supervisor, phlo_app, settings, center):
    settings.TIME_ZONE = center
    now = timezone.now()
    a_day_of_calls(phlo_app, now)

    wall, row = wall_and_day_row(api_for(supervisor), now)

    assert [wall[key] for key in WALL] == [row[key] for key in ROW]
    assert row["answered"] > 0 and row["abandoned"] > 0
    assert 0 < row["service_level_percent"] < 100  # each queue's own level: some in time, some not
    assert row["offered"] == row["answered"] + row["abandoned"] + wall["waiting"]


def test_the_day_row_adds_counted_quarters_and_the_last_hours_calls(api_for, supervisor, phlo_app, settings):
    """In a center whose day is hours old now, so that both parts of the day row are there."""
    now = timezone.now()
    settings.TIME_ZONE = next(
        zone for zone in ("UTC", "Asia/Tokyo", "America/New_York", "Asia/Kolkata")
        if 3 <= now.astimezone(ZoneInfo(zone)).hour < 23
    )
    a_day_of_calls(phlo_app, now)
    wall, row = wall_and_day_row(api_for(supervisor), now)
    counted = QuarterFigures.objects.filter(quarter__gte=day_start(now))
    assert sum(counted.values_list("offered", flat=True)) not in (0, row["offered"])
    assert [wall[key] for key in WALL] == [row[key] for key in ROW]


def test_the_service_level_is_each_queues_own(phlo_app, settings):
    settings.SERVICE_LEVEL_SECONDS = 20
    slow = Queue.objects.create(name="Callbacks", service_level_seconds=120)
    now = timezone.now()
    waited(phlo_app, now - timedelta(minutes=10), answer_after=90, queue=slow)  # in time for its queue
    waited(phlo_app, now - timedelta(minutes=10), answer_after=20)  # the default's 20 s: just in time
    waited(phlo_app, now - timedelta(minutes=10), answer_after=21)
    figures = call_figures(counted_calls(day_start(now), day_end(now)))
    assert figures["service_level_percent"] == pytest.approx(66.7)


def _day(client, **more):
    return ok(report(client, since="2026-11-20", until="2026-11-20", interval="1d", tz="UTC", **more))["rows"][0]


def test_a_quarter_is_counted_once_and_read_from_then_on(api_for, supervisor, phlo_app):
    at = timezone.now().replace(year=2026, month=11, day=20, hour=10, minute=5)
    waited(phlo_app, at)
    client = api_for(supervisor)
    first = _day(client)
    assert SealedQuarter.objects.count() == 96  # the whole day's quarters, empty ones too
    assert list(QuarterFigures.objects.values_list("offered", flat=True)) == [1]
    # Counted: a call changed behind the reports' back (no save, so no signal) is not seen...
    Call.objects.filter(waiting_since=at).update(outcome="abandoned", answered_at=None)
    assert _day(client) == first
    # ...and a quarter counted again says what the calls say.
    reports._unseal([reports.floor_quarter(at)])
    assert (_day(client)["answered"], _day(client)["abandoned"]) == (0, 1)


def test_a_late_change_to_a_counted_call_counts_its_quarter_again(api_for, supervisor, phlo_app):
    at = timezone.now().replace(year=2026, month=11, day=20, hour=10, minute=5)
    call = waited(phlo_app, at, still_waiting=True)
    client = api_for(supervisor)
    assert (_day(client)["offered"], _day(client)["answered"]) == (1, 0)

    call.status, call.answered_at, call.outcome = "active", at + timedelta(seconds=8), "answered"
    call.save(update_fields=["status", "answered_at", "outcome"])

    assert not SealedQuarter.objects.filter(quarter=reports.floor_quarter(at)).exists()
    row = _day(client)
    assert (row["answered"], row["average_wait_seconds"], row["service_level_percent"]) == (1, 8.0, 100.0)


def test_a_change_that_is_not_a_figure_leaves_the_quarter_counted(api_for, supervisor, phlo_app):
    at = timezone.now().replace(year=2026, month=11, day=20, hour=10, minute=5)
    call = waited(phlo_app, at)
    _day(api_for(supervisor))
    call.notes = "Called back about the invoice."
    call.save(update_fields=["notes"])
    assert SealedQuarter.objects.filter(quarter=reports.floor_quarter(at)).exists()


def test_a_changed_service_level_counts_the_queues_quarters_again(api_for, supervisor, phlo_app):
    sales = Queue.objects.create(name="Sales", service_level_seconds=20)
    at = timezone.now().replace(year=2026, month=11, day=20, hour=10, minute=5)
    waited(phlo_app, at, answer_after=30, queue=sales)
    client = api_for(supervisor)
    assert _day(client)["service_level_percent"] == 0.0
    sales.service_level_seconds = 60
    sales.save()
    assert _day(client)["service_level_percent"] == 100.0
    assert _day(client, queue="Sales")["service_level_percent"] == 100.0


def test_the_last_hour_is_read_from_the_calls(api_for, supervisor, phlo_app):
    now = timezone.now()
    waited(phlo_app, now - timedelta(minutes=20), still_waiting=True)
    today = timezone.localtime(now).date().isoformat()
    row = ok(report(api_for(supervisor), since=today, until=today, interval="1d"))["rows"][0]
    assert row["offered"] == 1
    assert not SealedQuarter.objects.filter(quarter__gte=reports.seal_edge(now)).exists()


def test_quarters_and_calls_read_directly_agree(phlo_app):
    """The counted quarters add up to what the calls say read directly (as an agent's report, or a
    time zone whose intervals do not start on UTC quarters, is read)."""
    at = timezone.now().replace(year=2026, month=11, day=20, hour=0, minute=0, second=0, microsecond=0)
    for n in range(40):
        waited(phlo_app, at + timedelta(minutes=35 * n), answer_after=[None, 4, 25, 61][n % 4], talk=30 + n)
    starts = reports.Intervals("1h", reports.ZoneInfo("UTC")).starts(at, at + timedelta(days=1))
    ask = reports.ReportAsk(since=at, until=at + timedelta(days=1), interval="1h", tz=reports.ZoneInfo("UTC"))
    through_quarters = reports.interval_sums(ask, starts, now=timezone.now())
    assert SealedQuarter.objects.count() == 96
    direct: list[dict] = [dict(reports.ZERO) for _ in starts[:-1]]
    intervals = reports.Intervals("1h", reports.ZoneInfo("UTC"))
    from_calls = reports._from_calls(intervals, counted_calls(at, starts[-1]))
    reports._rows_by_interval(intervals, from_calls, starts, direct)
    assert through_quarters == direct
    assert sum(s["offered"] for s in direct) == 40


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
                                  "Australia/Adelaide", "Pacific/Chatham", "America/Santiago"])
def test_a_years_intervals_in_zones_with_odd_offsets_and_clock_changes(zone):
    """Every local hour of a year, once, each on a UTC quarter (what the counted quarters add up to);
    and every local day, midnight to midnight, 23 to 25 hours long."""
    tz = ZoneInfo(zone)
    since = datetime(2026, 1, 1, tzinfo=tz)
    until = datetime(2027, 1, 1, tzinfo=tz)
    hours = reports.Intervals("1h", tz).starts(since, until)
    assert len(hours) - 1 == 365 * 24  # an hour lost in spring, one gained in autumn
    assert all(a < b for a, b in pairwise(hours))
    assert all(reports.Intervals("1h", tz).start_of(start) == start for start in hours)
    assert reports._on_aligned_quarters(hours)
    days = reports.Intervals("1d", tz).starts(since, until)
    assert len(days) - 1 == 365
    assert {(b - a) for a, b in pairwise(days)} <= {timedelta(hours=h) for h in (23, 24, 25)}
    # Midnight; but where the clocks skip midnight (Santiago, in September) that day starts at 01:00.
    assert {day.astimezone(tz).time() for day in days} == (
        {time(0), time(1)} if zone == "America/Santiago" else {time(0)}
    )


def test_lord_howe_islands_half_hour_clock_change_counts_every_call_once():
    """The one zone whose clocks change by half an hour: its hours around the change are not whole,
    yet every moment falls in exactly one interval, in order (docs/reports.md, "Time zones")."""
    tz = ZoneInfo("Australia/Lord_Howe")
    hours = reports.Intervals("1h", tz)
    starts = hours.starts(datetime(2026, 10, 3, 20, tzinfo=tz), datetime(2026, 10, 4, 6, tzinfo=tz))
    assert all(a < b for a, b in pairwise(starts))
    moment = starts[0]
    while moment < starts[-1]:
        assert starts[bisect.bisect_right(starts, hours.start_of(moment)) - 1] <= moment
        moment += timedelta(minutes=5)
    assert {b - a for a, b in pairwise(starts)} == {timedelta(minutes=30), timedelta(minutes=60)}
