"""What a dashboard shows on (re)connecting (README, "Live updates"): the live calls its person may see, the
agent directory, and the queue's figures (all of them for supervisors, the number waiting for
agents). calls/apps.py registers these with the live transport (live/sources.py)."""

from dataclasses import dataclass

from agents.selectors import agent_directory
from calls.core.reads import calls_with_members, live_calls_for
from calls.core.serialize import call_key, call_to_dict
from calls.core.visibility import call_audience
from calls.core.vocabulary import LIVE_CALL_STATUSES
from calls.queue.figures import figures
from live.audience import Viewer, admits
from live.sources import Snapshot


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
    return _snapshot(viewer, live_calls_for(viewer), agent_directory(), figures.current())


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
