"""Plivo callback parameters → one normalised `Event` (or `Unrecognised`). Pure: no I/O.

Three families arrive at the same URL (seeds/ and DESIGN.md): multiparty-call status events
(`EventName` + `MPCUUID`), call status callbacks (`CallUUID` + `CallStatus`) and dial status
callbacks (`DialStatus`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

MPC_EVENTS = {
    "MPCInitialized": "call_initialized",
    "MPCStart": "call_started",
    "MPCEnd": "call_ended",
    "ParticipantJoin": "member_joined",
    "ParticipantExit": "member_left",
    "ParticipantHold": "member_held",
    "ParticipantUnhold": "member_unheld",
    "ParticipantMute": "member_present",
    "ParticipantUnmute": "member_present",
    "ParticipantCoachModeStart": "member_present",
    "ParticipantCoachModeStop": "member_present",
    "ParticipantSpeakStart": "member_present",
    "ParticipantSpeakStop": "member_present",
    "ParticipantDigitInput": "member_present",
    "AddParticipantByAPIActionInitiated": "member_dialing",
    "AddParticipantByAPIActionCompleted": "member_dial_result",
}
# Recording and other informational MPC events: stored, recognised, no state of ours changes.
INFORMATIONAL_PREFIXES = ("MPCRecording", "ParticipantRecording", "MPCWait", "ParticipantWait")

CALL_STATUS_KINDS = {
    "ringing": "member_ringing",
    "early-media": "member_ringing",
    "in-progress": "member_joined",
    "answered": "member_joined",
    "completed": "member_left",
    "busy": "member_failed",
    "no-answer": "member_failed",
    "failed": "member_failed",
    "timeout": "member_failed",
    "cancel": "member_failed",
    "canceled": "member_failed",
    "cancelled": "member_failed",
    "rejected": "member_failed",
}
DIAL_FAILURES = {"busy", "failed", "timeout", "no-answer", "cancel", "rejected"}
ROLES = {"agent": "agent", "customer": "customer", "supervisor": "supervisor"}

MAX_PARAMS = 200
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 2048


class Unrecognised(ValueError):
    """Not a callback we understand (400); nothing of it is stored."""


@dataclass(frozen=True)
class Event:
    kind: str
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

    @property
    def at(self) -> datetime:
        return self.timestamp or datetime.now(UTC)


def flatten(params: object) -> dict[str, str]:
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


def participant_address(params: dict[str, str]) -> str:
    """CONTRACT §5: MemberAddress, else From for an inbound leg and To for an outbound one."""
    if params.get("MemberAddress"):
        return params["MemberAddress"]
    direction = (params.get("ParticipantCallDirection") or params.get("Direction") or "").lower()
    if direction == "inbound":
        return params.get("ParticipantCallFrom") or params.get("From", "")
    return params.get("ParticipantCallTo") or params.get("To", "")


def normalise(params: dict[str, str]) -> Event:
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
        kind = MPC_EVENTS[name]
    elif name.startswith(INFORMATIONAL_PREFIXES):
        kind = "informational"
    else:
        raise Unrecognised(f"Unknown multiparty-call event {name!r}.")
    mpc_uuid = params.get("MPCUUID", "")
    if not mpc_uuid:
        raise Unrecognised("A multiparty-call event needs MPCUUID.")
    is_member_event = kind.startswith("member_")
    member_id = params.get("MemberID", "")
    if kind == "member_dial_result":
        status = (params.get("ActionStatus") or params.get("Status") or params.get("DialStatus") or "").lower()
        kind = "member_failed" if status in DIAL_FAILURES or status in {"failure", "error"} else "informational"
    address = participant_address(params) if is_member_event else ""
    if kind == "member_dialing":
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
        role=ROLES.get(params.get("ParticipantRole", "").lower(), ""),
        sequence=_int(params.get("SequenceNumber")),
        timestamp=_timestamp(params.get("EventTimestamp")),
        run_id=params.get("PhloRunID", ""),
    )


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
        kind = "member_joined"
    elif status in DIAL_FAILURES:
        kind = "member_failed"
    elif status == "completed" or action == "hangup":
        kind = "member_left"
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
