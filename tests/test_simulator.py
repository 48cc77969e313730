"""The PHLO simulator's own contract: the PHLO API as Plivo serves it, the multiparty-call model
behind it, and the callbacks it sends (signed, ordered, retried), plus its traffic and faults.

Everything runs in the test's event loop: the simulator and a small callback receiver, each
served by uvicorn on a free loopback port. tests/test_end_to_end.py drives it with our real app.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from urllib.parse import parse_qsl, quote

import httpx
import plivo
import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from plivo import exceptions as plivo_errors
from plivo.utils.signature_v3 import validate_v3_signature

from devtools.simulator_sources import load_phlos_from_database
from simulator.app import UNAUTHORIZED
from simulator.http import read_request
from simulator.server import InProcessServer, Simulator, SimulatorThread
from simulator.switchboard import Timing
from tests.factories import PhloAppFactory

# One event loop for the module, so the callback receiver is started once, not per test.
pytestmark = [
    pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60),
    pytest.mark.asyncio(loop_scope="module"),
]
fixture = pytest_asyncio.fixture(loop_scope="module")

AGENT = "+14155550101"
CUSTOMER = "+12025550147"
TARGET = "+14155550102"
FAST = Timing(ring_seconds=(0.01, 0.02), voicemail_seconds=0.3)  # long enough to act during a voicemail


class Receiver:
    """Stands in for the desk's callback URL: records every request, answers scripted statuses."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answered in turn, then 200
        self.server = InProcessServer(self)

    @property
    def url(self) -> str:
        return self.server.url

    async def __call__(self, scope, receive, send):
        request = await read_request(scope, receive)
        status = self.statuses.pop(0) if self.statuses else 200
        self.requests.append({
            "path": scope["path"], "method": scope["method"], "headers": request.headers,
            "params": dict(parse_qsl(request.body.decode(), keep_blank_values=True)), "status": status,
        })
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    @property
    def events(self) -> list[dict]:
        """The parameters of each accepted callback, in the order they arrived."""
        return [r["params"] for r in self.requests if r["status"] == 200]

    def names(self, mpc: str | None = None) -> list[str]:
        return [e["EventName"] for e in self.events if mpc is None or e["MPCUUID"] == mpc]

    async def until(self, predicate, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"callbacks never matched; got {[e['EventName'] for e in self.events]}")
            await asyncio.sleep(0.01)
        return self.events

    async def until_named(self, *names: str, timeout: float = 5.0) -> list[dict]:
        """Wait until these event names have arrived, in this order (among others)."""

        def arrived(events):
            remaining = list(names)
            for event in events:
                if remaining and event["EventName"] == remaining[0]:
                    remaining.pop(0)
            return not remaining

        return await self.until(arrived, timeout)


@pytest.fixture
def app(db):
    return PhloAppFactory(auth_id="MASIMULATORTEST00001")  # shaped like Plivo's, as the SDK insists


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def receiver_server():
    receiver = Receiver()
    await receiver.server.start()
    yield receiver
    await receiver.server.stop()


@fixture
async def receiver(receiver_server):
    """The module's receiver, its record and script cleared for this test."""
    receiver_server.requests.clear()
    receiver_server.statuses.clear()
    return receiver_server


@fixture
async def make_simulator(receiver):
    """Start simulators on free ports (all stopped after the test); options override the fast defaults."""
    started: list[Simulator] = []

    async def make(**options) -> Simulator:
        options = {"port": 0, "callback_base": receiver.url, "timing": FAST, "retry_delays": (0.05, 0.1),
                   "callback_latency": (0, 0), "seed": 5, "load_phlos": load_phlos_from_database, **options}
        simulator = await Simulator(**options).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        await simulator.stop()


@fixture
async def simulator(make_simulator):
    return await make_simulator()


@fixture
async def api(simulator, app):
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token), timeout=5) as client:
        yield client


@fixture
async def control(simulator):
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim", timeout=5) as client:
        yield client


def node_path(app, *rest: str) -> str:
    return "/".join([f"/phlo/{app.phlo_id}/multi_party_call/{app.node_id}", *rest]) + "/"


