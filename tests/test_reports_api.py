"""The reports over the API (docs/reports.md): `GET /api/reports/intervals/` — its shape, a row per
interval with the empty ones, local intervals in a time zone (the days the clocks change too), the
queue and agent filters, CSV, who may ask and what is refused. Runs on SQLite and, with
`-p tests.pg_plugin --postgres`, on PostgreSQL: the same SQL has to answer the same on both.

Calls here are rows written as a finished call's state would be (the state machine's outcomes and
times are tested in tests/test_state_machine.py); the wall-and-report agreement and the counted
quarters are in tests/test_reports_figures.py, the agents' figures in tests/test_reports_agents.py.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from calls.models import Call, Queue
from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.test_pages import page_data, signed_in

pytestmark = pytest.mark.django_db

ROW_KEYS = {"start", "offered", "answered", "abandoned", "service_level_percent", "average_wait_seconds",
            "average_handle_seconds"}


def waited(phlo_app, at: datetime, *, answer_after: float | None = 10, talk: float = 120, agent=None,
           queue: Queue | None = None, still_waiting: bool = False) -> Call:
    """A call whose customer started waiting at `at`: answered after `answer_after` seconds and over
    `talk` seconds later, or abandoned (`answer_after=None`), or still waiting."""
    if still_waiting:
        return CallFactory(phlo_app=phlo_app, status="waiting", direction="inbound", started_at=at,
                           waiting_since=at, queue=queue)
    answered = at + timedelta(seconds=answer_after) if answer_after is not None else None
    ended = (answered or at) + timedelta(seconds=talk if answered else 30)
    call = CallFactory(
        phlo_app=phlo_app, status="ended", direction="inbound", started_at=at, waiting_since=at,
        answered_at=answered, ended_at=ended, outcome="answered" if answered else "abandoned", queue=queue,
    )
    if agent is not None:
        MemberFactory(call=call, address=agent.address, agent=agent, role="agent", state="left",
                      joined_at=answered, left_at=ended)
    return call


def report(client, **params):
    return client.get("/api/reports/intervals/", params)


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def row_at(body: dict, start: str) -> dict:
    [row] = [row for row in body["rows"] if row["start"] == start]
    return row


DAY = datetime(2026, 11, 20, tzinfo=UTC)


# --- shape and intervals -----------------------------------------------------------------------------


def test_a_row_per_interval_empty_ones_included(api_for, supervisor, phlo_app):
    waited(phlo_app, DAY + timedelta(hours=9, minutes=5))
    waited(phlo_app, DAY + timedelta(hours=9, minutes=50), answer_after=None)
    waited(phlo_app, DAY + timedelta(hours=14, minutes=59, seconds=59), answer_after=30)

    body = ok(report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="1h", tz="UTC"))

    assert (body["interval"], body["tz"]) == ("1h", "UTC")
    assert body["since"] == "2026-11-20T00:00:00+00:00" and body["until"] == "2026-11-21T00:00:00+00:00"
    assert len(body["rows"]) == 24
    assert all(set(row) == ROW_KEYS for row in body["rows"])
    assert [row["start"][11:16] for row in body["rows"]] == [f"{h:02d}:00" for h in range(24)]
    assert row_at(body, "2026-11-20T09:00:00+00:00") == {
        "start": "2026-11-20T09:00:00+00:00", "offered": 2, "answered": 1, "abandoned": 1,
        "service_level_percent": 50.0, "average_wait_seconds": 10.0, "average_handle_seconds": 120.0,
    }
    assert row_at(body, "2026-11-20T14:00:00+00:00")["service_level_percent"] == 0.0  # waited 30 s > 20 s
    empty = row_at(body, "2026-11-20T03:00:00+00:00")
    assert empty == {"start": "2026-11-20T03:00:00+00:00", "offered": 0, "answered": 0, "abandoned": 0,
                     "service_level_percent": None, "average_wait_seconds": None, "average_handle_seconds": None}
    assert sum(row["offered"] for row in body["rows"]) == 3
    assert body["totals"]["offered"] == 3 and body["totals"]["service_level_percent"] == pytest.approx(33.3)


@pytest.mark.parametrize(("interval", "rows"), [("15m", 96), ("30m", 48), ("1h", 24), ("1d", 1)])
def test_each_interval_covers_the_day(api_for, supervisor, phlo_app, interval, rows):
    for minute in (0, 14, 15, 29, 31, 59):
        waited(phlo_app, DAY + timedelta(hours=10, minutes=minute))
    body = ok(report(api_for(supervisor), since="2026-11-20T00:00:00Z", until="2026-11-21T00:00:00Z",
                     interval=interval, tz="UTC"))
    assert len(body["rows"]) == rows
    offered = [row["offered"] for row in body["rows"] if row["offered"]]
    assert offered == {"15m": [2, 2, 1, 1], "30m": [4, 2], "1h": [6], "1d": [6]}[interval]


def test_a_call_counts_where_it_started_waiting(api_for, supervisor, phlo_app):
    """Waiting from 10:59, answered 11:05, ended 11:40: all of it is the 10:00 interval's."""
    waited(phlo_app, DAY + timedelta(hours=10, minutes=59), answer_after=360, talk=2100)
    body = ok(report(api_for(supervisor), since="2026-11-20T10:00Z", until="2026-11-20T12:00Z", interval="1h",
                     tz="UTC"))
    assert [(row["offered"], row["answered"], row["average_handle_seconds"]) for row in body["rows"]] == [
        (1, 1, 2100.0), (0, 0, None),
    ]


