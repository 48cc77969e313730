"""PHLO misbehaving, for real: Daphne and `manage.py phlo_simulator` as processes on one SQLite
database, PHLO_TIMEOUT=1 s, and the simulator's fault knobs (docs/simulator.md) turned while an
agent acts on a live call.

Each fault must give the agent a clear answer (504 / 502 with PHLO's status and text), change
nothing (the call's version and members as before, read back over the API), and be recorded as
a failed Action (read from the database file with sqlite3). Then the same action works again.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from tests.support.servers import Stack, free_port, stop, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PHLO_ID, NODE_ID, AUTH_ID, AUTH_TOKEN = "phlo-faults", "node-faults", "MAFAULTS", "faults-auth-token-secret"
PHLO_TIMEOUT = 1.0
SCENARIOS = ("stuck", "slow", "error", "rotated", "refused")
AGENTS = {f"agent-{name}": f"+1415557{n:04d}" for n, name in enumerate(SCENARIOS)}
CUSTOMERS = {f"agent-{name}": f"+1202557{n:04d}" for n, name in enumerate(SCENARIOS)}
SET_UP = """
import json
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update

call_command("configure_phlo", "--name", "Faults", "--phlo-id", {phlo_id!r}, "--node-id", {node_id!r},
             "--auth-id", {auth_id!r}, "--auth-token", {auth_token!r}, "--default")
tokens = {{}}
for username, address in {agents!r}.items():
    agent, _ = agent_create_or_update(username=username, password=None, address=address)
    tokens[username] = Token.objects.get_or_create(user=agent.user)[0].key
print(json.dumps(tokens))
"""


@dataclass
class Desk:
    stack: Stack
    url: str
    simulator_url: str
    simulator_port: int
    daphne_port: int
    tokens: dict[str, str]
    simulator: subprocess.Popen | None = None

    def start_simulator(self) -> None:
        self.simulator = self.stack.start_simulator(
            self.simulator_port, callback_port=self.daphne_port,
            options=("--ring-seconds", "0.05-0.1", "--retry-delays", "0.2,0.5,1"),
        )
        wait_for_port(self.simulator_port, timeout=60, process=self.simulator)

    def stop_simulator(self) -> None:
        if self.simulator is not None:
            stop(self.simulator, signal.SIGINT)
            self.simulator = None

    def api(self, username: str, method: str, path: str, body: dict | None = None) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api{path}", json=body,
                             headers={"Authorization": f"Token {self.tokens[username]}"}, timeout=30)

    @contextmanager
    def fault(self, **knobs):
        response = httpx.post(f"{self.simulator_url}/_sim/faults/", json=knobs, timeout=10)
        assert response.status_code == 200, response.text
        try:
            yield
        finally:
            httpx.delete(f"{self.simulator_url}/_sim/faults/", timeout=10)

    def actions(self, call_id: int) -> list[dict]:
        with sqlite3.connect(self.stack.workdir / "db.sqlite3", timeout=20) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT action, ok, http_status, upstream_status, error, member_id FROM calls_action"
                " WHERE call_id = ? ORDER BY id", (call_id,),
            ).fetchall()
        return [dict(row) for row in rows]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("faults")).setup()
    desk = None
    try:
        set_up = stack.manage("shell", "-c", SET_UP.format(
            phlo_id=PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN, agents=AGENTS,
        ))
        tokens = json.loads(set_up.stdout.strip().splitlines()[-1])
        simulator_port, daphne_port = free_port(), free_port()
        desk = Desk(stack, f"http://127.0.0.1:{daphne_port}", f"http://127.0.0.1:{simulator_port}",
                    simulator_port, daphne_port, tokens)
        desk.start_simulator()
        stack.start_daphne(daphne_port, PHLO_BASE_URL=f"{desk.simulator_url}/v1", PHLO_TIMEOUT=str(PHLO_TIMEOUT))
        yield desk
    finally:
        if desk is not None:
            desk.stop_simulator()
        stack.stop()


def wait_for(read, done, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"gave up waiting; last seen: {value}"
        time.sleep(0.1)


def states(call: dict) -> dict[str, str]:
    return {m["address"]: m["state"] for m in call["members"]}


def what_may_change(call: dict) -> tuple:
    return call["status"], call["version"], [(m["id"], m["state"], m["transfer_role"]) for m in call["members"]]


def live_call(desk: Desk, username: str) -> tuple[dict, dict]:
    """Start a call from the agent to their customer; once both are on the line: the call and the customer."""
    customer = CUSTOMERS[username]
    started = desk.api(username, "POST", "/calls/", {"to": customer})
    assert started.status_code == 201, started.text
    call = wait_for(
        lambda: desk.api(username, "GET", f"/calls/{started.json()['id']}/").json(),
        lambda c: c["status"] == "active" and set(states(c).values()) == {"connected"} and len(c["members"]) == 2,
    )
    return call, next(m for m in call["members"] if m["address"] == customer)


def report(fault: str, response: httpx.Response, took: float) -> None:
    """One line per fault for docs/reliability.md (`pytest -s`)."""
    body = response.json()
    print(f"\nupstream fault {fault}: {response.status_code} in {took:.2f} s, "
          f"upstream_status={body.get('upstream_status')}, detail={body['detail']!r}")


def hold_under_fault(desk: Desk, username: str, **knobs) -> tuple[httpx.Response, dict, dict, float]:
    call, customer = live_call(desk, username)
    path = f"/calls/{call['id']}/members/{customer['id']}/hold/"
    before = desk.api(username, "GET", f"/calls/{call['id']}/").json()
    with desk.fault(**knobs):
        started = time.monotonic()
        response = desk.api(username, "POST", path)
        took = time.monotonic() - started
        after = desk.api(username, "GET", f"/calls/{call['id']}/").json()
    assert what_may_change(after) == what_may_change(before), "a failed action changed the call"
    return response, call, customer, took


def assert_recorded_failure(desk: Desk, call: dict, customer: dict, http_status: int, upstream: int | None):
    failed = desk.actions(call["id"])[-1]
    assert failed["action"] == "hold" and failed["ok"] == 0
    assert (failed["http_status"], failed["upstream_status"], failed["member_id"]) == (
        http_status, upstream, customer["id"])
    assert failed["error"]


def assert_it_works_again(desk: Desk, username: str, call: dict, customer: dict) -> None:
    response = desk.api(username, "POST", f"/calls/{call['id']}/members/{customer['id']}/hold/")
    assert response.status_code == 200, response.text
    assert states(response.json()["call"])[customer["address"]] == "on_hold"
    assert desk.actions(call["id"])[-1]["ok"] == 1


def test_phlo_never_answering_is_a_504_within_the_timeout(desk):
    response, call, customer, took = hold_under_fault(desk, "agent-stuck", stuck=True)

    report("stuck", response, took)
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["detail"] == (
        "PHLO did not answer within 1 s; the action may or may not have happened. Check the call before trying again."
    )
    assert body["upstream_status"] is None
    assert PHLO_TIMEOUT <= took < PHLO_TIMEOUT + 5
    assert_recorded_failure(desk, call, customer, 504, None)
    assert_it_works_again(desk, "agent-stuck", call, customer)


def test_phlo_answering_too_late_is_a_504_and_its_callbacks_still_count(desk):
    """PHLO acted after all, 4 s later: the agent was told it may have happened, the desk changed
    nothing by itself, and PHLO's callbacks then bring the state."""
    response, call, customer, took = hold_under_fault(desk, "agent-slow", latency=4 * PHLO_TIMEOUT)

    report("latency 4 s", response, took)
    assert response.status_code == 504, response.text
    assert "may or may not have happened" in response.json()["detail"]
    assert_recorded_failure(desk, call, customer, 504, None)
    held = wait_for(lambda: desk.api("agent-slow", "GET", f"/calls/{call['id']}/").json(),
                    lambda c: states(c)[customer["address"]] == "on_hold")
    assert held["version"] > call["version"]


