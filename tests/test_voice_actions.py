"""Monitoring, mute, recording and completing a transfer through the API: the exact Plivo requests,
the state each implies at once, the Action record, and every way Plivo can fail, which changes
nothing. Plivo is mocked here (respx); tests/test_voice_end_to_end.py runs the same against the
simulator over real sockets."""

import asyncio

import httpx
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from calls.actions.recording import record_automatically
from calls.core.serialize import call_to_dict
from calls.intake import reactions
from calls.models import Action, Call, Member
from tests.factories import MemberFactory
from tests.support.phlo_api import (
    API_ID,
    AUTH_ID,
    BASIC_AUTH,
    CUSTOMER,
    RECORDING_ID,
    RECORDING_URL,
    VOICE_BASE_URL,
    last_action,
    live_call,
    member_url,
    mocked_phlo,
    sent,
    warm_transfer_call,
)
from tests.support.plivo import django_callback, mpc_event, participant

FLAGS = {"listen": {"coach_mode": True, "mute": True}, "whisper": {"coach_mode": True, "mute": False},
         "barge": {"coach_mode": False, "mute": False}}


@pytest.fixture
def plivo(settings):
    with mocked_phlo(settings) as router:
        yield router


def call_url(call: Call, *rest: str) -> str:
    return "/".join([f"{VOICE_BASE_URL}/Account/{AUTH_ID}/MultiPartyCall/uuid_{call.mpc_uuid}", *rest]) + "/"


def monitoring(live, supervisor, mode: str = "listen") -> Member:
    """The supervisor's own leg on the call, in `mode`."""
    flags = FLAGS[mode]
    return MemberFactory(call=live.call, address=supervisor.address, agent=supervisor, role="supervisor",
                         state="connected", coach_mode=flags["coach_mode"], muted=flags["mute"], joined_via="monitor")


def member_in(body: dict, member_id: int) -> dict:
    return next(m for m in body["call"]["members"] if m["id"] == member_id)


def snapshot_of(call: Call) -> tuple:
    """Everything these actions may change: to check that a failed one changed nothing."""
    call.refresh_from_db()
    members = tuple(call.members.order_by("pk").values_list("pk", "state", "muted", "coach_mode"))
    return call.version, call.recording, call.recordings, members


# --- monitoring ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", FLAGS)
def test_a_supervisor_is_dialled_in_to_monitor(plivo, api_for, phlo_app, agent, supervisor, mode):
    live = live_call(phlo_app, agent)

    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/monitor/", {"mode": mode}, format="json")

    assert response.status_code == 200, response.json()
    assert sent(plivo, "voice") == [("POST", call_url(live.call, "Participant"), BASIC_AUTH, {
        "role": "supervisor", "from": supervisor.address, "to": supervisor.address, **FLAGS[mode],
    })]
    body = response.json()
    assert (body["action"], body["api_id"], body["call"]["version"]) == ("monitor", API_ID, live.call.version + 1)
    leg = next(m for m in body["call"]["members"] if m["role"] == "supervisor")
    assert (leg["address"], leg["state"], leg["agent"], leg["monitor_mode"], leg["muted"]) == (
        supervisor.address, "dialing", supervisor.pk, mode, FLAGS[mode]["mute"]
    )
    record = last_action()
    assert (record.action, record.ok, record.request_body, record.member_id, record.actor) == (
        "monitor", True, {"mode": mode}, leg["id"], supervisor.user
    )
    assert not plivo["phlo"].called


def test_the_supervisor_is_dialled_from_the_apps_number_when_it_has_one(plivo, api_for, phlo_app, agent, supervisor):
    phlo_app.caller_id = "+18005550100"
    phlo_app.save()
    live = live_call(phlo_app, agent)
    api_for(supervisor).post(f"/api/calls/{live.call.pk}/monitor/", {"mode": "whisper"}, format="json")
    assert sent(plivo, "voice")[0][3]["from"] == "+18005550100"
    assert sent(plivo, "voice")[0][3]["to"] == supervisor.address


