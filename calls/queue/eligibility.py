"""Who may take a waiting call, best first (docs/routing.md, "Who gets what").

- A call with no queue: every available agent, longest available first.
- A call of a queue: the available agents with that queue's skill, at their level; agents with no
  skill at all (they take every queue) at the default level, 5; once the call has waited its
  queue's overflow time, also the agents with the overflow queue's skill, after all of those.
  Among equals, the longest available first.

A routing walk down the waiting calls matches every call against the agents who were available
when it began (`Candidates`), so one who becomes available half-way through is not handed a call
further down the list while a more urgent one waits; the next walk, at once, sees them. A few
available agents (the usual case while calls wait) are read once, with their skills, and ranked
for each call in memory; many (a quiet center, where a new call is matched at once) are ranked by
the database for each call, the best few only, rather than all read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

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


IN_MEMORY_UP_TO = 100  # available agents a walk reads and ranks itself; with more, the database ranks
BEST_FEW = 20  # the best agents the database names for one call


def _available():
    return Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)


class Candidates:
    """The agents available when a walk began, ranked for each of its calls (`best_first`)."""

    def __init__(self) -> None:
        self.began = timezone.now()
        rows = list(_available().order_by("status_since", "id").values_list("pk", "status_since")[:IN_MEMORY_UP_TO + 1])
        self.in_memory = _with_levels(rows) if len(rows) <= IN_MEMORY_UP_TO else None
        self.any = bool(rows)

    def best_first(self, queue_id: int | None, *, waited: float) -> list[int]:
        if self.in_memory is not None:
            return best_first(self.in_memory, queue_id, waited=waited)
        return _ranked_by_the_database(queue_id, waited=waited, available_since=self.began)


def _with_levels(rows: list[tuple[int, datetime]]) -> list[Available]:
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


def _ranked_by_the_database(queue_id: int | None, *, waited: float, available_since: datetime) -> list[int]:
    """`best_first` for all the agents available since `available_since`, ranked by the database:
    the best BEST_FEW."""
    available = _available().filter(status_since__lte=available_since)
    if queue_id is None:
        return list(available.order_by("status_since", "id").values_list("pk", flat=True)[:BEST_FEW])
    skills = Skill.objects.filter(agent=OuterRef("pk"))
    ranked = available.annotate(
        level=Subquery(skills.filter(queue_id=queue_id).values("level")[:1]), generalist=~Exists(skills)
    )
    may = Q(level__isnull=False) | Q(generalist=True)
    overflow_to = _overflow_queue(queue_id, waited)
    if overflow_to is not None:
        ranked = ranked.annotate(overflowing=Exists(skills.filter(queue_id=overflow_to)))
        may |= Q(overflowing=True)
    rank = Case(
        When(level__isnull=False, then=F("level")), When(generalist=True, then=Value(DEFAULT_LEVEL)),
        default=Value(OVERFLOW_RANK), output_field=IntegerField(),
    )
    best = ranked.filter(may).annotate(rank=rank).order_by("-rank", "status_since", "id")
    return list(best.values_list("pk", flat=True)[:BEST_FEW])


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