def test_phlo_500s_are_a_502_with_the_upstream_status(desk):
    response, call, customer, took = hold_under_fault(desk, "agent-error", error_rate=1.0)

    report("error_rate 1.0", response, took)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["upstream_status"] == 500
    assert body["error"] == "Internal server error, please try again later"
    assert body["detail"] == (
        "PHLO had a problem (HTTP 500) and did not act; nothing was changed. Try again in a moment."
    )
    assert_recorded_failure(desk, call, customer, 502, 500)
    assert_it_works_again(desk, "agent-error", call, customer)


def test_a_rotated_token_is_a_502_with_upstream_401(desk):
    response, call, customer, took = hold_under_fault(desk, "agent-rotated", token_rotated=True)

    report("token_rotated", response, took)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["upstream_status"] == 401
    assert body["detail"].startswith("PHLO refused the desk's credentials (HTTP 401); nothing was changed.")
    assert body["error"].startswith("Could not verify your access level")
    assert AUTH_TOKEN not in response.text
    assert_recorded_failure(desk, call, customer, 502, 401)
    assert_it_works_again(desk, "agent-rotated", call, customer)


def test_phlo_unreachable_is_a_502(desk):
    call, customer = live_call(desk, "agent-refused")
    path = f"/calls/{call['id']}/members/{customer['id']}/hold/"
    before = desk.api("agent-refused", "GET", f"/calls/{call['id']}/").json()
    desk.stop_simulator()
    try:
        started = time.monotonic()
        response = desk.api("agent-refused", "POST", path)
        took = time.monotonic() - started
        after = desk.api("agent-refused", "GET", f"/calls/{call['id']}/").json()
    finally:
        desk.start_simulator()

    report("simulator stopped", response, took)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["upstream_status"] is None
    assert body["detail"].startswith("Could not connect to PHLO") and body["detail"].endswith("nothing was changed.")
    assert what_may_change(after) == what_may_change(before)
    assert_recorded_failure(desk, call, customer, 502, None)
