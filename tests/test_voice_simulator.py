"""The simulator's Voice API for multiparty calls (docs/simulator.md): add, update and remove a
participant, record the call, as Plivo serves them, with the callbacks they cause; the official
SDK drives it; and the request journal and recordings it serves. In the test's event loop, as
tests/test_simulator.py (whose fixtures these are)."""

# Fixtures are imported from the module whose world this is; their parameters share their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from datetime import datetime

import httpx
import plivo
import pytest
from plivo import exceptions as plivo_errors

from phlo.voice_api import VoiceApi
from simulator.app import UNAUTHORIZED
from tests.test_simulator import (  # noqa: F401 - fixtures
    AGENT,
    CUSTOMER,
    act,
    api,
    app,
    call_state,
    control,
    make_simulator,
    receiver,
    receiver_server,
    run_call,
    simulator,
)

pytestmark = [
    pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(60),
    pytest.mark.asyncio(loop_scope="module"),
]

SUPERVISOR = "+14155550199"


def mpc_path(app, mpc: str, *rest: str) -> str:
    return "/".join([f"/Account/{app.auth_id}/MultiPartyCall/uuid_{mpc}", *rest]) + "/"


def member_of(call: dict, address: str) -> dict:
    return next(m for m in reversed(call["members"]) if m["address"] == address)


