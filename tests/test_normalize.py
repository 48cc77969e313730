"""Plivo parameters → normalised events, for each of the three callback families."""

from datetime import UTC, datetime

import pytest

from phlo.events import Kind, NotACallback, event_from_params, flat_params, masked, participant_address


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("MPCInitialized", "call_initialized"),
        ("MPCStart", "call_started"),
        ("MPCEnd", "call_ended"),
        ("ParticipantJoin", "member_joined"),
        ("ParticipantExit", "member_left"),
        ("ParticipantHold", "member_held"),
        ("ParticipantUnhold", "member_unheld"),
        ("ParticipantMute", "member_muted"),
        ("ParticipantUnmute", "member_unmuted"),
        ("ParticipantCoachModeStart", "member_coached"),
        ("ParticipantCoachModeStop", "member_uncoached"),
        ("ParticipantSpeakStart", "member_present"),
        ("ParticipantDigitInput", "member_present"),
        ("AddParticipantByAPIActionInitiated", "member_dialing"),
        ("MPCRecordingInitiated", "recording_started"),
        ("MPCRecordingPaused", "recording_paused"),
        ("MPCRecordingResumed", "recording_resumed"),
        ("MPCRecordingCompleted", "recording_completed"),
        ("MPCRecordingFailed", "recording_failed"),
        ("ParticipantRecordingInitiated", "informational"),
    ],
)
def test_multiparty_call_events(name, kind):
    event = event_from_params(
        {"EventName": name, "MPCUUID": "mpc-1", "MemberID": "7", "ParticipantCallTo": "+15550001111"}
    )
    assert event.kind == kind and event.mpc_uuid == "mpc-1"


def test_add_participant_failure_is_a_failed_member():
    params = {"EventName": "AddParticipantByAPIActionCompleted", "MPCUUID": "m", "MemberID": "3",
              "ParticipantCallTo": "+15550001111", "ActionStatus": "busy"}
    assert event_from_params(params).kind == "member_failed"


@pytest.mark.parametrize(
    ("status", "kind"),
    [("ringing", "member_ringing"), ("in-progress", "member_joined"), ("completed", "member_left"),
     ("busy", "member_failed"), ("no-answer", "member_failed"), ("failed", "member_failed"),
     ("timeout", "member_failed"), ("cancel", "member_failed")],
)
def test_call_status_callbacks(status, kind):
    event = event_from_params({"CallUUID": "c-1", "CallStatus": status, "Direction": "outbound", "To": "+15550001111"})
    assert (event.kind, event.call_uuid, event.address) == (kind, "c-1", "+15550001111")


@pytest.mark.parametrize(
    ("status", "kind"),
    [("completed", "member_left"), ("busy", "member_failed"), ("no-answer", "member_failed"),
     ("failed", "member_failed"), ("timeout", "member_failed")],
)
def test_dial_status_callbacks(status, kind):
    event = event_from_params({"DialStatus": status, "DialALegUUID": "a", "DialBLegUUID": "b"})
    assert (event.kind, event.call_uuid) == (kind, "b")


def test_the_address_is_member_address_else_from_inbound_else_to_outbound():
    base = {"ParticipantCallFrom": "+1111111111", "ParticipantCallTo": "+2222222222"}
    assert participant_address({**base, "ParticipantCallDirection": "inbound"}) == "+1111111111"
    assert participant_address({**base, "ParticipantCallDirection": "outbound"}) == "+2222222222"
    assert participant_address({**base, "MemberAddress": "sip:x@y.com"}) == "sip:x@y.com"


def test_sequence_and_timestamp_are_read():
    event = event_from_params({"EventName": "MPCStart", "MPCUUID": "m", "SequenceNumber": "12",
                       "EventTimestamp": "2026-11-23 10:00:01.250000"})
    assert event.sequence == 12
    assert event.timestamp == datetime(2026, 11, 23, 10, 0, 1, 250000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2020-12-24 10:01:56-05:00", datetime(2020, 12, 24, 15, 1, 56, tzinfo=UTC)),  # west of UTC
        ("2020-12-24 10:01:56+05:30", datetime(2020, 12, 24, 4, 31, 56, tzinfo=UTC)),
        ("2020-12-24 10:01:56+00:00", datetime(2020, 12, 24, 10, 1, 56, tzinfo=UTC)),
        ("2020-12-24 10:01:56", datetime(2020, 12, 24, 10, 1, 56, tzinfo=UTC)),  # no offset: UTC
        ("2020-12-24 10:01:56.250000-03:30", datetime(2020, 12, 24, 13, 31, 56, 250000, tzinfo=UTC)),
        ("2020-12-24T10:01:56Z", datetime(2020, 12, 24, 10, 1, 56, tzinfo=UTC)),
        ("1608804116", datetime(2020, 12, 24, 10, 1, 56, tzinfo=UTC)),
    ],
)
def test_every_time_plivo_writes_is_read_whatever_its_utc_offset(written, utc):
    joined = event_from_params({"EventName": "ParticipantJoin", "MPCUUID": "m", "MemberID": "355",
                                "EventTimestamp": written})
    assert (joined.kind, joined.timestamp) == ("member_joined", utc)
    completed = event_from_params({"EventName": "MPCRecordingCompleted", "MPCUUID": "m", "RecordingUUID": "r",
                                   "EventTimestamp": written, "RecordingStartTime": written,
                                   "RecordingEndTime": written})
    assert completed.kind == "recording_completed"
    assert (completed.timestamp, completed.recording.started_at, completed.recording.ended_at) == (utc, utc, utc)


