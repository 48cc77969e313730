"""`manage.py prune_history --older-than-days N [--dry-run]` (docs/data.md).

Deletes the calls that ended more than N days ago with everything kept for them: their members
(numbers, SIP addresses), the callbacks Plivo sent about them (with all their parameters), the
actions people took on them, the wrap-ups (dispositions and notes, kept on the call's row) and
the agents' history rows. Also the callbacks and actions of no call that are as old (unmatched
callbacks, a call that never started). A call still live (ringing, waiting or active) is never
touched, however old. Without --older-than-days, RETENTION_DAYS says how long; with neither, it
refuses, so a timer set up before the setting cannot delete anything by surprise.

Calls go in batches, each batch in a transaction of its own, so a large first prune never holds
one giant transaction (nor, on SQLite, the write lock) while Plivo's callbacks wait.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from calls.models import Action, AgentCall, Call, CallEvent, Member

ENDED = "ended"  # the only call status that is over (README, "The HTTP API")
KINDS = ("calls", "members", "callbacks", "actions", "wrap-ups", "agent history rows",
         "callbacks of no call", "actions of no call")


class Command(BaseCommand):
    help = (
        "Delete calls that ended more than N days ago, with their members, callbacks, actions, wrap-ups and "
        "history rows; never a live call. N: --older-than-days, else the RETENTION_DAYS setting."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=int, help="Default: RETENTION_DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing")
        parser.add_argument("--batch-size", type=int, default=500, help="Calls deleted per transaction")

    def handle(self, *args, older_than_days, dry_run, batch_size, **options):
        days = older_than_days if older_than_days is not None else settings.RETENTION_DAYS
        if days is None:
            raise CommandError("Give --older-than-days N, or set RETENTION_DAYS: nothing is deleted otherwise.")
        if days < 1:
            raise CommandError("--older-than-days must be 1 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        counts = _count(cutoff) if dry_run else _delete(cutoff, batch_size)
        verb = "Would delete (dry run, nothing deleted)" if dry_run else "Deleted"
        self.stdout.write(f"{verb}: what ended before {cutoff:%Y-%m-%d %H:%M} UTC (older than {days} days)")
        for kind in KINDS:
            self.stdout.write(f"  {counts[kind]:>10} {kind}")


def _old_calls(cutoff):
    return Call.objects.filter(status=ENDED, ended_at__lt=cutoff)


def _orphans(cutoff) -> tuple:
    return (CallEvent.objects.filter(call__isnull=True, received_at__lt=cutoff),
            Action.objects.filter(call__isnull=True, created_at__lt=cutoff))


def _wrap_ups(calls) -> int:
    return sum(len(wrap_ups or []) for wrap_ups in calls.values_list("wrap_ups", flat=True).iterator())


def _count(cutoff) -> Counter:
    calls = _old_calls(cutoff)
    events, actions = _orphans(cutoff)
    return Counter({
        "calls": calls.count(),
        "members": Member.objects.filter(call__in=calls).count(),
        "callbacks": CallEvent.objects.filter(call__in=calls).count(),
        "actions": Action.objects.filter(call__in=calls).count(),
        "wrap-ups": _wrap_ups(calls),
        "agent history rows": AgentCall.objects.filter(call__in=calls).count(),
        "callbacks of no call": events.count(),
        "actions of no call": actions.count(),
    })


def _delete(cutoff, batch_size: int) -> Counter:
    counts = Counter()
    while True:
        batch = list(_old_calls(cutoff).order_by("ended_at", "pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        counts += _delete_calls(cutoff, batch)
    for kind, orphans in zip(("callbacks of no call", "actions of no call"), _orphans(cutoff), strict=True):
        while batch := list(orphans.values_list("pk", flat=True)[:batch_size]):
            counts[kind] += orphans.model.objects.filter(pk__in=batch).delete()[0]
    return counts


@transaction.atomic
def _delete_calls(cutoff, batch: list[int]) -> Counter:
    """One batch, children first: Action rows would outlive their call otherwise (they keep what
    was asked with the call set to null), and deleting children by query costs no per-row cascade."""
    calls = _old_calls(cutoff).filter(pk__in=batch)  # still ended: checked again inside the transaction
    ids = list(calls.select_for_update().values_list("pk", flat=True))
    counts = Counter({"wrap-ups": _wrap_ups(Call.objects.filter(pk__in=ids))})
    counts["agent history rows"] = AgentCall.objects.filter(call_id__in=ids).delete()[0]
    counts["callbacks"] = CallEvent.objects.filter(call_id__in=ids).delete()[0]
    counts["actions"] = Action.objects.filter(call_id__in=ids).delete()[0]
    counts["members"] = Member.objects.filter(call_id__in=ids).delete()[0]
    counts["calls"] = Call.objects.filter(pk__in=ids).delete()[1].get(Call._meta.label, 0)
    return counts
