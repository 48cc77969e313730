"""Reads: the calls a person may see, as the API, the pages and the dashboards show them."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse

from agents.selectors import agent_directory
from calls.errors import CallError
from calls.models import Call, CallEvent, CallStatus, Member
from calls.serialize import call_key, call_to_dict
from calls.stats import figures
from calls.store import load_call
from calls.visibility import call_audience, may_see, visible_calls
from calls.vocabulary import LIVE_CALL_STATUSES
from live.audience import Viewer, admits
from live.sources import Snapshot

HISTORY_LIMIT = 100
STATUS_FILTERS = ("live", "ringing", "active", "ended")


def calls_with_members() -> QuerySet[Call]:
    return Call.objects.select_related("phlo_app", "disposition").prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("created_at", "id"))
    )


def calls_for(viewer: Viewer, *, status: str = "live") -> list[dict]:
    """`live` (ringing and active), one call status, or `ended`: the newest history, bounded."""
    calls = visible_calls(calls_with_members(), viewer)
    if status == CallStatus.ENDED:
        calls = calls.filter(status=CallStatus.ENDED).order_by("-ended_at", "-id")[:HISTORY_LIMIT]
    else:
        calls = calls.filter(status__in=LIVE_CALL_STATUSES if status == "live" else [status])
    return [call_to_dict(call, call.members.all()) for call in calls]


def visible_call(viewer: Viewer, call_id: int) -> tuple[Call, list[Member]]:
    """One call and its members, if `viewer` may see it: else 404 (no such call) or 403."""
    try:
        call, members = load_call(call_id, lock=False)
    except Call.DoesNotExist:
        raise CallError(f"There is no call {call_id}.", http_status=404) from None
    if not may_see(viewer, members):
        raise CallError("You are not a member of this call.", http_status=403)
    return call, members


def call_for(viewer: Viewer, call_id: int) -> dict:
    call, members = visible_call(viewer, call_id)
    return call_to_dict(call, members)


def _snapshot(viewer: Viewer, calls: list[dict], agents: list[dict], stats: dict) -> Snapshot:
    body = {"calls": calls, "agents": agents}
    if viewer.is_supervisor:
        body["stats"] = stats
    else:
        body["queue"] = {key: stats[key] for key in ("waiting", "longest_wait_seconds")}
    return Snapshot(body=body, versions={call_key(call["id"]): call["version"] for call in calls})


def snapshot_for(viewer: Viewer) -> Snapshot:
    """What a dashboard shows on (re)connecting: the live calls it may see, the directory, and the
    queue (its figures for supervisors, the number waiting for agents)."""
    return _snapshot(viewer, calls_for(viewer), agent_directory(), figures.current())


@dataclass(frozen=True)
class LiveWorld:
    """Every live call with its audience, and the directory: what each dashboard's snapshot is cut
    from. Read once when a process resyncs all its dashboards (Redis came back), instead of once
    per dashboard."""

    calls: list[tuple[dict, dict]]  # (call, its audience as a message carries it)
    agents: list[dict]
    stats: dict

    def snapshot_for(self, viewer: Viewer) -> Snapshot:
        """The same as `snapshot_for(viewer)` would read now."""
        calls = [call for call, audience in self.calls if admits(audience, viewer)]
        return _snapshot(viewer, calls, self.agents, self.stats)


def live_world() -> LiveWorld:
    calls = calls_with_members().filter(status__in=LIVE_CALL_STATUSES)
    return LiveWorld(
        calls=[
            (call_to_dict(c, c.members.all()), call_audience(m.agent_id for m in c.members.all()).as_dict())
            for c in calls
        ],
        agents=agent_directory(),
        stats=figures.current(),
    )


def callbacks_needing_attention(since) -> dict:
    """How many callbacks since `since` were unrecognised or matched no call (admin index)."""
    outcomes = dict(
        CallEvent.objects.filter(received_at__gte=since).values_list("outcome").annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    return {
        "unrecognised": outcomes.get(CallEvent.Outcome.UNRECOGNISED, 0),
        "unmatched": outcomes.get(CallEvent.Outcome.UNMATCHED, 0),
        "total": sum(outcomes.values()),
        "log_url": reverse("admin:calls_callevent_changelist"),
    }
