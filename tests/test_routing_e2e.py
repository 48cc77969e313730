"""Routing for real: Daphne (its router running) and `manage.py phlo_simulator` as processes on one
SQLite database. Simulated customers call in and wait, as on Plivo; the desk dials agents in through
the PHLO API; the simulator's phones answer, answer never or reject (`/_sim/phones`), and its fault
knobs make PHLO refuse. Everything is read back through the desk's API, as an integrator would.

Each test starts from every agent away, and makes available only the agents it needs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from tests.support.servers import Stack, free_port, stop, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PHLO_ID, UNROUTED_PHLO_ID, NODE_ID = "phlo-route", "phlo-unrouted", "node-route"
AUTH_ID, AUTH_TOKEN = "MAROUTINGE2E", "routing-e2e-auth-token"
RING_SECONDS = 2  # ROUTING_RING_SECONDS for this desk
AGENTS = {f"agent{n}": f"+1415557{n:04d}" for n in range(4)}
SET_UP = """
import json
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update
from agents.models import Agent

call_command("migrate", verbosity=0)
call_command("configure_phlo", "--name", "Routed line", "--phlo-id", {phlo_id!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--default")
call_command("configure_phlo", "--name", "Unrouted line", "--phlo-id", {unrouted!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--no-routing")
tokens = {{}}
for username, address in {agents!r}.items():
    agent, _ = agent_create_or_update(username=username, password=None, address=address)
    tokens[username] = Token.objects.get_or_create(user=agent.user)[0].key
sam, _ = agent_create_or_update(username="sam", password=None, address="+14155557999", is_supervisor=True)
tokens["sam"] = Token.objects.get_or_create(user=sam.user)[0].key
Agent.objects.update(status="away", chosen_status="away")
print(json.dumps(tokens))
"""


@dataclass(frozen=True)
class Desk:
    url: str
    simulator_url: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("routing"))
    simulator = None
    try:
        set_up = stack.manage("shell", "-c", SET_UP.format(
            phlo_id=PHLO_ID, unrouted=UNROUTED_PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN,
            agents=AGENTS,
        ))
        tokens = json.loads(set_up.stdout.strip().splitlines()[-1])
        simulator_port, daphne_port = free_port(), free_port()
        simulator = stack.start_simulator(simulator_port, callback_port=daphne_port, options=(
            "--ring-seconds", "0.1-0.2", "--retry-delays", "0.2,0.5,1"))
        daphne = stack.start_daphne(
            daphne_port, PHLO_BASE_URL=f"http://127.0.0.1:{simulator_port}/v1", PHLO_TIMEOUT="2",
            ROUTING_RING_SECONDS=str(RING_SECONDS), WRAP_UP_SECONDS="600",
        )
        wait_for_port(simulator_port, timeout=60, process=simulator)
        yield Desk(daphne.url, f"http://127.0.0.1:{simulator_port}", tokens)
    finally:
        if simulator is not None:
            stop(simulator, signal.SIGINT)
        stack.stop()


class Center:
    """The desk's API as each person reaches it, and the simulator's controls."""

    def __init__(self, http: httpx.AsyncClient, desk: Desk):
        self.http, self.desk = http, desk

    async def api(self, method: str, path: str, who: str = "sam", **kwargs) -> httpx.Response:
        return await self.http.request(method, f"{self.desk.url}/api{path}",
                                       headers={"Authorization": f"Token {self.desk.tokens[who]}"}, **kwargs)

    async def set_status(self, who: str, status: str) -> None:
        response = await self.api("PATCH", "/me/", who, json={"status": status})
        assert response.status_code == 200, response.text

    async def me(self, who: str) -> dict:
        return (await self.api("GET", "/me/", who)).json()

    async def sim(self, method: str, path: str, **body) -> httpx.Response:
        response = await self.http.request(method, f"{self.desk.simulator_url}/_sim{path}", json=body or None)
        assert response.status_code < 300, response.text
        return response

    async def customer_calls(self, customer: str, *, phlo_id: str = PHLO_ID, talk: float = 0.5,
                             patience: float = 30) -> None:
        await self.sim("POST", "/inbound/", phlo_id=phlo_id, talk_seconds=talk, patience_seconds=patience,
                       **{"from": customer})

    async def call_of(self, customer: str, *, ended: bool = False) -> dict | None:
        response = await self.api("GET", "/calls/" + ("?status=ended" if ended else ""))
        return next((c for c in response.json()
                     if any(m["address"] == customer and m["role"] == "customer" for m in c["members"])), None)

    async def hang_up_everyone(self) -> None:
        """End every call the simulator still holds, as PHLO's hangup would, and wait until the desk
        shows none live."""
        calls = (await self.sim("GET", "/calls/")).json()["live"]
        for call in calls:
            for member in call["members"]:
                if member["state"] != "left":
                    await self.http.post(
                        f"{self.desk.simulator_url}/v1/phlo/{call['phlo_id']}/multi_party_call/{NODE_ID}/members/"
                        f"{quote(member['address'], safe='')}/", json={"action": "hangup"}, auth=(AUTH_ID, AUTH_TOKEN),
                    )
        await self.until(lambda: _none_live(self), "no call left live")

    async def until(self, what: Callable, description: str, timeout: float = 15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await what()
            if found:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"never: {description}")


@pytest.fixture
async def center(http, desk):
    center = Center(http, desk)
    await center.sim("DELETE", "/phones/")
    await center.sim("DELETE", "/faults/")
    for who in AGENTS:
        await center.set_status(who, "away")
    await center.hang_up_everyone()  # a customer an earlier test left waiting must not take an agent
    yield center
    for who in AGENTS:
        await center.set_status(who, "away")


async def _none_live(center: Center) -> bool:
    return not (await center.api("GET", "/calls/")).json()


def agent_members(call: dict, address: str) -> list[dict]:
    return [m for m in call["members"] if m["address"] == address and m["role"] == "agent"]


async def test_a_waiting_customer_reaches_the_longest_idle_agent_and_the_call_is_answered(center):
    await center.set_status("agent0", "available")  # available first: idle longest
    await asyncio.sleep(0.05)
    await center.set_status("agent1", "available")
    customer = "+12025557001"

    await center.customer_calls(customer, talk=3)

    call = await center.until(lambda: center.call_of(customer), "the customer's call appears")
    answered = await center.until(
        lambda: _answered(center, customer), "the call is answered by an agent", timeout=20
    )
    assert agent_members(answered, AGENTS["agent0"])[0]["state"] == "connected"
    assert not agent_members(answered, AGENTS["agent1"])
    assert answered["waiting_since"] is not None and call["id"] == answered["id"]
    assert (await center.me("agent0"))["status"] == "busy"
    ended = await center.until(lambda: center.call_of(customer, ended=True), "the call ends")
    assert ended["outcome"] == "answered"
    assert (await center.me("agent0"))["status"] == "wrap_up"
    assert (await center.me("agent1"))["status"] == "available"


async def _active(center: Center, customer: str) -> dict | None:
    call = await center.call_of(customer)
    return call if call and call["status"] == "active" else None


async def _waiting(center: Center, customer: str) -> dict | None:
    call = await center.call_of(customer)
    return call if call and call["status"] == "waiting" else None


async def _answered(center: Center, customer: str) -> dict | None:
    call = await center.call_of(customer)
    return call if call and call["status"] == "active" and call["outcome"] == "answered" else None


@pytest.mark.parametrize("phone", [{"answer": "reject"}, {"answer": "never", "after": 30}])
async def test_a_missed_offer_makes_the_agent_away_and_the_next_agent_is_offered(center, phone):
    """A phone that rejects (the leg exits without joining) or rings past ROUTING_RING_SECONDS."""
    await center.sim("POST", "/phones/", address=AGENTS["agent0"], **phone)
    await center.set_status("agent0", "available")
    await asyncio.sleep(0.05)
    await center.set_status("agent1", "available")
    customer = "+12025557002" if phone["answer"] == "reject" else "+12025557003"

    await center.customer_calls(customer, talk=3)

    answered = await center.until(lambda: _answered(center, customer), "the next agent answers",
                                  timeout=RING_SECONDS + 15)
    assert agent_members(answered, AGENTS["agent1"])[0]["state"] == "connected"
    assert [m["state"] for m in agent_members(answered, AGENTS["agent0"])] == ["left"]
    missed = await center.me("agent0")
    assert (missed["status"], missed["status_reason"]) == ("away", "missed call")
    if phone["answer"] == "never":  # the desk hung up the ringing leg itself
        sim_calls = (await center.sim("GET", "/calls/")).json()
        legs = [m for c in sim_calls["live"] + sim_calls["ended"] for m in c["members"]
                if m["address"] == AGENTS["agent0"]]
        assert legs and all(m["state"] == "left" for m in legs)


async def test_phlo_refusing_the_dial_is_a_missed_offer_and_an_agent_who_becomes_available_gets_the_call(center):
    await center.set_status("agent0", "available")
    await center.sim("POST", "/faults/", error_rate=1.0)
    customer = "+12025557004"

    await center.customer_calls(customer, talk=3)

    await center.until(lambda: _reason(center, "agent0"), "agent0 misses the refused offer")
    await center.sim("DELETE", "/faults/")
    waiting = await center.call_of(customer)
    assert waiting["status"] == "waiting" and waiting["offered_to"] is None
    await center.set_status("agent2", "available")  # nobody else available until now
    answered = await center.until(lambda: _answered(center, customer), "agent2 answers")
    assert agent_members(answered, AGENTS["agent2"])[0]["state"] == "connected"


async def _reason(center: Center, who: str) -> str:
    me = await center.me(who)
    return me["status_reason"] if me["status"] == "away" else ""


async def test_a_customer_who_gives_up_waiting_abandons_the_call(center):
    customer = "+12025557005"
    await center.customer_calls(customer, patience=1)
    waiting = await center.until(lambda: _waiting(center, customer), "the call waits")
    assert waiting["offered_to"] is None  # nobody is available
    ended = await center.until(lambda: center.call_of(customer, ended=True), "the customer gives up")
    assert ended["outcome"] == "abandoned" and ended["waiting_since"] is not None


async def test_with_routing_off_nobody_is_dialled_and_the_call_shows_as_before(center):
    await center.set_status("agent3", "available")
    customer = "+12025557006"
    await center.customer_calls(customer, phlo_id=UNROUTED_PHLO_ID, patience=1.5)
    live = await center.until(lambda: _active(center, customer), "the customer is on the call")
    assert live["waiting_since"] is None and live["offered_to"] is None
    ended = await center.until(lambda: center.call_of(customer, ended=True), "the customer hangs up")
    assert not [m for m in ended["members"] if m["role"] == "agent"]
    assert (await center.me("agent3"))["status"] == "available"


async def test_the_wall_gets_the_queue_and_its_figures(center):
    stats = (await center.api("GET", "/stats/")).json()
    assert stats["answered_today"] >= 1 and stats["abandoned_today"] >= 1
    assert {a["id"] for a in stats["agents"]}  # someone handled or missed a call today
    assert (await center.api("GET", "/stats/", "agent0")).status_code == 403
