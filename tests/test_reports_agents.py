"""The agents' figures of the reports (docs/reports.md, "Agents"): the work log every status change and
every finished call is written to (agents/worklog.py), what it reads for any span, and what the
report shows for an agent after a real call with a hold, played through signed callbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from agents import worklog
from agents.models import WorkLog
from agents.status import agent_set_status, agents_finish_wrap_up, follow_calls, offer, offer_failed
from tests.factories import AgentFactory

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
