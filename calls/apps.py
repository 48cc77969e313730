from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self):
        """How the calls domain plugs into the rest of the product (docs/architecture.md, "Wiring").
        What the desk does after each callback is not here: calls/intake/reactions.py lists it."""
        from django.db.models.signals import post_save

        from agents.status import became_available, declined
        from calls.core import upstream
        from calls.dashboards import live_world, snapshot_for
        from calls.history import read_model
        from calls.intake.nonces import PURGE_EVERY_SECONDS, purge_old_nonces
        from calls.models import Call, Member, Queue
        from calls.queue import routing
        from calls.queue.figures import RECOMPUTE_SECONDS, figures, waiting_by_queue
        from live.sources import PeriodicJob, register_periodic, register_snapshots
        from metrics.registry import register_collector
        from phlo import http

        # What a dashboard's snapshot holds, and the jobs each process runs (live/clock.py, live/hub.py).
        register_snapshots(snapshot_for=snapshot_for, world=live_world)
        register_periodic(PeriodicJob("callback-nonce-purge", PURGE_EVERY_SECONDS, purge_old_nonces))
        register_periodic(PeriodicJob("queue figures", RECOMPUTE_SECONDS, figures.run, while_watched=True))
        # An agent who becomes available may take a waiting call (agents/status.py cannot import us).
        became_available.connect(routing.wake_on_available, dispatch_uid="calls.queue.routing")
        declined.connect(routing.offer_declined, dispatch_uid="calls.queue.routing.declined")
        # The history's read model follows every save of a call or member, whoever makes it.
        post_save.connect(read_model.call_saved, sender=Call, dispatch_uid="calls.history.read_model.call")
        post_save.connect(read_model.member_saved, sender=Member, dispatch_uid="calls.history.read_model.member")
        # Agents show their skills by the queues' names (agents/skills.py).
        post_save.connect(_skills_follow_queue, sender=Queue, dispatch_uid="calls.queues.skills")
        # Each request to Plivo, and the queue read at scrape time, in the metrics.
        if upstream.record not in http.observers:
            http.observers.append(upstream.record)
        register_collector("desk_calls_waiting", "Calls whose customer waits for an agent now, by queue.", ["queue"],
                           lambda: [(name, n) for name, n, _ in waiting_by_queue()])
        register_collector("desk_longest_wait_seconds", "How long the oldest waiting call has waited, by queue.",
                           ["queue"], lambda: [(name, longest) for name, _, longest in waiting_by_queue()])


def _skills_follow_queue(sender, instance, created=False, **kwargs):
    from agents.skills import refresh_for_queue

    if not created:
        refresh_for_queue(instance.pk)
