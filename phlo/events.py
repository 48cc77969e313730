"""Plivo callback parameters → one `Event`. Pure: no I/O.

Several families arrive at the same URL (docs/callbacks.md): multiparty-call events (`EventName`
+ `MPCUUID`: call and participant state, speak, digits, add-participant results, recordings;
https://www.plivo.com/docs/voice/api/multiparty-call/), call status callbacks (`CallUUID` +
`CallStatus`) and dial status callbacks (`DialStatus`). Whatever its shape, an authentic
callback becomes an `Event`: one the desk does not understand is an `UNRECOGNISED` event with
the reason, so it is kept and looked at, never lost. Only a body that is not a set of plain
parameters at all is refused (`NotACallback`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from phlo.vocabulary import Role


class Kind(StrEnum):
    """What a callback says happened, whichever family it came in."""

    CALL_INITIALIZED = "call_initialized"
    CALL_STARTED = "call_started"
    CALL_ENDED = "call_ended"
    MEMBER_DIALING = "member_dialing"
    MEMBER_RINGING = "member_ringing"
    MEMBER_JOINED = "member_joined"
    MEMBER_PRESENT = "member_present"  # about a member on the line (speaking, pressing keys), changing nothing else
    MEMBER_HELD = "member_held"
    MEMBER_UNHELD = "member_unheld"
    MEMBER_MUTED = "member_muted"
    MEMBER_UNMUTED = "member_unmuted"
    MEMBER_COACHED = "member_coached"  # coach mode on: heard by the agents only
    MEMBER_UNCOACHED = "member_uncoached"
    MEMBER_LEFT = "member_left"
    MEMBER_FAILED = "member_failed"  # a dialled leg that never answered
    RECORDING_STARTED = "recording_started"
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    RECORDING_COMPLETED = "recording_completed"
    RECORDING_FAILED = "recording_failed"
    INFORMATIONAL = "informational"  # understood; nothing of ours changes
    UNRECOGNISED = "unrecognised"  # kept with the reason; nothing of ours changes

    @property
    def about_call(self) -> bool:
        return self in (Kind.CALL_INITIALIZED, Kind.CALL_STARTED, Kind.CALL_ENDED)

    @property
    def about_member(self) -> bool:
        return self.value.startswith("member_")

    @property
    def about_recording(self) -> bool:
        return self.value.startswith("recording_")


class Family(StrEnum):
    """Which kind of callback it is, as an operator filters the callback log."""

    MPC_STATE = "mpc-state"
    PARTICIPANT_STATE = "participant-state"
    PARTICIPANT_SPEAK = "participant-speak"
    PARTICIPANT_DIGITS = "participant-digits"
    ADD_PARTICIPANT = "add-participant"
    RECORDING = "recording"
    CALL_STATUS = "call-status"
    DIAL_STATUS = "dial-status"
    UNKNOWN = "unknown"


MPC_EVENTS: dict[str, tuple[Kind, Family]] = {
    "MPCInitialized": (Kind.CALL_INITIALIZED, Family.MPC_STATE),
    "MPCStart": (Kind.CALL_STARTED, Family.MPC_STATE),
    "MPCEnd": (Kind.CALL_ENDED, Family.MPC_STATE),
    "ParticipantJoin": (Kind.MEMBER_JOINED, Family.PARTICIPANT_STATE),
    "ParticipantExit": (Kind.MEMBER_LEFT, Family.PARTICIPANT_STATE),
    "ParticipantHold": (Kind.MEMBER_HELD, Family.PARTICIPANT_STATE),
    "ParticipantUnhold": (Kind.MEMBER_UNHELD, Family.PARTICIPANT_STATE),
    "ParticipantMute": (Kind.MEMBER_MUTED, Family.PARTICIPANT_STATE),
    "ParticipantUnmute": (Kind.MEMBER_UNMUTED, Family.PARTICIPANT_STATE),
    "ParticipantCoachModeStart": (Kind.MEMBER_COACHED, Family.PARTICIPANT_STATE),
    "ParticipantCoachModeStop": (Kind.MEMBER_UNCOACHED, Family.PARTICIPANT_STATE),
    "ParticipantSpeakStart": (Kind.MEMBER_PRESENT, Family.PARTICIPANT_SPEAK),
    "ParticipantSpeakStop": (Kind.MEMBER_PRESENT, Family.PARTICIPANT_SPEAK),
    "ParticipantDigitInput": (Kind.MEMBER_PRESENT, Family.PARTICIPANT_DIGITS),
    "AddParticipantByAPIActionInitiated": (Kind.MEMBER_DIALING, Family.ADD_PARTICIPANT),
    "AddParticipantByAPIActionCompleted": (Kind.INFORMATIONAL, Family.ADD_PARTICIPANT),  # see _dial_result
    "MPCRecordingInitiated": (Kind.RECORDING_STARTED, Family.RECORDING),
    "MPCRecordingPaused": (Kind.RECORDING_PAUSED, Family.RECORDING),
    "MPCRecordingResumed": (Kind.RECORDING_RESUMED, Family.RECORDING),
    "MPCRecordingCompleted": (Kind.RECORDING_COMPLETED, Family.RECORDING),
    "MPCRecordingFailed": (Kind.RECORDING_FAILED, Family.RECORDING),
}
# Other events of these families, understood but changing nothing of ours (a participant's own
# recording, wait music starting): kept, shown in the call's timeline.
INFORMATIONAL_PREFIXES = (("ParticipantRecording", Family.RECORDING), ("MPCWait", Family.MPC_STATE),
                          ("ParticipantWait", Family.PARTICIPANT_STATE))

CALL_STATUS_KINDS = {
    "ringing": Kind.MEMBER_RINGING,
    "early-media": Kind.MEMBER_RINGING,
    "in-progress": Kind.MEMBER_JOINED,
    "answered": Kind.MEMBER_JOINED,
    "completed": Kind.MEMBER_LEFT,
    "busy": Kind.MEMBER_FAILED,
    "no-answer": Kind.MEMBER_FAILED,
    "failed": Kind.MEMBER_FAILED,
    "timeout": Kind.MEMBER_FAILED,
    "cancel": Kind.MEMBER_FAILED,
    "canceled": Kind.MEMBER_FAILED,
    "cancelled": Kind.MEMBER_FAILED,
    "rejected": Kind.MEMBER_FAILED,
}
DIAL_FAILURES = {"busy", "failed", "timeout", "no-answer", "cancel", "rejected", "failure", "error"}

# Parameters whose values may be card numbers or PINs: never stored or shown as sent.
SECRET_PARAMS = ("DigitInput", "Digits", "DTMFDigits")

MAX_PARAMS = 200
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 2048
# What an `Event` keeps of a value; the stored raw callback keeps it whole. The desk's columns
# are sized by these, so an over-long authentic value is cut here, never refused by the database.
MAX_ID_LENGTH = 128  # MPCUUID, MemberID, call UUIDs, RecordingUUID, run IDs
MAX_ADDRESS_LENGTH = 255  # a participant's number or SIP URI as Plivo reports it
MAX_NAME_LENGTH = 255  # MPCName, EventName, termination causes
MAX_URL_LENGTH = 1024


class NotACallback(ValueError):
    """Not a set of plain parameters at all (400); nothing of it is stored."""


class _Unrecognised(ValueError):
    """Inside this module: why a set of parameters is not an event we understand."""


@dataclass(frozen=True)
class RecordingInfo:
    recording_uuid: str = ""
    url: str = ""
    duration: int | None = None  # seconds
    format: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Event:
    kind: Kind
    name: str
    family: str = Family.UNKNOWN
    mpc_uuid: str = ""
    mpc_name: str = ""
    member_id: str = ""
    call_uuid: str = ""
    address: str = ""
    role: str = ""
    direction: str = ""  # "inbound": the participant called in; "outbound": they were dialled
    called: str = ""  # the number an inbound participant dialled (ParticipantCallTo): a queue's number
    sequence: int | None = None
    timestamp: datetime | None = None
    termination_cause: str = ""
    termination_cause_code: str = ""
    recording: RecordingInfo | None = None
    request_outcome: str = ""  # AddParticipantAPIRequestOutcome
    request_id: str = ""  # the API request an add-participant event answers
    reason: str = ""  # why it is UNRECOGNISED

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))  # built from a plain string too (tests, tools)

    @property
    def at(self) -> datetime:
        return self.timestamp or datetime.now(UTC)


def flat_params(params: object) -> dict[str, str]:
    """Check a parsed body is a flat mapping of short strings (numbers and booleans become strings)."""
    if not isinstance(params, dict) or not params:
        raise NotACallback("The callback has no parameters.")
    if len(params) > MAX_PARAMS:
        raise NotACallback("The callback has too many parameters.")
    flat: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise NotACallback("A parameter name is empty or too long.")
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise NotACallback(f"Parameter {key} is not a plain value.")
        if len(value) > MAX_VALUE_LENGTH or "\x00" in value or "\x00" in key:
            raise NotACallback(f"Parameter {key} is too long or malformed.")
        flat[key] = value
    return flat


def masked(params: dict[str, str]) -> dict[str, str]:
    """The parameters as they may be stored and shown: keys pressed become • of the same length."""
    if not any(name in params for name in SECRET_PARAMS):
        return params
    return {key: "•" * len(value) if key in SECRET_PARAMS else value for key, value in params.items()}


def event_from_params(params: dict[str, str]) -> Event:
    """The event a callback's (flat) parameters describe; `UNRECOGNISED`, with the reason, when it
    is not one the desk understands."""
    name = _cut(params.get("EventName") or _other_family_name(params), MAX_NAME_LENGTH)
    try:
        if "EventName" in params:
            return _mpc_event(params)
        if params.get("CallUUID") and params.get("CallStatus"):
            return _call_status(params)
        if params.get("DialStatus") or params.get("DialAction"):
            return _dial_status(params)
        raise _Unrecognised("No recognisable Plivo event (EventName, CallStatus or DialStatus).")
    except _Unrecognised as exc:
        return Event(
            kind=Kind.UNRECOGNISED, name=name or "unknown", family=_family_guess(params),
            mpc_uuid=_cut(params.get("MPCUUID", ""), MAX_ID_LENGTH), reason=str(exc),
        )


def participant_address(params: dict[str, str]) -> str:
    """MemberAddress, else From for an inbound leg and To for an outbound one."""
    if params.get("MemberAddress"):
        return params["MemberAddress"]
    if _direction(params) == "inbound":
        return params.get("ParticipantCallFrom") or params.get("From", "")
    return params.get("ParticipantCallTo") or params.get("To", "")


def _called(params: dict[str, str]) -> str:
    """The number an inbound leg dialled to reach us (none for a leg we dialled)."""
    if _direction(params) != "inbound":
        return ""
    return params.get("ParticipantCallTo") or params.get("To", "")


def _direction(params: dict[str, str]) -> str:
    return (params.get("ParticipantCallDirection") or params.get("Direction") or "").lower()


def _mpc_event(params: dict[str, str]) -> Event:
    name = params["EventName"]
    if name in MPC_EVENTS:
        kind, family = MPC_EVENTS[name]
    else:
        family = next((f for prefix, f in INFORMATIONAL_PREFIXES if name.startswith(prefix)), None)
        if family is None:
            raise _Unrecognised(f"Unknown multiparty-call event {name!r}.")
        kind = Kind.INFORMATIONAL
    if name == "AddParticipantByAPIActionCompleted":
        kind = _dial_result(params)
    mpc_uuid = params.get("MPCUUID", "")
    if not mpc_uuid:
        raise _Unrecognised("A multiparty-call event needs MPCUUID.")
    about_member = kind.about_member or family == Family.ADD_PARTICIPANT
    member_id = params.get("MemberID", "")
    address = participant_address(params) if about_member else ""
    if kind == Kind.MEMBER_DIALING:
        address = params.get("MemberAddress") or params.get("ParticipantCallTo") or params.get("To", "")
    if kind.about_member and not (member_id or address or params.get("ParticipantCallUUID")):
        raise _Unrecognised(f"{name} names no participant (MemberID, address or call UUID).")
    return Event(
        kind=kind,
        name=_cut(name, MAX_NAME_LENGTH),
        family=family,
        mpc_uuid=_cut(mpc_uuid, MAX_ID_LENGTH),
        mpc_name=_cut(params.get("MPCName", ""), MAX_NAME_LENGTH),
        member_id=_cut(member_id, MAX_ID_LENGTH),
        call_uuid=_cut(params.get("ParticipantCallUUID", ""), MAX_ID_LENGTH),
        address=_cut(address, MAX_ADDRESS_LENGTH),
        role=_role(params.get("ParticipantRole", "")),
        direction=_direction(params) if about_member else "",
        called=_cut(_called(params), MAX_ADDRESS_LENGTH) if about_member else "",
        sequence=_int(params.get("SequenceNumber")),
        timestamp=_timestamp(params.get("EventTimestamp")),
        termination_cause=_cut(params.get("MPCTerminationCause", ""), MAX_NAME_LENGTH),
        termination_cause_code=_cut(params.get("MPCTerminationCauseCode", ""), 16),
        recording=_recording(params) if kind.about_recording else None,
        request_outcome=_cut(params.get("AddParticipantAPIRequestOutcome", ""), 64),
        request_id=_cut(params.get("RequestUUID") or params.get("APIRequestUUID", ""), MAX_ID_LENGTH),
    )


def _dial_result(params: dict[str, str]) -> Kind:
    """AddParticipantByAPIActionCompleted: a failed dial means the member never came; a success
    says nothing their own join will not."""
    status = (
        params.get("AddParticipantAPIRequestOutcome") or params.get("ActionStatus") or params.get("Status")
        or params.get("DialStatus") or ""
    ).lower()
    return Kind.MEMBER_FAILED if status in DIAL_FAILURES else Kind.INFORMATIONAL


def _recording(params: dict[str, str]) -> RecordingInfo:
    duration = _int(params.get("RecordingDuration"), "RecordingDuration")
    return RecordingInfo(
        recording_uuid=_cut(params.get("RecordingUUID") or params.get("RecordingID", ""), MAX_ID_LENGTH),
        url=_cut(params.get("RecordingURL", ""), MAX_URL_LENGTH),
        duration=duration,
        format=_cut(params.get("RecordingFormat", ""), 16),
        started_at=_timestamp(params.get("RecordingStartTime"), "RecordingStartTime"),
        ended_at=_timestamp(params.get("RecordingEndTime"), "RecordingEndTime"),
    )


def _call_status(params: dict[str, str]) -> Event:
    status = params["CallStatus"].lower()
    kind = CALL_STATUS_KINDS.get(status)
    if kind is None:
        raise _Unrecognised(f"Unknown CallStatus {params['CallStatus']!r}.")
    return Event(
        kind=kind,
        name=_cut(f"CallStatus:{status}", MAX_NAME_LENGTH),
        family=Family.CALL_STATUS,
        call_uuid=_cut(params["CallUUID"], MAX_ID_LENGTH),
        address=_cut(participant_address(params), MAX_ADDRESS_LENGTH),
        direction=_direction(params),
        timestamp=_timestamp(params.get("EventTimestamp")),
    )


def _dial_status(params: dict[str, str]) -> Event:
    status = params.get("DialStatus", "").lower()
    action = params.get("DialAction", "").lower()
    b_leg = params.get("DialBLegUUID", "")
    if action == "answer":
        kind = Kind.MEMBER_JOINED
    elif status in DIAL_FAILURES:
        kind = Kind.MEMBER_FAILED
    elif status == "completed" or action == "hangup":
        kind = Kind.MEMBER_LEFT
    else:
        raise _Unrecognised(f"Unknown DialStatus {status!r}.")
    if not (b_leg or params.get("DialALegUUID")):
        raise _Unrecognised("A dial status callback needs DialALegUUID or DialBLegUUID.")
    return Event(
        kind=kind,
        name=_cut(f"DialStatus:{status or action}", MAX_NAME_LENGTH),
        family=Family.DIAL_STATUS,
        call_uuid=_cut(b_leg, MAX_ID_LENGTH),
        address=_cut(params.get("To", "") if b_leg else "", MAX_ADDRESS_LENGTH),
        timestamp=_timestamp(params.get("EventTimestamp")),
    )


def _other_family_name(params: dict[str, str]) -> str:
    if params.get("CallStatus"):
        return f"CallStatus:{params['CallStatus'].lower()}"
    if params.get("DialStatus") or params.get("DialAction"):
        return f"DialStatus:{(params.get('DialStatus') or params.get('DialAction', '')).lower()}"
    return ""


def _family_guess(params: dict[str, str]) -> Family:
    name = params.get("EventName", "")
    if name in MPC_EVENTS:
        return MPC_EVENTS[name][1]
    if "Recording" in name:
        return Family.RECORDING
    if params.get("CallStatus"):
        return Family.CALL_STATUS
    if params.get("DialStatus") or params.get("DialAction"):
        return Family.DIAL_STATUS
    return Family.UNKNOWN


def _role(name: str) -> str:
    """The desk's role for Plivo's `ParticipantRole` (`Agent`, `AI-Agent`…); empty when unknown."""
    try:
        return Role(name.strip().lower()).on_the_desk.value
    except ValueError:
        return ""


def _cut(value: str, limit: int) -> str:
    return value[:limit]


def _int(value: str | None, name: str = "SequenceNumber") -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise _Unrecognised(f"{name} must be a whole number.") from None
    if not 0 <= number < 2**62:
        raise _Unrecognised(f"{name} is out of range.")
    return number


def _timestamp(value: str | None, name: str = "EventTimestamp") -> datetime | None:
    """Plivo writes its times `YYYY-MM-DD HH:mm:ss+|-hh:mm`, with the offset of the account's
    time zone, west of UTC as well as east (https://www.plivo.com/docs/voice/api/multiparty-call/
    participants/the-participant-object/); older captures carry fractional seconds and no offset
    (UTC), some families ISO 8601 with `T` and `Z`, or epoch seconds. Always returned in UTC."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise _Unrecognised(f"{name} is not a timestamp.") from None
