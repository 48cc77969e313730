"""The JSON shapes of calls, members and agents (CONTRACT §4, §6), built once per change.

Plain functions rather than DRF serializers: this runs on the callback hot path and for every
snapshot, and the shapes are small and fixed. `calls.api.schema` documents the same shapes.
"""

from collections.abc import Iterable
from datetime import datetime

from agents.models import Agent
from calls.models import Call, Member


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def member_to_dict(member: Member) -> dict:
    return {
        "id": member.pk,
        "address": member.address,
        "role": member.role,
        "state": member.state,
        "agent": member.agent_id,
        "joined_at": _iso(member.joined_at),
        "left_at": _iso(member.left_at),
        "transfer_role": member.transfer_role or None,
    }


def call_to_dict(call: Call, members: Iterable[Member] | None = None) -> dict:
    """`members` may be passed when the caller already holds them, to spare a query."""
    if members is None:
        members = call.members.all()
    return {
        "id": call.pk,
        "phlo_id": call.phlo_app.phlo_id,
        "status": call.status,
        "started_at": _iso(call.started_at),
        "ended_at": _iso(call.ended_at),
        "version": call.version,
        "members": [member_to_dict(m) for m in sorted(members, key=lambda m: (m.created_at, m.pk or 0))],
    }


def agent_to_dict(agent: Agent) -> dict:
    return {
        "id": agent.pk,
        "username": agent.user.get_username(),
        "name": agent.display_name,
        "address": agent.address,
        "status": agent.status,
        "status_changed_at": _iso(agent.status_changed_at),
        "wrap_up_until": _iso(agent.wrap_up_until),
    }


# The directory is in every snapshot: read as rows, it costs a fraction of building model instances.
AGENT_ROW_FIELDS = ("id", "user__username", "name", "address", "status", "status_changed_at", "wrap_up_until")


def agent_row_to_dict(row: tuple) -> dict:
    """`agent_to_dict` for a `values_list(*AGENT_ROW_FIELDS)` row."""
    pk, username, name, address, status, status_changed_at, wrap_up_until = row
    return {
        "id": pk,
        "username": username,
        "name": name or username,
        "address": address,
        "status": status,
        "status_changed_at": _iso(status_changed_at),
        "wrap_up_until": _iso(wrap_up_until),
    }


def me_to_dict(agent: Agent) -> dict:
    return {**agent_to_dict(agent), "is_supervisor": agent.is_supervisor}