def member_path(app, address: str) -> str:
    return node_path(app, "members", quote(address, safe=""))


async def run_call(api, receiver, app, agent=AGENT, customer=CUSTOMER) -> str:
    """Run the PHLO and wait until agent and customer are both on the line; returns the MPC UUID."""
    response = await api.post(f"/account/{app.auth_id}/phlo/{app.phlo_id}/", json={"from": agent, "to": customer})
    assert response.status_code == 201, response.text
    run_id = response.json()["api_id"]
    # Plivo's callbacks name no run: the run's legs (its call UUIDs) lead to its multiparty call.
    run = (await api.get(f"/phlo/{app.phlo_id}/runs/{run_id}/")).json()
    legs = set(run["call_uuids"])
    events = await receiver.until(lambda evs: any(e.get("ParticipantCallUUID") in legs for e in evs))
    mpc = next(e["MPCUUID"] for e in events if e.get("ParticipantCallUUID") in legs)
    await receiver.until(lambda evs: receiver.names(mpc).count("ParticipantJoin") == 2)
    return mpc


async def call_state(control, mpc: str) -> dict:
    calls = (await control.get("/calls/")).json()
    return next(c for c in calls["live"] + calls["ended"] if c["mpc_uuid"] == mpc)


def states(call: dict) -> dict[str, str]:
    return {m["address"]: m["state"] for m in call["members"] if m["state"] != "left"} | {
        m["address"]: "left" for m in call["members"] if m["state"] == "left"
        and not any(o["address"] == m["address"] and o["state"] != "left" for o in call["members"])
    }


async def act(api, app, address: str, action: str) -> httpx.Response:
    return await api.post(member_path(app, address), json={"action": action})


async def transfer(api, app, action: str, to: str = TARGET, trigger: str = AGENT, **extra) -> httpx.Response:
    return await api.post(node_path(app), json={"action": action, "trigger_source": trigger, "to": to, **extra})


# --- the API's shape ----------------------------------------------------------------------------


async def test_it_answers_wrong_credentials_with_plivos_401(simulator, app):
    async with httpx.AsyncClient(base_url=simulator.api_url) as client:
        for auth in [(app.auth_id, "wrong-token"), ("MAOTHER", app.auth_token), None]:
            response = await client.get(f"/phlo/{app.phlo_id}/", auth=auth)
            assert response.status_code == 401
            body = response.json()
            assert set(body) == {"api_id", "error"}
            assert body["error"] == UNAUTHORIZED


async def test_it_answers_unknown_things_with_404(api, app, receiver):
    assert (await api.get("/phlo/no-such-phlo/")).status_code == 404
    assert (await api.get(f"/phlo/{app.phlo_id}/multi_party_call/no-such-node/")).status_code == 404
    assert (await api.get(f"/phlo/{app.phlo_id}/runs/no-such-run/")).status_code == 404
    assert (await api.get("/no/such/path/")).status_code == 404
    response = await act(api, app, "+19995550000", "hold")
    assert response.status_code == 404
    assert set(response.json()) == {"api_id", "error"}
    response = await transfer(api, app, "call", trigger="+19995550000")
    assert response.status_code == 404


async def test_it_answers_wrong_methods_with_405(api, app):
    assert (await api.get(f"/account/{app.auth_id}/phlo/{app.phlo_id}/")).status_code == 405
    assert (await api.post(f"/phlo/{app.phlo_id}/", json={})).status_code == 405
    response = await api.delete(member_path(app, AGENT))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


BAD_BODIES = [
    ("run", {"from": AGENT}),
    ("run", {"from": AGENT, "to": "not a number"}),
    ("run", "not json"),
    ("node", {"action": "dance", "trigger_source": AGENT, "to": TARGET}),
    ("node", {"action": "call", "to": TARGET}),
    ("node", {"action": "call", "trigger_source": AGENT, "to": TARGET, "role": "boss"}),
    ("member", {"action": "dance"}),
    ("member", {}),
    ("member", ["hold"]),
]


