"""Monitoring, mute, recording and completing transfers over real sockets: our API → the simulator's
Voice and PHLO APIs → its signed callbacks → our state → a supervisor's WebSocket.

Daphne and `manage.py phlo_simulator` run as processes on one fresh SQLite database, as in
tests/test_end_to_end.py (whose desktop and wall helpers these are). Each request the desk sends
is read back from the simulator's journal (`/_sim/requests/`), so the exact upstream request is
checked against a Plivo stand-in, not a mock. Each scenario has agents and a customer of its own.
"""

# Fixtures are imported from the module whose world this is; their parameters share their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import signal
import time
from datetime import datetime

import httpx
import pytest

from tests.support.plivo import participant, signed_headers
from tests.support.servers import Stack, free_port, stop, wait_for_port
from tests.test_end_to_end import Desk, Desktop, Wall, showing, states, wall  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PHLO_ID, NODE_ID, AUTH_ID, AUTH_TOKEN = "phlo-voice", "node-voice", "MAVOICEE2E", "voice-e2e-auth-token"
RECORDING_PHLO = "phlo-voice-rec"  # records every call, and lets the PHLO dial agents (no routing)
SUPERVISOR, SUPERVISOR_ADDRESS = "sam", "+14155550199"
SCENARIOS = ("monitor", "mute", "record", "complete", "join", "add", "auto", "faults")
AGENTS = {
    f"{kind}-{scenario}": f"+1415558{kind_digit}{n:02d}"
    for n, scenario in enumerate(SCENARIOS) for kind, kind_digit in (("agent", 1), ("target", 2))
}
CUSTOMERS = {scenario: f"+1202558{n:04d}" for n, scenario in enumerate(SCENARIOS)}
SET_UP = """
import json
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update
from calls.models import PhloApp

call_command("configure_phlo", "--name", "Voice line", "--phlo-id", {phlo_id!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--default", "--no-routing")
call_command("configure_phlo", "--name", "Recorded line", "--phlo-id", {recording_phlo!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--no-routing")
PhloApp.objects.filter(phlo_id={recording_phlo!r}).update(record_calls=True)
tokens = {{}}
people = {{**{agents!r}, {supervisor!r}: {supervisor_address!r}}}
for username, address in people.items():
    agent, _ = agent_create_or_update(username=username, password=None, address=address,
                                      is_supervisor=username == {supervisor!r})
    tokens[username] = Token.objects.get_or_create(user=agent.user)[0].key
print(json.dumps(tokens))
"""


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("voice")).setup()
    simulator = None
    try:
        set_up = stack.manage("shell", "-c", SET_UP.format(
            phlo_id=PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, recording_phlo=RECORDING_PHLO,
            agents=AGENTS, supervisor=SUPERVISOR, supervisor_address=SUPERVISOR_ADDRESS,
        ))
        tokens = json.loads(set_up.stdout.strip().splitlines()[-1])
        simulator_port, daphne_port = free_port(), free_port()
        simulator_url = f"http://127.0.0.1:{simulator_port}"
        simulator = stack.start_simulator(simulator_port, callback_port=daphne_port, options=(
            "--ring-seconds", "0.05-0.1", "--retry-delays", "0.2,0.5,1", "--callback-latency", "0-0.01"))
        daphne = stack.start_daphne(daphne_port, PHLO_BASE_URL=f"{simulator_url}/v1",
                                    PLIVO_API_BASE_URL=f"{simulator_url}/v1", PHLO_TIMEOUT="2")
        wait_for_port(simulator_port, timeout=60, process=simulator)
        yield Desk(daphne.url, daphne.ws_url, simulator_url, tokens)
    finally:
        if simulator is not None:
            stop(simulator, signal.SIGINT)
        stack.stop()


