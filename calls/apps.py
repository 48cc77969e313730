from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self):
        from calls.callbacks.nonces import PURGE_EVERY_SECONDS, purge_old_nonces
        from calls.selectors import live_world, snapshot_for
        from live.sources import PeriodicJob, register_periodic, register_snapshots

        register_snapshots(snapshot_for=snapshot_for, world=live_world)
        register_periodic(PeriodicJob("callback-nonce-purge", PURGE_EVERY_SECONDS, purge_old_nonces))