def test_calls_that_never_waited_are_not_the_queues(api_for, supervisor, phlo_app):
    at = DAY + timedelta(hours=10)
    CallFactory(phlo_app=phlo_app, status="ended", direction="outbound", started_at=at, answered_at=at,
                ended_at=at + timedelta(minutes=3), outcome="outbound")
    CallFactory(phlo_app=phlo_app, status="ended", direction="inbound", started_at=at, answered_at=at,
                ended_at=at + timedelta(minutes=3), outcome="answered")  # a PHLO that routes itself
    waited(phlo_app, at)
    body = ok(report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="1d", tz="UTC"))
    assert (body["rows"][0]["offered"], body["rows"][0]["answered"]) == (1, 1)


def test_a_call_still_waiting_is_offered_not_yet_answered_or_abandoned(api_for, supervisor, phlo_app):
    waited(phlo_app, DAY + timedelta(hours=10), still_waiting=True)
    body = ok(report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="1d", tz="UTC"))
    assert {k: body["rows"][0][k] for k in ("offered", "answered", "abandoned", "service_level_percent")} == {
        "offered": 1, "answered": 0, "abandoned": 0, "service_level_percent": None,
    }


def test_the_span_is_rounded_out_to_whole_intervals(api_for, supervisor, phlo_app):
    waited(phlo_app, DAY + timedelta(hours=10, minutes=5))
    body = ok(report(api_for(supervisor), since="2026-11-20T10:20:00Z", until="2026-11-20T11:10:00Z",
                     interval="1h", tz="UTC"))
    assert [row["start"] for row in body["rows"]] == ["2026-11-20T10:00:00+00:00", "2026-11-20T11:00:00+00:00"]
    assert body["until"] == "2026-11-20T12:00:00+00:00"
    assert body["rows"][0]["offered"] == 1  # from 10:00, though the span asked for began at 10:20


# --- time zones ------------------------------------------------------------------------------------------


