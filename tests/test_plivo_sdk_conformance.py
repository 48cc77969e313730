"""The official Plivo SDK (`plivo` 4.x, synchronous) as the yardstick, used here as a test client only.

1. Every PHLO and multiparty-call method of the SDK (plivo/resources/phlos.py, nodes.py,
   multipartycall.py) against the simulator on loopback: the status of each answer (seen on the
   wire through a requests hook), the keys the SDK reads, and what the call then is (its
   callbacks, in Plivo's words). The SDK's base URLs are pointed at the simulator.
2. The desk's own requests (phlo/phlo_api.py, phlo/voice_api.py) and the SDK's for the same action,
   caught by one recording server: method, raw path, Authorization, Content-Type and Accept, and
   the body byte for byte; for the Voice API, where the SDK also sends every default and echoes
   identifiers, the same parameters with the same values, the SDK's others being Plivo's defaults.
"""

# Fixtures are imported from the module whose world this is; their parameters share their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import inspect
import json

import httpx
import plivo
import pytest
import pytest_asyncio
from plivo import exceptions as plivo_errors
from plivo.resources.phlos import Phlo as SdkPhlo

from phlo.http import Credentials
from phlo.phlo_api import PhloApi
from phlo.vocabulary import MemberAction
from phlo.voice_api import VoiceApi
from simulator.http import read_request
from simulator.server import InProcessServer
from tests.test_simulator import (  # noqa: F401 - fixtures
    AGENT,
    CUSTOMER,
    TARGET,
    api,
    app,
    call_state,
    control,
    inbound,
    make_simulator,
    receiver,
    receiver_server,
    run_call,
    simulator,
)

pytestmark = [
    pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90),
    pytest.mark.asyncio(loop_scope="module"),
]

SUPERVISOR = "+14155550199"
CALLER_ID = "+18005550100"
SIP_AGENT = "sip:carol.desk@phone.plivo.com"


class Wire:
    """What the SDK's requests met: (method, path as sent, status), from a requests response hook."""

    def __init__(self, client):
        self.exchanges: list[tuple[str, str, int]] = []
        client.session.hooks["response"].append(self._seen)

    def _seen(self, response, *args, **kwargs):
        self.exchanges.append((response.request.method, response.request.path_url, response.status_code))

    def last(self) -> tuple[str, str, int]:
        return self.exchanges[-1]

    def statuses(self) -> list[int]:
        return [status for *_, status in self.exchanges]


async def sync(function, *args, **kwargs):
    """The SDK blocks (requests): call it on a thread, so the simulator keeps serving."""
    return await asyncio.to_thread(function, *args, **kwargs)


def phlo_sdk(base_url: str, auth_id: str, auth_token: str):
    client = plivo.phlo.RestClient(auth_id=auth_id, auth_token=auth_token)
    client.phlo_base_uri = base_url
    return client, Wire(client)


@pytest.fixture
def voice_sdk(monkeypatch):
    """`voice_sdk(api_url, auth_id, auth_token)`: plivo.RestClient with its base URLs (the Voice API's,
    its fallbacks, and the main API's, which `multi_party_calls.start` uses) pointed at `api_url`."""

    def make(api_url: str, auth_id: str, auth_token: str):
        for name in ("PLIVO_API_BASE_URI", "API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1",
                     "API_VOICE_BASE_URI_FALLBACK_2"):
            monkeypatch.setattr(plivo.rest.client, name, f"{api_url}/Account")
        client = plivo.RestClient(auth_id=auth_id, auth_token=auth_token)
        return client, Wire(client)

    return make


def named(receiver, mpc: str, name: str, **fields: str) -> list[dict]:
    return [e for e in receiver.events if e["MPCUUID"] == mpc and e["EventName"] == name
            and all(e.get(key) == value for key, value in fields.items())]


async def arrival(receiver, mpc: str, name: str, count: int = 1, **fields: str) -> dict:
    """Wait for the `count`-th callback of that name (and those fields) of the call; return it."""
    await receiver.until(lambda _: len(named(receiver, mpc, name, **fields)) >= count)
    return named(receiver, mpc, name, **fields)[count - 1]


def members(call: dict) -> dict[str, str]:
    """address → state of each member's latest leg."""
    return {m["address"]: m["state"] for m in call["members"]}


# --- 1. the SDK drives the simulator: PHLO ------------------------------------------------------


