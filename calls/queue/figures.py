"""The queue's figures for supervisors (docs/routing.md, "Figures"): calls waiting now and the
longest wait, and for today (TIME_ZONE's day) calls answered and abandoned, the service level, the
average wait and handle time, and per agent the calls handled and offers missed; for all queues
together and for each queue (`queues`: `GET /api/queues/`), each with its own service level.

Supervisors get them in their snapshot and as `stats.updated` messages; agents get the number of
waiting calls (`queue.updated`). Each process with dashboards recomputes them at most twice a second
when it applied a change, and every few seconds anyway (another process may have), and publishes
only figures that changed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, DurationField, Exists, ExpressionWrapper, F, Min, OuterRef, Q
from django.utils import timezone

from agents.models import Agent, AgentStatus, Skill
from calls.core.offers import OfferEnd
from calls.core.queues import all_queues
from calls.core.vocabulary import OFFER_ACTION, CallDirection, CallOutcome, CallStatus, MemberRole
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


def _seconds(value: timedelta | None) -> float | None:
    return round(value.total_seconds(), 1) if value is not None else None


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def queue_now(now: datetime | None = None, *, queue_id: int | None = None) -> dict:
    """What agents see of the queue: how many calls wait, and since when the oldest (of one queue)."""
    now = now or timezone.now()
    waiting = Call.objects.filter(status=CallStatus.WAITING)
    if queue_id is not None:
        waiting = waiting.filter(queue_id=queue_id)
    found = waiting.aggregate(n=Count("pk"), oldest=Min("waiting_since"))
    return {"waiting": found["n"], "longest_wait_seconds": _longest(now, found["oldest"])}


def waiting_by_queue(now: datetime | None = None) -> list[tuple[str, int, float]]:
    """(queue name, calls waiting, longest wait) for every queue, and "" for calls with no queue:
    the /metrics gauges, read at scrape time."""
    now = now or timezone.now()
    found = {
        queue_id: (n, oldest)
        for queue_id, n, oldest in Call.objects.filter(status=CallStatus.WAITING)
        .values("queue_id").annotate(n=Count("pk"), oldest=Min("waiting_since")).values_list("queue_id", "n", "oldest")
    }
    rows = [(rules.name, *found.pop(rules.id, (0, None))) for rules in all_queues()]
    unqueued = found.pop(None, (0, None))
    rows.append(("", unqueued[0] + sum(n for n, _ in found.values()), min(
        (oldest for _, oldest in [unqueued, *found.values()] if oldest), default=None
    )))
    return [(name, n, _longest(now, oldest)) for name, n, oldest in rows]


def _longest(now: datetime, oldest: datetime | None) -> float:
    return _seconds(now - oldest) if oldest else 0.0


def _today(start: datetime):
    # Today's by our own clock (when the desk heard of the call), whatever Plivo's timestamps say.
    return Call.objects.filter(direction=CallDirection.INBOUND, created_at__gte=start)


def _answered_in_time() -> Q:
    """Answered within its queue's service level (calls/core/queues.py; SERVICE_LEVEL_SECONDS for a
    call with no queue) of starting to wait; a call that never waited was answered at once."""
    in_time = Q(queue_id__isnull=True, answered_at__lte=F("waiting_since") + _level(settings.SERVICE_LEVEL_SECONDS))
    for rules in all_queues():
        in_time |= Q(queue_id=rules.id, answered_at__lte=F("waiting_since") + _level(rules.service_level_seconds))
    return Q(outcome=CallOutcome.ANSWERED) & (Q(waiting_since__isnull=True) | in_time)


def _level(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


DAY_FIGURES = {
    "answered": Count("pk", filter=Q(outcome=CallOutcome.ANSWERED)),
    "abandoned": Count("pk", filter=Q(outcome=CallOutcome.ABANDONED)),
    "average_wait": Avg(
        _duration("answered_at", "waiting_since"), filter=Q(answered_at__isnull=False, waiting_since__isnull=False)
    ),
    "average_handle": Avg(
        _duration("ended_at", "answered_at"), filter=Q(answered_at__isnull=False, ended_at__isnull=False)
    ),
}


def _day_figures(found: dict) -> dict:
    decided = found["answered"] + found["abandoned"]
    return {
        "answered_today": found["answered"],
        "abandoned_today": found["abandoned"],
        "service_level_percent": round(100 * found["answered_in_time"] / decided, 1) if decided else None,
        "average_wait_seconds": _seconds(found["average_wait"]),
        "average_handle_seconds": _seconds(found["average_handle"]),
    }


def queue_stats(now: datetime | None = None, *, queue_id: int | None = None) -> dict:
    """`GET /api/stats/` (`?queue=`: of that queue alone), as of `now`; for all queues, each queue's
    row too (`queues`, as `GET /api/queues/`)."""
    now = now or timezone.now()
    start = day_start(now)
    today = _today(start)
    if queue_id is not None:
        today = today.filter(queue_id=queue_id)
    found = today.aggregate(**DAY_FIGURES, answered_in_time=Count("pk", filter=_answered_in_time()))
    stats = {**queue_now(now, queue_id=queue_id), **_day_figures(found), "agents": _per_agent(start, queue_id)}
    if queue_id is None:
        stats["queues"] = queues_figures(now)
    return stats


def queues_figures(now: datetime | None = None) -> list[dict]:
    """`GET /api/queues/`: each configured queue's figures, highest priority first."""
    now = now or timezone.now()
    queues = all_queues()
    if not queues:
        return []
    day = {
        row["queue_id"]: row
        for row in _today(day_start(now)).filter(queue_id__isnull=False).values("queue_id").annotate(
            **DAY_FIGURES, answered_in_time=Count("pk", filter=_answered_in_time())
        )
    }
    waiting = {
        queue_id: (n, oldest)
        for queue_id, n, oldest in Call.objects.filter(status=CallStatus.WAITING, queue_id__isnull=False)
        .values("queue_id").annotate(n=Count("pk"), oldest=Min("waiting_since")).values_list("queue_id", "n", "oldest")
    }
    available = _agents_available()
    empty = {"answered": 0, "abandoned": 0, "answered_in_time": 0, "average_wait": None, "average_handle": None}
    rows = []
    for rules in queues:
        n, oldest = waiting.get(rules.id, (0, None))
        rows.append({
            "name": rules.name,
            "waiting": n,
            "longest_wait_seconds": _longest(now, oldest),
            **_day_figures(day.get(rules.id, empty)),
            "agents_available": available.get(rules.id, 0) + available.get(None, 0),
        })
    return rows