class Simulator:
    """The simulator's controls: its calls, its journal of API requests, its faults."""

    def __init__(self, http: httpx.AsyncClient, desk: Desk):
        self.http, self.url = http, f"{desk.simulator_url}/_sim"

    async def call_with(self, address: str) -> dict:
        calls = (await self.http.get(f"{self.url}/calls/")).json()["live"]
        return next(c for c in calls if any(m["address"] == address for m in c["members"]))

    async def member_id(self, customer: str, address: str) -> str:
        call = await self.call_with(customer)
        return next(m["member_id"] for m in reversed(call["members"]) if m["address"] == address)

    async def forget(self) -> None:
        await self.http.delete(f"{self.url}/requests/")

    async def requests(self) -> list[tuple[str, str, dict]]:
        """(method, path, body) of each API request since `forget`; all of them with the app's auth ID."""
        journal = (await self.http.get(f"{self.url}/requests/")).json()["requests"]
        assert {r["auth_id"] for r in journal} <= {AUTH_ID}
        return [(r["method"], r["path"], r["body"]) for r in journal]

    async def faults(self, **knobs) -> None:
        assert (await self.http.post(f"{self.url}/faults/", json=knobs)).status_code == 200

    async def no_faults(self) -> None:
        await self.http.delete(f"{self.url}/faults/")


@pytest.fixture
async def simulator(desk, http):
    return Simulator(http, desk)


def mpc_path(mpc_uuid: str, *rest: str) -> str:
    return "/".join([f"/v1/Account/{AUTH_ID}/MultiPartyCall/uuid_{mpc_uuid}", *rest]) + "/"


def member_of(call: dict, address: str) -> dict:
    return next(m for m in reversed(call["members"]) if m["address"] == address)


def member_showing(address: str, **fields):
    return lambda call: any(
        m["address"] == address and all(m[name] == value for name, value in fields.items()) for m in call["members"]
    )


async def start_call(desk, http, wall, scenario: str) -> tuple[Desktop, dict, str]:
    agent = Desktop.of(http, desk, f"agent-{scenario}")
    response = await agent.post("/calls/", {"to": CUSTOMERS[scenario]})
    assert response.status_code == 201, response.text
    me = AGENTS[f"agent-{scenario}"]
    call = await wall.wait_for(response.json()["id"], showing(
        {me: "connected", CUSTOMERS[scenario]: "connected"}, status="active"))
    return agent, call, me


async def ok(response: httpx.Response, action: str) -> dict:
    assert response.status_code == 200, response.text
    assert response.json()["action"] == action
    return response.json()["call"]


# --- scenarios ----------------------------------------------------------------------------------


async def test_a_supervisor_listens_whispers_barges_and_leaves(desk, http, wall, simulator):
    agent, call, me = await start_call(desk, http, wall, "monitor")
    customer = CUSTOMERS["monitor"]
    sam = Desktop.of(http, desk, SUPERVISOR)
    mpc = (await simulator.call_with(customer))["mpc_uuid"]

    refused = await agent.post(f"/calls/{call['id']}/monitor/", {"mode": "listen"})
    assert (refused.status_code, refused.json()["detail"]) == (403, "Only supervisors can monitor calls.")

    await simulator.forget()
    await ok(await sam.post(f"/calls/{call['id']}/monitor/", {"mode": "listen"}), "monitor")
    assert await simulator.requests() == [("POST", mpc_path(mpc, "Participant"), {
        "role": "supervisor", "from": SUPERVISOR_ADDRESS, "to": SUPERVISOR_ADDRESS, "coach_mode": True, "mute": True,
    })]
    shown = await wall.wait_for(call["id"], member_showing(SUPERVISOR_ADDRESS, state="connected",
                                                           monitor_mode="listen", role="supervisor"))
    assert member_of(shown, me)["state"] == "connected"
    supervisor_member = await simulator.member_id(customer, SUPERVISOR_ADDRESS)

    for mode, flags in (("whisper", {"coach_mode": True, "mute": False}),
                        ("barge", {"coach_mode": False, "mute": False})):
        await simulator.forget()
        await ok(await sam.post(f"/calls/{call['id']}/monitor/", {"mode": mode}), "monitor")
        assert await simulator.requests() == [("POST", mpc_path(mpc, "Participant", supervisor_member), flags)]
        await wall.wait_for(call["id"], member_showing(SUPERVISOR_ADDRESS, monitor_mode=mode))
        # The agent's own view of the call shows the supervisor and their mode too.
        seen = (await http.get(f"{desk.url}/api/calls/{call['id']}/",
                               headers={"Authorization": f"Token {agent.token}"})).json()
        assert member_of(seen, SUPERVISOR_ADDRESS)["monitor_mode"] == mode
    simulated = member_of(await simulator.call_with(customer), SUPERVISOR_ADDRESS)
    assert (simulated["coach_mode"], simulated["muted"]) == (False, False)

    await simulator.forget()
    await ok(await sam.post(f"/calls/{call['id']}/monitor/stop/"), "monitor-stop")
    assert await simulator.requests() == [("DELETE", mpc_path(mpc, "Participant", supervisor_member), {})]
    await wall.wait_for(call["id"], lambda c: c["status"] == "active" and states(c)[SUPERVISOR_ADDRESS] == "left")
    assert member_of(await simulator.call_with(customer), SUPERVISOR_ADDRESS)["state"] == "left"
    # Monitoring never made the supervisor busy.
    me_record = (await http.get(f"{desk.url}/api/me/", headers={"Authorization": f"Token {sam.token}"})).json()
    assert me_record["status"] == "offline"