async def test_every_phlo_method_of_the_sdk(simulator, app, receiver, control):
    client, wire = phlo_sdk(simulator.api_url, app.auth_id, app.auth_token)

    phlo = await sync(client.phlo.get, app.phlo_id)  # Phlos.get
    assert (phlo.phlo_id, phlo.name) == (app.phlo_id, app.name) and phlo.created_on and phlo.api_id
    run = await sync(phlo.run, **{"from": AGENT, "to": CUSTOMER})  # Phlo.run
    assert run.phlo_id == app.phlo_id and run.api_id and "executed" in run.message
    await receiver.until(lambda evs: [e["EventName"] for e in evs].count("ParticipantJoin") == 2)
    mpc = receiver.events[-1]["MPCUUID"]
    node = await sync(phlo.multi_party_call, app.node_id)  # Phlo.multi_party_call
    assert (node.node_id, node.phlo_id, node.node_type, node.name) == (
        app.node_id, app.phlo_id, "multi_party_call", "Multi-Party Call_1")
    generic = await sync(phlo.node, "multi_party_call", app.node_id)  # Phlo.node
    assert (generic.node_id, generic.node_type) == (app.node_id, "multi_party_call")
    assert wire.statuses() == [200, 201, 200, 200]

    # Member: hold, unhold, mute, unmute (the last two the simulator used to refuse with a 400)
    customer = node.member(CUSTOMER)
    for action, event in [("hold", "ParticipantHold"), ("unhold", "ParticipantUnhold"), ("mute", "ParticipantMute"),
                          ("unmute", "ParticipantUnmute")]:
        answer = await sync(getattr(customer, action))
        assert (answer.error, wire.last()) == ("", ("POST", f"/v1/phlo/{app.phlo_id}/multi_party_call/"
                                                             f"{app.node_id}/members/{CUSTOMER}/", 201)), action
        assert (await arrival(receiver, mpc, event))["ParticipantCallTo"] == CUSTOMER

    # MultiPartyCall.warm_transfer (role defaults to agent), Member.resume_call by the target
    assert (await sync(node.warm_transfer, AGENT, TARGET)).error == ""
    assert (await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=TARGET))["ParticipantRole"] == "Agent"
    assert (await sync(node.member(TARGET).resume_call)).error == ""
    await arrival(receiver, mpc, "ParticipantUnhold", 2)
    # Phlos.multi_party_call (action call), Phlos.member with the node type, voicemail_drop
    helper = "+14155550177"
    await sync(client.phlo.multi_party_call, app.phlo_id, app.node_id, "call", trigger_source=AGENT, to=helper,
               role="customer")
    assert (await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=helper))["ParticipantRole"] == "Customer"
    await sync(client.phlo.member, app.phlo_id, app.node_id, helper, "voicemail_drop", node_type="multi_party_call")
    exit_ = await arrival(receiver, mpc, "ParticipantExit", ParticipantCallTo=helper)
    assert exit_["ParticipantExitCause"] == "Participant Call Hangup"
    # Member.hangup, then a second warm transfer that Member.abort_transfer ends
    assert (await sync(node.member(TARGET).hangup)).error == ""
    exit_ = await arrival(receiver, mpc, "ParticipantExit", ParticipantCallTo=TARGET)
    assert exit_["ParticipantExitCause"] == "Kicked Out of Multiparty Call"
    second = "+14155550178"
    await sync(node.warm_transfer, AGENT, second)
    await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=second)
    await sync(node.member(AGENT).abort_transfer)
    await arrival(receiver, mpc, "ParticipantExit", ParticipantCallTo=second)
    # MultiPartyCall.cold_transfer: the initiator leaves, transferred
    third = "+14155550179"
    await sync(node.cold_transfer, AGENT, third)
    exit_ = await arrival(receiver, mpc, "ParticipantExit", ParticipantCallTo=AGENT)
    assert exit_["ParticipantExitCause"] == "Participant Call Transferred"
    await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=third)
    assert members(await call_state(control, mpc)) == {
        AGENT: "left", CUSTOMER: "connected", TARGET: "left", helper: "left", second: "left", third: "connected"}

    # Phlo.member (the PHLO object's own), MultiPartyCall.call, Phlos.multi_party_call(action="member")
    holds = len(named(receiver, mpc, "ParticipantHold"))
    held = await sync(phlo.member, app.phlo_id, app.node_id, CUSTOMER, "hold", node_type="multi_party_call")
    assert held.error == ""
    assert (await arrival(receiver, mpc, "ParticipantHold", holds + 1))["ParticipantCallTo"] == CUSTOMER
    sent = len(wire.exchanges)
    assert (await sync(node.call, third, "+14155550180", "agent")).error == ""
    member = await sync(client.phlo.multi_party_call, app.phlo_id, app.node_id, "member", member_id=CUSTOMER)
    assert (member.member_id, member.node_type, len(wire.exchanges)) == (CUSTOMER, "multi_party_call", sent + 1)
    assert all(status == 201 for *_, status in wire.exchanges[4:])