def _agents_available() -> dict[int | None, int]:
    """Available agents by the queue whose calls they take; `None`: those with no skill, who take every queue's."""
    available = Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)
    counts: dict[int | None, int] = dict(
        Skill.objects.filter(agent__in=available).values("queue_id").annotate(n=Count("agent_id"))
        .values_list("queue_id", "n")
    )
    counts[None] = available.exclude(Exists(Skill.objects.filter(agent=OuterRef("pk")))).count()
    return counts


def _per_agent(start: datetime, queue_id: int | None = None) -> list[dict]:
    """Agents with calls handled (on the line for them today) or offers missed today; the others
    have zeros and are left out, so the list stays the size of the day's work, not of the center."""
    members = Member.objects.filter(role=MemberRole.AGENT, agent__isnull=False, joined_at__gte=start)
    offers = Action.objects.filter(action=OFFER_ACTION, upstream_outcome=OfferEnd.MISSED, created_at__gte=start)
    if queue_id is not None:
        members = members.filter(call__queue_id=queue_id)
        offers = offers.filter(call__queue_id=queue_id)
    handled = dict(
        members.values_list("agent_id").annotate(n=Count("call_id", distinct=True)).values_list("agent_id", "n")
    )
    missed: dict[int, int] = {}
    for body in offers.values_list("request_body", flat=True):
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
    """The figures but the longest waits, which grow by themselves (the pages tick them)."""
    shown = {key: value for key, value in stats.items() if key != "longest_wait_seconds"}
    if "queues" in shown:
        shown["queues"] = [_without_clock(row) for row in shown["queues"]]
    return shown


figures = FiguresPublisher()
