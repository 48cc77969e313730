from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self):
        from calls import signals  # noqa: F401 - connects the receivers
        from calls.selectors import live_world, snapshot_for
        from live.sources import register_snapshots

        register_snapshots(snapshot_for=snapshot_for, world=live_world)