async def supervise(api, receiver, app, mpc: str, **flags) -> str:
    """Dial the supervisor in; their MemberID once they joined."""
    body = {"role": "supervisor", "from": "+18005550100", "to": SUPERVISOR, "coach_mode": True, "mute": True, **flags}
    response = await api.post(mpc_path(app, mpc, "Participant"), json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert set(answer) == {"api_id", "calls", "message", "request_uuid"}
    assert answer["calls"][0]["to"] == SUPERVISOR and answer["calls"][0]["from"] == "+18005550100"
    events = await receiver.until(lambda evs: any(
        e["EventName"] == "ParticipantJoin" and e.get("ParticipantRole") == "Supervisor" for e in evs))
    joined = next(e for e in events if e["EventName"] == "ParticipantJoin" and e["ParticipantRole"] == "Supervisor")
    assert answer["calls"][0]["call_uuid"] == joined["ParticipantCallUUID"]
    return joined["MemberID"]


async def test_a_supervisor_is_added_coached_and_muted_then_switches_and_leaves(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    member = await supervise(api, receiver, app, mpc)
    dialled = next(e for e in receiver.events if e["EventName"] == "AddParticipantByAPIActionInitiated")
    assert (dialled["ParticipantRole"], dialled["ParticipantCallTo"], dialled["ParticipantCallFrom"]) == (
        "Supervisor", SUPERVISOR, "+18005550100"
    )
    state = member_of(await call_state(control, mpc), SUPERVISOR)
    assert (state["role"], state["state"], state["coach_mode"], state["muted"]) == ("supervisor", "connected", True,
                                                                                   True)

    # whisper: unmuted, still coached; then barge: heard by everyone
    response = await api.post(mpc_path(app, mpc, "Participant", member), json={"coach_mode": True, "mute": False})
    assert response.status_code == 202 and set(response.json()) == {"api_id", "mute", "coach_mode"}
    response = await api.post(mpc_path(app, mpc, "Participant", member), data={"coach_mode": "false"})  # a form
    assert response.status_code == 202
    events = await receiver.until_named("ParticipantUnmute", "ParticipantCoachModeStop")
    stop = events[-1]
    assert (stop["MemberID"], stop["ParticipantCoachMode"], stop["ParticipantRole"]) == (member, "false", "Supervisor")
    state = member_of(await call_state(control, mpc), SUPERVISOR)
    assert (state["coach_mode"], state["muted"]) == (False, False)

    response = await api.delete(mpc_path(app, mpc, "Participant", member))
    assert response.status_code == 204 and response.content == b""
    events = await receiver.until_named("ParticipantExit")
    assert (events[-1]["MemberID"], events[-1]["ParticipantExitCause"]) == (member, "Kicked Out of Multiparty Call")
    call = await call_state(control, mpc)
    assert not call["ended"] and member_of(call, SUPERVISOR)["state"] == "left"


async def test_mute_is_reported_and_only_a_supervisor_is_coached(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    customer = member_of(await call_state(control, mpc), CUSTOMER)["member_id"]
    path = mpc_path(app, mpc, "Participant", customer)
    assert (await api.post(path, json={"mute": True})).status_code == 202
    assert (await api.post(path, json={"mute": False})).status_code == 202
    await receiver.until_named("ParticipantMute", "ParticipantUnmute")
    assert receiver.events[-1]["ParticipantCallTo"] == CUSTOMER
    refused = await api.post(path, json={"coach_mode": True})
    assert refused.status_code == 400 and "supervisor" in refused.json()["error"]
    assert (await api.post(path, json={})).status_code == 400  # nothing to update
    assert (await api.post(path, json={"mute": "maybe"})).status_code == 400


async def test_recording_the_call_and_the_file_it_serves(api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    response = await api.post(mpc_path(app, mpc, "Record"), json={"file_format": "mp3"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"api_id", "message", "recording_id", "recording_url"}
    assert (await api.post(mpc_path(app, mpc, "Record"), json={})).status_code == 400  # already recording
    for step in ("Pause", "Resume"):
        response = await api.post(mpc_path(app, mpc, "Record", step))
        assert response.status_code == 204
    assert (await api.post(mpc_path(app, mpc, "Record", "Resume"))).status_code == 400  # not paused
    assert (await api.delete(mpc_path(app, mpc, "Record"))).status_code == 204
    events = await receiver.until_named("MPCRecordingInitiated", "MPCRecordingPaused", "MPCRecordingResumed",
                                        "MPCRecordingCompleted")
    completed = events[-1]
    assert (completed["RecordingUUID"], completed["RecordingURL"], completed["RecordingFormat"]) == (
        answer["recording_id"], answer["recording_url"], "mp3"
    )
    resource = completed["RecordingResourceURL"]
    assert resource.endswith(f"/v1/Account/{app.auth_id}/Recording/{answer['recording_id']}/")
    async with httpx.AsyncClient(auth=(app.auth_id, app.auth_token)) as client:
        described = (await client.get(resource)).json()
    assert (described["recording_id"], described["recording_url"]) == (answer["recording_id"], answer["recording_url"])
    assert int(completed["RecordingDuration"]) >= 0
    started, ended = (datetime.fromisoformat(completed[name]) for name in ("RecordingStartTime", "RecordingEndTime"))
    assert started <= ended and started.utcoffset().total_seconds() == 0
    assert (await api.delete(mpc_path(app, mpc, "Record"))).status_code == 400  # nothing to stop

    async with httpx.AsyncClient() as browser:
        audio = await browser.get(answer["recording_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    assert audio.content[:2] == b"\xff\xfb" and len(audio.content) % 104 == 0  # whole MPEG frames


async def test_a_recording_running_when_the_call_ends_is_completed_first(api, app, receiver):
    mpc = await run_call(api, receiver, app)
    assert (await api.post(mpc_path(app, mpc, "Record"), json={"file_format": "wav"})).status_code == 200
    await act(api, app, AGENT, "hangup")
    events = await receiver.until_named("MPCRecordingCompleted", "MPCEnd")
    completed = next(e for e in events if e["EventName"] == "MPCRecordingCompleted")
    assert completed["RecordingFormat"] == "wav" and completed["RecordingURL"].endswith(".wav")
    async with httpx.AsyncClient() as browser:
        audio = await browser.get(completed["RecordingURL"])
    assert audio.headers["content-type"] == "audio/wav" and audio.content[:4] == b"RIFF"


async def test_a_call_not_started_cannot_be_recorded(make_simulator, app, receiver):
    simulator = await make_simulator()
    async with httpx.AsyncClient(base_url=f"{simulator.url}/_sim") as sim_control:
        mpc = (await sim_control.post("/inbound/", json={})).json()["mpc_uuid"]  # nobody is available: it waits
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as client:
        response = await client.post(mpc_path(app, mpc, "Record"), json={})
    assert response.status_code == 400 and "not started" in response.json()["error"]


async def test_errors_are_plivos(simulator, api, app, receiver, control):
    mpc = await run_call(api, receiver, app)
    async with httpx.AsyncClient(base_url=simulator.api_url) as anonymous:
        response = await anonymous.post(mpc_path(app, mpc, "Record"), json={})
        assert (response.status_code, response.json()["error"]) == (401, UNAUTHORIZED)
    async with httpx.AsyncClient(base_url=simulator.api_url, auth=(app.auth_id, app.auth_token)) as client:
        response = await client.post(f"/Account/MAOTHER/MultiPartyCall/uuid_{mpc}/Record/", json={})
        assert response.status_code == 401  # another account's path
    assert (await api.post(mpc_path(app, "no-such-mpc", "Record"), json={})).status_code == 404
    assert (await api.post(f"/Account/{app.auth_id}/MultiPartyCall/name_x/Record/", json={})).status_code == 404
    assert (await api.post(mpc_path(app, mpc, "Participant", "99"), json={"mute": True})).status_code == 404
    assert (await api.get(mpc_path(app, mpc, "Record"))).status_code == 405
    bad = [{"role": "boss", "from": "+18005550100", "to": SUPERVISOR}, {"role": "supervisor", "to": SUPERVISOR},
           {"role": "supervisor", "from": "+18005550100", "to": "nobody"},
           {"role": "agent", "from": "+18005550100", "to": CUSTOMER}]  # already on the call
    for body in bad:
        response = await api.post(mpc_path(app, mpc, "Participant"), json=body)
        assert response.status_code == 400 and response.json()["error"], body
    await control.post("/faults/", json={"error_rate": 1.0})
    assert (await api.post(mpc_path(app, mpc, "Record"), json={})).status_code == 500
    await control.delete("/faults/")
    assert not (await call_state(control, mpc))["recordings"]  # a failed request changed nothing


async def test_the_journal_shows_each_api_request_without_the_token(api, app, receiver, control):
    await control.delete("/requests/")
    mpc = await run_call(api, receiver, app)
    await api.post(mpc_path(app, mpc, "Record"), json={"file_format": "mp3"})
    journal = (await control.get("/requests/")).json()["requests"]
    run_phlo, *_reads, record = [(r["method"], r["path"], r["auth_id"], r["body"]) for r in journal]
    assert run_phlo == ("POST", f"/v1/account/{app.auth_id}/phlo/{app.phlo_id}/", app.auth_id,
                        {"from": AGENT, "to": CUSTOMER})
    assert record == ("POST", f"/v1{mpc_path(app, mpc, 'Record')}", app.auth_id, {"file_format": "mp3"})
    assert all(method == "GET" for method, *_ in _reads)  # run_call's look at the PHLO run
    assert app.auth_token not in str(journal)


async def test_the_desks_client_and_the_official_sdk_drive_it(simulator, api, app, receiver, control,
                                                              monkeypatch):
    mpc = await run_call(api, receiver, app)
    voice = VoiceApi(base_url=simulator.api_url, timeout=5, credentials=app.credentials, mpc_uuid=mpc)
    assert (await voice.add_participant(role="supervisor", from_="+18005550100", to=SUPERVISOR, coach_mode=True,
                                        mute=True)).status == 201
    await receiver.until(lambda evs: any(e.get("ParticipantRole") == "Supervisor" and e["EventName"] ==
                                         "ParticipantJoin" for e in evs))
    member = member_of(await call_state(control, mpc), SUPERVISOR)["member_id"]
    monkeypatch.setattr(plivo.rest.client, "API_VOICE_BASE_URI", f"{simulator.api_url}/Account")

    def drive() -> None:
        client = plivo.RestClient(auth_id=app.auth_id, auth_token=app.auth_token)
        client.multi_party_calls.update_participant(participant_id=member, uuid=mpc, coach_mode=False)
        started = client.multi_party_calls.start_recording(uuid=mpc)
        assert started.recording_id and started.recording_url.endswith(".mp3")
        client.multi_party_calls.pause_recording(uuid=mpc)
        client.multi_party_calls.stop_recording(uuid=mpc)
        client.multi_party_calls.kick_participant(participant_id=member, uuid=mpc)
        with pytest.raises(plivo_errors.ResourceNotFoundError):
            client.multi_party_calls.kick_participant(participant_id="99", uuid=mpc)

    await asyncio.to_thread(drive)
    await receiver.until_named("ParticipantCoachModeStop", "MPCRecordingInitiated", "MPCRecordingPaused",
                               "MPCRecordingCompleted", "ParticipantExit")