async def test_phlo_refusals_reach_the_sdk_as_its_errors(simulator, app, receiver):
    client, wire = phlo_sdk(simulator.api_url, app.auth_id, app.auth_token)
    phlo = await sync(client.phlo.get, app.phlo_id)
    await sync(phlo.run, **{"from": AGENT, "to": CUSTOMER})
    await receiver.until(lambda evs: [e["EventName"] for e in evs].count("ParticipantJoin") == 2)
    node = await sync(phlo.multi_party_call, app.node_id)
    cases = [
        (plivo_errors.ValidationError, node.member(CUSTOMER).unhold, 400),  # not on hold
        (plivo_errors.ResourceNotFoundError, node.member("+19995550000").hold, 404),  # in no call of the node
        # Phlos.member's default node type is conference_bridge: this PHLO has no such node
        (plivo_errors.ResourceNotFoundError, lambda: client.phlo.member(app.phlo_id, app.node_id, CUSTOMER, "hold"),
         404),
        (plivo_errors.ResourceNotFoundError, lambda: client.phlo.get("no-such-phlo"), 404),
        (plivo_errors.ValidationError, lambda: phlo.run(), 400),  # a multiparty PHLO needs from and to
    ]
    for error, request, status in cases:
        with pytest.raises(error):
            await sync(request)
        assert wire.last()[2] == status
    intruder, intruder_wire = phlo_sdk(simulator.api_url, app.auth_id, "not-the-token")
    with pytest.raises(plivo_errors.AuthenticationError):
        await sync(intruder.phlo.get, app.phlo_id)
    assert intruder_wire.statuses() == [401]


async def test_a_sip_member_is_addressed_raw_as_the_sdk_sends_it(simulator, app, receiver, control, api):
    mpc = await run_call(api, receiver, app, agent=SIP_AGENT)
    client, wire = phlo_sdk(simulator.api_url, app.auth_id, app.auth_token)
    node = await sync(SdkPhlo(client, {"phlo_id": app.phlo_id}).multi_party_call, app.node_id)
    await sync(node.member(SIP_AGENT).hold)
    assert wire.last() == ("POST", f"/v1/phlo/{app.phlo_id}/multi_party_call/{app.node_id}/members/{SIP_AGENT}/",
                           201)
    assert members(await call_state(control, mpc))[SIP_AGENT] == "on_hold"


# --- 1. the SDK drives the simulator: the Voice API's multiparty calls -------------------------


