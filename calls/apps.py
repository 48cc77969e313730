from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self):
        from agents.status import became_available
        from calls import routing
        from calls.selectors import live_world, snapshot_for
        from calls.stats import RECOMPUTE_SECONDS, figures
        from live.sources import PeriodicJob, register_periodic, register_snapshots

        register_snapshots(snapshot_for=snapshot_for, world=live_world)
        register_periodic(PeriodicJob("queue figures", RECOMPUTE_SECONDS, figures.run))
        became_available.connect(routing.wake_on_available, dispatch_uid="calls.routing")