async def test_it_answers_bad_bodies_with_400(api, app):
    urls = {"run": f"/account/{app.auth_id}/phlo/{app.phlo_id}/", "node": node_path(app),
            "member": member_path(app, AGENT)}
    for path, body in BAD_BODIES:
        if isinstance(body, str):
            response = await api.post(urls[path], content=body, headers={"content-type": "application/json"})
        else:
            response = await api.post(urls[path], json=body)
        assert response.status_code == 400, (path, body)
        assert response.json()["error"]
    response = await api.post(urls["member"], content='{"action": "hold"}', headers={"content-type": "text/plain"})
    assert response.status_code == 400  # JSON only


async def test_it_describes_the_phlo_and_its_node(api, app):
    phlo = (await api.get(f"/phlo/{app.phlo_id}/")).json()
    assert phlo["phlo_id"] == app.phlo_id and phlo["name"] == app.name and phlo["api_id"]
    datetime.fromisoformat(phlo["created_on"])
    node = (await api.get(node_path(app))).json()
    assert node["node_id"] == app.node_id and node["node_type"] == "multi_party_call"


async def test_it_serves_a_phlo_app_configured_after_it_started(simulator):
    later = await sync_to_async(PhloAppFactory)(
        phlo_id="phlo-later", auth_id="MALATER", auth_token="later-token", is_default=False
    )
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(later.auth_id, later.auth_token)) as client:
        assert (await client.get("/phlo/phlo-later/")).status_code == 200


async def test_a_phlo_of_another_account_is_not_found(simulator, app):
    other = await sync_to_async(PhloAppFactory)(
        phlo_id="phlo-other", auth_id="MAOTHER", auth_token="other-token", is_default=False
    )
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(other.auth_id, other.auth_token)) as client:
        assert (await client.get(f"/phlo/{app.phlo_id}/")).status_code == 404
        run = f"/account/{app.auth_id}/phlo/{app.phlo_id}/"
        response = await client.post(run, json={"from": AGENT, "to": CUSTOMER})
        assert response.status_code == 401


async def test_the_official_plivo_sdk_drives_it(simulator, app, receiver, control):
    """The SDK builds its own URLs (unencoded addresses, trailing slashes) and reads our answers."""

    def drive() -> None:
        client = plivo.phlo.RestClient(auth_id=app.auth_id, auth_token=app.auth_token)
        client.phlo_base_uri = simulator.api_url
        phlo = client.phlo.get(app.phlo_id)
        assert phlo.name == app.name
        assert phlo.run(**{"from": AGENT, "to": CUSTOMER}).phlo_id == app.phlo_id
        asyncio.run(receiver.until_named("ParticipantJoin", "ParticipantJoin"))
        node = phlo.multi_party_call(app.node_id)
        assert node.member(CUSTOMER).hold().error == ""
        with pytest.raises(plivo_errors.ValidationError):
            node.member(CUSTOMER).hold()  # 400: already on hold
        with pytest.raises(plivo_errors.ResourceNotFoundError):
            node.member("+19995550000").hold()
        intruder = plivo.phlo.RestClient(auth_id=app.auth_id, auth_token="wrong")
        intruder.phlo_base_uri = simulator.api_url
        with pytest.raises(plivo_errors.AuthenticationError):
            intruder.phlo.get(app.phlo_id)

    await asyncio.to_thread(drive)


# --- a run and its callbacks --------------------------------------------------------------------


