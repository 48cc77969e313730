"""Queues and skills under load, on the real deployment shape (docs/routing.md): two
Daphne processes, both routing, on one database (PostgreSQL with Redis, or one SQLite file), the PHLO
simulator as Plivo. Three queues with priorities, overlapping skills and an overflow; 100 customers
dial the queues' numbers while 20 agents take, talk and wrap up.

Checked throughout (sampled every 50 ms, straight from the database): no agent offered two calls at
once, and every call offered to an agent whose status is `offered`. Checked after, from every offer
the desk recorded: each offer was legal under the rules (the queue's skill, no skill, or the overflow
queue's skill once the call had waited its overflow time), each queue's calls were first offered
oldest first, and no agent was offered a call while a more urgent call they may take had been
waiting unoffered for more than a sweep (both give or take RACE_SLACK: two processes claiming at
the same moment may commit the less urgent offer first)."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import threading
import time
from datetime import datetime

import httpx
import psycopg
import pytest

from tests.support.postgres import PostgresCluster
from tests.support.servers import RedisServer, Stack, free_port, stop, wait_for_http, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PHLO_ID, NODE_ID, AUTH_ID, AUTH_TOKEN = "phlo-queues", "node-queues", "MAQUEUELOAD", "queue-load-auth-token"
VIP, SALES, SUPPORT = "+18005550300", "+18005550100", "+18005550200"
NUMBER_OF = {"vip": VIP, "sales": SALES, "support": SUPPORT}
PRIORITY = {"vip": 10, "sales": 1, "support": 0}
OVERFLOW_AFTER = 3.0  # support → sales
SWEEP_SLACK = 1.5  # seconds a more urgent call may wait unoffered beside a free agent (a sweep and a race)
RACE_SLACK = 0.5  # two processes claiming at once may commit the newer call's offer a moment first
CUSTOMERS = {"vip": 20, "sales": 40, "support": 40}
# 20 agents: (skills). No skill: every queue.
AGENTS = (
    [{"sales": level} for level in (3, 5, 7, 9, 9, 4)]
    + [{"support": level} for level in (2, 4, 6, 8, 8, 5)]
    + [{"sales": 5, "support": 7} for _ in range(4)]
    + [{"vip": 8, "sales": 4} for _ in range(2)]
    + [{}, {}]
)
SET_UP = """
import json
from django.core.management import call_command
from agents.accounts import agent_create_or_update
from agents.models import Agent
from agents.skills import set_skills

