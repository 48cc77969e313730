"""The agents' figures of the reports (docs/reports.md, "Agents"): the work log every status change and
every finished call is written to (agents/worklog.py), what it reads for any span, and what the
report shows for an agent after a real call with a hold, played through signed callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from agents import worklog
from agents.models import AgentStatus, WorkLog
from agents.status import agent_set_status, agents_finish_wrap_up, follow_calls, offer, offer_failed
from calls.models import Call
from tests.factories import AgentFactory
from tests.support.plivo import django_callback, mpc_event, participant
from tests.test_reports_api import ok, report

pytestmark = pytest.mark.django_db

T = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def statuses(agent) -> list[str]:
    return list(WorkLog.objects.filter(agent=agent).order_by("at", "id").values_list("status", flat=True))


def test_every_status_change_is_written_once():
    agent = AgentFactory(status="offline")
    agent_set_status(agent=agent, status="available")
    agent_set_status(agent=agent, status="available")  # no change: no row
    assert offer(agent.pk)
    offer_failed(agent.pk)
    agent_set_status(agent=agent, status="available")
    follow_calls(agent_ids={agent.pk}, on_the_line={agent.pk})
    follow_calls(agent_ids={agent.pk}, on_the_line=set())
    type(agent).objects.filter(pk=agent.pk).update(wrap_up_until=timezone.now())
    agents_finish_wrap_up()
    assert statuses(agent) == ["available", "offered", "away", "available", "busy", "wrap_up", "available"]


def test_a_claim_that_loses_writes_nothing():
    agent = AgentFactory(status="busy")
    assert not offer(agent.pk)
    assert statuses(agent) == []


def test_time_in_each_status_for_any_span():
    agent = AgentFactory()
    for at, status in [(0, "available"), (10, "offered"), (10.5, "busy"), (20.5, "wrap_up"), (21, "available"),
                       (50, "away")]:
        worklog.status_changed(agent.pk, status, T + minutes(at))

    whole = worklog.work_between(T, T + minutes(60))[agent.pk]
    assert (whole.available, whole.offered, whole.busy, whole.wrap_up) == (
        minutes(39), minutes(0.5), minutes(10), minutes(0.5)
    )
    assert whole.occupancy_percent == pytest.approx(100 * 11 / 50, abs=0.05)
    middle = worklog.work_between(T + minutes(5), T + minutes(15))[agent.pk]  # cut through two periods
    assert (middle.available, middle.offered, middle.busy) == (minutes(5), minutes(0.5), minutes(4.5))
    assert worklog.work_between(T - minutes(30), T - minutes(10)) == {}  # nothing written yet: not listed
    assert not worklog.work_between(T - minutes(30), T + timedelta(seconds=0))[agent.pk].anything
    away = worklog.work_between(T + minutes(55), T + minutes(600))[agent.pk]
    assert not away.anything and away.occupancy_percent is None


def test_finished_calls_add_up_and_keep_the_status_running():
    agent = AgentFactory()
    worklog.status_changed(agent.pk, "busy", T)
    worklog.calls_finished({agent.pk: worklog.CallWork(talk=minutes(4), hold=minutes(1))}, T + minutes(5))
    worklog.calls_finished({agent.pk: worklog.CallWork(talk=minutes(2), hold=minutes(0))}, T + minutes(8))
    worklog.status_changed(agent.pk, "wrap_up", T + minutes(8))
    work = worklog.work_between(T, T + minutes(9))[agent.pk]
    assert (work.handled, work.talk, work.hold, work.busy, work.wrap_up) == (
        2, minutes(6), minutes(1), minutes(8), minutes(1)
    )
    assert worklog.work_between(T + minutes(6), T + minutes(9))[agent.pk].handled == 1


def test_a_clock_read_before_the_lock_never_runs_backwards():
    agent = AgentFactory()
    worklog.status_changed(agent.pk, "available", T)
    worklog.status_changed(agent.pk, "offered", T - timedelta(milliseconds=3))
    [first, second] = WorkLog.objects.filter(agent=agent).order_by("id")
    assert second.at == first.at and second.available == timedelta(0)


# --- a real call ---------------------------------------------------------------------------------------


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_a_call_with_a_hold_in_the_report(client, api_for, supervisor, phlo_app):
    alice = AgentFactory(name="Alice Agent", address="+14155550101", status="available")
    start = timezone.now() - minutes(5)
    customer, agent_leg = ("c1", "+12025550143"), ("a1", alice.address)

    def event(name, who, after_seconds, **extra):
        member, address = who
        role, direction = ("Agent", "outbound") if who == agent_leg else ("Customer", "inbound")
        params = participant(name, "mpc-hold", member, address, role=role, direction=direction,
                             EventTimestamp=stamp(start + timedelta(seconds=after_seconds)), **extra)
        assert django_callback(client, phlo_app, params).status_code == 200

    event("ParticipantJoin", customer, 0)
    event("ParticipantJoin", agent_leg, 10)
    event("ParticipantHold", customer, 40)
    event("ParticipantUnhold", customer, 70)
    event("ParticipantHold", customer, 100)
    ended = mpc_event("MPCEnd", "mpc-hold", EventTimestamp=stamp(start + timedelta(seconds=130)))
    assert django_callback(client, phlo_app, ended).status_code == 200
    call = Call.objects.get(mpc_uuid="mpc-hold")
    assert (call.status, call.outcome) == ("ended", "answered")

    call.save()  # saved again whole (an admin, a script): counted once all the same
    today = timezone.now().date().isoformat()
    body = ok(report(api_for(supervisor), since=today, until=today, interval="1d", tz="UTC"))
    [alice_row] = [row for row in body["agents"] if row["id"] == alice.pk]
    # On the line 10 s → 130 s; the customer held 40-70 s and from 100 s to the end.
    assert {k: alice_row[k] for k in ("name", "handled", "talk_seconds", "hold_seconds")} == {
        "name": "Alice Agent", "handled": 1, "talk_seconds": 60, "hold_seconds": 60,
    }
    assert alice.__class__.objects.get(pk=alice.pk).status == AgentStatus.WRAP_UP
    assert alice_row["wrap_up_seconds"] >= 0 and alice_row["occupancy_percent"] is not None
    assert set(alice_row) == {"id", "name", "handled", "talk_seconds", "hold_seconds", "wrap_up_seconds",
                              "occupancy_percent"}

    only_alice = ok(report(api_for(supervisor), since=today, until=today, interval="1d", tz="UTC", agent=alice.pk))
    assert [row["id"] for row in only_alice["agents"]] == [alice.pk]
