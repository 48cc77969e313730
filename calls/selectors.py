"""Reads: who may see what, and the shapes dashboards and the API are built from."""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Value, When

from agents.models import Agent, AgentStatus
from calls.models import Call, CallStatus, Member
from calls.serialize import AGENT_ROW_FIELDS, agent_row_to_dict, call_to_dict

LIVE_STATUSES = (CallStatus.RINGING, CallStatus.ACTIVE)


@dataclass(frozen=True)
class Viewer:
    """A signed-in person as far as calls go: their agent (if any) and whether they see everything."""

    user_id: int
    agent: Agent | None
    is_supervisor: bool

    @property
    def agent_id(self) -> int | None:
        return self.agent.pk if self.agent else None


def viewer_for(user) -> Viewer:
    agent = Agent.objects.select_related("user").filter(user_id=user.pk).first()
    return Viewer(
        user_id=user.pk, agent=agent, is_supervisor=bool(user.is_superuser or (agent and agent.is_supervisor))
    )


def calls_with_members() -> QuerySet[Call]:
    return Call.objects.select_related("phlo_app").prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("created_at", "id"))
    )


def calls_visible_to(viewer: Viewer) -> QuerySet[Call]:
    calls = calls_with_members()
    if viewer.is_supervisor:
        return calls
    if viewer.agent is None:
        return calls.none()
    return calls.filter(pk__in=Member.objects.filter(agent=viewer.agent).values("call_id"))


def live_calls_visible_to(viewer: Viewer) -> list[dict]:
    return [call_to_dict(c, c.members.all()) for c in calls_visible_to(viewer).filter(status__in=LIVE_STATUSES)]


def call_agent_ids(call: Call) -> set[int]:
    """Agents entitled to see a call: every agent who is or was one of its members."""
    return {m.agent_id for m in call.members.all() if m.agent_id}


def agent_directory() -> list[dict]:
    """Transfer targets, available ones first (then wrap-up, busy, away, offline), then by name."""
    rank = Case(
        *(When(status=s, then=Value(i)) for i, s in enumerate(
            [AgentStatus.AVAILABLE, AgentStatus.WRAP_UP, AgentStatus.BUSY, AgentStatus.AWAY, AgentStatus.OFFLINE]
        )),
        output_field=IntegerField(),
    )
    agents = Agent.objects.filter(user__is_active=True).annotate(rank=rank).order_by("rank", "name", "id")
    return [agent_row_to_dict(row) for row in agents.values_list(*AGENT_ROW_FIELDS)]


def snapshot_for(viewer: Viewer) -> dict:
    return {"calls": live_calls_visible_to(viewer), "agents": agent_directory()}


@dataclass(frozen=True)
class LiveWorld:
    """Every live call with the agents entitled to it, and the directory: what each dashboard's
    snapshot is cut from. Read once when a process resyncs all its dashboards (Redis came back),
    instead of once per dashboard."""

    calls: list[tuple[dict, set[int]]]
    agents: list[dict]

    def snapshot_for(self, viewer: Viewer) -> dict:
        """The same as `snapshot_for(viewer)` would read now (calls_visible_to's rule)."""
        if viewer.is_supervisor:
            calls = [call for call, _ in self.calls]
        else:
            calls = [call for call, agent_ids in self.calls if viewer.agent_id in agent_ids]
        return {"calls": calls, "agents": self.agents}


def live_world() -> LiveWorld:
    calls = calls_with_members().filter(status__in=LIVE_STATUSES)
    return LiveWorld(
        calls=[(call_to_dict(c, c.members.all()), call_agent_ids(c)) for c in calls], agents=agent_directory()
    )
