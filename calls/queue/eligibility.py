"""Who may take a waiting call, best first (docs/routing.md, "Who gets what").

- A call with no queue: every available agent, longest available first.
- A call of a queue: the available agents with that queue's skill, at their level; agents with no
  skill at all (they take every queue) at the default level, 5; once the call has waited its
  queue's overflow time, also the agents with the overflow queue's skill, after all of those.
  Among equals, the longest available first.

A routing walk reads the available agents once, with their skills (`available_agents`), and ranks
them for each call in memory (`best_first`): every call of the walk is matched against the same
agents, so an agent who becomes available half-way through is not handed a call further down the
list while a more urgent one waits; the next walk, at once, sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agents.models import Agent, AgentStatus, Skill
from agents.skills import DEFAULT_LEVEL
from calls.core.queues import queue_rules

OVERFLOW_RANK = 0  # below every level of the queue's own agents (levels are 1 to 10)


@dataclass(frozen=True)
class Available:
    """An available agent as routing ranks them."""

    id: int
    since: datetime  # available since: the longest first among equals
    levels: dict[int, int]  # queue id → level; empty: takes every queue's calls


def available_agents() -> list[Available]:
    """Every available, active agent with their skills, longest available first (two queries)."""
    rows = list(
        Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)
        .order_by("status_since", "id").values_list("pk", "status_since")
    )
    levels: dict[int, dict[int, int]] = {pk: {} for pk, _ in rows}
    for agent_id, queue_id, level in Skill.objects.filter(agent_id__in=levels).values_list(
        "agent_id", "queue_id", "level"
    ):
        levels[agent_id][queue_id] = level
    return [Available(pk, since, levels[pk]) for pk, since in rows]


def best_first(agents: list[Available], queue_id: int | None, *, waited: float) -> list[int]:
    """The ids of those of `agents` who may take a call of this queue that has waited `waited`
    seconds, best first."""
    if queue_id is None:
        return [agent.id for agent in agents]
    overflow_to = _overflow_queue(queue_id, waited)
    ranked = []
    for agent in agents:
        rank = _rank(agent, queue_id, overflow_to)
        if rank is not None:
            ranked.append((-rank, agent.since, agent.id))
    return [agent_id for _, _, agent_id in sorted(ranked)]


def _rank(agent: Available, queue_id: int, overflow_to: int | None) -> int | None:
    if queue_id in agent.levels:
        return agent.levels[queue_id]
    if not agent.levels:
        return DEFAULT_LEVEL
    if overflow_to is not None and overflow_to in agent.levels:
        return OVERFLOW_RANK
    return None


def _overflow_queue(queue_id: int, waited: float) -> int | None:
    """The queue whose agents may also take this queue's call, once it has waited long enough."""
    rules = queue_rules(queue_id)
    if rules is None or rules.overflow_to_id is None or rules.overflow_after_seconds is None:
        return None
    return rules.overflow_to_id if waited >= rules.overflow_after_seconds else None
