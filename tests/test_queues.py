"""Queues and skills (docs/routing.md "Queues"): configuring them, which queue a call
reaches, who may take it and in what order, overflow, the per-queue figures. In-process: callbacks
through the real callback view, routing passes run by hand, PHLO mocked (tests/test_routing_e2e.py
and tests/test_multiprocess.py run routing against the simulator and real Daphne processes)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agents.models import Agent, Skill
from agents.skills import set_skills
from calls.models import Call, Queue
from tests.factories import PhloAppFactory
from tests.support.plivo import django_callback, participant
from tests.test_routing import dialled, idle_agent, route, stamp
from tests.test_routing import phlo as phlo

pytestmark = pytest.mark.django_db

SALES, SUPPORT, VIP = "+18005550100", "+18005550200", "+18005550300"


def configure(*args: str) -> str:
    out = io.StringIO()
    call_command("configure_queue", *args, stdout=out)
    return out.getvalue()


def customer_dials(client, app, mpc: str, number: str, *, customer: str, ago: float = 0) -> Call:
    params = participant("ParticipantJoin", mpc, f"c-{mpc}", customer, other=number, seq=1, EventTimestamp=stamp(ago))
    assert django_callback(client, app, params).status_code == 200
    return Call.objects.get(mpc_uuid=mpc)


def skilled(address: str, *, idle_for: float, **skills: int) -> Agent:
    agent = idle_agent(address, idle_for=idle_for)
    set_skills(agent, skills)
    return agent


@pytest.fixture(autouse=True, params=["ranked in memory", "ranked by the database"])
def ranking(request, monkeypatch):
    """Every rule holds both ways calls/queue/eligibility.py ranks agents: a few read and ranked in
    memory, many ranked by the database."""
    from calls.queue import eligibility

    if request.param == "ranked by the database":
        monkeypatch.setattr(eligibility, "IN_MEMORY_UP_TO", 0)


@pytest.fixture
def lines(db):
    configure("sales", "--numbers", SALES, "--priority", "1")
    configure("support", "--numbers", SUPPORT)
    configure("vip", "--numbers", VIP, "--priority", "10", "--service-level-seconds", "10")
    return {q.name: q for q in Queue.objects.all()}


# --- configuring ------------------------------------------------------------------------------------


def test_configure_queue_creates_then_updates_keeping_what_is_not_given(settings):
    settings.SERVICE_LEVEL_SECONDS = 25
    assert "Created queue sales" in configure("sales", "--numbers", f"{SALES}, 18005550101", "--priority", "2")
    queue = Queue.objects.get(name="sales")
    assert (queue.numbers, queue.priority, queue.service_level_seconds) == ([SALES, "18005550101"], 2, 25)

    assert "Updated queue sales" in configure("sales", "--service-level-seconds", "15")
    queue.refresh_from_db()
    assert (queue.numbers, queue.priority, queue.service_level_seconds) == ([SALES, "18005550101"], 2, 15)


def test_one_default_queue_and_overflow_to_a_queue_that_exists(lines):
    configure("support", "--default", "--overflow-to", "sales", "--overflow-after", "30")
    configure("vip", "--default")
    assert list(Queue.objects.filter(is_default=True).values_list("name", flat=True)) == ["vip"]
    support = Queue.objects.get(name="support")
    assert (support.overflow_to.name, support.overflow_after_seconds) == ("sales", 30)


@pytest.mark.parametrize(("args", "words"), [
    (["--numbers", "12 34"], "Not E.164"),
    (["--overflow-to", "nowhere", "--overflow-after", "5"], "No queue 'nowhere'"),
    (["--overflow-to", "sales"], "go together"),
    (["--phlo-id", "no-such-phlo"], "No PHLO app"),
    (["--numbers", SALES], "Another queue already has one of these numbers: sales"),
])
def test_a_queue_that_cannot_work_is_refused_and_nothing_changes(lines, args, words):
    with pytest.raises(CommandError, match=words):
        configure("support", *args)
    assert Queue.objects.get(name="support").numbers == [SUPPORT]


def test_a_queue_cannot_overflow_to_itself(lines):
    with pytest.raises(CommandError, match="itself"):
        configure("sales", "--overflow-to", "sales", "--overflow-after", "5")


def test_create_agent_gives_skills_and_replaces_them(lines):
    out = io.StringIO()
    call_command("create_agent", "ann", "--password", "long-enough", "--address", "+14155550301",
                 "--skill", "sales:8", "--skill", "support", stdout=out)
    assert "takes sales:8, support:5" in out.getvalue()
    agent = Agent.objects.get(user__username="ann")
    levels = sorted(Skill.objects.filter(agent=agent).values_list("queue__name", "level"))
    assert levels == [("sales", 8), ("support", 5)]
    assert agent.skills_shown == [{"queue": "sales", "level": 8}, {"queue": "support", "level": 5}]

    call_command("create_agent", "ann", "--password", "long-enough", "--address", "+14155550301",
                 "--skill", "vip:10", stdout=io.StringIO())
    agent.refresh_from_db()
    assert agent.skills_shown == [{"queue": "vip", "level": 10}]
    # No --skill: the skills stay.
    call_command("create_agent", "ann", "--password", "long-enough", "--address", "+14155550301", stdout=io.StringIO())
    assert Skill.objects.filter(agent=agent).count() == 1


@pytest.mark.parametrize(("skill", "words"), [("sales:11", "1 to 10"), ("sales:0", "1 to 10"), ("nope:3", "No queue"),
                                               (":3", "name a queue")])
def test_a_bad_skill_is_refused_and_makes_no_agent(lines, skill, words):
    with pytest.raises(CommandError, match=words):
        call_command("create_agent", "bob", "--password", "long-enough", "--address", "+14155550302",
                     "--skill", skill, stdout=io.StringIO())
    assert not Agent.objects.filter(user__username="bob").exists()


def test_an_agent_shows_their_skills_and_a_renamed_queue_follows(api_for, lines, supervisor):
    agent = skilled("+14155550303", idle_for=1, sales=7)
    assert api_for(agent).get("/api/me/").json()["skills"] == [{"queue": "sales", "level": 7}]
    lines["sales"].name = "new sales"
    lines["sales"].save()
    directory = {a["id"]: a for a in api_for(supervisor).get("/api/agents/").json()}
    assert directory[agent.pk]["skills"] == [{"queue": "new sales", "level": 7}]


# --- which queue a call reaches ------------------------------------------------------------------------


def test_a_call_reaches_the_queue_of_the_number_dialled(client, phlo_app, lines, api_for, supervisor):
    call = customer_dials(client, phlo_app, "mpc-1", SUPPORT.lstrip("+"), customer="+12025550101")
    assert call.queue.name == "support"
    assert api_for(supervisor).get(f"/api/calls/{call.pk}/").json()["queue"] == "support"


def test_else_the_queue_of_its_phlo_app_else_the_default_else_none(client, phlo_app, lines):
    other_app = PhloAppFactory(phlo_id="phlo-other", is_default=False)
    configure("support", "--phlo-id", phlo_app.phlo_id)
    assert customer_dials(client, phlo_app, "mpc-1", "+18005559999", customer="+12025550101").queue.name == "support"
    assert customer_dials(client, other_app, "mpc-2", "+18005559999", customer="+12025550102").queue is None
    configure("vip", "--default")
    assert customer_dials(client, other_app, "mpc-3", "+18005559999", customer="+12025550103").queue.name == "vip"


def test_a_center_with_no_queue_routes_as_before(client, phlo_app, phlo):
    agent = idle_agent("+14155550201", idle_for=10)
    call = customer_dials(client, phlo_app, "mpc-1", SALES, customer="+12025550101")
    route()
    assert call.queue is None
    assert dialled(phlo) == [(agent.address, "+12025550101")]


# --- who gets what ------------------------------------------------------------------------------------------


def test_only_agents_with_the_queues_skill_or_none_are_offered_its_call(client, phlo_app, phlo, lines):
    sales_only = skilled("+14155550201", idle_for=900, sales=9)
    generalist = idle_agent("+14155550202", idle_for=10)
    customer_dials(client, phlo_app, "mpc-1", SUPPORT, customer="+12025550101")
    route()
    assert dialled(phlo) == [(generalist.address, "+12025550101")]
    sales_only.refresh_from_db()
    assert sales_only.status == "available"


def test_a_waiting_call_goes_to_the_highest_level_then_the_longest_available(client, phlo_app, phlo, lines):
    skilled("+14155550201", idle_for=900, support=3)
    best_recent = skilled("+14155550202", idle_for=10, support=9)
    best_longest = skilled("+14155550203", idle_for=60, support=9)
    idle_agent("+14155550204", idle_for=999)  # no skill: level 5, after the nines
    customer_dials(client, phlo_app, "mpc-1", SUPPORT, customer="+12025550101")
    route()
    assert dialled(phlo) == [(best_longest.address, "+12025550101")]
    assert best_recent.address not in {to for to, _ in dialled(phlo)}


def test_an_agent_free_for_two_queues_takes_the_higher_prioritys_call_first(client, phlo_app, phlo, lines):
    customer_dials(client, phlo_app, "mpc-support", SUPPORT, customer="+12025550101", ago=300)
    customer_dials(client, phlo_app, "mpc-sales", SALES, customer="+12025550102", ago=10)
    customer_dials(client, phlo_app, "mpc-vip", VIP, customer="+12025550103", ago=5)
    both = skilled("+14155550201", idle_for=1, sales=5, support=5)  # no vip skill
    route()
    # Sales (priority 1) before support (0), though support's caller waited longer; vip is not theirs.
    assert dialled(phlo) == [(both.address, "+12025550102")]


def test_within_a_queue_the_oldest_call_first(client, phlo_app, phlo, lines):
    customer_dials(client, phlo_app, "mpc-new", SALES, customer="+12025550101", ago=5)
    customer_dials(client, phlo_app, "mpc-old", SALES, customer="+12025550102", ago=50)
    agent = skilled("+14155550201", idle_for=1, sales=5)
    route()
    assert dialled(phlo) == [(agent.address, "+12025550102")]


def test_overflow_widens_who_may_take_a_call_once_it_has_waited(client, phlo_app, phlo, lines):
    configure("support", "--overflow-to", "sales", "--overflow-after", "30")
    sales_agent = skilled("+14155550201", idle_for=100, sales=8)
    customer_dials(client, phlo_app, "mpc-1", SUPPORT, customer="+12025550101", ago=5)
    route()
    assert dialled(phlo) == []  # only a sales agent is free, and the call has waited 5 s of 30

    Call.objects.filter(mpc_uuid="mpc-1").update(waiting_since=timezone.now() - timedelta(seconds=31))
    route()
    assert dialled(phlo) == [(sales_agent.address, "+12025550101")]


def test_overflow_agents_come_after_the_queues_own(client, phlo_app, phlo, lines):
    configure("support", "--overflow-to", "sales", "--overflow-after", "0")
    skilled("+14155550201", idle_for=900, sales=10)
    own = skilled("+14155550202", idle_for=10, support=1)
    customer_dials(client, phlo_app, "mpc-1", SUPPORT, customer="+12025550101")
    route()
    assert dialled(phlo) == [(own.address, "+12025550101")]


def test_a_missed_or_declined_agent_is_passed_over_while_another_may_take_it(client, phlo_app, phlo, lines):
    call = customer_dials(client, phlo_app, "mpc-1", SALES, customer="+12025550101")
    Call.objects.filter(pk=call.pk).update(declined_by=[first_id := skilled("+14155550201", idle_for=900, sales=9).pk])
    second = skilled("+14155550202", idle_for=10, sales=2)
    route()
    assert first_id not in {a.pk for a in Agent.objects.filter(status="offered")}
    assert dialled(phlo) == [(second.address, "+12025550101")]


# --- the figures -------------------------------------------------------------------------------------------


def test_each_queues_figures(client, phlo_app, phlo, lines, api_for, supervisor, settings):
    Agent.objects.filter(pk=supervisor.pk).update(status="offline")
    customer_dials(client, phlo_app, "mpc-1", SALES, customer="+12025550101", ago=40)
    customer_dials(client, phlo_app, "mpc-2", SUPPORT, customer="+12025550102", ago=20)
    skilled("+14155550201", idle_for=10, sales=5)  # free once the customers wait: nobody offered yet
    idle_agent("+14155550202", idle_for=10)  # no skill: counts for every queue

    rows = {row["name"]: row for row in api_for(supervisor).get("/api/queues/").json()}
    assert list(rows) == ["vip", "sales", "support"]  # highest priority first
    assert (rows["sales"]["waiting"], rows["support"]["waiting"], rows["vip"]["waiting"]) == (1, 1, 0)
    assert rows["sales"]["longest_wait_seconds"] >= 39 and 19 <= rows["support"]["longest_wait_seconds"] < 39
    assert (rows["sales"]["agents_available"], rows["support"]["agents_available"]) == (2, 1)
    assert set(rows["vip"]) == {"name", "waiting", "longest_wait_seconds", "answered_today", "abandoned_today",
                                "service_level_percent", "average_wait_seconds", "average_handle_seconds",
                                "agents_available"}

    stats = api_for(supervisor).get("/api/stats/?queue=support").json()
    assert stats["waiting"] == 1 and 19 <= stats["longest_wait_seconds"] < 39
    assert "queues" not in stats
    everything = api_for(supervisor).get("/api/stats/").json()
    assert everything["waiting"] == 2 and [row["name"] for row in everything["queues"]] == ["vip", "sales", "support"]


def test_each_queue_its_own_service_level(client, phlo_app, lines, api_for, supervisor):
    """The same 15 s wait is within sales' 20 s and outside vip's 10 s."""
    now = timezone.now()
    for mpc, number in (("mpc-s", SALES), ("mpc-v", VIP)):
        call = customer_dials(client, phlo_app, mpc, number, customer=f"+1202555{len(mpc):04d}")
        Call.objects.filter(pk=call.pk).update(
            waiting_since=now - timedelta(seconds=60), answered_at=now - timedelta(seconds=45), outcome="answered",
            status="ended", ended_at=now,
        )
    rows = {row["name"]: row for row in api_for(supervisor).get("/api/queues/").json()}
    assert (rows["sales"]["service_level_percent"], rows["vip"]["service_level_percent"]) == (100.0, 0.0)
    assert api_for(supervisor).get("/api/stats/").json()["service_level_percent"] == 50.0


@pytest.mark.parametrize("path", ["/api/queues/", "/api/stats/?queue=sales"])
def test_queue_figures_are_for_supervisors(api_for, lines, agent, path):
    assert api_for(agent).get(path).status_code == 403
    assert api_for(None).get(path).status_code == 401


def test_an_unknown_queue_is_404(api_for, supervisor, lines):
    response = api_for(supervisor).get("/api/stats/?queue=nope")
    assert response.status_code == 404 and response.json()["detail"] == "There is no queue 'nope'."


def test_the_metrics_count_waiting_calls_by_queue(client, phlo_app, lines, settings):
    from metrics.registry import REGISTRY

    customer_dials(client, phlo_app, "mpc-1", SALES, customer="+12025550101", ago=12)
    customer_dials(client, phlo_app, "mpc-2", "+18005550999", customer="+12025550102")  # no queue
    samples = {
        sample.labels["queue"]: sample.value
        for family in REGISTRY.collect() if family.name == "desk_calls_waiting" for sample in family.samples
    }
    assert samples == {"vip": 0, "sales": 1, "support": 0, "": 1}


def test_the_worked_example_of_docs_routing(client, phlo_app, phlo):
    """docs/routing.md, "A worked example", its first three steps."""
    configure("vip", "--numbers", VIP, "--priority", "10")
    configure("sales", "--numbers", SALES, "--priority", "1")
    configure("support", "--numbers", SUPPORT, "--overflow-to", "sales", "--overflow-after", "60")
    dee = skilled("+14155550204", idle_for=40, support=8)
    ann = skilled("+14155550201", idle_for=30, sales=9)
    ben = skilled("+14155550202", idle_for=20, sales=4, support=6)
    cy = idle_agent("+14155550203", idle_for=10)

    customer_dials(client, phlo_app, "mpc-1", SUPPORT, customer="+12025550101")
    route()
    assert dialled(phlo)[-1] == (dee.address, "+12025550101")

    customer_dials(client, phlo_app, "mpc-2", VIP, customer="+12025550102")
    route()
    assert dialled(phlo)[-1] == (cy.address, "+12025550102")

    customer_dials(client, phlo_app, "mpc-3", SUPPORT, customer="+12025550103", ago=1)
    customer_dials(client, phlo_app, "mpc-4", SALES, customer="+12025550104")
    route()
    assert set(dialled(phlo)[-2:]) == {(ann.address, "+12025550104"), (ben.address, "+12025550103")}
