"""The JSON shapes of calls and members (README "The HTTP API"), built once per change.

Plain functions rather than DRF serializers: this runs on the callback hot path and for every
snapshot, and the shapes are small and fixed. calls/api/schema.py documents the same shapes.
"""

from collections.abc import Iterable

from calls.core.queues import queue_name
from calls.core.visibility import call_audience
from calls.core.vocabulary import CallStatus, MemberRole, MonitorMode
from calls.models import Call, Member
from conventions.times import iso
from live import messages


def member_to_dict(member: Member) -> dict:
    return {
        "id": member.pk,
        "address": member.address,
        "role": member.role,
        "state": member.state,
        "agent": member.agent_id,
        "joined_at": iso(member.joined_at),
        "left_at": iso(member.left_at),
        "state_since": iso(member.state_since or member.joined_at or member.created_at),
        "state_changed_by": member.state_changed_by_id,
        "transfer_role": member.transfer_role or None,
        "joined_via": member.joined_via or None,
        "invited_by": member.invited_by_id,
        "muted": member.muted,
        "monitor_mode": (
            MonitorMode.of(coach_mode=member.coach_mode, muted=member.muted).value
            if member.role == MemberRole.SUPERVISOR else None
        ),
    }


def recording_to_dict(recording: dict) -> dict:
    return {name: recording.get(name) for name in ("url", "duration", "format", "started_at", "ended_at", "state")}


def wrap_up_to_dict(entry: dict) -> dict:
    return {name: entry.get(name) for name in ("agent", "name", "disposition", "notes", "saved_at")}


def call_to_dict(call: Call, members: Iterable[Member] | None = None) -> dict:
    """`members` may be passed when the caller already holds them, to spare a query."""
    if members is None:
        members = call.members.all()
    return {
        "id": call.pk,
        "phlo_id": call.phlo_app.phlo_id,
        "status": call.status,
        "direction": call.direction or None,
        "queue": queue_name(call.queue_id),
        "started_at": iso(call.started_at),
        "waiting_since": iso(call.waiting_since),
        "offered_to": call.offered_to_id,
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "outcome": call.outcome or None,
        "recording": call.recording or None,
        "recordings": [recording_to_dict(r) for r in call.recordings or []],
        "disposition": call.disposition.name if call.disposition_id else None,
        "notes": call.notes,
        "wrap_ups": [wrap_up_to_dict(entry) for entry in call.wrap_ups or []],
        "customer_history": call.customer_history or [],
        "version": call.version,
        "members": [member_to_dict(m) for m in sorted(members, key=lambda m: (m.created_at, m.pk or 0))],
    }


def call_key(call_id: int) -> str:
    return f"call:{call_id}"


def call_update_message(call_dict: dict, member_agent_ids: Iterable[int]) -> dict:
    """The live message for one call change, for everyone who may see the call."""
    return messages.update(
        frame="call.updated", field="call", key=call_key(call_dict["id"]), payload=call_dict,
        audience=call_audience(member_agent_ids), version=call_dict["version"],
        final=call_dict["status"] == CallStatus.ENDED,
    )
