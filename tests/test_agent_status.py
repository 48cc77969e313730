"""Agent status follows calls: busy on the line, wrap-up when the last call ends, then available."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.status import agents_finish_wrap_up
from tests.support.plivo import django_callback, mpc_event, participant

pytestmark = pytest.mark.django_db

ALICE = "+14155550101"


def alice_joins(client, app, mpc="mpc-1", seq=1):
    return django_callback(client, app, participant("ParticipantJoin", mpc, f"a-{mpc}", ALICE, role="Agent",
                                                    direction="outbound", seq=seq))


def status_of(agent):
    return Agent.objects.get(pk=agent.pk).status


def test_on_the_line_means_busy(client, phlo_app, agent):
    alice_joins(client, phlo_app)
    assert status_of(agent) == "busy"


def test_the_end_of_the_last_call_starts_wrap_up(client, phlo_app, agent, settings):
    settings.WRAP_UP_SECONDS = 30
    alice_joins(client, phlo_app, "mpc-1")
    alice_joins(client, phlo_app, "mpc-2")
    django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-1", seq=5))
    assert status_of(agent) == "busy"  # still on mpc-2
    django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-2", seq=5))
    agent.refresh_from_db()
    assert agent.status == "wrap_up"
    assert timedelta(seconds=29) < agent.wrap_up_until - timezone.now() <= timedelta(seconds=30)


def test_wrap_up_ends_in_available(client, phlo_app, agent, settings):
    settings.WRAP_UP_SECONDS = 0
    alice_joins(client, phlo_app)
    django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-1", seq=5))
    messages = agents_finish_wrap_up()
    assert status_of(agent) == "available"
    assert [m["key"] for m in messages] == [f"agent:{agent.pk}"]
    assert agents_finish_wrap_up() == []  # once only


def test_an_agent_who_chose_away_during_wrap_up_stays_away(client, phlo_app, agent, api_for, settings):
    settings.WRAP_UP_SECONDS = 0
    alice_joins(client, phlo_app)
    django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-1", seq=5))
    api_for(agent).patch("/api/me/", {"status": "away"}, format="json")
    agents_finish_wrap_up()
    assert status_of(agent) == "away"


def test_leaving_a_call_that_goes_on_also_ends_busy(client, phlo_app, agent):
    alice_joins(client, phlo_app)
    django_callback(client, phlo_app, participant("ParticipantExit", "mpc-1", "a-mpc-1", ALICE, role="Agent",
                                                  direction="outbound", seq=2))
    assert status_of(agent) == "wrap_up"
