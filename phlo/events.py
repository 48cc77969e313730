"""Plivo callback parameters → one `Event` (or `Unrecognised`). Pure: no I/O.

Three families arrive at the same URL (docs/callbacks.md): multiparty-call status events
(`EventName` + `MPCUUID`, https://www.plivo.com/docs/voice/api/multiparty-call/), call status
callbacks (`CallUUID` + `CallStatus`) and dial status callbacks (`DialStatus`).
"""

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
    MEMBER_PRESENT = "member_present"  # about a member, changing nothing we show but their presence
    MEMBER_HELD = "member_held"
    MEMBER_UNHELD = "member_unheld"
    MEMBER_LEFT = "member_left"
    MEMBER_FAILED = "member_failed"  # a dialled leg that never answered
    INFORMATIONAL = "informational"

    @property
    def about_call(self) -> bool:
        return self.value.startswith("call_")

    @property
    def about_member(self) -> bool:
        return self.value.startswith("member_")


MPC_EVENTS = {
    "MPCInitialized": Kind.CALL_INITIALIZED,
    "MPCStart": Kind.CALL_STARTED,
    "MPCEnd": Kind.CALL_ENDED,
    "ParticipantJoin": Kind.MEMBER_JOINED,
    "ParticipantExit": Kind.MEMBER_LEFT,
    "ParticipantHold": Kind.MEMBER_HELD,
    "ParticipantUnhold": Kind.MEMBER_UNHELD,
    "ParticipantMute": Kind.MEMBER_PRESENT,
    "ParticipantUnmute": Kind.MEMBER_PRESENT,
    "ParticipantCoachModeStart": Kind.MEMBER_PRESENT,
    "ParticipantCoachModeStop": Kind.MEMBER_PRESENT,
    "ParticipantSpeakStart": Kind.MEMBER_PRESENT,
    "ParticipantSpeakStop": Kind.MEMBER_PRESENT,
    "ParticipantDigitInput": Kind.MEMBER_PRESENT,
    "AddParticipantByAPIActionInitiated": Kind.MEMBER_DIALING,
    "AddParticipantByAPIActionCompleted": None,  # a dial's result: see _mpc_event
}
# Recording and other informational MPC events: stored, recognised, no state of ours changes.
INFORMATIONAL_PREFIXES = ("MPCRecording", "ParticipantRecording", "MPCWait", "ParticipantWait")

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
DIAL_FAILURES = {"busy", "failed", "timeout", "no-answer", "cancel", "rejected"}

MAX_PARAMS = 200
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 2048


class Unrecognised(ValueError):
    """Not a callback we understand (400); nothing of it is stored."""


@dataclass(frozen=True)
class Event:
    kind: Kind
    name: str
    mpc_uuid: str = ""
    mpc_name: str = ""
    member_id: str = ""
    call_uuid: str = ""
    address: str = ""
    role: str = ""
    sequence: int | None = None
    timestamp: datetime | None = None
    run_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))  # built from a plain string too (tests, tools)

    @property
    def at(self) -> datetime:
        return self.timestamp or datetime.now(UTC)


def flat_params(params: object) -> dict[str, str]:
    """Check a parsed body is a flat mapping of short strings (numbers and booleans become strings)."""
    if not isinstance(params, dict) or not params:
        raise Unrecognised("The callback has no parameters.")
    if len(params) > MAX_PARAMS:
        raise Unrecognised("The callback has too many parameters.")
    flat: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise Unrecognised("A parameter name is empty or too long.")
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise Unrecognised(f"Parameter {key} is not a plain value.")
        if len(value) > MAX_VALUE_LENGTH or "\x00" in value or "\x00" in key:
            raise Unrecognised(f"Parameter {key} is too long or malformed.")
        flat[key] = value
    return flat