async def test_a_run_dials_the_agent_then_the_customer(api, app, receiver):
    response = await api.post(f"/account/{app.auth_id}/phlo/{app.phlo_id}/", json={"from": AGENT, "to": CUSTOMER})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"api_id", "phlo_id", "message"} and body["phlo_id"] == app.phlo_id
    run_id = body["api_id"]

    events = await receiver.until_named("MPCInitialized", "MPCStart", "ParticipantJoin", "ParticipantJoin")
    assert [e["SequenceNumber"] for e in events] == ["1", "2", "3", "4"]
    assert not any("PhloRunID" in e for e in events)  # Plivo's callbacks name no run
    assert len({e["MPCUUID"] for e in events}) == 1
    agent, customer = events[2], events[3]
    assert (agent["ParticipantRole"], agent["ParticipantCallDirection"], agent["ParticipantCallTo"]) == (
        "Agent", "outbound", AGENT)
    assert (customer["ParticipantRole"], customer["ParticipantCallDirection"], customer["ParticipantCallTo"]) == (
        "Customer", "outbound", CUSTOMER)
    assert agent["MemberID"] != customer["MemberID"] and agent["ParticipantCallUUID"] != customer["ParticipantCallUUID"]
    for event in events:
        # Plivo's form, YYYY-MM-DD HH:mm:ss+|-hh:mm (here the account is on UTC)
        assert datetime.strptime(event["EventTimestamp"], "%Y-%m-%d %H:%M:%S%z").utcoffset().total_seconds() == 0
        assert event["MPCName"]
    assert all(r["path"] == f"/callbacks/plivo/{app.phlo_id}/" and r["method"] == "POST" for r in receiver.requests)
    assert receiver.requests[0]["headers"]["content-type"] == "application/x-www-form-urlencoded"

    run = (await api.get(f"/phlo/{app.phlo_id}/runs/{run_id}/")).json()
    assert run["run_id"] == run_id and run["phlo_id"] == app.phlo_id
    assert run["call_uuids"] == [agent["ParticipantCallUUID"], customer["ParticipantCallUUID"]]


async def test_callbacks_carry_a_signature_the_plivo_sdk_accepts(api, app, receiver):
    await run_call(api, receiver, app)
    url = f"{receiver.url}/callbacks/plivo/{app.phlo_id}/"
    for request in receiver.requests:
        headers = request["headers"]
        assert validate_v3_signature(
            "POST", url, headers["x-plivo-signature-v3-nonce"], app.auth_token, headers["x-plivo-signature-v3"],
            request["params"],
        )
        assert not validate_v3_signature(
            "POST", url, headers["x-plivo-signature-v3-nonce"], "another-token", headers["x-plivo-signature-v3"],
            request["params"],
        )


async def test_an_agent_already_on_a_call_cannot_be_dialled_into_another(api, app, receiver):
    await run_call(api, receiver, app)
    response = await api.post(f"/account/{app.auth_id}/phlo/{app.phlo_id}/", json={"from": AGENT, "to": "+12025550999"})
    assert response.status_code == 400
    assert "busy" in response.json()["error"]


# --- member actions -----------------------------------------------------------------------------