async def test_an_agent_mutes_their_own_line_and_a_supervisor_mutes_the_customer(desk, http, wall, simulator):
    agent, call, me = await start_call(desk, http, wall, "mute")
    customer = CUSTOMERS["mute"]
    mpc = (await simulator.call_with(customer))["mpc_uuid"]
    mine, theirs = member_of(call, me), member_of(call, customer)

    await simulator.forget()
    await ok(await agent.post(f"/calls/{call['id']}/members/{mine['id']}/mute/"), "mute")
    assert await simulator.requests() == [
        ("POST", mpc_path(mpc, "Participant", await simulator.member_id(customer, me)), {"mute": True})
    ]
    await wall.wait_for(call["id"], member_showing(me, muted=True))
    assert member_of(await simulator.call_with(customer), me)["muted"] is True
    await ok(await agent.post(f"/calls/{call['id']}/members/{mine['id']}/unmute/"), "unmute")
    await wall.wait_for(call["id"], member_showing(me, muted=False))

    refused = await agent.post(f"/calls/{call['id']}/members/{theirs['id']}/mute/")
    assert refused.status_code == 403
    sam = Desktop.of(http, desk, SUPERVISOR)
    await ok(await sam.post(f"/calls/{call['id']}/members/{theirs['id']}/mute/"), "mute")
    await wall.wait_for(call["id"], member_showing(customer, muted=True))


async def test_a_call_recorded_paused_resumed_and_stopped_keeps_its_recording(desk, http, wall, simulator):
    agent, call, _ = await start_call(desk, http, wall, "record")
    customer = CUSTOMERS["record"]
    mpc = (await simulator.call_with(customer))["mpc_uuid"]

    await simulator.forget()
    started = await ok(await agent.post(f"/calls/{call['id']}/recording/start/"), "recording-start")
    assert started["recording"] == "recording"
    assert await simulator.requests() == [("POST", mpc_path(mpc, "Record"), {"file_format": "mp3"})]
    await wall.wait_for(call["id"], lambda c: c["recording"] == "recording")
    for step, mark, path in (("pause", "paused", "Record/Pause"), ("resume", "recording", "Record/Resume"),
                             ("stop", None, "Record")):
        await simulator.forget()
        await ok(await agent.post(f"/calls/{call['id']}/recording/{step}/"), f"recording-{step}")
        method = "DELETE" if step == "stop" else "POST"
        assert await simulator.requests() == [(method, mpc_path(mpc, *path.split("/")), {})]
        await wall.wait_for(call["id"], lambda c, mark=mark: c["recording"] == mark)

    # Hung up, the call keeps its recording, completed by Plivo's callback (delivered, like every
    # callback of a call, before the call's end).
    await agent.act(call, customer, "hangup")
    ended = await wall.wait_for(call["id"], lambda c: c["status"] == "ended")
    [recording] = ended["recordings"]
    assert (recording["state"], recording["format"]) == ("completed", "mp3")
    assert recording["url"].startswith(f"{desk.simulator_url}/_sim/recordings/") and recording["url"].endswith(".mp3")
    assert isinstance(recording["duration"], int)
    assert datetime.fromisoformat(recording["started_at"]) <= datetime.fromisoformat(recording["ended_at"])
    audio = await http.get(recording["url"])
    assert (audio.status_code, audio.headers["content-type"]) == (200, "audio/mpeg")
    history = (await http.get(f"{desk.url}/api/calls/?status=ended",
                              headers={"Authorization": f"Token {agent.token}"})).json()
    assert next(c for c in history if c["id"] == call["id"])["recordings"] == [recording]


