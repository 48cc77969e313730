"""The queues as configured (docs/routing.md, "Queues"), kept in memory: every callback of an
inbound call asks which queue its number reaches, every call's JSON names its queue, every routing
pass orders by priority. Queues are few and change rarely, so each process reads them all at once
and again after a change made here (model signals) or within KEPT_SECONDS of one made elsewhere.

A waiting call's queue: the queue whose numbers hold the number the customer dialled, else the
queue of its PHLO app, else the default queue, else none (any agent may take it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from calls.models import Queue
from phlo.addresses import address_key

KEPT_SECONDS = 5.0


@dataclass(frozen=True)
class QueueRules:
    """One queue as routing and the figures use it."""

    id: int
    name: str
    priority: int
    service_level_seconds: int
    overflow_to_id: int | None
    overflow_after_seconds: int | None


@dataclass(frozen=True)
class _Configured:
    by_id: dict[int, QueueRules]
    by_name: dict[str, QueueRules]
    by_number: dict[str, int]
    by_app: dict[int, int]
    default_id: int | None


_lock = threading.Lock()
_kept: tuple[float, _Configured] | None = None


def configured() -> _Configured:
    global _kept
    now = time.monotonic()
    kept = _kept
    if kept is not None and now - kept[0] < KEPT_SECONDS:
        return kept[1]
    with _lock:
        queues = list(Queue.objects.all())
        rules = {
            q.pk: QueueRules(
                id=q.pk, name=q.name, priority=q.priority,
                service_level_seconds=q.service_level_seconds or settings.SERVICE_LEVEL_SECONDS,
                overflow_to_id=q.overflow_to_id, overflow_after_seconds=q.overflow_after_seconds,
            )
            for q in queues
        }
        found = _Configured(
            by_id=rules,
            by_name={r.name: r for r in rules.values()},
            by_number={address_key(number): q.pk for q in queues for number in q.numbers or ()},
            by_app={q.phlo_app_id: q.pk for q in sorted(queues, key=lambda q: q.pk, reverse=True) if q.phlo_app_id},
            default_id=next((q.pk for q in queues if q.is_default), None),
        )
        _kept = (now, found)
    return found


def queue_for(*, app_id: int, called: str) -> int | None:
    """The queue a customer reaches by dialling `called` into this PHLO app's calls."""
    found = configured()
    if called and (by_number := found.by_number.get(address_key(called))) is not None:
        return by_number
    return found.by_app.get(app_id, found.default_id)


def queue_rules(queue_id: int | None) -> QueueRules | None:
    return configured().by_id.get(queue_id) if queue_id is not None else None


def queue_named(name: str) -> QueueRules | None:
    return configured().by_name.get(name)


def queue_name(queue_id: int | None) -> str | None:
    rules = queue_rules(queue_id)
    return rules.name if rules else None


def all_queues() -> list[QueueRules]:
    """Highest priority first, then by name."""
    return sorted(configured().by_id.values(), key=lambda r: (-r.priority, r.name))


@receiver([post_save, post_delete], sender=Queue, dispatch_uid="calls.core.queues.forget")
def forget(sender, **kwargs) -> None:
    global _kept
    _kept = None