@pytest.mark.parametrize(("before", "mode"), [("listen", "whisper"), ("whisper", "barge"), ("barge", "listen")])
def test_monitoring_again_switches_the_mode(plivo, api_for, phlo_app, agent, supervisor, before, mode):
    live = live_call(phlo_app, agent)
    leg = monitoring(live, supervisor, before)

    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/monitor/", {"mode": mode}, format="json")

    assert response.status_code == 200, response.json()
    assert sent(plivo, "voice") == [
        ("POST", call_url(live.call, "Participant", leg.member_id), BASIC_AUTH, FLAGS[mode])
    ]
    assert member_in(response.json(), leg.pk)["monitor_mode"] == mode
    assert live.call.members.count() == 3  # the same leg, not a second one
    leg.refresh_from_db()
    assert (leg.coach_mode, leg.muted) == (FLAGS[mode]["coach_mode"], FLAGS[mode]["mute"])


def test_the_same_mode_again_is_refused(plivo, api_for, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent)
    monitoring(live, supervisor, "whisper")
    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/monitor/", {"mode": "whisper"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "You are already whispering on this call."
    assert not plivo["voice"].called


def test_stopping_takes_the_supervisors_leg_off_the_call(plivo, api_for, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent)
    leg = monitoring(live, supervisor)

    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/monitor/stop/")

    assert response.status_code == 200, response.json()
    assert sent(plivo, "voice") == [("DELETE", call_url(live.call, "Participant", leg.member_id), BASIC_AUTH, None)]
    assert member_in(response.json(), leg.pk)["state"] == "left"
    assert Member.objects.get(pk=live.agent.pk).state == "connected"
    assert (last_action().action, last_action().ok) == ("monitor-stop", True)


@pytest.mark.parametrize("body", [{}, {"mode": "spy"}, {"mode": ["listen"]}, "not json"])
def test_a_bad_mode_is_a_400_and_reaches_nobody(plivo, api_for, phlo_app, agent, supervisor, body):
    live = live_call(phlo_app, agent)
    path = f"/api/calls/{live.call.pk}/monitor/"
    client = api_for(supervisor)
    if isinstance(body, str):
        response = client.post(path, body, content_type="application/json")
    else:
        response = client.post(path, body, format="json")
    assert response.status_code == 400
    assert "detail" in response.json() or "mode" in response.json()
    assert not plivo["voice"].called


# --- mute -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["mute", "unmute"])
def test_an_agent_mutes_and_unmutes_their_own_line(plivo, api_for, phlo_app, agent, action):
    live = live_call(phlo_app, agent)
    Member.objects.filter(pk=live.agent.pk).update(muted=action == "unmute")

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.agent.pk}/{action}/")

    assert response.status_code == 200, response.json()
    assert sent(plivo, "voice") == [
        ("POST", call_url(live.call, "Participant", live.agent.member_id), BASIC_AUTH, {"mute": action == "mute"})
    ]
    assert member_in(response.json(), live.agent.pk)["muted"] is (action == "mute")
    assert Member.objects.get(pk=live.agent.pk).muted is (action == "mute")
    record = last_action()
    assert (record.action, record.member_id, record.ok) == (action, live.agent.pk, True)


def test_a_supervisor_mutes_any_member(plivo, api_for, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent)
    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/mute/")
    assert response.status_code == 200
    assert sent(plivo, "voice")[0][1] == call_url(live.call, "Participant", live.customer.member_id)
    assert Member.objects.get(pk=live.customer.pk).muted