async def test_every_multiparty_call_method_of_the_sdk(simulator, app, receiver, control, api, voice_sdk):
    mpc = await run_call(api, receiver, app)
    client, wire = voice_sdk(simulator.api_url, app.auth_id, app.auth_token)
    calls = client.multi_party_calls

    listed = await sync(calls.list, status="active")  # list
    assert mpc in [c.mpc_uuid for c in listed] and all(c.status == "Active" for c in listed)
    assert listed.meta.count == len(listed.objects)
    call = await sync(calls.get, uuid=mpc)  # get, by uuid…
    assert (call.id, call.status, call.recording, call.termination_cause) == (mpc, "Active", "not-recording", None)
    by_name = await sync(calls.get, friendly_name=call.friendly_name)  # …and by name_
    assert by_name.id == mpc and wire.last()[1].startswith(f"/v1/Account/{app.auth_id}/MultiPartyCall/name_")

    added = await sync(calls.add_participant, "supervisor", uuid=mpc, from_=CALLER_ID, to_=SUPERVISOR,
                       coach_mode=True, mute=True)  # add_participant
    assert added.message == "add participant action initiated" and added.calls[0].to == SUPERVISOR
    join = await arrival(receiver, mpc, "ParticipantJoin", ParticipantRole="Supervisor")
    supervisor = join["MemberID"]
    assert added.calls[0].call_uuid == join["ParticipantCallUUID"]

    participants = await sync(calls.list_participants, uuid=mpc)  # list_participants
    assert {p.member_address for p in participants} == {AGENT, CUSTOMER, SUPERVISOR}
    assert all(p.id == mpc and p.secondary_id for p in participants)
    one = await sync(calls.get_participant, supervisor, uuid=mpc)  # get_participant
    assert (one.member_id, one.role, one.coach_mode, one.mute, one.hold, one.exit_cause) == (
        supervisor, "supervisor", True, True, False, None)

    answer = await sync(calls.update_participant, supervisor, uuid=mpc, coach_mode=False, mute=False)
    assert set(vars(answer)) >= {"api_id", "coach_mode", "mute"}  # update_participant
    await arrival(receiver, mpc, "ParticipantCoachModeStop", ParticipantCoachMode="false")
    await sync(calls.update_participant, "all", uuid=mpc, mute=True)  # every participant on the line
    for member_id in (m["MemberID"] for m in named(receiver, mpc, "ParticipantJoin")):
        await arrival(receiver, mpc, "ParticipantMute", MemberID=member_id)
    customer, agent = (next(e["MemberID"] for e in named(receiver, mpc, "ParticipantJoin", ParticipantCallTo=who))
                       for who in (CUSTOMER, AGENT))
    await sync(calls.update_participant, f"{customer},{agent}", uuid=mpc, hold=True)  # a comma-separated list
    await arrival(receiver, mpc, "ParticipantHold", MemberID=customer)
    await arrival(receiver, mpc, "ParticipantHold", MemberID=agent)
    await sync(calls.update_participant, f"{customer},{agent}", uuid=mpc, hold=False, mute=False)
    await arrival(receiver, mpc, "ParticipantUnhold", MemberID=agent)

    started = await sync(calls.start_recording, uuid=mpc)  # start/pause/resume/stop_recording
    assert started.recording_id and started.recording_url.endswith(".mp3")
    for step in (calls.pause_recording, calls.resume_recording, calls.stop_recording):
        await sync(step, uuid=mpc)
    completed = await arrival(receiver, mpc, "MPCRecordingCompleted")
    assert (completed["RecordingUUID"], completed["RecordingURL"]) == (started.recording_id, started.recording_url)
    assert completed["RecordingResourceURL"].endswith(f"/Recording/{started.recording_id}/")

    own = await sync(calls.start_participant_recording, agent, uuid=mpc, file_format="wav")  # participant's own
    assert own.recording_id and own.recording_url.endswith(".wav")
    for step in (calls.pause_participant_recording, calls.resume_participant_recording,
                 calls.stop_participant_recording):
        await sync(step, agent, uuid=mpc)
    done = await arrival(receiver, mpc, "ParticipantRecordingCompleted")
    assert (done["MemberID"], done["RecordingUUID"], done["RecordingFormat"]) == (agent, own.recording_id, "wav")

    music = "https://s3.amazonaws.com/plivocloud/music.mp3"
    played = await sync(calls.start_play_audio, customer, uuid=mpc, url=music)  # start/stop_play_audio
    assert (played.message, played.mpcMemberId, played.mpcName) == (
        "play queued into MPC", [customer], call.friendly_name)
    await sync(calls.stop_play_audio, customer, uuid=mpc)

    await sync(calls.kick_participant, supervisor, uuid=mpc)  # kick_participant
    kicked = await arrival(receiver, mpc, "ParticipantExit", MemberID=supervisor)
    assert kicked["ParticipantExitCause"] == "Kicked Out of Multiparty Call"
    gone = await sync(calls.get_participant, supervisor, uuid=mpc)
    assert (gone.exit_cause, gone.mute, gone.hold) == ("Kicked Out of Multiparty Call", None, None) and gone.exit_time

    await sync(calls.stop, uuid=mpc)  # stop: the call ends, by the API
    end = await arrival(receiver, mpc, "MPCEnd")
    assert (end["MPCTerminationCause"], end["MPCTerminationCauseCode"]) == ("Hangup API Triggered", "3000")
    assert {e["ParticipantExitCause"] for e in named(receiver, mpc, "ParticipantExit")} >= {"Multiparty Call Ended"}
    ended = await sync(calls.get, uuid=mpc)
    assert (ended.status, ended.termination_cause, ended.termination_cause_code) == (
        "Ended", "Hangup API Triggered", 3000) and ended.end_time
    assert ended.id in [c.mpc_uuid for c in await sync(calls.list, status="ended")]

    expected = {("GET", 200), ("POST", 201), ("POST", 202), ("POST", 200), ("POST", 204), ("DELETE", 204)}
    assert {(method, status) for method, _, status in wire.exchanges} <= expected
    statuses = {path.split(f"/uuid_{mpc}/")[-1]: status for method, path, status in wire.exchanges if method == "POST"}
    assert [statuses[path] for path in ("Participant/", "Record/", "Record/Pause/", f"Member/{customer}/Play/")] == [
        201, 200, 204, 202]