def test_intervals_are_the_local_clocks(api_for, supervisor, phlo_app):
    """22:30 UTC on the 19th is 23:30 in Paris (the 19th) and 04:00 in Kolkata (the 20th)."""
    waited(phlo_app, datetime(2026, 11, 19, 22, 30, tzinfo=UTC))
    client = api_for(supervisor)
    paris = ok(report(client, since="2026-11-19", until="2026-11-20", interval="1d", tz="Europe/Paris"))
    assert [(row["start"], row["offered"]) for row in paris["rows"]] == [
        ("2026-11-19T00:00:00+01:00", 1), ("2026-11-20T00:00:00+01:00", 0),
    ]
    kolkata = ok(report(client, since="2026-11-20T03:00:00", until="2026-11-20T05:00:00", interval="1h",
                        tz="Asia/Kolkata"))
    assert [(row["start"], row["offered"]) for row in kolkata["rows"]] == [
        ("2026-11-20T03:00:00+05:30", 0), ("2026-11-20T04:00:00+05:30", 1),
    ]
    kathmandu = ok(report(client, since="2026-11-20T04:00:00", until="2026-11-20T04:30:00", interval="15m",
                          tz="Asia/Kathmandu"))  # +05:45: 22:30 UTC is 04:15 there
    assert [(row["start"], row["offered"]) for row in kathmandu["rows"]] == [
        ("2026-11-20T04:00:00+05:45", 0), ("2026-11-20T04:15:00+05:45", 1),
    ]


def test_the_day_the_clocks_go_back_has_25_hours(api_for, supervisor, phlo_app):
    """New York, 1 November 2026: 01:00-02:00 happens twice (EDT, then EST)."""
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    waited(phlo_app, first)
    waited(phlo_app, second)
    waited(phlo_app, second + timedelta(minutes=1))
    client = api_for(supervisor)

    hours = ok(report(client, since="2026-11-01", until="2026-11-01", interval="1h", tz="America/New_York"))
    assert len(hours["rows"]) == 25
    assert [row["start"] for row in hours["rows"][:4]] == [
        "2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]
    assert [row["offered"] for row in hours["rows"][:4]] == [0, 1, 2, 0]
    day = ok(report(client, since="2026-11-01", until="2026-11-01", interval="1d", tz="America/New_York"))
    assert [(row["start"], row["offered"]) for row in day["rows"]] == [("2026-11-01T00:00:00-04:00", 3)]
    assert day["until"] == "2026-11-02T00:00:00-05:00"


def test_the_day_the_clocks_go_forward_has_23_hours(api_for, supervisor, phlo_app):
    waited(phlo_app, datetime(2026, 3, 8, 7, 30, tzinfo=UTC))  # 03:30 EDT, just after the gap
    body = ok(report(api_for(supervisor), since="2026-03-08", until="2026-03-08", interval="1h",
                     tz="America/New_York"))
    assert len(body["rows"]) == 23
    assert [row["start"][11:] for row in body["rows"][1:3]] == ["01:00:00-05:00", "03:00:00-04:00"]
    assert row_at(body, "2026-03-08T03:00:00-04:00")["offered"] == 1


def test_without_tz_the_servers_time_zone(api_for, supervisor, phlo_app, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    body = ok(report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="1d"))
    assert (body["tz"], body["rows"][0]["start"]) == ("Asia/Tokyo", "2026-11-20T00:00:00+09:00")


# --- filters ---------------------------------------------------------------------------------------------


def test_a_queue_and_its_own_service_level(api_for, supervisor, phlo_app):
    sales = Queue.objects.create(name="Sales", service_level_seconds=60)
    support = Queue.objects.create(name="Support")  # SERVICE_LEVEL_SECONDS: 20
    at = DAY + timedelta(hours=10)
    waited(phlo_app, at, answer_after=40, queue=sales)
    waited(phlo_app, at, answer_after=40, queue=support)
    waited(phlo_app, at, answer_after=5, queue=support)
    client = api_for(supervisor)
    ask = {"since": "2026-11-20", "until": "2026-11-20", "interval": "1d", "tz": "UTC"}

    assert ok(report(client, **ask, queue="Sales"))["rows"][0]["service_level_percent"] == 100.0
    support_row = ok(report(client, **ask, queue="Support"))["rows"][0]
    assert (support_row["offered"], support_row["service_level_percent"]) == (2, 50.0)
    everyone = ok(report(client, **ask))
    assert (everyone["rows"][0]["offered"], everyone["rows"][0]["service_level_percent"]) == (3, pytest.approx(66.7))
    assert everyone["queue"] is None and ok(report(client, **ask, queue="Sales"))["queue"] == "Sales"


def test_an_agents_calls(api_for, supervisor, phlo_app):
    alice, bob = AgentFactory(name="Alice"), AgentFactory(name="Bob")
    at = DAY + timedelta(hours=10)
    waited(phlo_app, at, agent=alice)
    waited(phlo_app, at + timedelta(minutes=20), agent=alice, answer_after=50)
    waited(phlo_app, at, agent=bob)
    waited(phlo_app, at, answer_after=None)
    body = ok(report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="1h", tz="UTC",
                     agent=alice.pk))
    row = row_at(body, "2026-11-20T10:00:00+00:00")
    assert (row["offered"], row["answered"], row["abandoned"], row["average_wait_seconds"]) == (2, 2, 0, 30.0)
    assert body["agent"] == alice.pk