def _int(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise Unrecognised("SequenceNumber must be a whole number.") from None
    if not 0 <= number < 2**62:
        raise Unrecognised("SequenceNumber is out of range.")
    return number


TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S")


def _timestamp(value: str | None) -> datetime | None:
    """Plivo sends `2020-08-04 12:32:20.123456` (UTC), sometimes ISO 8601 or epoch seconds."""
    if value is None or value.strip() == "":
        return None
    text = value.strip()
    try:
        if text.replace(".", "", 1).isdigit():
            seconds = float(text)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        if text.endswith("Z") or "+" in text[10:]:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed.astimezone(UTC)
        for fmt in TIMESTAMP_FORMATS:
            try:
                return datetime.strptime(text[:26], fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    except (ValueError, OverflowError, OSError):
        pass
    raise Unrecognised("EventTimestamp is not a timestamp.")


def _role(name: str) -> str:
    try:
        return Role(name.lower()).value
    except ValueError:
        return ""


def participant_address(params: dict[str, str]) -> str:
    """MemberAddress, else From for an inbound leg and To for an outbound one."""
    if params.get("MemberAddress"):
        return params["MemberAddress"]
    direction = (params.get("ParticipantCallDirection") or params.get("Direction") or "").lower()
    if direction == "inbound":
        return params.get("ParticipantCallFrom") or params.get("From", "")
    return params.get("ParticipantCallTo") or params.get("To", "")


def event_from_params(params: dict[str, str]) -> Event:
    if "EventName" in params:
        return _mpc_event(params)
    if params.get("CallUUID") and params.get("CallStatus"):
        return _call_status(params)
    if params.get("DialStatus") or params.get("DialAction"):
        return _dial_status(params)
    raise Unrecognised("No recognisable Plivo event (EventName, CallStatus or DialStatus).")


def _mpc_event(params: dict[str, str]) -> Event:
    name = params["EventName"]
    if name in MPC_EVENTS:
        kind = MPC_EVENTS[name] or _dial_result(params)
    elif name.startswith(INFORMATIONAL_PREFIXES):
        kind = Kind.INFORMATIONAL
    else:
        raise Unrecognised(f"Unknown multiparty-call event {name!r}.")
    mpc_uuid = params.get("MPCUUID", "")
    if not mpc_uuid:
        raise Unrecognised("A multiparty-call event needs MPCUUID.")
    is_member_event = kind.about_member or name == "AddParticipantByAPIActionCompleted"
    member_id = params.get("MemberID", "")
    address = participant_address(params) if is_member_event else ""
    if kind == Kind.MEMBER_DIALING:
        address = params.get("MemberAddress") or params.get("ParticipantCallTo") or params.get("To", "")
    if is_member_event and not (member_id or address or params.get("ParticipantCallUUID")):
        raise Unrecognised(f"{name} names no participant (MemberID, address or call UUID).")
    return Event(
        kind=kind,
        name=name,
        mpc_uuid=mpc_uuid,
        mpc_name=params.get("MPCName", ""),
        member_id=member_id,
        call_uuid=params.get("ParticipantCallUUID", ""),
        address=address,
        role=_role(params.get("ParticipantRole", "")),
        sequence=_int(params.get("SequenceNumber")),
        timestamp=_timestamp(params.get("EventTimestamp")),
        run_id=params.get("PhloRunID", ""),
    )


def _dial_result(params: dict[str, str]) -> Kind:
    """AddParticipantByAPIActionCompleted: a failed dial means the member never came; a success
    says nothing their own join will not."""
    status = (params.get("ActionStatus") or params.get("Status") or params.get("DialStatus") or "").lower()
    return Kind.MEMBER_FAILED if status in DIAL_FAILURES or status in {"failure", "error"} else Kind.INFORMATIONAL


def _call_status(params: dict[str, str]) -> Event:
    status = params["CallStatus"].lower()
    kind = CALL_STATUS_KINDS.get(status)
    if kind is None:
        raise Unrecognised(f"Unknown CallStatus {params['CallStatus']!r}.")
    return Event(
        kind=kind,
        name=f"CallStatus:{status}",
        call_uuid=params["CallUUID"],
        address=participant_address(params),
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
        raise Unrecognised(f"Unknown DialStatus {status!r}.")
    if not (b_leg or params.get("DialALegUUID")):
        raise Unrecognised("A dial status callback needs DialALegUUID or DialBLegUUID.")
    return Event(
        kind=kind,
        name=f"DialStatus:{status or action}",
        call_uuid=b_leg,
        address=params.get("To", "") if b_leg else "",
        timestamp=_timestamp(params.get("EventTimestamp")),
    )