async def test_completing_a_transfer_hands_the_call_over(desk, http, wall, simulator):
    agent, call, me = await start_call(desk, http, wall, "complete")
    customer, target = CUSTOMERS["complete"], AGENTS["target-complete"]
    await agent.call_action(call, "warm-transfer", target)
    await wall.wait_for(call["id"], showing({customer: "on_hold", me: "in_transfer", target: "connected"}))

    await simulator.forget()
    await ok(await agent.post(f"/calls/{call['id']}/complete-transfer/"), "complete-transfer")
    member = f"/v1/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/members/{me}/"  # the journal shows it decoded
    assert await simulator.requests() == [
        ("POST", member, {"action": "resume_call"}), ("POST", member, {"action": "hangup"}),
    ]
    final = await wall.wait_for(call["id"], showing({customer: "connected", me: "left", target: "connected"},
                                                    status="active"))
    assert not any(m["transfer_role"] for m in final["members"])


async def test_joining_all_three_keeps_everyone(desk, http, wall):
    agent, call, me = await start_call(desk, http, wall, "join")
    customer, target = CUSTOMERS["join"], AGENTS["target-join"]
    await agent.call_action(call, "warm-transfer", target)
    call = await wall.wait_for(call["id"], showing({customer: "on_hold", target: "connected"}))
    await agent.act(call, me, "resume-call")
    await wall.wait_for(call["id"], showing({customer: "connected", me: "connected", target: "connected"}))


async def test_a_supervisor_not_on_the_call_adds_someone_through_its_agent(desk, http, wall, simulator):
    _, call, me = await start_call(desk, http, wall, "add")
    target = AGENTS["target-add"]
    sam = Desktop.of(http, desk, SUPERVISOR)
    await simulator.forget()
    await sam.call_action(call, "add-member", target)
    assert await simulator.requests() == [("POST", f"/v1/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/", {
        "action": "call", "trigger_source": me, "to": target, "role": "agent",
    })]
    await wall.wait_for(call["id"], showing({target: "connected", me: "connected"}))


async def test_a_call_of_an_app_that_records_every_call_is_recorded_when_the_agent_joins(desk, http, wall,
                                                                                        simulator):
    customer, me = CUSTOMERS["auto"], AGENTS["agent-auto"]
    await simulator.forget()
    response = await http.post(f"{simulator.url}/inbound/", json={
        "phlo_id": RECORDING_PHLO, "from": customer, "talk_seconds": 60})
    assert response.status_code == 201
    mpc = response.json()["mpc_uuid"]
    # This PHLO dials its agents itself (no routing): here, the dial it would make.
    dialled = await http.post(
        f"{desk.simulator_url}/v1/phlo/{RECORDING_PHLO}/multi_party_call/{NODE_ID}/", auth=(AUTH_ID, AUTH_TOKEN),
        json={"action": "call", "trigger_source": customer, "to": me, "role": "agent"},
    )
    assert dialled.status_code == 201, dialled.text
    deadline = time.monotonic() + 10
    while ("POST", mpc_path(mpc, "Record"), {"file_format": "mp3"}) not in await simulator.requests():
        assert time.monotonic() < deadline, await simulator.requests()
        await asyncio.sleep(0.05)
    recorded = await wall.wait_for(None, with_address(customer, lambda c: c["recording"] == "recording"))
    assert states(recorded)[me] == "connected"
    assert [r for r in await simulator.requests() if r[1].endswith("/Record/")] == [
        ("POST", mpc_path(mpc, "Record"), {"file_format": "mp3"})  # once, whatever the callbacks that followed
    ]


