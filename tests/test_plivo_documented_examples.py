"""Plivo's documented examples (tests/fixtures/plivo/), fed as they are: the callbacks to the parser and
through the desk's intake, the responses to the desk's clients and to the official SDK; and the
simulator's answers hold to the same shapes (keys, time format)."""

# Fixtures are imported from the module whose world this is; their parameters share their names.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import httpx
import plivo
import pytest
import pytest_asyncio

from calls.models import Call, CallEvent, Member
from phlo.events import Kind, event_from_params
from phlo.http import Credentials, PlivoUnauthorized
from phlo.phlo_api import PhloApi
from phlo.voice_api import VoiceApi
from simulator.server import InProcessServer
from tests.fixtures.plivo import callbacks, multiparty_call, phlo
from tests.support.plivo import django_callback
from tests.test_simulator import (  # noqa: F401 - fixtures
    AGENT,
    CUSTOMER,
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

PLIVO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d")  # YYYY-MM-DD HH:mm:ss+|-hh:mm


def body(example: tuple[int, str | None]) -> dict:
    return json.loads(example[1]) if example[1] else {}


# --- callbacks → the parser -------------------------------------------------------------------


def test_a_participant_west_of_utc_with_no_address_is_a_joined_member():
    event = event_from_params(callbacks.JOIN_WITHOUT_ADDRESS_WEST_OF_UTC)
    assert (event.kind, event.member_id, event.role, event.address) == (Kind.MEMBER_JOINED, "355", "agent", "")
    assert event.timestamp == datetime(2020, 12, 24, 15, 1, 56, tzinfo=UTC)


def test_an_exit_east_of_utc_names_the_member_by_its_address():
    event = event_from_params(callbacks.EXIT_EAST_OF_UTC)
    assert (event.kind, event.address) == (Kind.MEMBER_LEFT, "sip:randomEndpoint524139428185758@phone.plivo.com")
    assert event.timestamp == datetime(2020, 12, 24, 10, 3, 26, tzinfo=UTC)


def test_the_end_of_a_call_carries_its_termination_cause():
    event = event_from_params(callbacks.MPC_END)
    assert (event.kind, event.termination_cause, event.termination_cause_code) == (
        Kind.CALL_ENDED, "No Active Participants", "1000")
    assert event.timestamp == datetime(2020, 12, 24, 9, 53, 40, tzinfo=UTC)


def test_a_completed_recording_is_read_whole():
    event = event_from_params(callbacks.RECORDING_COMPLETED)
    recording = event.recording
    assert event.kind == Kind.RECORDING_COMPLETED
    assert (recording.recording_uuid, recording.url, recording.duration, recording.format) == (
        "c2186400-1c8c-11e4-a664-0026b945b52x",
        "http://s3.amazonaws.com/recordings_2013/c2186400-1c8c-11e4-a664-0026b945b52x.mp3", 345, "mp3")
    assert (recording.started_at, recording.ended_at) == (datetime(2014, 8, 5, 10, 39, 23, tzinfo=UTC),
                                                          datetime(2014, 8, 5, 10, 45, 9, tzinfo=UTC))


# --- callbacks → the desk's intake (/callbacks/plivo/{phlo_id}/) --------------------------------


@pytest.mark.django_db
def test_the_documented_participant_is_a_member_from_its_join_to_its_exit(client, phlo_app):
    response = django_callback(client, phlo_app, callbacks.JOIN_WITHOUT_ADDRESS_WEST_OF_UTC)
    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    member = Member.objects.get(call__mpc_uuid="4e9ae3f1-a29c-4524-a1b4-4758922e589b")
    assert (member.member_id, member.role, member.state) == ("355", "agent", "connected")
    assert member.joined_at == datetime(2020, 12, 24, 15, 1, 56, tzinfo=UTC)

    django_callback(client, phlo_app, callbacks.EXIT_EAST_OF_UTC)
    member.refresh_from_db()
    assert (member.state, member.left_at) == ("left", datetime(2020, 12, 24, 10, 3, 26, tzinfo=UTC))
    assert member.address == "sip:randomEndpoint524139428185758@phone.plivo.com"  # learnt when Plivo named it
    assert set(CallEvent.objects.values_list("outcome", flat=True)) == {"applied"}


@pytest.mark.django_db
def test_the_documented_customer_and_supervisor_join_their_call(client, phlo_app):
    for params in (callbacks.CUSTOMER_JOIN_UTC, callbacks.SUPERVISOR_JOIN_UTC):
        assert django_callback(client, phlo_app, params).status_code == 200
    call = Call.objects.get(mpc_uuid="d5c8be43-87d0-4ba6-90a1-011bb6ab0a00")
    joined = {m.member_id: (m.role, m.state, m.joined_at) for m in call.members.all()}
    assert joined == {"228": ("customer", "connected", datetime(2021, 4, 5, 11, 57, 32, tzinfo=UTC)),
                      "229": ("supervisor", "connected", datetime(2021, 4, 5, 11, 57, 51, tzinfo=UTC))}


@pytest.mark.django_db
def test_the_documented_call_ends_with_its_cause_at_its_time(client, phlo_app):
    for params in (callbacks.MPC_INITIALIZED, callbacks.MPC_END):
        assert django_callback(client, phlo_app, params).json()["outcome"] == "applied"
    call = Call.objects.get(mpc_uuid="4ed623a5-9f3e-45e0-9e7e-3d19a94b3bd3")
    assert (call.status, call.termination_cause, call.termination_cause_code) == ("ended", "No Active Participants",
                                                                                  "1000")
    assert (call.started_at, call.ended_at) == (datetime(2020, 12, 24, 9, 53, 38, tzinfo=UTC),
                                                datetime(2020, 12, 24, 9, 53, 40, tzinfo=UTC))


@pytest.mark.django_db
def test_the_documented_recording_is_kept_with_the_call(client, phlo_app):
    assert django_callback(client, phlo_app, callbacks.RECORDING_COMPLETED).json()["outcome"] == "applied"
    recording, = Call.objects.get(mpc_uuid="8742d531-292a-46aa-8754-836be1092885").recordings
    assert (recording["url"], recording["duration"], recording["format"], recording["state"]) == (
        callbacks.RECORDING_COMPLETED["RecordingURL"], 345, "mp3", "completed")
    started, ended = (datetime.fromisoformat(recording[name]) for name in ("started_at", "ended_at"))
    assert (started, ended) == (
        datetime(2014, 8, 5, 10, 39, 23, tzinfo=UTC), datetime(2014, 8, 5, 10, 45, 9, tzinfo=UTC))


# --- responses → the desk's clients -------------------------------------------------------------

PHLO_URL, VOICE_URL = "http://phlo.test/v1", "http://voice.test/v1"
CREDENTIALS = Credentials("MAOTE1OWE0MDK0MTLHYW", "token")


def answering(router, host: str, example: tuple[int, str | None]) -> None:
    status, text = example
    router.route(host=host).respond(status, content=(text or "").encode(),
                                    headers={"content-type": "application/json"} if text else {})


@pytest.mark.parametrize(
    ("example", "request_"),
    [
        (phlo.RUN_PHLO, lambda c: c.run({"from": "+12025550000", "to": "+12025551111"})),
        (phlo.GET_PHLO, lambda c: c.get_phlo()),
        (phlo.GET_MULTI_PARTY_CALL, lambda c: c.get_node()),
        (phlo.WARM_TRANSFER, lambda c: c.node_action("warm_transfer", trigger_source="12025550000",
                                                     to="12025551111", role="agent")),
        (phlo.MEMBER_ACTION, lambda c: c.member_action("hold", member_address="1111111111")),
        (phlo.GET_RUN, lambda c: c.get_run("b7df01fd-1cb0-404e-a0d1-21e69a610e84")),
    ],
)
async def test_the_desks_phlo_client_reads_the_documented_answers(respx_mock, example, request_):
    answering(respx_mock, "phlo.test", example)
    client = PhloApi(base_url=PHLO_URL, timeout=5, credentials=CREDENTIALS, phlo_id="73d6ab01",
                     node_id="b4b48fc2")
    reply = await request_(client)
    assert (reply.status, reply.api_id, reply.data) == (example[0], body(example)["api_id"], body(example))


async def test_the_documented_phlo_refusal_is_a_401_with_plivos_words(respx_mock):
    answering(respx_mock, "phlo.test", phlo.ERROR_UNAUTHORIZED)
    client = PhloApi(base_url=PHLO_URL, timeout=5, credentials=CREDENTIALS, phlo_id="73d6ab01")
    with pytest.raises(PlivoUnauthorized) as refused:
        await client.get_phlo()
    assert (refused.value.status, refused.value.api_id, refused.value.error) == (
        401, "65bba537-7b1a-4329-9a34-cedf32b60bf1", body(phlo.ERROR_UNAUTHORIZED)["error"])


@pytest.mark.parametrize(
    ("example", "request_"),
    [
        (multiparty_call.ADD_PARTICIPANT, lambda c: c.add_participant(
            role="agent", from_="918888888888", to="917702643094", coach_mode=False, mute=False)),
        (multiparty_call.UPDATE_PARTICIPANT, lambda c: c.update_participant("355", coach_mode=True, mute=True,
                                                                             hold=True)),
        (multiparty_call.KICK_PARTICIPANT, lambda c: c.remove_participant("355")),
        (multiparty_call.START_RECORDING, lambda c: c.start_recording()),
    ],
)
async def test_the_desks_voice_client_reads_the_documented_answers(respx_mock, example, request_):
    answering(respx_mock, "voice.test", example)
    client = VoiceApi(base_url=VOICE_URL, timeout=5, credentials=CREDENTIALS,
                      mpc_uuid="4e9ae3f1-a29c-4524-a1b4-4758922e589b")
    reply = await request_(client)
    assert (reply.status, reply.data) == (example[0], body(example))


# --- responses → the official SDK: the keys it reads are documented ones ------------------------


class Documented:
    """A loopback server answering each request with the example of its path."""

    def __init__(self, answers: dict[str, tuple[int, str | None]]):
        self.answers, self.server = answers, InProcessServer(self)

    async def __call__(self, scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        status, text = self.answers[scope["path"].rstrip("/").rsplit("/", 1)[-1]]
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": (text or "").encode()})


@pytest_asyncio.fixture
async def documented(monkeypatch):
    server = Documented({
        "uuid_8742d531-292a-46aa-8754-836be1092885": (200, multiparty_call.MPC_OBJECT),
        "MultiPartyCall": multiparty_call.LIST_MPCS,
        "355": multiparty_call.GET_PARTICIPANT,
        "Participant": multiparty_call.LIST_PARTICIPANTS,
    })
    await server.server.start()
    for name in ("API_VOICE_BASE_URI", "API_VOICE_BASE_URI_FALLBACK_1", "API_VOICE_BASE_URI_FALLBACK_2"):
        monkeypatch.setattr(plivo.rest.client, name, f"{server.server.url}/v1/Account")
    yield plivo.RestClient("MAOTE1OWE0MDK0MTLHYW", "token").multi_party_calls
    await server.server.stop()


async def test_the_sdk_reads_the_documented_objects(documented):
    test_mpc, test_mpc_1 = "8742d531-292a-46aa-8754-836be1092885", "4e9ae3f1-a29c-4524-a1b4-4758922e589b"
    call = await asyncio.to_thread(documented.get, uuid=test_mpc)
    assert (call.id, call.status, call.recording) == (test_mpc, "Active", "not-recording")
    listed = await asyncio.to_thread(documented.list)
    assert [c.id for c in listed] == ["4ed623a5-9f3e-45e0-9e7e-3d19a94b3bd3", test_mpc]
    participant = await asyncio.to_thread(documented.get_participant, "355", uuid=test_mpc_1)
    assert (participant.id, participant.secondary_id) == (test_mpc_1, "355")
    participants = await asyncio.to_thread(documented.list_participants, uuid="d5c8be43-87d0-4ba6-90a1-011bb6ab0a00")
    assert [p.secondary_id for p in participants] == ["229", "228"]


# --- the simulator answers in the documented shapes ---------------------------------------------

def keys(example) -> set[str]:
    return set(json.loads(example) if isinstance(example, str) else body(example))


async def _simulated_answers(simulator, app, receiver, control, api) -> dict[str, httpx.Response]:
    mpc = await run_call(api, receiver, app)
    call = await call_state(control, mpc)
    customer = next(m["member_id"] for m in call["members"] if m["address"] == CUSTOMER)
    base = f"/Account/{app.auth_id}/MultiPartyCall"
    answers = {
        "list": await api.get(f"{base}/"),
        "get": await api.get(f"{base}/uuid_{mpc}/"),
        "participant": await api.get(f"{base}/uuid_{mpc}/Participant/{customer}/"),
        "participants": await api.get(f"{base}/uuid_{mpc}/Participant/"),
        "update": await api.post(f"{base}/uuid_{mpc}/Participant/{customer}/", json={"mute": True, "hold": True}),
        "play": await api.post(f"{base}/uuid_{mpc}/Member/{customer}/Play/", json={"url": "https://e.com/a.mp3"}),
        "stop_play": await api.delete(f"{base}/uuid_{mpc}/Member/{customer}/Play/"),
        "record": await api.post(f"{base}/uuid_{mpc}/Record/", json={}),
        "add": await api.post(f"{base}/uuid_{mpc}/Participant/", json={
            "role": "agent", "from": "+18005550100", "to": "+14155550102<+14155550103"}),
        "kick": await api.delete(f"{base}/uuid_{mpc}/Participant/{customer}/"),
    }
    answers["exited"] = await api.get(f"{base}/uuid_{mpc}/Participant/{customer}/")
    return answers


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
@pytest.mark.asyncio(loop_scope="module")
async def test_the_simulators_answers_have_the_documented_shapes(simulator, app, receiver, control, api):
    answers = await _simulated_answers(simulator, app, receiver, control, api)
    documented = {
        "list": multiparty_call.LIST_MPCS, "participants": multiparty_call.LIST_PARTICIPANTS,
        "update": multiparty_call.UPDATE_PARTICIPANT, "play": multiparty_call.PLAY_AUDIO,
        "stop_play": multiparty_call.STOP_AUDIO, "record": multiparty_call.START_RECORDING,
        "add": multiparty_call.ADD_PARTICIPANT, "kick": multiparty_call.KICK_PARTICIPANT,
        "participant": multiparty_call.GET_PARTICIPANT,
    }
    for name, example in documented.items():
        answer = answers[name]
        expected = keys(example) - ({"coach_mode"} if name == "update" else set())  # only mute and hold were sent
        assert answer.status_code == example[0], name
        assert (set(answer.json()) if answer.content else set()) == expected, name
    mpc_name = answers["get"].json()["friendly_name"]
    assert answers["update"].json()["mute"] == body(multiparty_call.UPDATE_PARTICIPANT)["mute"].replace(
        "test_mpc_1", mpc_name)
    assert set(answers["get"].json()) == keys(multiparty_call.MPC_OBJECT) | {"api_id"}
    assert set(answers["list"].json()["objects"][0]) == set(body(multiparty_call.LIST_MPCS)["objects"][0])
    assert set(answers["participants"].json()["objects"][0]) == set(
        body(multiparty_call.LIST_PARTICIPANTS)["objects"][0])
    assert set(answers["participants"].json()["meta"]) == set(body(multiparty_call.LIST_PARTICIPANTS)["meta"])
    assert len(answers["add"].json()["calls"]) == 2 and set(answers["add"].json()["calls"][0]) == {
        "to", "from", "call_uuid"}

    call, participant, exited = answers["get"].json(), answers["participant"].json(), answers["exited"].json()
    for time in (call["creation_time"], call["start_time"], participant["join_time"], exited["exit_time"]):
        assert PLIVO_TIME.fullmatch(time), time
    assert (call["status"], call["recording"]) == ("Active", "not-recording")
    assert (participant["role"], participant["member_address"], participant["exit_cause"]) == (
        "customer", CUSTOMER, None)
    assert (exited["exit_cause"], exited["mute"], exited["hold"]) == ("Kicked Out of Multiparty Call", None, None)
