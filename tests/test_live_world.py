"""Fan-out at process scale: group names every channel layer accepts, and the shared read behind a
process-wide resync giving each dashboard exactly its own snapshot."""

import pytest
from channels.layers import BaseChannelLayer
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.viewers import viewer_for
from calls.dashboards import live_world, snapshot_for
from live.publish import GROUP
from tests.factories import AgentFactory, CallFactory, MemberFactory


def test_the_fanout_group_name_is_valid_for_every_channel_layer():
    """channels-redis's core layer checks names as the in-memory one does (the pub/sub one does not)."""
    assert BaseChannelLayer().require_valid_group_name(GROUP)


@pytest.fixture
def calls(db, phlo_app, agent, other_agent):
    """Alice on one live call, Oscar on another after Alice left it, one call over, one nobody's."""
    alices = CallFactory(phlo_app=phlo_app, status="active")
    MemberFactory(call=alices, address=agent.address, agent=agent, role="agent")
    handed_over = CallFactory(phlo_app=phlo_app, status="ringing")
    MemberFactory(call=handed_over, address=agent.address, agent=agent, role="agent", state="left")
    MemberFactory(call=handed_over, address=other_agent.address, agent=other_agent, role="agent")
    ended = CallFactory(phlo_app=phlo_app, status="ended")
    MemberFactory(call=ended, address=agent.address, agent=agent, role="agent", state="left")
    MemberFactory(call=CallFactory(phlo_app=phlo_app, status="active"))
    return alices, handed_over


@pytest.mark.django_db
def test_each_viewer_gets_what_its_own_snapshot_would_read(calls, agent, other_agent, supervisor):
    operator = get_user_model().objects.create_superuser("root", password="correct-horse-1")
    bystander = AgentFactory(user__username="bea")
    world = live_world()
    for user in (agent.user, other_agent.user, supervisor.user, operator, bystander.user):
        viewer = viewer_for(user)
        assert world.snapshot_for(viewer) == snapshot_for(viewer), user.username
    assert [c["id"] for c in world.snapshot_for(viewer_for(agent.user)).body["calls"]] == sorted(
        (c.pk for c in calls), reverse=True)
    assert len(world.snapshot_for(viewer_for(supervisor.user)).body["calls"]) == 3
    assert world.snapshot_for(viewer_for(bystander.user)).body["calls"] == []


@pytest.mark.django_db
def test_it_is_read_in_a_few_queries_however_many_calls(phlo_app, agent):
    for _ in range(20):
        MemberFactory(call=CallFactory(phlo_app=phlo_app), address=agent.address, agent=agent, role="agent")
    with CaptureQueriesContext(connection) as queries:
        world = live_world()
    assert len(world.calls) == 20
    assert len(queries) <= 7  # calls, their members, the directory; the queue's figures (4, whatever the calls)