def with_address(address: str, expected):
    """A predicate on any call: it has a member at `address`, and `expected` holds."""
    return lambda call: address in states(call) and expected(call)


async def test_plivo_failures_reach_the_requester_and_change_nothing(desk, http, wall, simulator):
    agent, call, me = await start_call(desk, http, wall, "faults")
    sam = Desktop.of(http, desk, SUPERVISOR)
    mine = member_of(call, me)
    attempts = [
        (sam, f"/calls/{call['id']}/monitor/", {"mode": "listen"}),
        (agent, f"/calls/{call['id']}/members/{mine['id']}/mute/", None),
        (agent, f"/calls/{call['id']}/recording/start/", None),
    ]
    try:
        for knobs, status, upstream_status in (({"error_rate": 1.0}, 502, 500), ({"token_rotated": True}, 502, 401)):
            await simulator.faults(**knobs)
            for who, path, body in attempts:
                response = await who.post(path, body)
                assert (response.status_code, response.json()["upstream_status"]) == (status, upstream_status), path
                # A sentence for the person who clicked (calls/actions/words.py); Plivo's own words in error.
                assert "Plivo Voice API" in response.json()["detail"], path
                assert f"HTTP {upstream_status}" in response.json()["detail"], path
                assert "nothing was changed" in response.json()["detail"], path
            await simulator.no_faults()
        await simulator.faults(stuck=True)
        response = await agent.post(f"/calls/{call['id']}/members/{mine['id']}/mute/")
        assert response.status_code == 504  # PHLO_TIMEOUT is 2 s here
    finally:
        await simulator.no_faults()
    now = await wall.wait_for(call["id"], lambda c: True)
    assert now["recording"] is None and not any(m["muted"] or m["role"] == "supervisor" for m in now["members"])

    # Plivo's 404: a call the simulator never had (its callbacks signed by this test).
    mpc = "mpc-the-simulator-never-had"
    url = f"{desk.url}/callbacks/plivo/{PHLO_ID}/"
    for params in (participant("ParticipantJoin", mpc, "x1", "+12025559999", seq=1),
                   participant("ParticipantJoin", mpc, "x2", AGENTS["target-faults"], role="Agent",
                               direction="outbound", seq=2)):
        headers = signed_headers(auth_token=AUTH_TOKEN, url=url, method="POST", params=params)
        assert (await http.post(url, data=params, headers=headers)).status_code == 200
    ghost = await wall.wait_for(None, with_address("+12025559999", lambda c: c["status"] == "active"))
    response = await sam.post(f"/calls/{ghost['id']}/recording/start/")
    assert (response.status_code, response.json()["upstream_status"]) == (502, 404)

    # Plivo's 400: the desk's call is active with its customer alone (no routing), Plivo's has not started.
    waiting = await http.post(f"{simulator.url}/inbound/", json={"phlo_id": RECORDING_PHLO, "from": "+12025558888"})
    assert waiting.status_code == 201
    lone = await wall.wait_for(None, with_address("+12025558888", lambda c: c["status"] == "active"))
    response = await sam.post(f"/calls/{lone['id']}/recording/start/")
    assert (response.status_code, response.json()["upstream_status"]) == (502, 400)
    assert "not started" in response.json()["error"]