async def test_the_resource_objects_methods_reach_the_same_endpoints(simulator, app, receiver, control, api,
                                                                      voice_sdk):
    """MultiPartyCall.* and MultiPartyCallParticipant.*, as the SDK hands them back."""
    mpc = await run_call(api, receiver, app)
    client, wire = voice_sdk(simulator.api_url, app.auth_id, app.auth_token)
    call = await sync(client.multi_party_calls.get, uuid=mpc)
    assert (await sync(call.get)).id == mpc
    # MultiPartyCall.add_participant is broken in the SDK itself (it passes `role` twice): no request is sent.
    with pytest.raises(TypeError, match="multiple values for argument 'role'"):
        await sync(call.add_participant, "agent", from_=CALLER_ID, to_=TARGET, hold=True)
    await sync(client.multi_party_calls.add_participant, "agent", uuid=mpc, from_=CALLER_ID, to_=TARGET,
               hold=True)  # joins held
    join = await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=TARGET)
    held = await arrival(receiver, mpc, "ParticipantHold", MemberID=join["MemberID"])
    assert int(held["SequenceNumber"]) == int(join["SequenceNumber"]) + 1
    assert members(await call_state(control, mpc))[TARGET] == "on_hold"

    participant = await sync(call.get_participant, join["MemberID"])
    assert (participant.hold, (await sync(participant.get)).member_id) == (True, join["MemberID"])
    await sync(participant.update, hold=False)
    await arrival(receiver, mpc, "ParticipantUnhold", MemberID=join["MemberID"])
    await sync(call.update, join["MemberID"], mute=True)
    await arrival(receiver, mpc, "ParticipantMute", MemberID=join["MemberID"])
    recording = await sync(participant.start_participant_recording)
    await sync(participant.pause_participant_recording)
    await sync(participant.resume_participant_recording)
    await sync(participant.stop_participant_recording)
    assert (await arrival(receiver, mpc, "ParticipantRecordingCompleted"))["RecordingUUID"] == recording.recording_id
    recording = await sync(call.start_recording)
    await sync(call.pause_recording)
    await sync(call.resume_recording)
    await sync(call.stop_recording)
    assert (await arrival(receiver, mpc, "MPCRecordingCompleted"))["RecordingUUID"] == recording.recording_id
    # MultiPartyCall.*_participant_recording are broken in the SDK itself (participant_id twice): no request.
    for broken in (call.start_participant_recording, call.pause_participant_recording,
                   call.resume_participant_recording, call.stop_participant_recording):
        with pytest.raises(TypeError, match="multiple values for keyword argument 'participant_id'"):
            await sync(broken, join["MemberID"])
    await sync(call.start_play_audio, join["MemberID"], url="https://example.com/hold.mp3")
    await sync(call.stop_play_audio, join["MemberID"])
    await sync(participant.kick)
    await arrival(receiver, mpc, "ParticipantExit", MemberID=join["MemberID"])
    await sync(client.multi_party_calls.add_participant, "supervisor", uuid=mpc, from_=CALLER_ID, to_=SUPERVISOR)
    supervisor = (await arrival(receiver, mpc, "ParticipantJoin", ParticipantCallTo=SUPERVISOR))["MemberID"]
    await sync(call.kick, supervisor)
    await arrival(receiver, mpc, "ParticipantExit", MemberID=supervisor)
    sent = len(wire.exchanges)
    with pytest.raises(plivo_errors.ResourceNotFoundError):  # MultiPartyCall.start: the call is not initialized
        await sync(call.start)
    await sync(call.stop)
    assert (await arrival(receiver, mpc, "MPCEnd"))["MPCTerminationCause"] == "Hangup API Triggered"
    with pytest.raises(plivo_errors.ResourceNotFoundError):  # the call is over: no live call to record
        await sync(call.start_recording)
    assert all(status < 300 for status in wire.statuses()[:sent])
    assert wire.statuses()[sent:] == [404, 204, 404]


