"""The PHLO apps callbacks arrive for, kept in memory: one query fewer on every callback
(docs/benchmarks.md). A change made on this process is seen at once (model signals); one made on
another process within KEPT_SECONDS. A signature that does not match is checked again against the
app read afresh, so a rotated auth token never gets a good callback refused."""

from __future__ import annotations

import time

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from calls.models import PhloApp

KEPT_SECONDS = 5.0

_kept: dict[str, tuple[float, PhloApp]] = {}


def known_app(phlo_id: str, *, fresh: bool = False) -> PhloApp | None:
    """The app with this PHLO ID, or None. Unknown IDs are never kept: anyone can send those."""
    now = time.monotonic()
    kept = None if fresh else _kept.get(phlo_id)
    if kept is not None and now - kept[0] < KEPT_SECONDS:
        return kept[1]
    app = PhloApp.objects.filter(phlo_id=phlo_id).first()
    if app is None:
        _kept.pop(phlo_id, None)
    else:
        _kept[phlo_id] = (now, app)
    return app


@receiver([post_save, post_delete], sender=PhloApp, dispatch_uid="calls.known_apps.forget")
def forget(sender, **kwargs) -> None:
    _kept.clear()
