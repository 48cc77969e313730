"""What the queue's figures mean (docs/reports.md, "Definitions"): one definition for the wall's
day (calls/queue/figures.py) and the reports (calls/history/reports.py), so the two always agree
on the same calls.

A call counts in the period in which its customer started waiting for an agent (`waiting_since`):
calls that never waited (placed by an agent, or from a PHLO app that routes itself) are not the
queue's. Of those calls: answered (an agent joined), abandoned (the customer left first), answered
within the service level (its queue's `service_level_seconds`, else SERVICE_LEVEL_SECONDS, from
starting to wait), the wait (from starting to wait to the answer) and the handle time (from the
answer to the end).

The database adds them up (`SUMS`: counts and totals, which add up again across periods and
queues), and `from_sums` turns sums into what people read: the service level as a share of the
answered and abandoned calls, and the averages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Func, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, NullIf

from calls.core.vocabulary import CallOutcome
from calls.models import Call


def counted_calls(since: datetime, until: datetime) -> QuerySet[Call]:
    """The calls whose customer started waiting in [since, until)."""
    return Call.objects.filter(waiting_since__gte=since, waiting_since__lt=until)


def _duration(end: str, start: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def service_level_seconds() -> Coalesce:
    """The call's queue's threshold, else (no queue, or none set: empty or 0, as calls/core/queues.py
    reads it) SERVICE_LEVEL_SECONDS."""
    return Coalesce(NullIf(F("queue__service_level_seconds"), Value(0)), Value(float(settings.SERVICE_LEVEL_SECONDS)))


class Seconds(Func):
    """A number of seconds as a duration the database adds to a time (Django's own multiplication
    of a duration by a number gives SQLite a float, which its date arithmetic refuses)."""

    output_field = DurationField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="MAKE_INTERVAL(secs => %(expressions)s)", **extra)

    def as_sqlite(self, compiler, connection, **extra):  # Django keeps durations there as microseconds
        return self.as_sql(compiler, connection, template="CAST(ROUND(%(expressions)s * 1000000) AS INTEGER)", **extra)


def _within_service_level() -> Q:
    return Q(outcome=CallOutcome.ANSWERED, answered_at__lte=F("waiting_since") + Seconds(service_level_seconds()))


ANSWERED = Q(outcome=CallOutcome.ANSWERED)
ABANDONED = Q(outcome=CallOutcome.ABANDONED)
WAITED = Q(answered_at__isnull=False)  # the wait ended in an answer
HANDLED = Q(answered_at__isnull=False, ended_at__isnull=False)


def sums() -> dict:
    """The aggregates of a set of counted calls; every one adds up across periods and queues."""
    return {
        "offered": Count("pk"),
        "answered": Count("pk", filter=ANSWERED),
        "abandoned": Count("pk", filter=ABANDONED),
        "answered_in_time": Count("pk", filter=_within_service_level()),
        "wait_total": Sum(_duration("answered_at", "waiting_since"), filter=WAITED),
        "waits": Count("pk", filter=WAITED),
        "handle_total": Sum(_duration("ended_at", "answered_at"), filter=HANDLED),
        "handles": Count("pk", filter=HANDLED),
    }


SUM_NAMES = tuple(sums())
ZERO = dict.fromkeys(SUM_NAMES, 0) | {"wait_total": timedelta(0), "handle_total": timedelta(0)}


def add(a: dict, b: dict) -> dict:
    """Two sets of sums as one (a total may be None: no call had one)."""
    return add_into(add_into(dict(ZERO), a), b)


def add_into(total: dict, b: dict) -> dict:
    """`b` (sums, a total perhaps None) added into `total` (sums with none None): a report adds
    thousands of intervals' sums, without a copy each time."""
    return add_values_into(total, (b[name] for name in SUM_NAMES))


def add_values_into(total: dict, values: Iterable) -> dict:
    """As `add_into`, the sums given as values in SUM_NAMES' order (a row read as a tuple)."""
    for name, value in zip(SUM_NAMES, values, strict=True):
        if value:
            total[name] += value
    return total


def _average(total: timedelta | None, count: int) -> float | None:
    return round(total.total_seconds() / count, 1) if count and total is not None else None


def from_sums(totals: dict) -> dict:
    """What people read, from the sums: counts, the service level (answered within it, as a share
    of the answered and abandoned calls; None with neither) and the average wait and handle time
    in seconds (None with no call to average)."""
    decided = totals["answered"] + totals["abandoned"]
    return {
        "offered": totals["offered"],
        "answered": totals["answered"],
        "abandoned": totals["abandoned"],
        "service_level_percent": round(100 * totals["answered_in_time"] / decided, 1) if decided else None,
        "average_wait_seconds": _average(totals["wait_total"], totals["waits"]),
        "average_handle_seconds": _average(totals["handle_total"], totals["handles"]),
    }


def call_figures(calls: QuerySet[Call]) -> dict:
    """The figures of these calls, added up by the database."""
    return from_sums(add_into(dict(ZERO), calls.aggregate(**sums())))
