"""The reports (docs/reports.md): the queue's figures per interval of a span, in a time zone, and what
each agent did in it.

What the figures mean is calls/core/measures.py's (the wall's day counts the same): a call counts
in the interval in which its customer started waiting. Intervals are the local wall clock's: a
day is midnight to midnight where the reader is (23 or 25 hours when the clocks change), an hour
is one of the clock's hours (the hour the clocks go back shows twice, each with its own offset).

The database adds the figures up, grouped by the local interval it computes with its own time
zone rules (`IntervalStart`, `TruncDate`). Reading every call of a month would be too slow, so
the calls of each UTC quarter of an hour are added up once (`QuarterFigures`) when the quarter
is an hour old (`seal`), and a report adds up quarters, plus the calls of the last hour or so
directly. A later change to a call of a counted quarter (a call answered or ended after that
hour) has it counted again (`call_saved`); so does a changed service level. Each agent's figures
are the difference of two readings of their work log (agents/worklog.py).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, DurationField, ExpressionWrapper, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import TruncDate
from django.utils import timezone

from agents import worklog
from agents.models import Agent
from calls.core.measures import SUM_NAMES, ZERO, add_into, add_values_into, counted_calls, from_sums, sums
from calls.models import Member, QuarterFigures, Queue, SealedQuarter

QUARTER = timedelta(minutes=15)
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
SEAL_AFTER = timedelta(hours=1)  # a quarter is counted once it has been over this long
SEAL_CHUNK = 96  # quarters counted per transaction (a day)
SEAL_EVERY_SECONDS = 60.0  # every process's job counting the quarters as they come of age
MAX_ROWS = 10_000
INTERVALS = {"15m": 15, "30m": 30, "1h": 60, "1d": None}  # minutes (None: the local day)
FIGURE_FIELDS = frozenset({"waiting_since", "answered_at", "ended_at", "outcome", "queue"})
SEAL_LOCK = 0x7265706F  # PostgreSQL advisory lock: one counter of quarters at a time, and no call change meanwhile


class ReportRefused(ValueError):
    """A report that cannot be made as asked; the text says why."""


# --- intervals -------------------------------------------------------------------------------------------


class IntervalStart(Func):
    """The start of the local interval of `minutes` (15, 30 or 60) that holds a moment, as a moment:
    the minute it is in, less its minutes past the interval's start on the clock of `tzname`.
    Exact wherever the clocks change by a whole interval: everywhere but Lord Howe Island, whose
    half-hour change puts one of its hours half an hour late twice a year (every call still counts
    once)."""

    output_field = DateTimeField()

    def __init__(self, expression, *, minutes: int, tzname: str):
        super().__init__(expression)
        self.minutes, self.tzname = minutes, tzname

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        minute, minute_params = connection.ops.datetime_extract_sql("minute", sql, params, self.tzname)
        if connection.vendor == "postgresql":
            return (
                f"(DATE_TRUNC('minute', {sql}) - MAKE_INTERVAL(mins => ({minute})::integer %% {self.minutes}))",
                (*params, *minute_params),
            )
        if connection.vendor == "sqlite":  # the text form Django keeps datetimes in, in UTC
            return (
                f"STRFTIME('%%Y-%%m-%%d %%H:%%M:00', {sql}, '-' || (({minute}) %% {self.minutes}) || ' minutes')",
                (*params, *minute_params),
            )
        raise NotImplementedError(f"reports on {connection.vendor}")


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first moment of a local day (its midnight; or, where the clocks skip midnight, the end of the gap)."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Intervals:
    """One kind of interval in one time zone: where each starts, in Python and in the database."""

    name: str
    tz: ZoneInfo

    @property
    def minutes(self) -> int | None:
        return INTERVALS[self.name]

    def start_of(self, moment: datetime) -> datetime:
        if self.minutes is None:
            return _day_start(moment.astimezone(self.tz).date(), self.tz)
        local_minute = moment.astimezone(self.tz).minute
        return moment.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=local_minute % self.minutes)

    def after(self, start: datetime) -> datetime:
        """The start of the interval after the one starting at `start`."""
        if self.minutes is None:
            return _day_start(start.astimezone(self.tz).date() + timedelta(days=1), self.tz)
        following = start + timedelta(minutes=self.minutes)
        if following.astimezone(self.tz).utcoffset() == start.astimezone(self.tz).utcoffset():
            return following  # the clocks did not change: as nearly always
        probe = start + QUARTER
        while self.start_of(probe) <= start:
            probe += QUARTER
        return self.start_of(probe)

    def starts(self, since: datetime, until: datetime) -> list[datetime]:
        """The intervals that [since, until) touches, whole: their starts, then the end of the last."""
        found = [self.start_of(since)]
        while found[-1] < until:
            if len(found) > MAX_ROWS:
                raise ReportRefused(f"That is more than {MAX_ROWS:,} intervals: choose a longer interval or a "
                                    "shorter range.")
            found.append(self.after(found[-1]))
        return found

    def key(self, field: str):
        """The database's start of the interval holding `field`: for days the local date, else the
        start's distance from ORIGIN (a duration comes back from the database several times faster
        than a time with its time zone, and a month by the quarter hour is three thousand of them)."""
        if self.minutes is None:
            return TruncDate(field, tzinfo=self.tz)
        start = IntervalStart(field, minutes=self.minutes, tzname=str(self.tz.key))
        return ExpressionWrapper(start - Value(ORIGIN), output_field=DurationField())

    def moment_of(self, key) -> datetime:
        return _day_start(key, self.tz) if self.minutes is None else ORIGIN + key


def floor_quarter(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def seal_edge(now: datetime) -> datetime:
    """Quarters starting before this are counted (`QuarterFigures`); the calls after it are read directly."""
    return floor_quarter(now - SEAL_AFTER)


# --- counting quarters -----------------------------------------------------------------------------------


def _thresholds() -> tuple[float, dict[int, float]]:
    default = float(settings.SERVICE_LEVEL_SECONDS)
    return default, {
        pk: float(seconds) if seconds else default  # as calls/core/measures.py: empty or 0 is the default
        for pk, seconds in Queue.objects.values_list("pk", "service_level_seconds")
    }


def _lock_quarters() -> None:
    """On PostgreSQL, one counter of quarters at a time, and no change to a counted quarter's calls
    meanwhile (SQLite's write lock, taken at BEGIN, does the same there)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK])


def _stale_quarters(since: datetime, until: datetime) -> list[datetime]:
    """Counted quarters of the span whose service level is no longer their queue's (or whose queue is gone)."""
    default, by_queue = _thresholds()
    current = reduce(or_, (Q(queue_id=pk, service_level_seconds=seconds) for pk, seconds in by_queue.items()),
                     Q(queue__isnull=True, service_level_seconds=default))
    rows = QuarterFigures.objects.filter(quarter__gte=since, quarter__lt=until).exclude(current)
    return sorted(set(rows.values_list("quarter", flat=True)))


def _count(quarters: list[datetime]) -> None:
    """Count these quarters from their calls, in one transaction, unless someone just did."""
    with transaction.atomic():
        _lock_quarters()
        done = set(SealedQuarter.objects.filter(quarter__in=quarters).values_list("quarter", flat=True))
        quarters = [q for q in quarters if q not in done]
        if not quarters:
            return
        default, by_queue = _thresholds()
        QuarterFigures.objects.filter(quarter__in=quarters).delete()  # a queue's rows from before it was deleted
        spans = reduce(or_, (Q(waiting_since__gte=q, waiting_since__lt=q + QUARTER) for q in quarters))
        calls = counted_calls(min(quarters), max(quarters) + QUARTER).filter(spans)
        counted = calls.annotate(q=IntervalStart("waiting_since", minutes=15, tzname="UTC")).values("q", "queue_id")
        QuarterFigures.objects.bulk_create(
            QuarterFigures(
                quarter=row["q"], queue_id=row["queue_id"],
                service_level_seconds=by_queue.get(row["queue_id"], default), **{n: row[n] for n in SUM_NAMES},
            )
            for row in counted.annotate(**sums()).order_by()
        )
        SealedQuarter.objects.bulk_create([SealedQuarter(quarter=q) for q in quarters], ignore_conflicts=True)


def _unseal(quarters: list[datetime]) -> None:
    with transaction.atomic(savepoint=False):
        _lock_quarters()
        SealedQuarter.objects.filter(quarter__in=quarters).delete()
        QuarterFigures.objects.filter(quarter__in=quarters).delete()


def seal(since: datetime, until: datetime, *, now: datetime | None = None) -> int:
    """Make sure every quarter of [since, until) that is an hour old is counted, with the service
    levels of today; returns how many quarters were counted now."""
    until = min(until, seal_edge(now or timezone.now()))
    if since >= until:
        return 0
    if stale := _stale_quarters(since, until):
        _unseal(stale)
    wanted, q = [], floor_quarter(since)
    while q < until:
        wanted.append(q)
        q += QUARTER
    counted = SealedQuarter.objects.filter(quarter__gte=wanted[0], quarter__lt=until)
    if counted.count() == len(wanted):  # as nearly always: all counted already
        return 0
    done = set(counted.values_list("quarter", flat=True))
    missing = [q for q in wanted if q not in done]
    for n in range(0, len(missing), SEAL_CHUNK):
        _count(missing[n:n + SEAL_CHUNK])
    return len(missing)


def seal_recent() -> list[dict]:
    """Each process's periodic job (calls/apps.py, live/clock.py): the last day's quarters counted as
    they come of age, so a report seldom has to."""
    now = timezone.now()
    seal(now - timedelta(days=1), now, now=now)
    return []


def call_saved(sender, instance, update_fields=None, **kwargs) -> None:
    """A call of a counted quarter changed what it counts for (answered or ended over an hour after
    its customer started waiting, a late callback): the quarter is counted again when next read."""
    if instance.waiting_since is None:
        return
    if update_fields is not None and not FIGURE_FIELDS.intersection(update_fields):
        return
    quarter = floor_quarter(instance.waiting_since)
    if quarter < seal_edge(timezone.now()):
        _unseal([quarter])


# --- the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportAsk:
    since: datetime
    until: datetime
    interval: str
    tz: ZoneInfo
    queue: Queue | None = None
    agent: Agent | None = None


def _rows_by_interval(intervals: Intervals, rows: QuerySet, starts: list[datetime], into: list[dict]) -> None:
    """Add each interval's sums (`rows`: a `key` and the sums) into its place of `into` (as tuples:
    a month by the quarter hour is three thousand rows)."""
    for key, *values in rows.values_list("key", *SUM_NAMES):
        index = bisect.bisect_right(starts, intervals.moment_of(key)) - 1
        if 0 <= index < len(into):
            add_values_into(into[index], values)


def _from_calls(intervals: Intervals, calls: QuerySet) -> QuerySet:
    return calls.annotate(key=intervals.key("waiting_since")).values("key").annotate(**sums()).order_by()


def _from_quarters(intervals: Intervals, quarters: QuerySet) -> QuerySet:
    return quarters.annotate(key=intervals.key("quarter")).values("key").annotate(
        **{name: Sum(name) for name in SUM_NAMES}
    ).order_by()


def _on_aligned_quarters(starts: list[datetime]) -> bool:
    """Whether every interval starts on a UTC quarter (true of every offset in use today)."""
    return all(s.minute % 15 == 0 and not s.second and not s.microsecond for s in starts)


def interval_sums(ask: ReportAsk, starts: list[datetime], *, now: datetime) -> list[dict]:
    """The sums of each interval (starting at `starts[i]`, ending at `starts[i + 1]`)."""
    intervals = Intervals(ask.interval, ask.tz)
    since, until = starts[0], starts[-1]
    sums_of = [dict(ZERO) for _ in starts[:-1]]
    calls = counted_calls(since, until)
    if ask.queue is not None:
        calls = calls.filter(queue=ask.queue)
    if ask.agent is not None or not _on_aligned_quarters(starts):
        # An agent's calls are few: read them directly (the calls they were on, as the history's `agent`).
        if ask.agent is not None:
            calls = calls.filter(pk__in=Member.objects.filter(agent=ask.agent).values("call_id"))
        _rows_by_interval(intervals, _from_calls(intervals, calls), starts, sums_of)
        return sums_of
    edge = max(since, min(until, seal_edge(now)))
    seal(since, edge, now=now)
    quarters = QuarterFigures.objects.filter(quarter__gte=since, quarter__lt=edge)
    if ask.queue is not None:
        quarters = quarters.filter(queue=ask.queue)
    _rows_by_interval(intervals, _from_quarters(intervals, quarters), starts, sums_of)
    _rows_by_interval(intervals, _from_calls(intervals, calls.filter(waiting_since__gte=edge)), starts, sums_of)
    return sums_of


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat()


def _seconds(value: timedelta) -> int:
    return round(value.total_seconds())


def agent_rows(ask: ReportAsk, since: datetime, until: datetime, *, now: datetime) -> list[dict]:
    """What each agent did in the span (their whole time, whatever the queue), agents who did nothing left out."""
    until = min(until, now)
    if since >= until:
        return []
    work = worklog.work_between(since, until, agent_ids=[ask.agent.pk] if ask.agent else None)
    names = {pk: name or username for pk, name, username in
             Agent.objects.filter(pk__in=list(work)).values_list("pk", "name", "user__username")}
    rows = [
        {
            "id": agent_id, "name": names[agent_id], "handled": done.handled,
            "talk_seconds": _seconds(done.talk), "hold_seconds": _seconds(done.hold),
            "wrap_up_seconds": _seconds(done.wrap_up), "occupancy_percent": done.occupancy_percent,
        }
        for agent_id, done in work.items() if done.anything
    ]
    return sorted(rows, key=lambda row: (row["name"].lower(), row["id"]))


def report(ask: ReportAsk, *, now: datetime | None = None) -> dict:
    """`GET /api/reports/intervals/`: a row per interval of the span (empty ones too), the totals, the agents."""
    now = now or timezone.now()
    intervals = Intervals(ask.interval, ask.tz)
    starts = intervals.starts(ask.since, ask.until)
    sums_of = interval_sums(ask, starts, now=now)
    return {
        "interval": ask.interval,
        "tz": ask.tz.key,
        "since": _local(starts[0], ask.tz),
        "until": _local(starts[-1], ask.tz),
        "queue": ask.queue.name if ask.queue else None,
        "agent": ask.agent.pk if ask.agent else None,
        "rows": [{"start": _local(start, ask.tz), **from_sums(s)} for start, s in zip(starts, sums_of, strict=False)],
        "totals": from_sums(reduce(add_into, sums_of, dict(ZERO))),
        "agents": agent_rows(ask, starts[0], starts[-1], now=now),
    }


ROW_COLUMNS = ["start", "offered", "answered", "abandoned", "service_level_percent", "average_wait_seconds",
               "average_handle_seconds"]
