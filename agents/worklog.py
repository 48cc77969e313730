"""Each agent's running totals (docs/reports.md, "Agents"): time in each status a report reads, and
the calls they were on, as `WorkLog` rows, one per change, each carrying the totals up to its moment.

Written where statuses change (agents/status.py, in the transaction that changes the agent's row,
which holds the row's lock: one agent's rows are written one at a time, on any number of
processes) and where the calls domain hands over a finished call (`calls_finished`). Reading:
what an agent did between two moments is the difference of two readings, each the last row at or
before its moment plus the time since in the status it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, OuterRef, Subquery, Value

from agents.models import Agent, AgentStatus, WorkLog

TIMED = (AgentStatus.AVAILABLE, AgentStatus.OFFERED, AgentStatus.BUSY, AgentStatus.WRAP_UP)
TIMED_FIELDS = {AgentStatus.AVAILABLE: "available", AgentStatus.OFFERED: "offered", AgentStatus.BUSY: "busy",
                AgentStatus.WRAP_UP: "wrap_up"}
TOTALS = ("available", "offered", "busy", "wrap_up", "handled", "talk", "hold")
ZERO = timedelta(0)


@dataclass(frozen=True)
class CallWork:
    """What one agent did on one finished call: on the line for `talk`, customers on hold for `hold`."""

    talk: timedelta
    hold: timedelta


_LATEST_FIELDS = ("at", "status", *TOTALS)


def _latest(agent_id: int) -> WorkLog | None:
    """The agent's last row, read as values (it is read on every status change: a model instance
    and a `first()` query cost more than the row)."""
    found = WorkLog.objects.filter(agent_id=agent_id).order_by("-at", "-id").values_list(*_LATEST_FIELDS)[:1]
    return WorkLog(agent_id=agent_id, **dict(zip(_LATEST_FIELDS, found[0], strict=True))) if found else None


def _after(previous: WorkLog | None, agent_id: int, status: str, at: datetime) -> WorkLog:
    """The next row: the previous totals, with the time since in the previous status added."""
    if previous is None:
        return WorkLog(agent_id=agent_id, at=at, status=status)
    at = max(at, previous.at)  # our clock read before the row's lock was ours may be a hair behind
    row = WorkLog(agent_id=agent_id, at=at, status=status, **{name: getattr(previous, name) for name in TOTALS})
    if previous.status in TIMED_FIELDS:
        name = TIMED_FIELDS[previous.status]
        setattr(row, name, getattr(row, name) + (at - previous.at))
    return row


def status_changed(agent_id: int, status: str, at: datetime) -> None:
    """The agent's status became `status` at `at`; call it in the transaction that changed their row."""
    previous = _latest(agent_id)
    if previous is None or previous.status != status:
        WorkLog.objects.bulk_create([_after(previous, agent_id, status, at)])


def calls_finished(work: dict[int, CallWork], at: datetime) -> None:
    """Calls the agents in `work` were on are over (the calls domain's read model, when a call ends)."""
    with transaction.atomic(savepoint=False):
        # Their rows locked, in one order: nobody else writes these agents' totals meanwhile.
        statuses = dict(
            Agent.objects.select_for_update().filter(pk__in=sorted(work)).order_by("pk").values_list("pk", "status")
        )
        for agent_id, done in sorted(work.items()):
            if agent_id not in statuses:
                continue
            previous = _latest(agent_id)
            row = _after(previous, agent_id, previous.status if previous else statuses[agent_id], at)
            row.handled += 1
            row.talk += done.talk
            row.hold += done.hold
            row.save()


@dataclass(frozen=True)
class Work:
    """What an agent did in a span of time."""

    handled: int
    talk: timedelta
    hold: timedelta
    available: timedelta
    offered: timedelta
    busy: timedelta
    wrap_up: timedelta

    @property
    def occupied(self) -> timedelta:
        """On a call, ringing or wrapping up."""
        return self.offered + self.busy + self.wrap_up

    @property
    def occupancy_percent(self) -> float | None:
        """The share of the time they were ready for calls (available, or occupied) that they were occupied."""
        ready = self.available + self.occupied
        return round(100 * self.occupied / ready, 1) if ready else None

    @property
    def anything(self) -> bool:
        return bool(self.handled or self.available or self.occupied)


def _readings(moments: tuple[datetime, ...], agent_ids: list[int] | None) -> list[dict[int, dict]]:
    """Each agent's totals at each moment: their last row at or before it, plus the time since in
    its status. One query whatever the span: for each agent and moment, an index probe
    (`agent_worklog`) for the last row's id, and those rows."""
    agents = Agent.objects.all() if agent_ids is None else Agent.objects.filter(pk__in=agent_ids)
    last_rows = [
        agents.annotate(row=Subquery(
            WorkLog.objects.filter(agent=OuterRef("pk"), at__lte=moment).order_by("-at", "-id").values("pk")[:1]
        )).values("row").order_by()
        for moment in moments
    ]
    # How long before each moment each row is (negative: after it), rather than the rows' times: a
    # duration comes back from the database faster than a time with its time zone.
    before = {f"before{n}": ExpressionWrapper(Value(moment) - F("at"), output_field=DurationField())
              for n, moment in enumerate(moments)}
    rows: dict[int, list[dict]] = {}
    found = WorkLog.objects.filter(pk__in=last_rows[0].union(*last_rows[1:])).annotate(**before)
    for row in found.order_by("agent_id", "at", "id").values("agent_id", "status", *TOTALS, *before):
        rows.setdefault(row["agent_id"], []).append(row)
    readings: list[dict[int, dict]] = [{} for _ in moments]
    for agent_id, found_rows in rows.items():  # at most one row per moment, in time order
        for n in range(len(moments)):
            row = next((row for row in reversed(found_rows) if row[f"before{n}"] >= ZERO), None)
            if row is None:
                continue
            totals = {name: row[name] for name in TOTALS}
            if row["status"] in TIMED_FIELDS:
                totals[TIMED_FIELDS[row["status"]]] += row[f"before{n}"]
            readings[n][agent_id] = totals
    return readings


def work_between(since: datetime, until: datetime, *, agent_ids: list[int] | None = None) -> dict[int, Work]:
    """What each agent did in [since, until) (`until` no later than now), by agent id; agents with no
    row before `until` are left out."""
    start, end = _readings((since, until), agent_ids)
    zero = dict.fromkeys(TOTALS, timedelta(0)) | {"handled": 0}
    return {
        agent_id: Work(**{name: totals[name] - start.get(agent_id, zero)[name] for name in TOTALS})
        for agent_id, totals in end.items()
    }
