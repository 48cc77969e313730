"""The whole loop over real sockets: an agent's action through our API → the PHLO simulator →
its signed callbacks → our state → a supervisor's WebSocket.

Daphne and `manage.py phlo_simulator` run as processes on one fresh SQLite database, set up
with the real management commands. Each scenario has agents of its own, so one scenario's call
never stands in another's way (PHLO finds a call by its agent's address).
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass

import httpx
import pytest
import websockets

from tests.support.servers import Stack, free_port, stop, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PHLO_ID, NODE_ID, AUTH_ID, AUTH_TOKEN = "phlo-e2e", "node-e2e", "MAENDTOEND", "end-to-end-auth-token"
PASSWORD = "correct-horse-battery"
SUPERVISOR = "sam"
CUSTOMER = "+12025550100"
SECOND_CUSTOMER = "+12025550177"
SCENARIOS = ("hold", "warm", "abort", "cold", "add", "hangup", "voicemail", "faults")
# Each scenario's own agents: the one who calls, and a transfer target (username → address).
AGENTS = {
    f"{kind}-{scenario}": f"+1415556{kind_digit}{n:02d}"
    for n, scenario in enumerate(SCENARIOS) for kind, kind_digit in (("agent", 1), ("target", 2))
}
# One process for all the set-up, since each `manage.py` start costs a second or more; and one
# password hash for everybody, since each costs as much (tokens stand in for the agents' logins).
SET_UP = """
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update

