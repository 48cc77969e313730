from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self):
        from agents.status import became_available
        from calls import (
            recording,  # noqa: F401 - registers its reaction to callbacks
            routing,
            signals,  # noqa: F401 - connects the history receivers
            upstream,
        )
        from calls.callbacks.nonces import PURGE_EVERY_SECONDS, purge_old_nonces
        from calls.selectors import live_world, snapshot_for
        from calls.stats import RECOMPUTE_SECONDS, figures, queue_now
        from live.sources import PeriodicJob, register_periodic, register_snapshots
        from metrics.registry import register_collector
        from phlo import http

        register_snapshots(snapshot_for=snapshot_for, world=live_world)
        register_periodic(PeriodicJob("callback-nonce-purge", PURGE_EVERY_SECONDS, purge_old_nonces))
        if upstream.record not in http.observers:
            http.observers.append(upstream.record)
        register_collector("desk_calls_waiting", "Calls whose customer waits for an agent now.", [],
                           lambda: [(queue_now()["waiting"],)])
        register_collector("desk_longest_wait_seconds", "How long the oldest waiting call has waited.", [],
                           lambda: [(queue_now()["longest_wait_seconds"],)])
        register_periodic(PeriodicJob("queue figures", RECOMPUTE_SECONDS, figures.run))
        became_available.connect(routing.wake_on_available, dispatch_uid="calls.routing")