def test_an_agent_cannot_mute_someone_else(plivo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/mute/")
    assert response.status_code == 403
    assert response.json() == {"detail": "You can mute or unmute only your own line; a supervisor can mute anyone."}
    assert not plivo["voice"].called
    assert (last_action().action, last_action().http_status) == ("mute", 403)


def test_muting_the_muted_is_refused(plivo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    Member.objects.filter(pk=live.agent.pk).update(muted=True)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.agent.pk}/mute/")
    assert (response.status_code, response.json()["detail"]) == (409, "This member is already muted.")
    assert not plivo["voice"].called


# --- recording --------------------------------------------------------------------------------------

RECORDING_STEPS = [
    # step, the call's recording before, the request, the recording after
    ("start", "", ("POST", "Record", {"file_format": "mp3"}), "recording"),
    ("pause", "recording", ("POST", "Record/Pause", {}), "paused"),
    ("resume", "paused", ("POST", "Record/Resume", {}), "recording"),
    ("stop", "recording", ("DELETE", "Record", None), None),
    ("stop", "paused", ("DELETE", "Record", None), None),
]


def recorded(live, state: str) -> None:
    """The call being recorded (or not, for "")."""
    if state:
        live.call.recording = state
        live.call.recordings = [{"recording_uuid": "r0", "state": state, "url": "https://media.test/r0.mp3",
                                 "duration": None, "format": "mp3", "started_at": "2026-12-01T10:00:00Z",
                                 "ended_at": None}]
        live.call.save()


@pytest.mark.parametrize(("step", "before", "request_", "after"), RECORDING_STEPS)
def test_recording_steps(plivo, api_for, phlo_app, agent, step, before, request_, after):
    live = live_call(phlo_app, agent)
    recorded(live, before)

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/recording/{step}/")

    assert response.status_code == 200, response.json()
    method, path, body = request_
    assert sent(plivo, "voice") == [(method, call_url(live.call, *path.split("/")), BASIC_AUTH, body)]
    call = response.json()["call"]
    assert call["recording"] == after
    assert (response.json()["action"], last_action().action) == (f"recording-{step}",) * 2
    if step == "start":
        assert call["recordings"] == [{
            "url": RECORDING_URL, "duration": None, "format": "mp3", "started_at": call["recordings"][0]["started_at"],
            "ended_at": None, "state": "recording",
        }]
        assert Call.objects.get(pk=live.call.pk).recordings[0]["recording_uuid"] == RECORDING_ID
    elif step == "stop":
        assert call["recordings"][0]["state"] == "completed" and call["recordings"][0]["ended_at"]


@pytest.mark.parametrize(("step", "before"), [("start", "recording"), ("pause", ""), ("pause", "paused"),
                                              ("resume", "recording"), ("stop", "")])
def test_a_recording_step_that_does_not_fit_is_refused(plivo, api_for, phlo_app, agent, step, before):
    live = live_call(phlo_app, agent)
    recorded(live, before)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/recording/{step}/")
    assert response.status_code == 409, response.json()
    assert not plivo["voice"].called


def test_there_is_no_other_recording_step(plivo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/recording/rewind/").status_code == 404


# --- before Plivo names the call or the member ---------------------------------------------------


def test_a_call_plivo_has_not_named_yet_is_a_409(plivo, api_for, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent)
    Call.objects.filter(pk=live.call.pk).update(mpc_uuid=None)
    for path, body in [("monitor/", {"mode": "listen"}), ("recording/start/", None),
                       (f"members/{live.agent.pk}/mute/", None)]:
        response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/{path}", body, format="json")
        assert response.status_code == 409, path
        assert "multiparty call yet" in response.json()["detail"]
    assert not plivo["voice"].called


def test_a_member_plivo_has_not_named_yet_is_a_409(plivo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    Member.objects.filter(pk=live.agent.pk).update(member_id="")
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.agent.pk}/mute/")
    assert response.status_code == 409 and "MemberID" in response.json()["detail"]
    assert not plivo["voice"].called


# --- Plivo failing ----------------------------------------------------------------------------------

# endpoint → (who asks, path under the call, body, the scene)
ENDPOINTS = {
    "monitor": ("supervisor", "monitor/", {"mode": "listen"}, None),
    "monitor switch": ("supervisor", "monitor/", {"mode": "barge"}, "monitoring"),
    "monitor-stop": ("supervisor", "monitor/stop/", None, "monitoring"),
    "mute": ("agent", "members/{me}/mute/", None, None),
    "unmute": ("agent", "members/{me}/unmute/", None, "muted"),
    "recording-start": ("agent", "recording/start/", None, None),
    "recording-pause": ("agent", "recording/pause/", None, "recording"),
    "recording-resume": ("agent", "recording/resume/", None, "paused"),
    "recording-stop": ("agent", "recording/stop/", None, "recording"),
}
FAILURES = {
    # what Plivo does → (our status, upstream_status, words in the detail (calls/actions/words.py))
    "400": (httpx.Response(400, json={"api_id": "e1", "error": "participant is not in the call"}), 502, 400,
            "Plivo Voice API refused the request (HTTP 400); nothing was changed."),
    "401": (httpx.Response(401, json={"api_id": "e2", "error": "authentication failed"}), 502, 401,
            "Plivo Voice API refused the desk's credentials (HTTP 401); nothing was changed."),
    "404": (httpx.Response(404, json={"api_id": "e3", "error": "multiparty call not found"}), 502, 404,
            "Plivo Voice API no longer knows this call or"),
    "500": (httpx.Response(500, text="<html>oops</html>"), 502, 500,
            "Plivo Voice API had a problem (HTTP 500) and did not act; nothing was changed."),
    "timeout": (httpx.ReadTimeout("read timed out"), 504, None, "the action may or may not have happened."),
    "refused": (httpx.ConnectError("connection refused"), 502, None, "Could not connect to Plivo Voice API"),
}


def set_scene(scene: str | None, live, supervisor) -> None:
    if scene == "monitoring":
        monitoring(live, supervisor)
    elif scene == "muted":
        Member.objects.filter(pk=live.agent.pk).update(muted=True)
    elif scene:
        recorded(live, scene)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_plivo_failure_is_answered_and_changes_nothing(plivo, api_for, phlo_app, agent, supervisor, endpoint,
                                                             failure):
    who, path, body, scene = ENDPOINTS[endpoint]
    live = live_call(phlo_app, agent)
    set_scene(scene, live, supervisor)
    answer, status, upstream_status, words = FAILURES[failure]
    if isinstance(answer, Exception):
        plivo["voice"].side_effect = answer
    else:
        plivo["voice"].return_value = answer
    before = snapshot_of(live.call)

    response = api_for(agent if who == "agent" else supervisor).post(
        f"/api/calls/{live.call.pk}/{path.format(me=live.agent.pk)}", body, format="json"
    )

    assert response.status_code == status, response.json()
    assert words in response.json()["detail"]
    assert response.json()["upstream_status"] == upstream_status
    if isinstance(answer, httpx.Response):  # Plivo's own words, for the log and the curious
        assert response.json()["error"] == (answer.json()["error"] if "json" in answer.headers.get(
            "content-type", "") else "<html>oops</html>")
    assert snapshot_of(live.call) == before
    record = last_action()
    assert (record.ok, record.http_status, record.upstream_status) == (False, status, upstream_status)
    assert record.action == endpoint.removesuffix(" switch")


# --- completing a warm transfer, or joining all three --------------------------------------------


def test_completing_a_transfer_resumes_then_hangs_up_the_initiator(plivo, api_for, phlo_app, agent, other_agent):
    live = warm_transfer_call(phlo_app, agent, other_agent)

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/complete-transfer/")

    assert response.status_code == 200, response.json()
    assert sent(plivo) == [
        ("POST", member_url(agent.address), BASIC_AUTH, {"action": "resume_call"}),
        ("POST", member_url(agent.address), BASIC_AUTH, {"action": "hangup"}),
    ]
    body = response.json()
    assert (body["action"], body["api_id"]) == ("complete-transfer", API_ID)
    states = {m["address"]: (m["state"], m["transfer_role"]) for m in body["call"]["members"]}
    assert states == {agent.address: ("left", None), CUSTOMER: ("connected", None),
                      other_agent.address: ("connected", None)}
    actions = list(Action.objects.order_by("pk").values_list("action", "member_id", "ok"))
    assert actions == [("complete-transfer", live.agent.pk, True), ("hangup", live.agent.pk, True)]


def test_joining_all_three_keeps_the_initiator(plivo, api_for, phlo_app, agent, other_agent):
    live = warm_transfer_call(phlo_app, agent, other_agent)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.agent.pk}/resume-call/")
    assert response.status_code == 200
    assert [body for *_, body in sent(plivo)] == [{"action": "resume_call"}]
    assert {m["state"] for m in response.json()["call"]["members"]} == {"connected"}


def test_a_supervisor_completes_the_transfer_for_the_initiator(plivo, api_for, phlo_app, agent, other_agent,
                                                               supervisor):
    live = warm_transfer_call(phlo_app, agent, other_agent)
    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/complete-transfer/")
    assert response.status_code == 200
    assert [(url, body["action"]) for _, url, _, body in sent(plivo)] == [
        (member_url(agent.address), "resume_call"), (member_url(agent.address), "hangup")
    ]


def test_the_target_joins_all_three_but_does_not_complete(plivo, api_for, phlo_app, agent, other_agent):
    live = warm_transfer_call(phlo_app, agent, other_agent)
    response = api_for(other_agent).post(f"/api/calls/{live.call.pk}/complete-transfer/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the agent who started the transfer, or a supervisor, can complete it."
    assert not plivo["phlo"].called


def test_completing_with_no_transfer_is_a_409(plivo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/complete-transfer/")
    assert (response.status_code, response.json()["detail"]) == (409, "No warm transfer is in progress.")
    assert not plivo["phlo"].called


def test_a_failed_resume_completes_nothing(plivo, api_for, phlo_app, agent, other_agent):
    live = warm_transfer_call(phlo_app, agent, other_agent)
    plivo["phlo"].respond(400, json={"api_id": "e", "error": "no warm transfer in progress"})
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/complete-transfer/")
    assert (response.status_code, response.json()["upstream_status"]) == (502, 400)
    assert len(sent(plivo)) == 1  # no hang-up after a failed resume
    assert Member.objects.get(pk=live.agent.pk).transfer_role == "initiator"


def test_a_failed_hang_up_says_the_call_is_a_three_way_call(plivo, api_for, phlo_app, agent, other_agent):
    live = warm_transfer_call(phlo_app, agent, other_agent)
    plivo["phlo"].side_effect = [
        httpx.Response(201, json={"api_id": API_ID, "error": ""}), httpx.ReadTimeout("read timed out"),
    ]

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/complete-transfer/")

    assert response.status_code == 504
    detail = response.json()["detail"]
    assert detail.startswith("The customer is back with the transfer target, but the transferring agent's line was "
                             "not hung up: ")
    assert detail.endswith("Hang it up to leave the call.")
    assert {m.address: m.state for m in live.call.members.all()} == {
        agent.address: "connected", CUSTOMER: "connected", other_agent.address: "connected"
    }
    assert list(Action.objects.order_by("pk").values_list("action", "ok", "http_status")) == [
        ("complete-transfer", True, 200), ("hangup", False, 504)
    ]


# --- recording every call ---------------------------------------------------------------------------


def test_a_call_of_an_app_that_records_is_recorded_once(plivo, phlo_app, agent):
    phlo_app.record_calls = True
    phlo_app.save()
    live = live_call(phlo_app, agent)

    async def twice():
        return await asyncio.gather(record_automatically(live.call.pk), record_automatically(live.call.pk))

    results = async_to_sync(twice)()

    assert sorted(r is None for r in results) == [False, True]  # one started it, the other found the claim
    assert sent(plivo, "voice") == [("POST", call_url(live.call, "Record"), BASIC_AUTH, {"file_format": "mp3"})]
    record = Action.objects.get()
    assert (record.action, record.actor, record.ok, record.http_status, record.request_body) == (
        "recording-start", None, True, 200, {"automatic": True}
    )
    assert Call.objects.get(pk=live.call.pk).recording == "recording"
    assert async_to_sync(record_automatically)(live.call.pk) is None  # already recording


def test_a_stopped_recording_is_not_started_again_by_itself(plivo, phlo_app, agent):
    phlo_app.record_calls = True
    phlo_app.save()
    live = live_call(phlo_app, agent)
    Action.objects.create(call=live.call, action="recording-start", http_status=200, ok=True)
    assert async_to_sync(record_automatically)(live.call.pk) is None
    assert not plivo["voice"].called


def test_a_failed_automatic_start_is_recorded_and_not_retried(plivo, phlo_app, agent):
    phlo_app.record_calls = True
    phlo_app.save()
    live = live_call(phlo_app, agent)
    plivo["voice"].respond(500, json={"api_id": "e", "error": "try later"})
    assert async_to_sync(record_automatically)(live.call.pk) is None
    record = Action.objects.get()
    assert (record.ok, record.http_status, record.upstream_status) == (False, 502, 500)
    assert async_to_sync(record_automatically)(live.call.pk) is None
    assert plivo["voice"].call_count == 1


def test_an_app_that_does_not_record_records_nothing(plivo, phlo_app, agent):
    live = live_call(phlo_app, agent)
    assert async_to_sync(record_automatically)(live.call.pk) is None
    assert not plivo["voice"].called and not Action.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_an_agent_joining_starts_the_recording(plivo, phlo_app, agent):
    """Through the callback intake and its reaction, as Plivo's ParticipantJoin arrives."""

    def recording_app():
        phlo_app.record_calls = True
        phlo_app.save()

    await sync_to_async(recording_app)()
    client = AsyncClient()
    for params in (
        participant("ParticipantJoin", "mpc-rec", "c1", CUSTOMER, seq=1),
        participant("ParticipantJoin", "mpc-rec", "a1", agent.address, role="Agent", direction="outbound", seq=2),
    ):
        assert (await django_callback(client, phlo_app, params)).status_code == 200
    await reactions.settled()

    call = await Call.objects.aget(mpc_uuid="mpc-rec")
    assert sent(plivo, "voice") == [
        ("POST", f"{VOICE_BASE_URL}/Account/{AUTH_ID}/MultiPartyCall/uuid_mpc-rec/Record/", BASIC_AUTH,
         {"file_format": "mp3"})
    ]
    assert call.recording == "recording" and call.recordings[0]["url"] == RECORDING_URL


# --- the callbacks that confirm them, through the intake ------------------------------------------


def test_mute_coach_and_recording_callbacks_are_stored_and_applied_once(client, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent)
    leg = monitoring(live, supervisor, "barge")
    mpc = live.call.mpc_uuid
    recording = {"RecordingUUID": "rec-9", "RecordingURL": "https://media.plivo.test/rec-9.mp3",
                 "RecordingFormat": "mp3", "RecordingStartTime": "2026-12-01 10:00:00+00:00"}
    story = [
        participant("ParticipantMute", mpc, live.agent.member_id, agent.address, role="Agent", direction="outbound",
                    seq=11),
        participant("ParticipantCoachModeStart", mpc, leg.member_id, supervisor.address, role="Supervisor",
                    direction="outbound", seq=12, ParticipantCoachMode="true"),
        mpc_event("MPCRecordingInitiated", mpc, seq=13, RecordingDuration="0", **recording),
        mpc_event("MPCRecordingCompleted", mpc, seq=14, RecordingDuration="42",
                  RecordingEndTime="2026-12-01 10:00:42+00:00", **recording),
    ]
    outcomes = [django_callback(client, phlo_app, params).json()["outcome"] for params in story + story]

    assert outcomes == ["applied"] * 4 + ["duplicate"] * 4
    call = api_call(live.call)
    assert member_in({"call": call}, live.agent.pk)["muted"] is True
    assert member_in({"call": call}, leg.pk)["monitor_mode"] == "whisper"
    assert call["recording"] is None
    assert call["recordings"] == [{
        "url": "https://media.plivo.test/rec-9.mp3", "duration": 42, "format": "mp3",
        "started_at": "2026-12-01T10:00:00Z", "ended_at": "2026-12-01T10:00:42Z", "state": "completed",
    }]


def api_call(call: Call) -> dict:
    return call_to_dict(Call.objects.select_related("phlo_app", "disposition").get(pk=call.pk))
