"""Query counts on the hot paths stay flat: no query per member, call or agent (issue 7).

A callback for a known call is applied in a fixed number of queries whatever the call's size, and a
dashboard snapshot costs the same whether there is one live call or many.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.viewers import viewer_for
from calls.dashboards import snapshot_for
from tests.factories import AgentFactory
from tests.support.plivo import django_callback, participant

pytestmark = pytest.mark.django_db

# app, nonce, call, members, member, call, event (+ BEGIN/COMMIT on some backends)
CALLBACK_QUERIES_AT_MOST = 9


def customer(n: int) -> str:
    return f"+1202555{n:04d}"


def make_call(client, phlo_app, mpc: str, members: int, *, agents=()) -> int:
    """A live call of `members` customers plus the given agents; returns the next sequence number."""
    seq = 1
    for n in range(members):
        assert (
            django_callback(
                client, phlo_app, participant("ParticipantJoin", mpc, f"c{n}", customer(n), seq=seq)
            ).status_code
            == 200
        )
        seq += 1
    for n, agent in enumerate(agents):
        params = participant(
            "ParticipantJoin", mpc, f"a{n}", agent.address, role="Agent", direction="outbound", seq=seq
        )
        assert django_callback(client, phlo_app, params).status_code == 200
        seq += 1
    return seq


def queries_for_callback(client, phlo_app, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = django_callback(client, phlo_app, params)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "applied"
    return len(queries)


def test_a_callback_for_a_known_call_costs_the_same_whatever_its_size(client, phlo_app):
    counts = {}
    for size in (2, 12):
        mpc = f"mpc-size-{size}"
        seq = make_call(client, phlo_app, mpc, size)
        counts[size] = queries_for_callback(
            client, phlo_app, participant("ParticipantHold", mpc, "c0", customer(0), seq=seq)
        )
    assert counts[2] == counts[12]
    assert counts[2] <= CALLBACK_QUERIES_AT_MOST


def test_an_agent_callback_costs_the_same_whatever_the_number_of_agents_in_the_call(client, phlo_app):
    counts = {}
    for size in (1, 6):
        agents = [AgentFactory(address=f"+1415777{size:02d}{n:02d}") for n in range(size)]
        mpc = f"mpc-agents-{size}"
        seq = make_call(client, phlo_app, mpc, 1, agents=agents)
        params = participant(
            "ParticipantHold", mpc, "a0", agents[0].address, role="Agent", direction="outbound", seq=seq
        )
        counts[size] = queries_for_callback(client, phlo_app, params)
    assert counts[1] == counts[6]


def test_a_new_member_joining_costs_the_same_whatever_the_call_size(client, phlo_app):
    counts = {}
    for size in (1, 10):
        mpc = f"mpc-join-{size}"
        seq = make_call(client, phlo_app, mpc, size)
        params = participant("ParticipantJoin", mpc, "late", customer(999), seq=seq)
        counts[size] = queries_for_callback(client, phlo_app, params)
    assert counts[1] == counts[10]


@pytest.mark.parametrize("who", ["supervisor", "agent"])
def test_a_snapshot_costs_the_same_for_one_call_or_many(client, phlo_app, supervisor, agent, who):
    viewer_agent = supervisor if who == "supervisor" else agent

    def snapshot_queries() -> tuple[int, int]:
        viewer = viewer_for(viewer_agent.user)
        with CaptureQueriesContext(connection) as queries:
            snapshot = snapshot_for(viewer)
        return len(queries), len(snapshot.body["calls"])

    make_call(client, phlo_app, "mpc-first", 2, agents=[agent])
    few, seen_few = snapshot_queries()
    for n in range(8):
        extra_agents = [AgentFactory(address=f"+14158880{n:03d}")]
        make_call(client, phlo_app, f"mpc-more-{n}", 3, agents=[agent, *extra_agents] if n % 2 else extra_agents)
    many, seen_many = snapshot_queries()
    assert seen_many > seen_few  # the second snapshot really has more calls in it
    assert few == many
