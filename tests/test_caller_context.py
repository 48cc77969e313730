"""The caller's story (README, "Pages"): a call carries its customer's last five ended
calls, newest first, read once when the customer is first known, on the offer and during the call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.models import Disposition, Queue
from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.test_routing import customer_waits, idle_agent, route
from tests.test_routing import phlo as phlo

pytestmark = pytest.mark.django_db

CUSTOMER = "+12025550001"


def earlier_call(phlo_app, *, customer: str, minutes_ago: int, agent=None, **fields):
    ended = timezone.now() - timedelta(minutes=minutes_ago)
    call = CallFactory(phlo_app=phlo_app, status="ended", started_at=ended - timedelta(minutes=3), ended_at=ended,
                       direction="inbound", **fields)
    MemberFactory(call=call, address=customer, role="customer", state="left")
    if agent is not None:
        MemberFactory(call=call, address=agent.address, role="agent", state="left", agent=agent)
    return call


def test_the_offered_agent_sees_the_callers_last_five_calls(client, phlo_app, phlo, api_for):
    queue = Queue.objects.create(name="billing")
    resolved = Disposition.objects.create(name="Resolved")
    bob = AgentFactory(address="+14155550299", name="Bob Chen")
    calls = [
        earlier_call(phlo_app, customer="12025550001", minutes_ago=60 * n, agent=bob, outcome="answered",
                     notes=f"note {n}", disposition=resolved if n == 1 else None, queue=queue if n == 1 else None)
        for n in range(1, 7)
    ]
    earlier_call(phlo_app, customer="+12025559999", minutes_ago=5)  # someone else
    alice = idle_agent("+14155550201", idle_for=60)
    call = customer_waits(client, phlo_app, "mpc-now", CUSTOMER)
    route()

    seen = api_for(alice).get(f"/api/calls/{call.pk}/").json()
    story = seen["customer_history"]
    assert [entry["id"] for entry in story] == [c.pk for c in calls[:5]]  # newest first, five
    assert story[0] == {
        "id": calls[0].pk, "ended_at": calls[0].ended_at.isoformat().replace("+00:00", "Z"), "outcome": "answered",
        "queue": "billing", "disposition": "Resolved", "notes": "note 1", "agents": ["Bob Chen"],
    }
    assert all(entry["queue"] is None and entry["disposition"] is None for entry in story[1:])


def test_a_first_time_caller_has_no_story(client, phlo_app, api_for, supervisor):
    call = customer_waits(client, phlo_app, "mpc-now", CUSTOMER)
    assert api_for(supervisor).get(f"/api/calls/{call.pk}/").json()["customer_history"] == []


def test_the_story_is_read_once_per_call(client, phlo_app, django_assert_max_num_queries):
    from tests.support.plivo import django_callback, participant

    earlier_call(phlo_app, customer=CUSTOMER, minutes_ago=10, outcome="abandoned")
    call = customer_waits(client, phlo_app, "mpc-now", CUSTOMER)
    call.refresh_from_db()
    assert len(call.customer_history) == 1
    earlier_call(phlo_app, customer=CUSTOMER, minutes_ago=1, outcome="answered")  # ended since: not read again
    django_callback(client, phlo_app, participant("ParticipantHold", "mpc-now", "c-mpc-now", CUSTOMER, seq=2))
    call.refresh_from_db()
    assert [entry["outcome"] for entry in call.customer_history] == ["abandoned"]
