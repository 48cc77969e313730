"""The router's rules (calls/queue/routing.py, docs/routing.md), in-process: callbacks through the real
callback view, routing passes run by hand, PHLO's answers mocked (tests/test_routing_e2e.py runs
the same rules against the simulator and real Daphne processes)."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from agents.models import Agent
from calls.models import Action, Call, Member
from calls.queue.figures import queue_stats
from calls.queue.routing import Router
from tests.factories import AgentFactory
from tests.support.phlo_api import NODE_URL, mocked_phlo, sent
from tests.support.plivo import django_callback, mpc_event, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


def route():
    """One pass of the router, as the background one runs it."""

    async def one_pass():
        await Router(asyncio.get_running_loop()).run_pass()

    async_to_sync(one_pass)()


def idle_agent(address: str, *, idle_for: float, **fields) -> Agent:
    return AgentFactory(address=address, status_since=timezone.now() - timedelta(seconds=idle_for), **fields)


def stamp(seconds_ago: float = 0) -> str:
    """An EventTimestamp as Plivo writes it (UTC), `seconds_ago` before now."""
    return (timezone.now() - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%d %H:%M:%S.%f")


def customer_waits(client, app, mpc: str, customer: str = "+12025550001", seq: int = 1, ago: float = 0) -> Call:
    params = participant("ParticipantJoin", mpc, f"c-{mpc}", customer, seq=seq, EventTimestamp=stamp(ago))
    assert django_callback(client, app, params).status_code == 200
    return Call.objects.get(mpc_uuid=mpc)


def agent_event(client, app, mpc: str, agent: Agent, name: str, seq: int):
    params = participant(name, mpc, f"a-{agent.pk}", agent.address, role="Agent", direction="outbound", seq=seq,
                         EventTimestamp=stamp())
    assert django_callback(client, app, params).status_code == 200


def dialled(phlo) -> list[tuple[str, str]]:
    """(to, trigger_source) of every `call` action PHLO received."""
    return [(body["to"], body["trigger_source"]) for _, url, _, body in sent(phlo) if url == NODE_URL]


def status(agent: Agent) -> tuple[str, str]:
    agent.refresh_from_db()
    return agent.status, agent.status_reason


def test_a_customer_alone_in_the_call_waits(client, phlo_app):
    call = customer_waits(client, phlo_app, "mpc-1")
    assert (call.status, call.waiting_since is not None, call.direction) == ("waiting", True, "inbound")


def test_the_longest_idle_agent_is_offered_the_call(client, phlo_app, phlo):
    recent = idle_agent("+14155550201", idle_for=10)
    longest = idle_agent("+14155550202", idle_for=300)
    call = customer_waits(client, phlo_app, "mpc-1")

    route()

    assert dialled(phlo) == [(longest.address, "+12025550001")]
    body = sent(phlo)[0][3]
    assert body == {"action": "call", "trigger_source": "+12025550001", "to": longest.address, "role": "agent"}
    call.refresh_from_db()
    assert (call.offered_to_id, call.status) == (longest.pk, "waiting")
    assert status(longest) == ("offered", "") and status(recent) == ("available", "")
    leg = Member.objects.get(call=call, address=longest.address)
    assert (leg.role, leg.state, leg.joined_via, leg.agent_id) == ("agent", "dialing", "routed", longest.pk)


def test_the_oldest_waiting_call_goes_first(client, phlo_app, phlo):
    customer_waits(client, phlo_app, "mpc-later", "+12025550001", ago=60)
    customer_waits(client, phlo_app, "mpc-earlier", "+12025550002", ago=300)  # told of second, waiting longer
    only = idle_agent("+14155550201", idle_for=10)

    route()

    assert dialled(phlo) == [(only.address, "+12025550002")]
    assert Call.objects.get(mpc_uuid="mpc-later").offered_to_id is None


def test_each_agent_is_offered_one_call_and_each_call_to_one_agent(client, phlo_app, phlo):
    agents = [idle_agent(f"+1415555030{n}", idle_for=100 - n) for n in range(3)]
    for n in range(5):
        customer_waits(client, phlo_app, f"mpc-{n}", f"+1202555000{n}")

    route()
    route()  # a second pass finds nobody left to offer

    offers = dialled(phlo)
    assert len(offers) == 3
    assert sorted(to for to, _ in offers) == sorted(a.address for a in agents)
    assert len({trigger for _, trigger in offers}) == 3
    assert Call.objects.filter(status="waiting", offered_to__isnull=True).count() == 2


@pytest.mark.parametrize("not_available", ["away", "offline", "busy", "wrap_up", "offered"])
def test_nobody_who_is_not_available_is_offered_a_call(client, phlo_app, phlo, not_available):
    idle_agent("+14155550201", idle_for=999, status=not_available)
    customer_waits(client, phlo_app, "mpc-1")
    route()
    assert dialled(phlo) == []


def test_a_deactivated_agent_is_never_offered_a_call(client, phlo_app, phlo):
    agent = idle_agent("+14155550201", idle_for=999)
    agent.user.is_active = False
    agent.user.save()
    customer_waits(client, phlo_app, "mpc-1")
    route()
    assert dialled(phlo) == []


def test_the_offer_succeeds_when_the_agents_leg_joins(client, phlo_app, phlo):
    agent = idle_agent("+14155550201", idle_for=60)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()

    agent_event(client, phlo_app, "mpc-1", agent, "ParticipantJoin", seq=2)

    call.refresh_from_db()
    assert (call.status, call.outcome, call.offered_to_id) == ("active", "answered", None)
    assert call.answered_at is not None and call.answered_at >= call.waiting_since
    assert status(agent) == ("busy", "")
    assert Action.objects.get(action="offer").upstream_outcome == "answered"


def test_a_refused_request_is_a_missed_offer_and_the_next_agent_is_offered_at_once(client, phlo_app, phlo):
    first = idle_agent("+14155550201", idle_for=600)
    second = idle_agent("+14155550202", idle_for=60)
    phlo["phlo"].side_effect = [
        httpx.Response(400, json={"api_id": "x", "error": "+14155550201 is busy in another call"}),
        httpx.Response(201, json={"api_id": "ok", "error": ""}),
    ]
    call = customer_waits(client, phlo_app, "mpc-1")  # offered to the first with the join; PHLO refuses

    route()

    assert [to for to, _ in dialled(phlo)] == [first.address, second.address]
    assert status(first) == ("away", "missed call")
    assert status(second) == ("offered", "")
    call.refresh_from_db()
    assert (call.offered_to_id, call.last_offered_to_id, call.missed_offers) == (second.pk, first.pk, 1)
    first_leg = Member.objects.get(call=call, address=first.address)
    assert first_leg.state == "left"
    missed = Action.objects.get(action="offer", upstream_outcome="missed")
    assert "busy in another call" in missed.error


def test_the_agents_leg_leaving_without_joining_is_a_missed_offer(client, phlo_app, phlo):
    first = idle_agent("+14155550201", idle_for=600)
    second = idle_agent("+14155550202", idle_for=60)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()

    agent_event(client, phlo_app, "mpc-1", first, "ParticipantExit", seq=2)

    assert status(first) == ("away", "missed call")
    call.refresh_from_db()
    assert (call.status, call.offered_to_id, call.missed_offers) == ("waiting", None, 1)
    route()
    assert [to for to, _ in dialled(phlo)] == [first.address, second.address]


def test_a_call_is_not_offered_twice_in_a_row_to_the_same_agent_unless_they_are_the_only_one(client, phlo_app, phlo):
    first = idle_agent("+14155550201", idle_for=600)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()
    agent_event(client, phlo_app, "mpc-1", first, "ParticipantExit", seq=2)
    Agent.objects.filter(pk=first.pk).update(status="available", status_since=timezone.now() - timedelta(hours=1))
    second = idle_agent("+14155550202", idle_for=5)  # idle for less time than `first`

    route()
    assert dialled(phlo)[-1][0] == second.address  # not `first` again

    agent_event(client, phlo_app, "mpc-1", second, "ParticipantExit", seq=3)
    Agent.objects.filter(pk=second.pk).update(status="away")
    route()
    assert dialled(phlo)[-1][0] == first.address  # the only one available: offered again
    call.refresh_from_db()
    assert call.missed_offers == 2


def test_a_ring_timeout_misses_the_offer_and_hangs_up_the_leg(client, phlo_app, phlo, settings):
    settings.ROUTING_RING_SECONDS = 20
    agent = idle_agent("+14155550201", idle_for=600)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()
    Call.objects.filter(pk=call.pk).update(offered_at=timezone.now() - timedelta(seconds=21))

    route()

    assert status(agent) == ("away", "missed call")
    call.refresh_from_db()
    assert (call.offered_to_id, call.missed_offers) == (None, 1)
    hangups = [body for _, url, _, body in sent(phlo) if url.endswith(f"members/{agent.address}/")]
    assert hangups == [{"action": "hangup"}]


def test_another_agent_joining_first_withdraws_the_offer(client, phlo_app, phlo):
    offered = idle_agent("+14155550201", idle_for=600)
    other = AgentFactory(address="+14155550209", status="away")
    call = customer_waits(client, phlo_app, "mpc-1")
    route()

    agent_event(client, phlo_app, "mpc-1", other, "ParticipantJoin", seq=2)

    call.refresh_from_db()
    assert (call.status, call.offered_to_id, call.missed_offers) == ("active", None, 0)
    assert status(offered) == ("available", "")
    assert Action.objects.get(action="offer").upstream_outcome == "withdrawn"


def test_a_customer_who_leaves_while_waiting_abandons_the_call(client, phlo_app, phlo):
    offered = idle_agent("+14155550201", idle_for=600)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()

    django_callback(client, phlo_app, participant("ParticipantExit", "mpc-1", "c-mpc-1", "+12025550001", seq=2))

    call.refresh_from_db()
    assert (call.status, call.outcome, call.offered_to_id) == ("ended", "abandoned", None)
    assert status(offered) == ("available", "")  # nobody missed anything


def test_an_agent_who_becomes_available_is_offered_the_oldest_waiting_call(client, phlo_app, phlo, api_for):
    agent = AgentFactory(address="+14155550201", status="away")
    customer_waits(client, phlo_app, "mpc-1")
    route()
    assert dialled(phlo) == []

    assert api_for(agent).patch("/api/me/", {"status": "available"}, format="json").status_code == 200
    route()

    assert dialled(phlo) == [(agent.address, "+12025550001")]


def test_a_supervisor_is_routed_only_when_they_chose_available(client, phlo_app, phlo):
    supervisor = idle_agent("+14155550299", idle_for=600, is_supervisor=True, status="offline")
    customer_waits(client, phlo_app, "mpc-1")
    route()
    assert dialled(phlo) == []
    Agent.objects.filter(pk=supervisor.pk).update(status="available")
    route()
    assert dialled(phlo) == [(supervisor.address, "+12025550001")]


def test_with_routing_off_calls_are_shown_as_before_and_never_offered(client, phlo_app, phlo):
    phlo_app.routing = False
    phlo_app.save()
    idle_agent("+14155550201", idle_for=600)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()
    assert call.status == "active" and call.waiting_since is None
    assert dialled(phlo) == []


def test_a_call_an_agent_placed_is_never_queued(client, phlo_app, phlo, api_for):
    agent = AgentFactory(address="+14155550201")
    response = api_for(agent).post("/api/calls/", {"to": "+12025550001"}, format="json")
    assert response.status_code == 201
    call = Call.objects.get()
    django_callback(client, phlo_app, participant("MPCInitialized", "mpc-out", "x", agent.address, seq=1))
    django_callback(client, phlo_app, participant("ParticipantJoin", "mpc-out", "c1", "+12025550001",
                                                  direction="outbound", seq=2))
    call.refresh_from_db()
    assert (call.direction, call.outcome) == ("outbound", "outbound")
    assert call.status != "waiting" and call.waiting_since is None


def test_the_days_figures(client, phlo_app, phlo, settings):
    settings.SERVICE_LEVEL_SECONDS = 20
    agent = idle_agent("+14155550201", idle_for=600)
    customer_waits(client, phlo_app, "mpc-1", "+12025550001", ago=30)
    route()
    agent_event(client, phlo_app, "mpc-1", agent, "ParticipantJoin", seq=2)
    agent_event(client, phlo_app, "mpc-1", agent, "ParticipantExit", seq=3)
    django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-1", seq=4, EventTimestamp=stamp()))
    customer_waits(client, phlo_app, "mpc-2", "+12025550002")
    django_callback(client, phlo_app, participant("ParticipantExit", "mpc-2", "c-mpc-2", "+12025550002", seq=2))
    customer_waits(client, phlo_app, "mpc-3", "+12025550003")

    stats = queue_stats()

    assert (stats["waiting"], stats["answered_today"], stats["abandoned_today"]) == (1, 1, 1)
    assert stats["service_level_percent"] == 0.0  # the one answered call waited 30 s > 20 s
    assert stats["average_wait_seconds"] >= 29
    assert stats["average_handle_seconds"] is not None
    assert stats["agents"] == [{"id": agent.pk, "handled_today": 1, "missed_today": 0}]
    assert stats["longest_wait_seconds"] >= 0


def test_stats_are_for_supervisors(api_for, supervisor, agent):
    body = api_for(supervisor).get("/api/stats/").json()
    assert set(body) == {"waiting", "longest_wait_seconds", "answered_today", "abandoned_today",
                         "service_level_percent", "average_wait_seconds", "average_handle_seconds", "agents", "queues"}
    assert api_for(agent).get("/api/stats/").status_code == 403
    assert api_for(None).get("/api/stats/").status_code == 401


@pytest.mark.django_db(transaction=True)
async def test_a_routing_process_offers_the_call_in_the_joins_own_transaction(settings, phlo_app):
    """With the process routing by itself, the customer's join claims the offer as it is applied,
    and PHLO is asked to dial the agent as soon as Plivo has its 200: no routing pass in between
    (docs/benchmarks.md, "Routing on its own lane")."""
    from channels.db import database_sync_to_async
    from django.test import AsyncClient

    from calls.intake import reactions
    from calls.queue.routing import router

    settings.ROUTER_ENABLED = True
    with mocked_phlo(settings) as phlo:
        agent = await database_sync_to_async(idle_agent)("+14155550201", idle_for=30)
        params = participant("ParticipantJoin", "mpc-now", "c-now", "+12025550001", seq=1, EventTimestamp=stamp())
        try:
            response = await django_callback(AsyncClient(), phlo_app, params)
            assert response.status_code == 200
            call = await Call.objects.aget(mpc_uuid="mpc-now")
            assert call.offered_to_id == agent.pk  # committed with the join
            await reactions.settled()
            assert dialled(phlo) == [(agent.address, "+12025550001")]
            assert router().passes == 0
        finally:
            process_router = router()
            if process_router.task is not None:
                process_router.task.cancel()