call_command("configure_phlo", "--name", "Lines", "--phlo-id", {phlo_id!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--default")
call_command("configure_queue", "sales", "--numbers", {sales!r}, "--priority", "1")
call_command("configure_queue", "vip", "--numbers", {vip!r}, "--priority", "10")
call_command("configure_queue", "support", "--numbers", {support!r}, "--overflow-to", "sales",
             "--overflow-after", {overflow!r})
for n, skills in enumerate({agents!r}):
    agent, _ = agent_create_or_update(username=f"agent{{n}}", password=None, address=f"+1415558{{n:04d}}")
    set_skills(agent, skills)
Agent.objects.update(status="away", chosen_status="away")
"""


def _database(kind: str, tmp_path_factory):
    if kind == "sqlite":
        return None, None, None
    cluster, redis = PostgresCluster(), RedisServer()
    cluster.start()
    redis.start()
    return cluster, redis, cluster.create_database("queues")


@pytest.fixture(scope="module", params=["postgres", "sqlite"])
def center(request, tmp_path_factory):
    cluster, redis, db_url = _database(request.param, tmp_path_factory)
    env = {"REDIS_URL": redis.url} if redis else {}
    stack = Stack(tmp_path_factory.mktemp(f"queues-{request.param}"), database_url=db_url, **env).setup()
    simulator = None
    try:
        stack.manage("shell", "-c", SET_UP.format(
            phlo_id=PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, sales=SALES, vip=VIP,
            support=SUPPORT, overflow=str(int(OVERFLOW_AFTER)), agents=AGENTS,
        ))
        simulator_port, port_a = free_port(), free_port()
        simulator = stack.start_simulator(simulator_port, callback_port=port_a, options=(
            "--ring-seconds", "0.1-0.2", "--retry-delays", "0.2,0.5,1"))
        desk = {"PHLO_BASE_URL": f"http://127.0.0.1:{simulator_port}/v1", "PHLO_TIMEOUT": "5",
                "WRAP_UP_SECONDS": "1", "ROUTING_RING_SECONDS": "20"}
        a, b = stack.start_daphne(port_a, **desk), stack.start_daphne(**desk)
        for daphne in (a, b):
            wait_for_http(f"{daphne.url}/healthz")
        wait_for_port(simulator_port, timeout=60, process=simulator)
        yield Center(stack, db_url, f"http://127.0.0.1:{simulator_port}", (a, b))
    finally:
        if simulator is not None:
            stop(simulator, signal.SIGINT)
        stack.stop()
        if redis:
            redis.stop()
        if cluster:
            cluster.stop()


class Center:
    def __init__(self, stack: Stack, db_url: str | None, simulator_url: str, daphnes):
        self.stack, self.db_url, self.simulator_url, self.daphnes = stack, db_url, simulator_url, daphnes

    def query(self, sql: str, *args) -> list[tuple]:
        """Rows of a SELECT; an UPDATE is committed and answers []."""
        if self.db_url:
            with psycopg.connect(self.db_url, autocommit=True) as conn:
                cursor = conn.execute(sql.replace("?", "%s"), args)
                return cursor.fetchall() if cursor.description else []
        conn = sqlite3.connect(self.stack.database_url.removeprefix("sqlite:///"), timeout=10)
        try:
            with conn:
                return conn.execute(sql, args).fetchall()
        finally:
            conn.close()


def _at(value) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace(" ", "T")).timestamp()


async def test_a_hundred_customers_three_queues_twenty_agents_on_two_processes(center):
    violations: list[str] = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            double = center.query(
                "SELECT offered_to_id, count(*) FROM calls_call WHERE offered_to_id IS NOT NULL"
                " GROUP BY offered_to_id HAVING count(*) > 1")
            stray = center.query(
                "SELECT c.id FROM calls_call c JOIN agents_agent a ON a.id = c.offered_to_id"
                " WHERE a.status <> 'offered'")
            if double:
                violations.append(f"agents offered two calls at once: {double}")
            if stray:
                violations.append(f"calls offered to an agent who is not offered: {stray}")
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    async with httpx.AsyncClient(timeout=10) as http:
        order = [queue for queue, n in CUSTOMERS.items() for _ in range(n)]
        order = order[::3] + order[1::3] + order[2::3]  # the queues' customers interleaved
        for n, queue in enumerate(order):
            response = await http.post(f"{center.simulator_url}/_sim/inbound/", json={
                "phlo_id": PHLO_ID, "from": f"+1202557{n:04d}", "to": NUMBER_OF[queue], "talk_seconds": 0.4,
                "patience_seconds": 240,
            })
            assert response.status_code == 201, response.text
            await asyncio.sleep(0.01)
        center.query("UPDATE agents_agent SET status = 'available', chosen_status = 'available'")
        deadline = time.monotonic() + 200
        while time.monotonic() < deadline:
            (answered,), = center.query("SELECT count(*) FROM calls_call WHERE outcome = 'answered'")
            if answered == sum(CUSTOMERS.values()):
                break
            await asyncio.sleep(0.5)
    done.set()
    sampler.join()
    for daphne in center.daphnes:  # shown when the test fails
        print(f"--- Daphne :{daphne.port} ---\n{daphne.log()[-6000:]}")
    print("--- simulator ---\n" + (center.stack.workdir / "simulator.log").read_text(errors="replace")[-6000:])
    assert violations == []
    assert center.query("SELECT count(*) FROM calls_call WHERE outcome = 'answered'") == [(100,)]

    skills = _skills(center)
    queues = {name: pk for pk, name in center.query("SELECT id, name FROM calls_queue")}
    queue_name = {pk: name for name, pk in queues.items()}
    # (queue, since when the customer waits, since when the desk knows it: the customer's join
    # callback may come late, retried, after the call's first callbacks)
    known = dict(center.query(
        "SELECT e.call_id, MIN(e.received_at) FROM calls_callevent e JOIN calls_member m ON m.id = e.member_id"
        " WHERE e.event_name = 'ParticipantJoin' AND m.role = 'customer' GROUP BY e.call_id"))
    calls = {
        pk: (queue_name[queue_id], _at(waiting_since), _at(known[pk]))
        for pk, queue_id, waiting_since in center.query("SELECT id, queue_id, waiting_since FROM calls_call")
    }
    assert sorted(name for name, _, _ in calls.values()) == sorted(q for q, n in CUSTOMERS.items() for _ in range(n))
    offers = [
        (call_id, json.loads(body)["agent"] if isinstance(body, str) else body["agent"], _at(created))
        for call_id, body, created in center.query(
            "SELECT call_id, request_body, created_at FROM calls_action WHERE action = 'offer' ORDER BY created_at")
    ]
    # Every offer legal under the rules.
    for call_id, agent_id, at in offers:
        queue, waiting_since, _ = calls[call_id]
        own = skills[agent_id]
        overflowed = queue == "support" and at - waiting_since >= OVERFLOW_AFTER and "sales" in own
        assert not own or queue in own or overflowed, f"agent {agent_id} {own} offered a {queue} call"
    # Each queue's calls first offered oldest first, once the desk knew of them.
    first_offer: dict[int, tuple[int, float]] = {}
    for call_id, agent_id, at in offers:
        first_offer.setdefault(call_id, (agent_id, at))
    for older, (queue, since, _) in calls.items():
        for newer, (other_queue, other_since, _) in calls.items():
            if other_queue != queue or other_since <= since or calls[older][2] > first_offer[newer][1] - SWEEP_SLACK:
                continue
            assert first_offer[older][1] <= first_offer[newer][1] + RACE_SLACK, (
                f"{queue}: call {newer} offered at {first_offer[newer][1]} before older call {older} "
                f"({first_offer[older][1]}); {_story(center, older)}; {_story(center, newer)}; all offers: "
                f"{[(round(at, 2), c, calls[c][0], round(calls[c][2], 2), a) for c, a, at in offers]}"
            )
    # No agent offered a call while a more urgent one they may take had waited unoffered beyond a sweep.
    for call_id, agent_id, at in offers:
        queue = calls[call_id][0]
        own = skills[agent_id]
        for other, (other_queue, _, known) in calls.items():
            if PRIORITY[other_queue] <= PRIORITY[queue] or (own and other_queue not in own):
                continue
            if known < at - SWEEP_SLACK and first_offer[other][1] > at + RACE_SLACK:
                pytest.fail(f"agent {agent_id} got a {queue} call at {at} while {other_queue} call {other} waited")


def _skills(center: Center) -> dict[int, set[str]]:
    skills: dict[int, set[str]] = {pk: set() for (pk,) in center.query("SELECT id FROM agents_agent")}
    for agent_id, name in center.query(
            "SELECT s.agent_id, q.name FROM agents_skill s JOIN calls_queue q ON q.id = s.queue_id"):
        skills[agent_id].add(name)
    return skills


def _story(center: Center, call_id: int) -> str:
    """A call's callbacks and offers in time order, for a failure's message."""
    events = center.query(
        "SELECT received_at, event_name, outcome FROM calls_callevent WHERE call_id = ? ORDER BY received_at", call_id)
    offers = center.query("SELECT created_at, request_body, upstream_outcome FROM calls_action WHERE call_id = ?"
                          " AND action = 'offer' ORDER BY created_at", call_id)
    row = center.query("SELECT waiting_since, status, outcome FROM calls_call WHERE id = ?", call_id)
    return f"call {call_id} {row}: events {[(_at(a), b, c) for a, b, c in events]} offers {offers}"
