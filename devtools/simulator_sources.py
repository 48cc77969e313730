"""What the PHLO simulator learns from this desk's database, read here and handed to it: the PHLO
apps (as Plivo's console would hold them) and, while the simulator still plays the router, the
available agents' addresses."""

from datetime import UTC

from django.db import close_old_connections

from agents.models import Agent, AgentStatus
from calls.models import PhloApp
from simulator.directory import Phlo


def load_phlos_from_database() -> list[Phlo]:
    close_old_connections()  # a long-running simulator must not hold on to a dropped connection
    return [
        Phlo(
            phlo_id=app.phlo_id, node_id=app.node_id, name=app.name, auth_id=app.auth_id,
            auth_token=app.auth_token, is_default=app.is_default,
            created_on=app.created_at.astimezone(UTC).isoformat(sep=" "),
        )
        for app in PhloApp.objects.order_by("-is_default", "pk")
    ]


def available_agent_addresses() -> list[str]:
    close_old_connections()
    return list(
        Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)
        .order_by("pk").values_list("address", flat=True)
    )