@pytest.mark.parametrize(("written", "role"), [("Agent", "agent"), ("AI-Agent", "agent"), ("ai-agent", "agent"),
                                               ("Supervisor", "supervisor"), ("Customer", "customer"), ("Boss", "")])
def test_plivos_participant_roles_become_the_desks(written, role):
    event = event_from_params({"EventName": "ParticipantJoin", "MPCUUID": "m", "MemberID": "1",
                               "ParticipantRole": written})
    assert event.role == role


@pytest.mark.parametrize(
    "params",
    [
        {"Hello": "world"},
        {"EventName": "NoSuchEvent", "MPCUUID": "m"},
        {"EventName": "MPCStart"},
        {"EventName": "ParticipantJoin", "MPCUUID": "m"},
        {"EventName": "MPCStart", "MPCUUID": "m", "SequenceNumber": "abc"},
        {"EventName": "MPCStart", "MPCUUID": "m", "EventTimestamp": "yesterday"},
        {"EventName": "MPCStart", "MPCUUID": "m", "EventTimestamp": "2020-12-24 10:01:56-25:00"},
        {"CallUUID": "c", "CallStatus": "exploded"},
        {"DialStatus": "completed"},
    ],
)
def test_unrecognisable_callbacks_are_kept_with_the_reason(params):
    event = event_from_params(params)
    assert event.kind == Kind.UNRECOGNISED
    assert event.reason


@pytest.mark.parametrize(
    "raw",
    [{}, {"a": {"nested": "x"}}, {"a": ["1", "2"]}, {"": "x"}, {"a": "x" * 5000}, {"a": None},
     {f"k{i}": "v" for i in range(300)}, {"a": "nul\x00byte"}],
)
def test_flatten_refuses_shapes_plivo_never_sends(raw):
    with pytest.raises(NotACallback):
        flat_params(raw)


def test_a_recording_event_carries_the_recording():
    event = event_from_params({
        "EventName": "MPCRecordingCompleted", "MPCUUID": "m", "RecordingUUID": "rec-1",
        "RecordingURL": "https://media.plivo.com/rec-1.mp3", "RecordingDuration": "42", "RecordingFormat": "mp3",
        "RecordingStartTime": "2026-12-01 10:00:00", "RecordingEndTime": "2026-12-01 10:00:42",
    })
    assert (event.recording.recording_uuid, event.recording.url, event.recording.duration) == (
        "rec-1", "https://media.plivo.com/rec-1.mp3", 42)
    assert event.recording.ended_at == datetime(2026, 12, 1, 10, 0, 42, tzinfo=UTC)


def test_the_termination_cause_is_read():
    event = event_from_params({"EventName": "MPCEnd", "MPCUUID": "m", "MPCTerminationCause": "Hangup",
                               "MPCTerminationCauseCode": "2000"})
    assert (event.termination_cause, event.termination_cause_code) == ("Hangup", "2000")


def test_over_long_identities_are_cut_to_what_the_desk_keeps():
    event = event_from_params({"EventName": "ParticipantJoin", "MPCUUID": "u" * 300, "MemberID": "7",
                               "ParticipantCallFrom": "sip:" + "a" * 400 + "@example.com",
                               "ParticipantCallDirection": "inbound"})
    assert (len(event.mpc_uuid), len(event.address)) == (128, 255)


def test_keys_pressed_are_masked():
    params = {"EventName": "ParticipantDigitInput", "DigitInput": "4111111111111111", "MPCUUID": "m"}
    assert masked(params) == {**params, "DigitInput": "•" * 16}


def test_flatten_turns_json_numbers_into_strings():
    assert flat_params({"SequenceNumber": 3, "Flag": True}) == {"SequenceNumber": "3", "Flag": "true"}
