"""Reads about agents: the directory every dashboard and the transfer picker show."""

from django.db.models import Case, Count, IntegerField, Q, Value, When

from agents.models import Agent, AgentStatus
from agents.serialize import AGENT_ROW_FIELDS, agent_row_to_dict

# Who can take a call first; the desk's JS sorts live updates the same way.
DIRECTORY_ORDER = [
    AgentStatus.AVAILABLE, AgentStatus.OFFERED, AgentStatus.WRAP_UP, AgentStatus.BUSY, AgentStatus.AWAY,
    AgentStatus.OFFLINE,
]


def agent_directory() -> list[dict]:
    """Every active agent: available ones first (then wrap-up, busy, away, offline), then by name."""
    rank = Case(*(When(status=s, then=Value(i)) for i, s in enumerate(DIRECTORY_ORDER)), output_field=IntegerField())
    agents = Agent.objects.filter(user__is_active=True).annotate(rank=rank).order_by("rank", "name", "id")
    return [agent_row_to_dict(row) for row in agents.values_list(*AGENT_ROW_FIELDS)]


def agents_by_status() -> list[tuple[str, int]]:
    """How many active agents are in each status (every status, zeros too)."""
    rows = Agent.objects.filter(user__is_active=True).values("status").annotate(n=Count("pk"))
    counts = {row["status"]: row["n"] for row in rows}
    return [(status, counts.get(status, 0)) for status in AgentStatus.values]


def agents_named(text: str):
    """The ids of the agents whose name or username contains `text` (any case): a history search by name."""
    return Agent.objects.filter(Q(name__icontains=text) | Q(user__username__icontains=text)).values("pk")


def agent_names() -> list[dict]:
    """Every agent's id and name, former ones too: whoever took a call in the history."""
    return [
        {"id": pk, "name": name or username}
        for pk, name, username in Agent.objects.order_by("name", "id").values_list("id", "name", "user__username")
    ]