# --- CSV -------------------------------------------------------------------------------------------------


def test_csv_is_the_same_rows(api_for, supervisor, phlo_app):
    waited(phlo_app, DAY + timedelta(hours=1))
    ask = {"since": "2026-11-20", "until": "2026-11-20", "interval": "1h", "tz": "Europe/Paris"}
    client = api_for(supervisor)
    rows = ok(report(client, **ask))["rows"]

    response = report(client, **ask, format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="report-1h-2026-11-20-2026-11-21.csv"'
    text = response.content.decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(
        ["start", "offered", "answered", "abandoned", "service_level_percent", "average_wait_seconds",
         "average_handle_seconds"]
    )
    assert len(parsed) == 24
    assert [r["start"] for r in parsed] == [row["start"] for row in rows]
    busy = row_at({"rows": parsed}, "2026-11-20T02:00:00+01:00")
    assert (busy["offered"], busy["answered"], busy["service_level_percent"]) == ("1", "1", "100.0")
    assert parsed[0]["service_level_percent"] == ""  # none decided: empty, as null in JSON


def test_csv_errors_are_json(api_for, supervisor):
    response = report(api_for(supervisor), since="2026-11-20", until="2026-11-20", interval="2h", format="csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "interval" in response.json()


# --- who may ask, and what is refused -------------------------------------------------------------------


def test_supervisors_only(api_for, agent):
    ask = {"since": "2026-11-20", "until": "2026-11-21", "interval": "1h"}
    assert report(api_for(agent), **ask).status_code == 403
    assert report(api_for(None), **ask).status_code == 401


@pytest.mark.parametrize(("params", "field"), [
    ({"until": "2026-11-21", "interval": "1h"}, "since"),
    ({"since": "2026-11-20", "interval": "1h"}, "until"),
    ({"since": "2026-11-20", "until": "2026-11-21"}, "interval"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "2h"}, "interval"),
    ({"since": "yesterday", "until": "2026-11-21", "interval": "1h"}, "since"),
    ({"since": "2026-11-21", "until": "2026-11-20", "interval": "1h"}, "until"),
    ({"since": "2026-11-20T10:00Z", "until": "2026-11-20T10:00Z", "interval": "1h"}, "until"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "tz": "Mars/Olympus_Mons"}, "tz"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "tz": "../../etc/passwd"}, "tz"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "queue": "Nobody's"}, "queue"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "agent": "abc"}, "agent"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "agent": "999999"}, "agent"),
    ({"since": "2026-11-20", "until": "2026-11-21", "interval": "1h", "format": "xlsx"}, "format"),
    ({"since": "2020-01-01", "until": "2026-11-21", "interval": "15m"}, "interval"),  # too many rows
])
def test_what_does_not_fit_is_a_400_naming_the_field(api_for, supervisor, params, field):
    response = report(api_for(supervisor), **params)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()


