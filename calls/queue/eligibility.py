"""Who may take a waiting call, best first (docs/routing.md, "Who gets what").

- A call with no queue: every available agent, longest available first.
- A call of a queue: the available agents with that queue's skill, at their level; agents with no
  skill at all (they take every queue) at the default level, 5; once the call has waited its
  queue's overflow time, also the agents with the overflow queue's skill, after all of those.
  Among equals, the longest available first.

One query per call, ranked in the database: however many agents are available, an agent with the
skill is never out of sight behind others who have not.
"""

from __future__ import annotations

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When

from agents.models import Agent, AgentStatus, Skill
from agents.skills import DEFAULT_LEVEL
from calls.core.queues import queue_rules

OVERFLOW_RANK = 0  # below every level of the queue's own agents (levels are 1 to 10)


def eligible_agents(queue_id: int | None, *, waited: float) -> list[int]:
    """The ids of the available agents who may take a call of this queue that has waited `waited`
    seconds, best first."""
    available = Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)
    if queue_id is None:
        return list(available.order_by("status_since", "id").values_list("pk", flat=True))
    skills = Skill.objects.filter(agent=OuterRef("pk"))
    ranked = available.annotate(
        level=Subquery(skills.filter(queue_id=queue_id).values("level")[:1]),
        generalist=~Exists(skills),
    )
    may = Q(level__isnull=False) | Q(generalist=True)
    overflow_to = _overflow_queue(queue_id, waited)
    if overflow_to is not None:
        ranked = ranked.annotate(overflowing=Exists(skills.filter(queue_id=overflow_to)))
        may |= Q(overflowing=True)
    rank = Case(
        When(level__isnull=False, then=F("level")),
        When(generalist=True, then=Value(DEFAULT_LEVEL)),
        default=Value(OVERFLOW_RANK),
        output_field=IntegerField(),
    )
    best_first = ranked.filter(may).annotate(rank=rank).order_by("-rank", "status_since", "id")
    return list(best_first.values_list("pk", flat=True))


def _overflow_queue(queue_id: int, waited: float) -> int | None:
    """The queue whose agents may also take this queue's call, once it has waited long enough."""
    rules = queue_rules(queue_id)
    if rules is None or rules.overflow_to_id is None or rules.overflow_after_seconds is None:
        return None
    return rules.overflow_to_id if waited >= rules.overflow_after_seconds else None