call_command("migrate", verbosity=0)
call_command("configure_phlo", "--name", "E2E line", "--phlo-id", {phlo_id!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--default")
call_command("create_agent", {supervisor!r}, "--password", {password!r}, "--address", "+14155550199", "--supervisor")
users = get_user_model().objects
tokens = {{}}
for username, address in {agents!r}.items():
    agent, _ = agent_create_or_update(username=username, password=None, address=address)
    users.filter(pk=agent.user_id).update(password=users.get(username={supervisor!r}).password)
    tokens[username] = Token.objects.get_or_create(user=agent.user)[0].key
print(json.dumps(tokens))
"""


@dataclass(frozen=True)
class Desk:
    url: str
    ws_url: str
    simulator_url: str
    tokens: dict[str, str]  # username → API token, the supervisor's from a real login


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """Daphne (pointed at the simulator) and the simulator (pointed at Daphne), sharing one database."""
    stack = Stack(tmp_path_factory.mktemp("e2e"))
    simulator = None
    try:
        set_up = stack.manage("shell", "-c", SET_UP.format(
            phlo_id=PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, supervisor=SUPERVISOR,
            password=PASSWORD, agents=AGENTS,
        ))
        tokens = json.loads(set_up.stdout.strip().splitlines()[-1])
        simulator_port, daphne_port = free_port(), free_port()
        simulator = stack.start_simulator(simulator_port, callback_port=daphne_port, options=(
            "--ring-seconds", "0.05-0.1", "--voicemail-seconds", "0.3", "--retry-delays", "0.2,0.5,1"))
        daphne = stack.start_daphne(
            daphne_port, PHLO_BASE_URL=f"http://127.0.0.1:{simulator_port}/v1", PHLO_TIMEOUT="2"
        )
        wait_for_port(simulator_port, timeout=60, process=simulator)
        login = httpx.post(f"{daphne.url}/api/auth/token/", json={"username": SUPERVISOR, "password": PASSWORD})
        assert login.status_code == 200, login.text
        tokens[SUPERVISOR] = login.json()["token"]
        yield Desk(daphne.url, daphne.ws_url, f"http://127.0.0.1:{simulator_port}", tokens)
    finally:
        if simulator is not None:
            stop(simulator, signal.SIGINT)  # as Ctrl-C does: the command stops cleanly
            assert simulator.returncode == 0, (stack.workdir / "simulator.log").read_text()
        stack.stop()


class Desktop:
    """One person at the desk, acting through the API with their token."""

    def __init__(self, http: httpx.AsyncClient, desk: Desk, token: str):
        self.http, self.desk, self.token = http, desk, token

    @classmethod
    def of(cls, http: httpx.AsyncClient, desk: Desk, username: str) -> Desktop:
        return cls(http, desk, desk.tokens[username])

    async def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return await self.http.post(f"{self.desk.url}/api{path}", json=body or {},
                                    headers={"Authorization": f"Token {self.token}"})

    async def act(self, call: dict, address: str, action: str) -> dict:
        member = next(m for m in reversed(call["members"]) if m["address"] == address)
        response = await self.post(f"/calls/{call['id']}/members/{member['id']}/{action}/")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["action"] == action and body["api_id"] and body["call"]["id"] == call["id"]
        return body["call"]

    async def call_action(self, call: dict, action: str, to: str, role: str = "agent") -> dict:
        response = await self.post(f"/calls/{call['id']}/{action}/", {"to": to, "role": role})
        assert response.status_code == 200, response.text
        return response.json()["call"]


class Wall:
    """The supervisor's WebSocket, folded into the newest copy of each call."""

    def __init__(self, ws):
        self.ws = ws
        self.calls: dict[int, dict] = {}
        self.seq = 0

    async def wait_for(self, call_id: int | None, expected, timeout: float = 10.0) -> dict:
        """The call once `expected(call)` holds, as the wall shows it (`call_id` None: any call)."""
        deadline = time.monotonic() + timeout
        while (found := self._showing(call_id, expected)) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the wall never showed it; last seen: {self.calls.get(call_id)}")
            try:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            except TimeoutError:
                continue
            assert message["seq"] == self.seq + 1, "seq grows by one per message"
            self.seq = message["seq"]
            for call in message.get("calls", []) + ([message["call"]] if "call" in message else []):
                if call["version"] >= self.calls.get(call["id"], {}).get("version", 0):
                    self.calls[call["id"]] = call
        return found

    def _showing(self, call_id: int | None, expected) -> dict | None:
        if call_id is None:
            candidates = list(self.calls.values())
        else:
            candidates = [self.calls[call_id]] if call_id in self.calls else []
        return next((call for call in candidates if expected(call)), None)


@pytest.fixture
async def wall(desk, http):
    async with websockets.connect(f"{desk.ws_url}/ws/dashboard/?token={desk.tokens[SUPERVISOR]}") as ws:
        wall = Wall(ws)
        snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert snapshot["type"] == "snapshot"
        wall.seq = snapshot["seq"]
        yield wall


def states(call: dict) -> dict[str, str]:
    """Each address's state (a member who rejoined: their newest leg)."""
    return {m["address"]: m["state"] for m in call["members"]}


def showing(wanted: dict[str, str], status: str | None = None):
    """A predicate on a call: these addresses in these states (and the call in this status)."""
    return lambda call: (status is None or call["status"] == status) and all(
        states(call).get(address) == state for address, state in wanted.items()
    )


async def start_call(desk: Desk, http: httpx.AsyncClient, wall: Wall, scenario: str) -> tuple[Desktop, dict, str, str]:
    """The scenario's agent calls the customer; returns them, the call once both are connected,
    and the agent's and target's addresses."""
    agent = Desktop.of(http, desk, f"agent-{scenario}")
    response = await agent.post("/calls/", {"to": CUSTOMER})
    assert response.status_code == 201, response.text
    call = response.json()
    me, target = AGENTS[f"agent-{scenario}"], AGENTS[f"target-{scenario}"]
    call = await wall.wait_for(call["id"], showing({me: "connected", CUSTOMER: "connected"}, status="active"))
    return agent, call, me, target


# --- scenarios ----------------------------------------------------------------------------------


async def test_hold_and_unhold(desk, http, wall):
    agent, call, me, _ = await start_call(desk, http, wall, "hold")
    await agent.act(call, CUSTOMER, "hold")
    await wall.wait_for(call["id"], showing({CUSTOMER: "on_hold", me: "connected"}))
    await agent.act(call, CUSTOMER, "unhold")
    await wall.wait_for(call["id"], showing({CUSTOMER: "connected", me: "connected"}))


async def test_warm_transfer_completed(desk, http, wall):
    agent, call, me, target = await start_call(desk, http, wall, "warm")
    await agent.call_action(call, "warm-transfer", target)
    call = await wall.wait_for(call["id"], showing({CUSTOMER: "on_hold", me: "in_transfer", target: "connected"}))
    await agent.act(call, target, "resume-call")
    call = await wall.wait_for(call["id"], showing({CUSTOMER: "connected", me: "connected", target: "connected"}))
    assert not any(m["transfer_role"] for m in call["members"])


async def test_warm_transfer_aborted(desk, http, wall):
    agent, call, me, target = await start_call(desk, http, wall, "abort")
    await agent.call_action(call, "warm-transfer", target)
    call = await wall.wait_for(call["id"], showing({CUSTOMER: "on_hold", target: "connected"}))
    await agent.act(call, me, "abort-transfer")
    await wall.wait_for(call["id"], showing({CUSTOMER: "connected", me: "connected", target: "left"}, status="active"))


async def test_cold_transfer(desk, http, wall):
    agent, call, me, target = await start_call(desk, http, wall, "cold")
    await agent.call_action(call, "cold-transfer", target)
    await wall.wait_for(call["id"], showing({CUSTOMER: "connected", me: "left", target: "connected"}, status="active"))


async def test_add_member(desk, http, wall):
    agent, call, me, target = await start_call(desk, http, wall, "add")
    await agent.call_action(call, "add-member", target)
    call = await wall.wait_for(call["id"], showing({CUSTOMER: "connected", me: "connected", target: "connected"}))
    assert next(m for m in call["members"] if m["address"] == target)["role"] == "agent"


async def test_hangup_ends_the_call(desk, http, wall):
    agent, call, me, _ = await start_call(desk, http, wall, "hangup")
    await agent.act(call, CUSTOMER, "hangup")
    call = await wall.wait_for(call["id"], showing({CUSTOMER: "left", me: "left"}, status="ended"))
    assert call["ended_at"]
    me_member = next(m for m in call["members"] if m["address"] == me)
    response = await agent.post(f"/calls/{call['id']}/members/{me_member['id']}/hold/")
    assert response.status_code == 409  # nothing fits an ended call


async def test_voicemail_drop(desk, http, wall):
    agent, call, me, _ = await start_call(desk, http, wall, "voicemail")
    await agent.call_action(call, "add-member", SECOND_CUSTOMER, role="customer")
    call = await wall.wait_for(call["id"], showing({SECOND_CUSTOMER: "connected"}))
    await agent.act(call, SECOND_CUSTOMER, "voicemail-drop")
    await wall.wait_for(call["id"], showing({SECOND_CUSTOMER: "left", CUSTOMER: "connected", me: "connected"}))
    # The simulator confirms: the member heard the message and left the multiparty call.
    deadline = time.monotonic() + 5
    while True:
        calls = (await http.get(f"{desk.simulator_url}/_sim/calls/")).json()["live"]
        members = [m for c in calls for m in c["members"] if m["address"] == SECOND_CUSTOMER]
        if members and members[-1]["state"] == "left":
            break
        assert time.monotonic() < deadline, members
        await asyncio.sleep(0.05)


async def test_phlo_failures_reach_the_agent_as_502_and_504(desk, http, wall):
    agent, call, _, _ = await start_call(desk, http, wall, "faults")
    customer = next(m for m in call["members"] if m["address"] == CUSTOMER)
    hold = f"/calls/{call['id']}/members/{customer['id']}/hold/"
    faults = f"{desk.simulator_url}/_sim/faults/"
    try:
        await http.post(faults, json={"error_rate": 1.0})
        response = await agent.post(hold)
        assert response.status_code == 502 and response.json()["upstream_status"] == 500
        await http.post(faults, json={"error_rate": 0.0, "token_rotated": True})
        response = await agent.post(hold)
        assert response.status_code == 502 and response.json()["upstream_status"] == 401
        await http.post(faults, json={"token_rotated": False, "stuck": True})
        assert (await agent.post(hold)).status_code == 504  # PHLO_TIMEOUT is 2 s here
    finally:
        await http.delete(faults)
    assert states(await wall.wait_for(call["id"], lambda c: True))[CUSTOMER] == "connected"  # nothing changed
    await agent.post(hold)
    await wall.wait_for(call["id"], showing({CUSTOMER: "on_hold"}))