# --- from an interval to its calls in the history ------------------------------------------------------


def test_an_intervals_calls_in_the_history_and_its_export(api_for, supervisor, phlo_app):
    """A bar of the report links to the history of its calls: the customer started waiting in the
    interval (`waited_since`, `waited_until`), of its queue (`queue`), of its agent (`agent`)."""
    sales = Queue.objects.create(name="Sales")
    alice = AgentFactory(name="Alice")
    at = DAY + timedelta(hours=10)
    inside = [
        waited(phlo_app, at + timedelta(minutes=58), answer_after=600, talk=3000, queue=sales, agent=alice),
        waited(phlo_app, at, answer_after=None, queue=sales),
    ]
    waited(phlo_app, at - timedelta(seconds=1), queue=sales, agent=alice)  # the interval before
    waited(phlo_app, at + timedelta(minutes=5))  # no queue
    client = api_for(supervisor)
    row = row_at(ok(report(client, since="2026-11-20", until="2026-11-20", interval="1h", tz="UTC", queue="Sales")),
                 "2026-11-20T10:00:00+00:00")
    link = {"waited_since": "2026-11-20T10:00:00+00:00", "waited_until": "2026-11-20T11:00:00+00:00",
            "queue": "Sales"}

    calls = ok(client.get("/api/calls/", {"status": "ended", **link}))
    assert sorted(call["id"] for call in calls) == sorted(call.pk for call in inside)
    assert len(calls) == row["offered"]
    [alices] = ok(client.get("/api/calls/", {"status": "ended", **link, "agent": alice.pk}))
    assert alices["id"] == inside[0].pk
    exported = b"".join(client.get("/api/calls/export.csv", link).streaming_content).decode("utf-8-sig").splitlines()
    assert len(exported) == 1 + len(inside)


@pytest.mark.parametrize(("params", "field"), [
    ({"queue": "Nobody's"}, "queue"),
    ({"waited_since": "soon"}, "waited_since"),
    ({"waited_since": "2026-11-20T11:00Z", "waited_until": "2026-11-20T10:00Z"}, "waited_until"),
])
def test_the_historys_new_filters_refuse_what_does_not_fit(api_for, supervisor, params, field):
    response = api_for(supervisor).get("/api/calls/", {"status": "ended", **params})
    assert response.status_code == 400 and field in response.json()


# --- the page --------------------------------------------------------------------------------------------


def test_the_reports_page_is_for_supervisors(client, agent, supervisor, django_user_model):
    assert client.get("/reports/")["Location"] == "/login/?next=/reports/"
    assert signed_in(agent).get("/reports/")["Location"] == "/agent/"
    nobody = django_user_model.objects.create_user("nodesk", password="correct-horse-1")
    assert signed_in(nobody).get("/reports/").status_code == 403
    Queue.objects.create(name="Sales")
    response = signed_in(supervisor).get("/reports/")
    assert response.status_code == 200
    data = page_data(response)
    assert (data["queues"], data["intervals"]) == (["Sales"], ["15m", "30m", "1h", "1d"])
    assert {"id": supervisor.pk, "name": "Sam Supervisor"} in data["agents"]
    assert b'href="/reports/" aria-current="page">Reports</a>' in response.content
    assert b"Reports</a>" not in signed_in(agent).get("/history/").content  # agents see no link to it


def test_the_schema_documents_the_report(client, db):
    schema = client.get("/api/schema/?format=json").json()
    report_path = schema["paths"]["/api/reports/intervals/"]["get"]
    assert {p["name"] for p in report_path["parameters"]} == {
        "since", "until", "interval", "queue", "agent", "tz", "format",
    }
    assert set(report_path["responses"]) == {"200", "400", "401", "403"}
    assert set(report_path["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    rows = schema["components"]["schemas"]["IntervalRow"]["properties"]
    assert set(rows) == ROW_KEYS
