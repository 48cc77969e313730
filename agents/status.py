"""Agent status: what people choose, and what follows from their calls.

The calls domain tells agents who is on the line (`follow_calls`); agents never read calls.
Every change returns (or publishes after commit) the live message that shows it.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import SELECTABLE_STATUSES, Agent, AgentStatus
from agents.serialize import agent_to_dict
from live import messages
from live.publish import publish_on_commit


class StatusNotSelectable(ValueError):
    pass


def agent_update_message(agent: Agent) -> dict:
    """The directory entry of `agent`, for every dashboard."""
    return messages.update(frame="agent.updated", field="agent", key=f"agent:{agent.pk}", payload=agent_to_dict(agent))


def _set_status(agent: Agent, status: str, *, wrap_up_until=None) -> None:
    agent.status = status
    agent.status_changed_at = timezone.now()
    agent.wrap_up_until = wrap_up_until
    agent.save(update_fields=["status", "status_changed_at", "wrap_up_until"])


def agent_set_status(*, agent: Agent, status: str) -> Agent:
    """An agent picks available, away or offline; busy and wrap-up are the system's to set."""
    if status not in SELECTABLE_STATUSES:
        raise StatusNotSelectable(f"'{status}' is set by the system; choose available, away or offline.")
    with transaction.atomic():
        if agent.status != status:
            _set_status(agent, status)
            publish_on_commit([agent_update_message(agent)])
    return agent


def follow_calls(*, agent_ids: set[int], on_the_line: set[int]) -> list[dict]:
    """Busy while on the line in a live call; wrap-up when the last one is over.

    The calls domain calls this inside the transaction that changed its calls, with the agents it
    touched and those of them still on the line; returns the agent changes to publish.
    """
    if not agent_ids:
        return []
    messages_out = []
    for agent in Agent.objects.select_related("user").filter(pk__in=agent_ids):
        if agent.pk in on_the_line and agent.status != AgentStatus.BUSY:
            _set_status(agent, AgentStatus.BUSY)
        elif agent.pk not in on_the_line and agent.status == AgentStatus.BUSY:
            _set_status(
                agent, AgentStatus.WRAP_UP, wrap_up_until=timezone.now() + timedelta(seconds=settings.WRAP_UP_SECONDS)
            )
        else:
            continue
        messages_out.append(agent_update_message(agent))
    return messages_out


def agents_finish_wrap_up() -> list[dict]:
    """Wrap-up over: back to available. Safe on several processes at once (conditional update)."""
    now = timezone.now()
    due = list(
        Agent.objects.filter(status=AgentStatus.WRAP_UP, wrap_up_until__lte=now).values_list("pk", flat=True)
    )
    messages_out = []
    for pk in due:
        updated = Agent.objects.filter(pk=pk, status=AgentStatus.WRAP_UP, wrap_up_until__lte=now).update(
            status=AgentStatus.AVAILABLE, status_changed_at=now, wrap_up_until=None
        )
        if updated:
            messages_out.append(agent_update_message(Agent.objects.select_related("user").get(pk=pk)))
    return messages_out
