"""The JSON shapes of agents (README "The HTTP API"), built once per change: plain functions
rather than DRF serializers, as they run for every snapshot and status change. agents/schema.py
documents the same shapes for the OpenAPI schema."""

from datetime import datetime

from agents.models import Agent


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def agent_to_dict(agent: Agent) -> dict:
    return {
        "id": agent.pk,
        "username": agent.user.get_username(),
        "name": agent.display_name,
        "address": agent.address,
        "status": agent.status,
        "status_changed_at": iso(agent.status_changed_at),
        "wrap_up_until": iso(agent.wrap_up_until),
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
        "status_changed_at": iso(status_changed_at),
        "wrap_up_until": iso(wrap_up_until),
    }


def me_to_dict(agent: Agent) -> dict:
    return {**agent_to_dict(agent), "is_supervisor": agent.supervises}