async def test_calls_are_started_created_and_joined_as_on_plivo(make_simulator, app, receiver, control, voice_sdk):
    simulator = await make_simulator()
    client, wire = voice_sdk(simulator.api_url, app.auth_id, app.auth_token)
    calls = client.multi_party_calls

    # start: a customer waits alone in a call still initialized, which `start` activates (204)
    waiting = (await inbound(simulator, **{"from": CUSTOMER}))["mpc_uuid"]
    await arrival(receiver, waiting, "ParticipantJoin")
    assert (await sync(calls.get, uuid=waiting)).status == "Initialized"
    await sync(calls.start, uuid=waiting)
    assert wire.last()[2] == 204 and (await sync(calls.get, uuid=waiting)).status == "Active"
    await arrival(receiver, waiting, "MPCStart")
    with pytest.raises(plivo_errors.ResourceNotFoundError):  # no longer initialized
        await sync(calls.start, uuid=waiting)

    # call_uuid: the customer's call is moved into another call
    customer_leg = (await arrival(receiver, waiting, "ParticipantJoin"))["ParticipantCallUUID"]
    await sync(calls.add_participant, "agent", friendly_name="desk-escalations", from_=CALLER_ID, to_=TARGET)
    await receiver.until(lambda evs: any(e["EventName"] == "ParticipantJoin" and e["MPCName"] == "desk-escalations"
                                         for e in evs))
    fresh = next(e["MPCUUID"] for e in receiver.events if e["MPCName"] == "desk-escalations")
    assert named(receiver, fresh, "MPCInitialized"), "a name_ of no live call starts a new call"
    moved = await sync(calls.add_participant, "customer", friendly_name="desk-escalations", call_uuid=customer_leg)
    assert moved.calls[0].call_uuid == customer_leg
    left = await arrival(receiver, waiting, "ParticipantExit")
    assert left["ParticipantExitCause"] == "Participant Call Transferred"
    rejoined = await arrival(receiver, fresh, "ParticipantJoin", ParticipantCallUUID=customer_leg)
    assert rejoined["ParticipantCallFrom"] == CUSTOMER

    # to with `<`: agents ring together, the first to answer joins (here the one whose phone answers)
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as sim:
        await sim.post("/phones/", json={"address": "+14155550161", "answer": "never"})
    answer = await sync(calls.add_participant, "agent", uuid=fresh, from_=CALLER_ID,
                        to_="+14155550161<+14155550162")
    assert [leg.to for leg in answer.calls] == ["+14155550161", "+14155550162"]
    joined = await arrival(receiver, fresh, "ParticipantJoin", ParticipantCallTo="+14155550162")
    assert joined["ParticipantCallUUID"] == answer.calls[1].call_uuid
    with pytest.raises(plivo_errors.ValidationError):  # several destinations are for agents only (SDK's own check)
        await sync(calls.add_participant, "customer", uuid=fresh, from_=CALLER_ID, to_="+14155550163<+14155550164")

    # an AI agent is named so in callbacks
    await sync(calls.add_participant, "ai-agent", uuid=fresh, from_=CALLER_ID, to_="sip:bot@ai.example.com")
    bot = await arrival(receiver, fresh, "ParticipantJoin", ParticipantCallTo="sip:bot@ai.example.com")
    assert bot["ParticipantRole"] == "AI-Agent"


async def test_voice_api_refusals_reach_the_sdk_as_its_errors(simulator, app, receiver, api, voice_sdk):
    mpc = await run_call(api, receiver, app)
    client, wire = voice_sdk(simulator.api_url, app.auth_id, app.auth_token)
    calls = client.multi_party_calls
    cases = [
        (plivo_errors.ResourceNotFoundError, lambda: calls.get(uuid="no-such-mpc"), 404),
        (plivo_errors.ResourceNotFoundError, lambda: calls.get_participant("99", uuid=mpc), 404),
        (plivo_errors.ResourceNotFoundError, lambda: calls.kick_participant("99", uuid=mpc), 404),
        (plivo_errors.ResourceNotFoundError, lambda: calls.start_recording(friendly_name="no-such-name"), 404),
        (plivo_errors.ValidationError, lambda: calls.stop_recording(uuid=mpc), 400),  # not recording
        (plivo_errors.ValidationError, lambda: calls.add_participant("agent", uuid=mpc, from_=CALLER_ID, to_=AGENT),
         400),  # already on the call
    ]
    for error, request, status in cases:
        with pytest.raises(error):
            await sync(request)
        assert wire.last()[2] == status
    intruder, intruder_wire = voice_sdk(simulator.api_url, app.auth_id, "not-the-token")
    with pytest.raises(plivo_errors.AuthenticationError):
        await sync(intruder.multi_party_calls.get, uuid=mpc)
    assert intruder_wire.statuses() == [401]


