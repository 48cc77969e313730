"""The JSON shapes of agents (README "The HTTP API"), built once per change: plain functions
rather than DRF serializers, as they run for every snapshot and status change. agents/schema.py
documents the same shapes for the OpenAPI schema."""

from agents.models import Agent, sees_every_call
from conventions.times import iso

# The directory is in every snapshot: read as rows, it costs a fraction of building model instances.
AGENT_ROW_FIELDS = (
    "id", "user__username", "name", "address", "status", "status_since", "status_reason", "chosen_status",
    "wrap_up_until", "is_supervisor", "user__is_superuser", "skills_shown",
)


def agent_row_to_dict(row: tuple) -> dict:
    """An agent's directory entry from a `values_list(*AGENT_ROW_FIELDS)` row."""
    (pk, username, name, address, status, status_since, status_reason, chosen_status, wrap_up_until,
     is_supervisor, is_superuser, skills) = row
    since = iso(status_since)
    return {
        "id": pk,
        "username": username,
        "name": name or username,
        "address": address,
        "status": status,
        "status_since": since,
        "status_changed_at": since,  # the name of the first API; the same value
        "status_reason": status_reason,
        "chosen_status": chosen_status,
        "wrap_up_until": iso(wrap_up_until),
        "is_supervisor": sees_every_call(is_superuser=is_superuser, supervisor_flag=is_supervisor),
        "skills": skills or [],
    }


def agent_to_dict(agent: Agent) -> dict:
    user = agent.user
    return agent_row_to_dict((
        agent.pk, user.get_username(), agent.name, agent.address, agent.status, agent.status_since,
        agent.status_reason, agent.chosen_status, agent.wrap_up_until, agent.is_supervisor, user.is_superuser,
        agent.skills_shown,
    ))


def me_to_dict(agent: Agent) -> dict:
    return agent_to_dict(agent)
