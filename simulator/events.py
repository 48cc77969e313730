"""What Plivo sends for a multiparty-call event: the callback's parameters (docs/callbacks.md)."""

from datetime import datetime

from phlo.vocabulary import Role
from simulator.model import MultiPartyCall, Report

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # UTC, as Plivo writes it


def callback_params(call: MultiPartyCall, report: Report, *, at: datetime) -> dict[str, str]:
    """`at` must be UTC. A participant's own address is where Plivo puts it for the leg's
    direction (From when they called in, To when the PHLO dialled them); no MemberAddress."""
    params = {
        "EventName": report.event_name,
        "MPCUUID": call.mpc_uuid,
        "MPCName": call.name,
        "SequenceNumber": str(report.sequence),
        "EventTimestamp": at.strftime(TIMESTAMP_FORMAT),
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
    params.update(report.extra)
    return params
