"""The bench's traffic (bench/scenario.py) means what the bench assumes: every callback of a script
is applied and changes what a dashboard shows (version i + 2 after event i), and each agent is a
member of the call from the event the script says they see it from. If the state machine changes
what these callbacks do, the bench's accounting would silently go wrong; this says so instead."""

from urllib.parse import parse_qsl

import pytest

from bench.scenario import HOLDS_MIX, THE_MIX, call_script, traffic, transfer_script, version_after
from bench.seed import agent_address
from calls.models import Call
from tests.factories import AgentFactory
from tests.support.plivo import django_callback

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "script",
    [call_script(7, 1, "t"), transfer_script(8, 1, 2, "t"), call_script(9, 1, "t", holds=6)],
    ids=["plain", "transfer", "hold-unhold"],
)
def test_every_callback_of_a_script_is_applied_and_seen(client, phlo_app, script):
    agents = {n: AgentFactory(address=agent_address(n)) for n in (1, 2)}
    for i, params in enumerate(script.events):
        response = django_callback(client, phlo_app, params)
        assert response.status_code == 200
        assert response.json()["outcome"] == "applied", (i, params["EventName"])
        call = Call.objects.get(mpc_uuid=params["MPCUUID"])
        assert call.version == version_after(i)
        members_agents = set(call.members.exclude(agent=None).values_list("agent_id", flat=True))
        watching = {agents[n].pk for n, since in script.watchers if i >= since}
        assert members_agents == watching


def test_a_transfer_target_is_free_while_the_call_is_played():
    callbacks = traffic(first_call=0, calls=40, slots=10, agents=20, tag="t")
    busy: dict[int, set[int]] = {}  # agent → calls they are on at a moment
    for cb in callbacks:
        for agent in cb.agents_watching():
            busy.setdefault(agent, set()).add(cb.call_number)
        if dict(parse_qsl(cb.body))["EventName"] == "MPCEnd":
            for calls in busy.values():
                calls.discard(cb.call_number)
        assert all(len(calls) <= 1 for calls in busy.values())


def test_the_outside_loads_shape_starts_about_six_calls_a_second_at_100():
    assert 100 / HOLDS_MIX.events_per_call == pytest.approx(6, abs=0.2)
    assert THE_MIX.events_per_call == pytest.approx(9.5)
    callbacks = traffic(first_call=0, calls=20, slots=10, agents=20, tag="h", mix=HOLDS_MIX)
    names = [dict(parse_qsl(cb.body))["EventName"] for cb in callbacks]
    assert names.count("MPCEnd") == 20 and names.count("ParticipantHold") == 120
    assert "ParticipantJoin" in names and names.count("ParticipantJoin") == 40
