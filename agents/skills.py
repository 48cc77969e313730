"""An agent's skills (docs/routing.md, "Skills"): the queues whose calls they take, each at a level
from 1 to 10 (10 best). An agent with no skill at all takes every queue's calls, so a center with
one queue configures nothing.

The `Skill` rows are what routing reads; `Agent.skills_shown` is how every view shows them
(`[{"queue": name, "level": n}]`), kept here whenever a skill or a queue's name changes, so a
status change never reads them again. Queues are the calls domain's (`calls.Queue`); agents name
them through the Skill relation, never by importing calls.
"""

from __future__ import annotations

from django.db import transaction

from agents.models import Agent, Skill
from agents.status import agent_update_message
from live.publish import publish_on_commit

DEFAULT_LEVEL = 5
MIN_LEVEL, MAX_LEVEL = 1, 10


def queue_model():
    """`calls.Queue`, through the relation that names it (agents do not import calls)."""
    return Skill._meta.get_field("queue").related_model


class UnknownQueue(ValueError):
    pass


def parse_skill(text: str) -> tuple[str, int]:
    """`QUEUE[:LEVEL]` (the `create_agent --skill` form): the queue's name and the level (default 5)."""
    name, _, level = text.rpartition(":") if ":" in text else (text, "", "")
    name = name.strip()
    if not name:
        raise ValueError(f"{text!r}: name a queue, as QUEUE or QUEUE:LEVEL.")
    if not level:
        return name, DEFAULT_LEVEL
    if not level.isdigit() or not MIN_LEVEL <= int(level) <= MAX_LEVEL:
        raise ValueError(f"{text!r}: the level is a whole number from {MIN_LEVEL} to {MAX_LEVEL}.")
    return name, int(level)


def set_skills(agent: Agent, skills: dict[str, int]) -> None:
    """The agent's skills become exactly these (queue name → level)."""
    queues = dict(queue_model().objects.filter(name__in=skills).values_list("name", "pk"))
    missing = sorted(set(skills) - set(queues))
    if missing:
        raise UnknownQueue(f"No queue named {', '.join(missing)}; create it first (configure_queue).")
    with transaction.atomic():
        Skill.objects.filter(agent=agent).exclude(queue_id__in=queues.values()).delete()
        for name, level in skills.items():
            Skill.objects.update_or_create(agent=agent, queue_id=queues[name], defaults={"level": level})
    # agents/signals.py brings `skills_shown` up to date after each change of a Skill row.


def refresh_shown(agent_ids) -> None:
    """Write each agent's `skills_shown` from their Skill rows, and tell the dashboards of a change."""
    agent_ids = list(agent_ids)
    shown: dict[int, list[dict]] = {agent_id: [] for agent_id in agent_ids}
    for agent_id, queue, level in (
        Skill.objects.filter(agent_id__in=agent_ids).order_by("-level", "queue__name")
        .values_list("agent_id", "queue__name", "level")
    ):
        shown[agent_id].append({"queue": queue, "level": level})
    changed = []
    for agent in Agent.objects.select_related("user").filter(pk__in=agent_ids):
        if agent.skills_shown != shown[agent.pk]:
            agent.skills_shown = shown[agent.pk]
            agent.save(update_fields=["skills_shown"])
            changed.append(agent_update_message(agent))
    publish_on_commit(changed)


def refresh_for_queue(queue_id: int) -> None:
    """A queue was renamed or removed: the agents who have its skill show the new name."""
    refresh_shown(Skill.objects.filter(queue_id=queue_id).values_list("agent_id", flat=True).distinct())