# --- 2. the desk's requests are the SDK's ---------------------------------------------------------

AUTH_ID, AUTH_TOKEN = "MACONFORMANCETEST001", "conformance-token"
PHLO_ID, NODE_ID, MPC_UUID = "phlo-conformance", "node-conformance", "4e9ae3f1-a29c-4524-a1b4-4758922e589b"
CREDENTIALS = Credentials(AUTH_ID, AUTH_TOKEN)
ADDRESSES = ["+14155550100", "14155550100", "sip:bob@example.com", "sip:alice+desk@phone.plivo.com"]


class Recorder:
    """One loopback server that answers like Plivo and keeps each request as it came on the wire."""

    def __init__(self):
        self.requests: list[dict] = []
        self.server = InProcessServer(self)

    async def __call__(self, scope, receive, send):
        request = await read_request(scope, receive)
        kept = {name: request.headers.get(name) for name in ("authorization", "content-type", "accept")}
        self.requests.append({"method": scope["method"], "path": scope["raw_path"], "body": request.body, **kept})
        status = 204 if scope["method"] == "DELETE" else 200
        answer = json.dumps({"api_id": "a1", "error": "", "phlo_id": PHLO_ID, "node_id": NODE_ID,
                             "node_type": "multi_party_call", "recording_id": "r1", "recording_url": "u"}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"" if status == 204 else answer})

    def take(self) -> dict:
        request, = self.requests
        self.requests.clear()
        return request


@pytest_asyncio.fixture(loop_scope="module")
async def recorder():
    recorder = Recorder()
    await recorder.server.start()
    yield recorder
    await recorder.server.stop()


def phlo_pairs(client) -> list:
    """(name, the desk's request, the SDK's request) for every PHLO request the desk sends."""
    phlo = SdkPhlo(client, {"phlo_id": PHLO_ID})
    pairs = [
        ("run", lambda d: d.run({"from": "+14155550101", "to": "+12025550001"}),
         lambda: phlo.run(**{"from": "+14155550101", "to": "+12025550001"})),
        ("get_phlo", lambda d: d.get_phlo(), lambda: client.phlo.get(PHLO_ID)),
        ("get_node", lambda d: d.get_node(), lambda: phlo.multi_party_call(NODE_ID)),
    ]
    for action, role in [("call", "customer"), ("warm_transfer", "agent"), ("cold_transfer", "agent")]:
        pairs.append((action, lambda d, a=action, r=role: d.node_action(a, trigger_source="+14155550101",
                                                                         to="sip:bob@example.com", role=r),
                      lambda a=action, r=role: client.phlo.multi_party_call(
                          PHLO_ID, NODE_ID, a, trigger_source="+14155550101", to="sip:bob@example.com", role=r)))
    for action in MemberAction:
        for address in ADDRESSES:
            pairs.append((f"{action} {address}", lambda d, a=action, m=address: d.member_action(a, member_address=m),
                          lambda a=action, m=address: client.phlo.member(PHLO_ID, NODE_ID, m, a.value,
                                                                          node_type="multi_party_call")))
    return pairs


async def test_the_desks_phlo_requests_are_the_sdks_byte_for_byte(recorder):
    client, _ = phlo_sdk(f"{recorder.server.url}/v1", AUTH_ID, AUTH_TOKEN)
    desk = PhloApi(base_url=f"{recorder.server.url}/v1", timeout=5, credentials=CREDENTIALS, phlo_id=PHLO_ID,
                   node_id=NODE_ID)
    pairs = phlo_pairs(client)
    assert len(pairs) == 3 + 3 + len(MemberAction) * len(ADDRESSES)
    for name, ours, theirs in pairs:
        await ours(desk)
        mine = recorder.take()
        await sync(theirs)
        sdk = recorder.take()
        if not sdk["body"]:  # the SDK's session sends Content-Type on every request; it matters with a body
            sdk["content-type"] = None
        assert mine == sdk, name
    raw = f"/v1/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/members/sip:alice+desk@phone.plivo.com/"
    assert mine["path"] == raw.encode()


