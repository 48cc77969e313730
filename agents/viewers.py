"""Who is looking: a signed-in person as the live transport and the calls rules see them."""

from __future__ import annotations

from dataclasses import dataclass

from agents.models import Agent, supervises
from live.audience import Viewer


@dataclass(frozen=True)
class Person(Viewer):
    """A `Viewer` with their agent record (None for an operator without a desk of their own)."""

    agent: Agent | None = None


def viewer_for(user) -> Person:
    agent = Agent.objects.select_related("user").filter(user_id=user.pk).first()
    return Person(
        user_id=user.pk, agent_id=agent.pk if agent else None, is_supervisor=supervises(user, agent), agent=agent
    )
