"""What Plivo sends for a multiparty-call event: the callback's parameters (docs/callbacks.md)."""

from datetime import datetime

from phlo.vocabulary import Role
from simulator.model import MultiPartyCall, Report, plivo_time


def callback_params(call: MultiPartyCall, report: Report, *, at: datetime) -> dict[str, str]:
    """`at` must be timezone-aware; it is written as Plivo writes it, `YYYY-MM-DD HH:mm:ss+|-hh:mm`
    in the account's time zone. A participant's own address is where Plivo puts it for the leg's
    direction (From when they called in, To when the PHLO dialled them); no MemberAddress."""
    params = {
        "EventName": report.event_name,
        "MPCUUID": call.mpc_uuid,
        "MPCName": call.name,
        "SequenceNumber": str(report.sequence),
        "EventTimestamp": plivo_time(at, call.tz),
    }
    participant = report.participant
    if participant is not None:
        params.update(
            MemberID=participant.member_id,
            ParticipantRole=Role(participant.role).callback_name,
            ParticipantCallUUID=participant.call_uuid,
            ParticipantCallFrom=participant.call_from,
            ParticipantCallTo=participant.call_to,
            ParticipantCallDirection=participant.direction,
        )
    params.update((name, str(value)) for name, value in report.extra)
    return params
