"""Agent status: what people set by hand, and what follows from their calls."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agents.addresses import address_key, validate_address
from agents.models import SELECTABLE_STATUSES, Agent, AgentStatus
from calls.live import agent_message, publish_on_commit
from calls.serialize import agent_to_dict

# Member states in which an agent is on the line, and so busy.
ON_THE_LINE = ("connected", "on_hold", "in_transfer")


class StatusNotSelectable(ValueError):
    pass


def agent_live_message(agent: Agent) -> dict:
    # Supervisor as `calls.selectors.viewer_for` has it: the flag, or a superuser.
    return agent_message(
        agent_to_dict(agent), active=agent.user.is_active,
        is_supervisor=agent.is_supervisor or agent.user.is_superuser,
    )


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
            publish_on_commit([agent_live_message(agent)])
    return agent


def agents_follow_calls(agent_ids) -> list[dict]:
    """Busy while on the line in a live call; wrap-up when the last one is over.

    Runs inside the transaction that changed the calls; returns the agent changes to publish.
    """
    if not agent_ids:
        return []
    on_the_line = set(
        Agent.objects.filter(
            pk__in=agent_ids, memberships__state__in=ON_THE_LINE, memberships__call__status__in=("ringing", "active")
        ).values_list("pk", flat=True)
    )
    messages = []
    for agent in Agent.objects.select_related("user").filter(pk__in=agent_ids):
        if agent.pk in on_the_line and agent.status != AgentStatus.BUSY:
            _set_status(agent, AgentStatus.BUSY)
        elif agent.pk not in on_the_line and agent.status == AgentStatus.BUSY:
            _set_status(
                agent, AgentStatus.WRAP_UP, wrap_up_until=timezone.now() + timedelta(seconds=settings.WRAP_UP_SECONDS)
            )
        else:
            continue
        messages.append(agent_live_message(agent))
    return messages


def agents_finish_wrap_up() -> list[dict]:
    """Wrap-up over: back to available. Safe on several processes at once (conditional update)."""
    now = timezone.now()
    due = list(
        Agent.objects.filter(status=AgentStatus.WRAP_UP, wrap_up_until__lte=now).values_list("pk", flat=True)
    )
    messages = []
    for pk in due:
        updated = Agent.objects.filter(pk=pk, status=AgentStatus.WRAP_UP, wrap_up_until__lte=now).update(
            status=AgentStatus.AVAILABLE, status_changed_at=now, wrap_up_until=None
        )
        if updated:
            messages.append(agent_live_message(Agent.objects.select_related("user").get(pk=pk)))
    return messages


def agent_create_or_update(
    *, username: str, password: str | None, address: str, name: str = "", is_supervisor: bool = False
) -> tuple[Agent, bool]:
    """Create or update the user and agent behind a username. Validates the address first."""
    validate_address(address)
    User = get_user_model()
    with transaction.atomic():
        clash = Agent.objects.filter(address_key=address_key(address)).exclude(user__username=username).first()
        if clash:
            raise ValidationError(f"Address {address} already belongs to agent {clash.user.username}.")
        user, created = User.objects.get_or_create(username=username)
        if password:
            user.set_password(password)
        user.save()
        defaults = {"address": address, "is_supervisor": is_supervisor}
        if name:
            defaults["name"] = name
        agent, _ = Agent.objects.update_or_create(user=user, defaults=defaults)
    return agent, created
