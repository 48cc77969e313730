"""The queue's figures for supervisors (docs/routing.md, "Figures"): calls waiting now and the
longest wait, and for today (TIME_ZONE's day) calls answered and abandoned, the service level, the
average wait and handle time (what they mean: calls/core/measures.py, the reports' definitions too),
and per agent the calls handled and offers missed.

Supervisors get them in their snapshot and as `stats.updated` messages; agents get the number of
waiting calls (`queue.updated`). Each process with dashboards recomputes them at most twice a second
when it applied a change, and every few seconds anyway (another process may have), and publishes
only figures that changed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.db.models import Count, Min
from django.utils import timezone

from calls.core.measures import call_figures, counted_calls
from calls.core.vocabulary import CallStatus, MemberRole
from calls.models import Action, Call, Member
from live import messages
from live.audience import EVERYONE, Audience

RECOMPUTE_SECONDS = 0.5  # at most this often after a change applied here
REFRESH_SECONDS = 5.0  # at least this often: changes applied by other processes
SNAPSHOT_REUSE_SECONDS = 1.0  # a burst of reconnecting dashboards shares one reading

SUPERVISORS = Audience(supervisors=True)


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s day in the center's time zone (TIME_ZONE)."""
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def day_end(now: datetime) -> datetime:
    """Midnight of the day after `now`'s (23 or 25 hours later on the days the clocks change)."""
    return day_start(day_start(now) + timedelta(hours=26))


def _seconds(value: timedelta | None) -> float | None:
    return round(value.total_seconds(), 1) if value is not None else None


def queue_now(now: datetime | None = None) -> dict:
    """What agents see of the queue: how many calls wait, and since when the oldest."""
    now = now or timezone.now()
    waiting = Call.objects.filter(status=CallStatus.WAITING).aggregate(n=Count("pk"), oldest=Min("waiting_since"))
    oldest = waiting["oldest"]
    return {"waiting": waiting["n"], "longest_wait_seconds": _seconds(now - oldest) if oldest else 0.0}


def queue_stats(now: datetime | None = None) -> dict:
    """`GET /api/stats/`: the figures, as of `now`."""
    now = now or timezone.now()
    start = day_start(now)
    # The calls that started waiting today: the reports' day row counts the same (calls/core/measures.py).
    today = call_figures(counted_calls(start, day_end(now)))
    return {
        **queue_now(now),
        "answered_today": today["answered"],
        "abandoned_today": today["abandoned"],
        "service_level_percent": today["service_level_percent"],
        "average_wait_seconds": today["average_wait_seconds"],
        "average_handle_seconds": today["average_handle_seconds"],
        "agents": _per_agent(start),
    }


def _per_agent(start: datetime) -> list[dict]:
    """Agents with calls handled (on the line for them today) or offers missed today; the others
    have zeros and are left out, so the list stays the size of the day's work, not of the center."""
    handled = dict(
        Member.objects.filter(role=MemberRole.AGENT, agent__isnull=False, joined_at__gte=start)
        .values_list("agent_id").annotate(n=Count("call_id", distinct=True)).values_list("agent_id", "n")
    )
    missed: dict[int, int] = {}
    for body in Action.objects.filter(action="offer", upstream_outcome="missed", created_at__gte=start).values_list(
        "request_body", flat=True
    ):
        agent_id = body.get("agent") if isinstance(body, dict) else None
        if agent_id is not None:
            missed[agent_id] = missed.get(agent_id, 0) + 1
    return [
        {"id": agent_id, "handled_today": handled.get(agent_id, 0), "missed_today": missed.get(agent_id, 0)}
        for agent_id in sorted(set(handled) | set(missed))
    ]


def stats_message(stats: dict) -> dict:
    return messages.update(frame="stats.updated", field="stats", key="stats", payload=stats, audience=SUPERVISORS)


def queue_message(queue: dict) -> dict:
    return messages.update(frame="queue.updated", field="queue", key="queue", payload=queue, audience=EVERYONE)


class FiguresPublisher:
    """Publishes the figures when they changed: soon after a change applied here, and every few
    seconds in case another process applied one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = False
        self._last_run = 0.0
        self._published: tuple[dict, dict] | None = None
        self._read: tuple[float, dict] | None = None  # (when, figures) for snapshots

    def changed(self) -> None:
        with self._lock:
            self._changed = True
            self._read = None

    def current(self) -> dict:
        """The figures for a snapshot: read at most once a second however many dashboards connect."""
        now = timezone.now()
        read = self._read
        if read is None or now.timestamp() - read[0] > SNAPSHOT_REUSE_SECONDS:
            read = self._read = (now.timestamp(), queue_stats(now))
        return read[1]

    def run(self) -> list[dict]:
        """The hub's periodic job (every RECOMPUTE_SECONDS): the messages to publish, if any."""
        now = timezone.now()
        clock = now.timestamp()
        with self._lock:
            due = self._changed or clock - self._last_run >= REFRESH_SECONDS
            self._changed = False
        if not due:
            return []
        self._last_run = clock
        stats = queue_stats(now)
        queue = {key: stats[key] for key in ("waiting", "longest_wait_seconds")}
        published, self._published = self._published, (stats, queue)
        if published is None:
            return []  # the first figures of this process: every snapshot carries them already
        out = []
        if _without_clock(published[0]) != _without_clock(stats):
            out.append(stats_message(stats))
        if published[1]["waiting"] != queue["waiting"]:
            out.append(queue_message(queue))
        return out


def _without_clock(stats: dict) -> dict:
    """The figures but the longest wait, which grows by itself (the pages tick it)."""
    return {key: value for key, value in stats.items() if key != "longest_wait_seconds"}


figures = FiguresPublisher()