def _defaults(function) -> dict:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


async def test_the_desks_voice_api_requests_are_the_sdks(recorder, voice_sdk):
    """Same method, path and headers; the body carries the desk's parameters with the SDK's values. What
    the SDK adds is Plivo's default (its signature's, which are the documented ones) or the identifiers
    it echoes (`uuid`, `participant_id`), so the two requests ask Plivo for the same thing."""
    client, _ = voice_sdk(f"{recorder.server.url}/v1", AUTH_ID, AUTH_TOKEN)
    calls = client.multi_party_calls
    desk = VoiceApi(base_url=f"{recorder.server.url}/v1", timeout=5, credentials=CREDENTIALS, mpc_uuid=MPC_UUID)
    with_callback = VoiceApi(base_url=f"{recorder.server.url}/v1", timeout=5, credentials=CREDENTIALS,
                             mpc_uuid=MPC_UUID, recording_callback_url="https://cc.example.com/callbacks/plivo/p/")
    pairs = [
        (lambda: desk.add_participant(role="supervisor", from_=CALLER_ID, to=SUPERVISOR, coach_mode=True, mute=True),
         lambda: calls.add_participant("supervisor", uuid=MPC_UUID, from_=CALLER_ID, to_=SUPERVISOR, coach_mode=True,
                                       mute=True), calls.add_participant),
        (lambda: desk.update_participant("355", coach_mode=False, mute=False),
         lambda: calls.update_participant("355", uuid=MPC_UUID, coach_mode=False, mute=False), None),
        (lambda: desk.update_participant("355", mute=True),
         lambda: calls.update_participant("355", uuid=MPC_UUID, mute=True), None),
        (lambda: desk.update_participant("355", hold=True),
         lambda: calls.update_participant("355", uuid=MPC_UUID, hold=True), None),
        (lambda: desk.remove_participant("355"), lambda: calls.kick_participant("355", uuid=MPC_UUID),
         calls.kick_participant),
        (lambda: desk.start_recording(), lambda: calls.start_recording(uuid=MPC_UUID), calls.start_recording),
        (lambda: with_callback.start_recording(),
         lambda: calls.start_recording(uuid=MPC_UUID, recording_callback_url="https://cc.example.com/callbacks/plivo/p/"),
         calls.start_recording),
        (lambda: desk.pause_recording(), lambda: calls.pause_recording(uuid=MPC_UUID), calls.pause_recording),
        (lambda: desk.resume_recording(), lambda: calls.resume_recording(uuid=MPC_UUID), calls.resume_recording),
        (lambda: desk.stop_recording(), lambda: calls.stop_recording(uuid=MPC_UUID), calls.stop_recording),
    ]
    for ours, theirs, sdk_method in pairs:
        await ours()
        mine = recorder.take()
        await sync(theirs)
        sdk = recorder.take()
        label = (mine["method"], mine["path"])
        assert (mine["method"], mine["path"], mine["authorization"], mine["accept"]) == (
            sdk["method"], sdk["path"], sdk["authorization"], sdk["accept"]), label
        if sdk_method is None:  # the same parameters: the same bytes
            assert (mine["body"], mine["content-type"]) == (sdk["body"], sdk["content-type"]), label
            continue
        our_params = json.loads(mine["body"]) if mine["body"] else {}
        their_params = json.loads(sdk["body"]) if sdk["body"] else {}
        assert mine["content-type"] == (sdk["content-type"] if mine["body"] else None), label
        assert {k: their_params.get(k) for k in our_params} == our_params, label
        defaults = {name.rstrip("_"): value for name, value in _defaults(sdk_method).items()}
        for name, value in their_params.items():
            if name in our_params or name in ("uuid", "participant_id"):
                continue
            # (the SDK's validators lower-case some defaults: dial_music "Real" goes as "real")
            expected = our_params["from"] if name == "caller_name" else defaults.get(name)  # caller_name: from
            assert str(value).lower() == str(expected).lower(), (label, name)
    assert mine["path"] == f"/v1/Account/{AUTH_ID}/MultiPartyCall/uuid_{MPC_UUID}/Record/".encode()