async def test_hold_and_unhold(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    assert (await act(api, app, CUSTOMER, "hold")).json()["error"] == ""
    await receiver.until_named("ParticipantHold")
    assert states(await call_state(control, mpc))[CUSTOMER] == "on_hold"
    held = receiver.events[-1]
    assert held["ParticipantCallTo"] == CUSTOMER and held["ParticipantRole"] == "Customer"

    assert (await act(api, app, CUSTOMER, "hold")).status_code == 400  # already on hold
    assert (await act(api, app, CUSTOMER, "unhold")).status_code == 201
    await receiver.until_named("ParticipantHold", "ParticipantUnhold")
    assert states(await call_state(control, mpc))[CUSTOMER] == "connected"
    assert (await act(api, app, CUSTOMER, "unhold")).status_code == 400  # not on hold


async def test_a_sip_member_address_is_percent_decoded(api, app, receiver, control):
    sip = "sip:alice+desk@phone.plivo.com"
    mpc = await run_call(api, receiver, app, agent=sip)
    response = await api.post(f"/phlo/{app.phlo_id}/multi_party_call/{app.node_id}/members/{quote(sip, safe='')}/",
                              json={"action": "hold"})
    assert response.status_code == 201
    assert states(await call_state(control, mpc))[sip] == "on_hold"


async def test_hanging_up_the_last_agent_ends_the_call(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    assert (await act(api, app, AGENT, "hangup")).status_code == 201
    events = await receiver.until_named("ParticipantExit", "ParticipantExit", "MPCEnd")
    exits = [e for e in events if e["EventName"] == "ParticipantExit"]
    # In Plivo's words (the participant object's exit causes, the multiparty call's termination causes)
    assert [(e["ParticipantCallTo"], e["ParticipantExitCause"]) for e in exits] == [
        (AGENT, "Kicked Out of Multiparty Call"), (CUSTOMER, "Multiparty Call Ended")]
    assert (events[-1]["MPCTerminationCause"], events[-1]["MPCTerminationCauseCode"]) == (
        "Stay Alone Not Permitted", "1010")
    assert [int(e["SequenceNumber"]) for e in events] == list(range(1, len(events) + 1))
    assert (await call_state(control, mpc))["ended"]
    assert (await act(api, app, CUSTOMER, "hold")).status_code == 404  # the call is gone


async def test_voicemail_drop_lets_the_member_hear_it_then_leave(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    await act(api, app, TARGET, "voicemail_drop")  # not a member: 404
    assert (await transfer(api, app, "call", role="customer")).status_code == 201
    await receiver.until(lambda evs: any(e["EventName"] == "ParticipantJoin" and e["ParticipantCallTo"] == TARGET
                                         for e in evs))
    assert (await act(api, app, TARGET, "voicemail_drop")).status_code == 201
    assert (await act(api, app, TARGET, "hold")).status_code == 400  # hearing the message
    events = await receiver.until(lambda evs: evs[-1]["EventName"] == "ParticipantExit")
    assert events[-1]["ParticipantCallTo"] == TARGET and events[-1]["ParticipantExitCause"] == "Participant Call Hangup"
    assert states(await call_state(control, mpc)) == {AGENT: "connected", CUSTOMER: "connected", TARGET: "left"}


# --- call actions -------------------------------------------------------------------------------


async def test_add_member_dials_them_into_the_call(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    response = await transfer(api, app, "call", role="agent")
    assert response.status_code == 201 and response.json()["error"] == ""
    events = await receiver.until_named("AddParticipantByAPIActionInitiated", "ParticipantJoin")
    dialled = events[-2]
    assert dialled["ParticipantCallTo"] == TARGET and dialled["ParticipantRole"] == "Agent"
    assert events[-1]["MemberID"] == dialled["MemberID"]
    assert states(await call_state(control, mpc)) == {AGENT: "connected", CUSTOMER: "connected", TARGET: "connected"}


async def test_warm_transfer_holds_the_customer_until_the_call_is_resumed(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    assert (await transfer(api, app, "warm_transfer")).status_code == 201
    events = await receiver.until_named("ParticipantHold", "AddParticipantByAPIActionInitiated", "ParticipantJoin")
    assert events[-3]["ParticipantCallTo"] == CUSTOMER
    call = await call_state(control, mpc)
    assert states(call) == {AGENT: "connected", CUSTOMER: "on_hold", TARGET: "connected"}
    assert call["transfer"] is not None

    assert (await transfer(api, app, "warm_transfer", to="+14155550103")).status_code == 400  # one at a time
    assert (await act(api, app, CUSTOMER, "resume_call")).status_code == 400  # neither initiator nor target
    assert (await act(api, app, TARGET, "resume_call")).status_code == 201
    events = await receiver.until_named("ParticipantUnhold")
    assert events[-1]["ParticipantCallTo"] == CUSTOMER
    call = await call_state(control, mpc)
    assert states(call) == {AGENT: "connected", CUSTOMER: "connected", TARGET: "connected"}
    assert call["transfer"] is None
    assert (await act(api, app, AGENT, "resume_call")).status_code == 400  # no transfer any more


async def test_abort_transfer_drops_the_target_and_brings_the_customer_back(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    await transfer(api, app, "warm_transfer")
    await receiver.until_named("ParticipantHold", "ParticipantJoin")
    assert (await act(api, app, TARGET, "abort_transfer")).status_code == 400  # only the initiator
    assert (await act(api, app, AGENT, "abort_transfer")).status_code == 201
    events = await receiver.until_named("ParticipantExit", "ParticipantUnhold")
    assert (events[-2]["ParticipantCallTo"], events[-2]["ParticipantExitCause"]) == (
        TARGET, "Kicked Out of Multiparty Call")
    assert events[-1]["ParticipantCallTo"] == CUSTOMER
    assert states(await call_state(control, mpc)) == {AGENT: "connected", CUSTOMER: "connected", TARGET: "left"}


async def test_cold_transfer_connects_the_customer_to_the_target_and_drops_the_initiator(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    assert (await transfer(api, app, "cold_transfer")).status_code == 201
    events = await receiver.until_named("AddParticipantByAPIActionInitiated", "ParticipantExit", "ParticipantJoin")
    assert (events[-2]["ParticipantCallTo"], events[-2]["ParticipantExitCause"]) == (
        AGENT, "Participant Call Transferred")
    assert events[-1]["ParticipantCallTo"] == TARGET
    call = await call_state(control, mpc)
    assert states(call) == {AGENT: "left", CUSTOMER: "connected", TARGET: "connected"} and not call["ended"]
    # The target is now the agent PHLO finds the call by; the old agent is free for other calls.
    assert (await act(api, app, CUSTOMER, "hold")).status_code == 201
    assert (await transfer(api, app, "call", trigger=TARGET, to="+14155550104")).status_code == 201


async def test_who_can_trigger_call_actions(api, app, receiver):
    """Transfers: only an agent on the line. Dialling someone in (`call`): any member on the line, a
    waiting customer included (how the desk's router brings an agent in)."""
    await run_call(api, receiver, app)
    assert (await transfer(api, app, "warm_transfer", trigger=CUSTOMER)).status_code == 400  # a customer
    assert (await transfer(api, app, "call", trigger="+14155550999")).status_code == 404  # not on any call
    assert (await transfer(api, app, "call", to=CUSTOMER)).status_code == 400  # already a member
    assert (await transfer(api, app, "call", trigger=CUSTOMER)).status_code == 201


# --- delivery -----------------------------------------------------------------------------------


async def test_a_failed_callback_is_retried_and_holds_back_the_later_ones(api, app, receiver):
    receiver.statuses = [500, 503]  # the first callback fails twice
    await run_call(api, receiver, app)
    attempts = [r["params"]["EventName"] for r in receiver.requests]
    assert attempts[:3] == ["MPCInitialized"] * 3
    assert receiver.names() == ["MPCInitialized", "MPCStart", "ParticipantJoin", "ParticipantJoin"]


async def test_a_callback_that_keeps_failing_is_given_up(make_simulator, app, receiver):
    simulator = await make_simulator(retry_delays=(0.01,))
    receiver.statuses = [500] * 2  # two attempts, both refused
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as api:
        await run_call(api, receiver, app)
    assert receiver.names()[0] == "MPCStart"
    await simulator.stop()


async def test_the_duplicate_fault_delivers_callbacks_twice(api, app, receiver, control):
    await control.post("/faults/", json={"duplicate_rate": 1.0})
    await api.post(f"/account/{app.auth_id}/phlo/{app.phlo_id}/", json={"from": AGENT, "to": CUSTOMER})
    events = await receiver.until(lambda evs: len(evs) == 8)
    assert [e["SequenceNumber"] for e in events] == ["1", "1", "2", "2", "3", "3", "4", "4"]


async def test_the_reorder_fault_delivers_callbacks_out_of_order(api, app, receiver, control):
    await control.post("/faults/", json={"reorder": True})
    mpc = await run_call(api, receiver, app)
    for action in ("hold", "unhold", "hold", "unhold"):
        await act(api, app, CUSTOMER, action)
    events = await receiver.until(lambda evs: len(evs) == 8)
    sequences = [int(e["SequenceNumber"]) for e in events if e["MPCUUID"] == mpc]
    assert sorted(sequences) == list(range(1, 9)) and sequences != sorted(sequences)


# --- faults of the API --------------------------------------------------------------------------


async def test_fault_knobs_are_read_changed_and_reset_at_runtime(control):
    assert (await control.get("/faults/")).json()["error_rate"] == 0
    changed = (await control.post("/faults/", json={"error_rate": 0.5, "stuck": True})).json()
    assert changed["error_rate"] == 0.5 and changed["stuck"] is True
    assert (await control.post("/faults/", json={"error_rate": 2})).status_code == 400
    assert (await control.post("/faults/", json={"no_such_fault": 1})).status_code == 400
    assert (await control.delete("/faults/")).json() == {
        "latency": 0.0, "error_rate": 0.0, "stuck": False, "token_rotated": False, "duplicate_rate": 0.0,
        "reorder": False,
    }


async def test_the_error_fault_answers_500_and_changes_nothing(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    await control.post("/faults/", json={"error_rate": 1.0})
    response = await act(api, app, CUSTOMER, "hold")
    assert response.status_code == 500 and response.json()["error"]
    assert states(await call_state(control, mpc))[CUSTOMER] == "connected"


async def test_the_rotated_token_fault_answers_401(api, app, control):
    await control.post("/faults/", json={"token_rotated": True})
    response = await api.get(f"/phlo/{app.phlo_id}/")
    assert response.status_code == 401 and response.json()["error"] == UNAUTHORIZED


async def test_the_latency_fault_delays_answers(api, app, control):
    await control.post("/faults/", json={"latency": 0.3})
    started = time.monotonic()
    assert (await api.get(f"/phlo/{app.phlo_id}/")).status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_the_stuck_fault_never_answers_so_the_client_times_out(api, app, control):
    await control.post("/faults/", json={"stuck": True})
    with pytest.raises(httpx.ReadTimeout):
        await api.get(f"/phlo/{app.phlo_id}/", timeout=httpx.Timeout(0.3, connect=5))
    await control.post("/faults/", json={"stuck": False})
    assert (await api.get(f"/phlo/{app.phlo_id}/")).status_code == 200


# --- traffic ------------------------------------------------------------------------------------


async def inbound(simulator, **body) -> dict:
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as control:
        response = await control.post("/inbound/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_inbound_customer_waits_alone_until_the_desk_dials_an_agent_in(make_simulator, app, receiver):
    """As on Plivo: the customer is alone in the multiparty call (no MPCStart yet); the desk's `call`
    action, triggered by the customer, brings the agent in; the customer talks, then hangs up."""
    simulator = await make_simulator()
    call = await inbound(simulator, talk_seconds=0.05, **{"from": CUSTOMER})
    mpc = call["mpc_uuid"]
    await receiver.until(lambda evs: "ParticipantJoin" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    await asyncio.sleep(0.2)
    assert receiver.names(mpc) == ["MPCInitialized", "ParticipantJoin"]  # waiting: nobody rings anyone
    joined = next(e for e in receiver.events if e["MPCUUID"] == mpc and e["EventName"] == "ParticipantJoin")
    assert (joined["ParticipantRole"], joined["ParticipantCallDirection"], joined["ParticipantCallFrom"]) == (
        "Customer", "inbound", CUSTOMER)
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as api:
        response = await transfer(api, app, "call", to=AGENT, trigger=CUSTOMER, role="agent")
    assert response.status_code == 201, response.text
    await receiver.until(lambda evs: "MPCEnd" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    assert receiver.names(mpc) == [
        "MPCInitialized", "ParticipantJoin", "AddParticipantByAPIActionInitiated", "MPCStart", "ParticipantJoin",
        "ParticipantExit", "ParticipantExit", "MPCEnd",
    ]
    await simulator.stop()


async def test_a_customer_nobody_answers_gives_up(make_simulator, app, receiver):
    simulator = await make_simulator()
    mpc = (await inbound(simulator, patience_seconds=0.1))["mpc_uuid"]
    await receiver.until(lambda evs: "MPCEnd" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    assert receiver.names(mpc) == ["MPCInitialized", "ParticipantJoin", "ParticipantExit", "MPCEnd"]
    exit_event = next(e for e in receiver.events if e["MPCUUID"] == mpc and e["EventName"] == "ParticipantExit")
    assert exit_event["ParticipantExitCause"] == "Participant Call Hangup"
    end = next(e for e in receiver.events if e["MPCUUID"] == mpc and e["EventName"] == "MPCEnd")
    assert (end["MPCTerminationCause"], end["MPCTerminationCauseCode"]) == ("No Active Participants", "1000")
    await simulator.stop()


@pytest.mark.parametrize("phone", [{"answer": "reject"}, {"answer": "never", "after": 0.1}])
async def test_a_phone_that_rejects_or_never_answers_fails_its_leg_and_the_customer_waits_on(
    make_simulator, app, receiver, phone
):
    simulator = await make_simulator()
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as control:
        assert (await control.post("/phones/", json={"address": AGENT, **phone})).status_code == 200
    mpc = (await inbound(simulator, patience_seconds=5, **{"from": CUSTOMER}))["mpc_uuid"]
    await receiver.until(lambda evs: "ParticipantJoin" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as api:
        assert (await transfer(api, app, "call", to=AGENT, trigger=CUSTOMER, role="agent")).status_code == 201
    await receiver.until(lambda evs: "ParticipantExit" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    assert receiver.names(mpc) == [
        "MPCInitialized", "ParticipantJoin", "AddParticipantByAPIActionInitiated", "ParticipantExit"]
    failed = next(e for e in receiver.events if e["MPCUUID"] == mpc and e["EventName"] == "ParticipantExit")
    assert (failed["ParticipantCallTo"], failed["ParticipantExitCause"]) == (AGENT, "Participant Call Hangup")
    await asyncio.sleep(0.1)
    assert receiver.names(mpc)[-1] == "ParticipantExit"  # no MPCEnd: the customer still waits
    await simulator.stop()


async def test_a_late_phone_answers_after_its_delay(make_simulator, app, receiver):
    simulator = await make_simulator()
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as control:
        await control.post("/phones/", json={"address": AGENT, "answer": "late", "after": 0.3})
        listed = (await control.get("/phones/")).json()
    assert listed == {"phones": [{"address": AGENT, "answer": "late", "after": 0.3}]}
    mpc = (await inbound(simulator, talk_seconds=5, **{"from": CUSTOMER}))["mpc_uuid"]
    await receiver.until(lambda evs: "ParticipantJoin" in [e["EventName"] for e in evs if e["MPCUUID"] == mpc])
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as api:
        dialled_at = time.monotonic()
        await transfer(api, app, "call", to=AGENT, trigger=CUSTOMER, role="agent")
    await receiver.until(lambda evs: [e["EventName"] for e in evs if e["MPCUUID"] == mpc].count("ParticipantJoin") == 2)
    assert time.monotonic() - dialled_at >= 0.3
    await simulator.stop()


@pytest.mark.parametrize(
    "bad", [{"answer": "sometimes", "address": AGENT}, {"address": "not a number"}, {"address": AGENT, "after": -1},
            {"address": AGENT, "colour": "red"}, []],
)
async def test_phone_settings_are_checked(make_simulator, bad):
    simulator = await make_simulator()
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as control:
        response = await control.post("/phones/", json=bad)
    assert response.status_code == 400 and response.json()["error"]
    await simulator.stop()


async def test_calls_per_minute_brings_customers_by_itself(make_simulator, app, receiver):
    simulator = await make_simulator(calls_per_minute=600)
    await receiver.until(lambda evs: any(e["EventName"] == "ParticipantJoin" and e["ParticipantRole"] == "Customer"
                                         for e in evs), timeout=10)
    await simulator.stop()


async def test_it_also_runs_in_a_thread_of_its_own(app):
    await asyncio.to_thread(_serve_from_a_thread, app)


def _serve_from_a_thread(app) -> None:
    runner = SimulatorThread(
        port=0, callback_base="http://127.0.0.1:9", timing=FAST, load_phlos=load_phlos_from_database
    )
    simulator = runner.start()
    try:
        response = httpx.get(f"{simulator.api_url}/phlo/{app.phlo_id}/", auth=(app.auth_id, app.auth_token))
        assert response.status_code == 200
    finally:
        runner.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{simulator.api_url}/phlo/{app.phlo_id}/")
