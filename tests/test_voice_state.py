"""The state rules of monitoring, mute, recording and completing a transfer, and the callbacks that
confirm them (calls/core/state_machine.py), by table. Pure: no database, no I/O."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from calls.core.state_machine import (
    ActionRefused,
    CallSnap,
    MemberSnap,
    RecordingSnap,
    apply_action,
    apply_event,
    check_action,
    records_by_itself,
    trigger_leg,
)
from calls.core.vocabulary import RECORDING_ACTIONS, VoiceAction
from phlo.events import Event, RecordingInfo

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MEMBER_STATES = ("dialing", "ringing", "connected", "on_hold", "in_transfer", "left")

AGENT = MemberSnap(key="db:1", address="+14155550101", role="agent", state="connected", member_id="m1")
CUSTOMER = MemberSnap(key="db:2", address="+12025550001", role="customer", state="connected", member_id="m2")
SUPERVISOR = MemberSnap(key="db:3", address="+14155550199", role="supervisor", state="connected", member_id="m3",
                        coach_mode=True, muted=True)  # listening
TARGET = MemberSnap(key="db:4", address="+14155550102", role="agent", state="connected", member_id="m4",
                    transfer_role="target")


def a_call(*members: MemberSnap, status: str = "active", **fields) -> CallSnap:
    return CallSnap(status=status, members=members or (AGENT, CUSTOMER), **fields)


def refusal(call: CallSnap, action: str, *, member_key=None, requester_key=None, mode: str = "") -> str | None:
    """None when the action fits, else the sentence that refuses it."""
    try:
        check_action(call, action, member_key=member_key, requester_key=requester_key, mode=mode)
    except ActionRefused as refused:
        assert str(refused).endswith(".")
        return str(refused)
    return None


# --- monitoring ------------------------------------------------------------------------------------

MODES = ("listen", "whisper", "barge")
# mode → (coach_mode, muted): listen is heard by nobody, whisper by the agents only, barge by all.
FLAGS = {"listen": (True, True), "whisper": (True, False), "barge": (False, False)}


@pytest.mark.parametrize("mode", MODES)
def test_a_supervisor_not_on_the_call_is_dialled_in_with_the_flags_of_their_mode(mode):
    call = a_call()
    assert refusal(call, "monitor", mode=mode) is None
    after = apply_action(call, "monitor", at=AT, to=SUPERVISOR.address, actor_id=9, new_key="new:0", mode=mode)
    dialled = after.member("new:0")
    assert (dialled.address, dialled.role, dialled.state, dialled.joined_via, dialled.invited_by_id) == (
        SUPERVISOR.address, "supervisor", "dialing", "monitor", 9
    )
    assert (dialled.coach_mode, dialled.muted) == FLAGS[mode]
    assert after.member(AGENT.key) == AGENT and after.member(CUSTOMER.key) == CUSTOMER


@pytest.mark.parametrize("before", MODES)
@pytest.mark.parametrize("mode", MODES)
def test_a_supervisor_on_the_call_switches_mode(before, mode):
    coach_mode, muted = FLAGS[before]
    call = a_call(AGENT, CUSTOMER, replace(SUPERVISOR, coach_mode=coach_mode, muted=muted))
    refused = refusal(call, "monitor", requester_key=SUPERVISOR.key, mode=mode)
    if mode == before:
        assert refused == {"listen": "You are already listening on this call.",
                           "whisper": "You are already whispering on this call.",
                           "barge": "You are already barged in on this call."}[mode]
        return
    assert refused is None
    after = apply_action(call, "monitor", at=AT, requester_key=SUPERVISOR.key, mode=mode)
    assert len(after.members) == 3
    assert (after.member(SUPERVISOR.key).coach_mode, after.member(SUPERVISOR.key).muted) == FLAGS[mode]


@pytest.mark.parametrize("state", ["dialing", "ringing"])
def test_a_supervisor_whose_line_has_not_answered_cannot_switch_yet(state):
    call = a_call(AGENT, CUSTOMER, replace(SUPERVISOR, state=state))
    assert "has not answered yet" in refusal(call, "monitor", requester_key=SUPERVISOR.key, mode="barge")


def test_a_supervisor_on_the_call_as_an_agent_hangs_up_before_monitoring():
    call = a_call(AGENT, CUSTOMER, replace(SUPERVISOR, role="agent", coach_mode=False, muted=False))
    assert refusal(call, "monitor", requester_key=SUPERVISOR.key, mode="listen") == (
        "You are on this call as agent; hang up first to monitor it."
    )
    assert refusal(call, "monitor-stop", requester_key=SUPERVISOR.key) == "You are not monitoring this call."


def test_stopping_monitoring_takes_the_supervisor_off_the_call():
    call = a_call(AGENT, CUSTOMER, SUPERVISOR)
    assert refusal(a_call(), "monitor-stop") == "You are not monitoring this call."
    assert refusal(call, "monitor-stop", requester_key=SUPERVISOR.key) is None
    after = apply_action(call, "monitor-stop", at=AT, requester_key=SUPERVISOR.key, actor_id=9)
    gone = after.member(SUPERVISOR.key)
    assert (gone.state, gone.left_at, gone.state_changed_by_id) == ("left", AT, 9)
    assert after.status == "active" and after.member(AGENT.key).state == "connected"


# --- mute -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("muted", [False, True])
@pytest.mark.parametrize("state", MEMBER_STATES)
@pytest.mark.parametrize("action", ["mute", "unmute"])
def test_mute_and_unmute_by_member_state(action, state, muted):
    call = a_call(AGENT, replace(CUSTOMER, state=state, muted=muted))
    on_the_line = state in ("connected", "on_hold", "in_transfer")
    fits = on_the_line and muted == (action == "unmute")
    assert (refusal(call, action, member_key=CUSTOMER.key) is None) == fits
    if fits:
        after = apply_action(call, action, at=AT, member_key=CUSTOMER.key)
        assert after.member(CUSTOMER.key).muted == (action == "mute")
        assert after.member(CUSTOMER.key).state == state  # muting is not holding


def test_unmuting_a_listening_supervisor_makes_them_whisper():
    call = a_call(AGENT, CUSTOMER, SUPERVISOR)
    after = apply_action(call, "unmute", at=AT, member_key=SUPERVISOR.key)
    assert (after.member(SUPERVISOR.key).coach_mode, after.member(SUPERVISOR.key).muted) == FLAGS["whisper"]


# --- recording --------------------------------------------------------------------------------------

# the call's `recording` → which recording actions fit, and what `recording` they leave
RECORDING_TABLE = {
    "": {"recording-start": "recording"},
    "recording": {"recording-pause": "paused", "recording-stop": ""},
    "paused": {"recording-resume": "recording", "recording-stop": ""},
}


def recording_call(recording: str) -> CallSnap:
    live = () if not recording else (RecordingSnap(key="db:0", recording_uuid="r1", state=recording, started_at=AT),)
    return a_call(recording=recording, recordings=live)


@pytest.mark.parametrize("recording", RECORDING_TABLE)
@pytest.mark.parametrize("action", RECORDING_ACTIONS)
def test_recording_actions_by_the_calls_recording(action, recording):
    call = recording_call(recording)
    fits = action in RECORDING_TABLE[recording]
    assert (refusal(call, action) is None) == fits
    if fits:
        after = apply_action(call, action, at=AT + timedelta(seconds=30),
                             recording=RecordingInfo(recording_uuid="r2", url="https://media/r2.mp3", format="mp3"))
        assert after.recording == RECORDING_TABLE[recording][action]


def test_the_table_covers_every_recording_action():
    assert {action for fits in RECORDING_TABLE.values() for action in fits} == set(RECORDING_ACTIONS)


@pytest.mark.parametrize("status", ["ringing", "waiting"])
def test_a_call_is_recorded_once_it_is_active(status):
    assert refusal(a_call(status=status), "recording-start") == "A call can be recorded once it is active."


def test_a_recording_starts_with_what_plivo_answered_and_ends_completed():
    info = RecordingInfo(recording_uuid="r2", url="https://media/r2.mp3", format="mp3")
    started = apply_action(a_call(), "recording-start", at=AT, recording=info)
    assert started.recordings == (
        RecordingSnap(key="new:rec", recording_uuid="r2", url="https://media/r2.mp3", format="mp3",
                      state="recording", started_at=AT),
    )
    paused = apply_action(started, "recording-pause", at=AT)
    assert (paused.recording, paused.recordings[0].state) == ("paused", "paused")
    stopped = apply_action(paused, "recording-stop", at=AT + timedelta(minutes=2))
    assert (stopped.recording, stopped.recordings[0].state) == ("", "completed")
    assert stopped.recordings[0].ended_at == AT + timedelta(minutes=2)


@pytest.mark.parametrize(
    ("call", "records"),
    [
        (a_call(), True),  # an agent on the line, nothing recorded yet
        (a_call(status="ringing"), False),
        (a_call(replace(AGENT, state="ringing"), CUSTOMER), False),  # no agent on the line yet
        (a_call(CUSTOMER, SUPERVISOR), False),  # a supervisor is not an agent
        (recording_call("recording"), False),
        (recording_call("paused"), False),
        (a_call(recordings=(RecordingSnap(key="db:0", state="completed"),)), False),  # stopped by someone: stays so
        (a_call(recordings=(RecordingSnap(key="db:0", state="failed"),)), True),
    ],
)
def test_when_a_call_of_an_app_that_records_every_call_is_recorded(call, records):
    assert records_by_itself(call) is records


# --- completing a warm transfer ---------------------------------------------------------------------


def in_warm_transfer(target_state: str = "connected") -> CallSnap:
    return a_call(
        replace(AGENT, state="in_transfer", transfer_role="initiator"), replace(CUSTOMER, state="on_hold"),
        replace(TARGET, state=target_state),
    )


def test_completing_a_transfer_brings_the_customer_back_to_the_target():
    call = in_warm_transfer()
    assert refusal(call, "complete-transfer", member_key=AGENT.key) is None
    after = apply_action(call, "complete-transfer", at=AT, member_key=AGENT.key)
    assert [(m.state, m.transfer_role) for m in after.members] == [("connected", "")] * 3
    assert after.was_transferred  # the initiator's own leg is hung up by an action of its own


@pytest.mark.parametrize(
    ("call", "member_key", "refused"),
    [
        (a_call(), AGENT.key, "No warm transfer is in progress."),
        (in_warm_transfer(), TARGET.key, "Only the agent who started the transfer can complete it."),
        (in_warm_transfer("ringing"), AGENT.key,
         "The transfer target has not answered yet; wait for them, or abort the transfer."),
    ],
)
def test_a_transfer_is_completed_by_its_initiator_once_the_target_answered(call, member_key, refused):
    assert refusal(call, "complete-transfer", member_key=member_key) == refused


# --- who PHLO adds a member through ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "requester", "expected"),
    [
        ((AGENT, CUSTOMER), AGENT.key, AGENT.key),  # their own line
        ((AGENT, CUSTOMER, SUPERVISOR), SUPERVISOR.key, AGENT.key),  # a monitoring supervisor: the agent
        ((AGENT, CUSTOMER), None, AGENT.key),  # a supervisor not on the call: the agent
        ((AGENT, CUSTOMER, replace(TARGET, transfer_role="")), None, TARGET.key),  # the agent who joined last
        ((replace(AGENT, state="left"), CUSTOMER), None, CUSTOMER.key),  # no agent: the customer
        ((replace(AGENT, state="ringing"), replace(CUSTOMER, state="dialing")), None, None),  # nobody on the line
    ],
)
def test_the_trigger_leg(members, requester, expected):
    leg = trigger_leg(a_call(*members), requester)
    assert (leg.key if leg else None) == expected


def test_an_add_with_nobody_on_the_line_is_refused():
    call = a_call(replace(AGENT, state="left"), replace(CUSTOMER, state="ringing"))
    assert refusal(call, "add-member") == "Nobody is on the line in this call for PHLO to add a member through."


@pytest.mark.parametrize("action", [*VoiceAction.values, "complete-transfer"])
def test_nothing_is_done_on_an_ended_call(action):
    call = a_call(replace(AGENT, state="left"), replace(CUSTOMER, state="left"), status="ended")
    assert refusal(call, action, member_key=CUSTOMER.key, mode="listen") == "The call has ended."


# --- the callbacks that confirm them ----------------------------------------------------------------


def event(kind: str, seq: int, **fields) -> Event:
    return Event(kind=kind, name=kind, mpc_uuid="mpc-1", sequence=seq, timestamp=AT, **fields)


FLAG_TABLE = [
    # (muted, coach_mode before) + event → (muted, coach_mode after)
    ((False, False), "member_muted", (True, False)),
    ((True, False), "member_unmuted", (False, False)),
    ((True, True), "member_unmuted", (False, True)),
    ((False, False), "member_coached", (False, True)),
    ((False, True), "member_uncoached", (False, False)),
    ((True, True), "member_muted", (True, True)),
]


@pytest.mark.parametrize(("before", "kind", "after"), FLAG_TABLE)
def test_mute_and_coach_mode_callbacks(before, kind, after):
    muted, coach_mode = before
    call = a_call(AGENT, CUSTOMER, replace(SUPERVISOR, muted=muted, coach_mode=coach_mode), answered_at=AT)
    result = apply_event(call, event(kind, 5, member_id="m3", address=SUPERVISOR.address, role="supervisor"))
    member = result.call.member(SUPERVISOR.key)
    assert (member.muted, member.coach_mode) == after
    assert member.state == "connected"
    assert result.outcome == ("applied" if before != after else "no_change")


def test_an_older_mute_callback_does_not_roll_back_a_newer_unmute():
    call = a_call(AGENT, replace(CUSTOMER, last_sequence=7))
    result = apply_event(call, event("member_muted", 6, member_id="m2", address=CUSTOMER.address))
    assert result.call.member(CUSTOMER.key).muted is False and result.outcome == "stale"


def recording_event(kind: str, seq: int, **info) -> Event:
    return event(kind, seq, recording=RecordingInfo(recording_uuid="r1", **info))


def test_a_recordings_callbacks_fill_it_in_exactly_once():
    story = [
        recording_event("recording_started", 1, url="https://media/r1.mp3", format="mp3", started_at=AT),
        recording_event("recording_paused", 2),
        recording_event("recording_resumed", 3),
        recording_event("recording_completed", 4, url="https://media/r1.mp3", duration=75, format="mp3",
                        started_at=AT, ended_at=AT + timedelta(seconds=90)),
    ]
    call, marks = a_call(), []
    for step in story:
        call = apply_event(call, step).call
        marks.append(call.recording)
    assert marks == ["recording", "paused", "recording", ""]
    assert call.recordings == (
        RecordingSnap(key="new:rec", recording_uuid="r1", state="completed", url="https://media/r1.mp3", duration=75,
                      format="mp3", started_at=AT, ended_at=AT + timedelta(seconds=90)),
    )
    again = apply_event(call, story[-1])
    assert again.call == call and again.outcome == "no_change"


def test_the_start_callback_confirms_a_recording_the_desk_started_and_paused():
    info = RecordingInfo(recording_uuid="r1", url="https://media/r1.mp3", format="mp3")
    paused = apply_action(apply_action(a_call(), "recording-start", at=AT, recording=info), "recording-pause", at=AT)
    after = apply_event(paused, recording_event("recording_started", 1, url="https://media/r1.mp3")).call
    assert after.recording == "paused" and len(after.recordings) == 1


def test_a_completed_callback_finds_a_recording_the_desk_stopped_before_plivo_named_it():
    unnamed = apply_action(a_call(), "recording-start", at=AT, recording=RecordingInfo(format="mp3"))
    stopped = apply_action(unnamed, "recording-stop", at=AT + timedelta(seconds=40))
    done = apply_event(stopped, recording_event("recording_completed", 4, url="https://media/r1.mp3", duration=40))
    assert len(done.call.recordings) == 1
    recording = done.call.recordings[0]
    assert (recording.recording_uuid, recording.url, recording.duration, recording.state) == (
        "r1", "https://media/r1.mp3", 40, "completed"
    )


def test_a_recording_that_failed_leaves_the_call_unrecorded():
    call = apply_event(a_call(), recording_event("recording_started", 1)).call
    failed = apply_event(call, recording_event("recording_failed", 2)).call
    assert failed.recording == "" and failed.recordings[0].state == "failed" and failed.recordings[0].ended_at == AT
