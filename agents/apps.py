from django.apps import AppConfig

WRAP_UP_SWEEP_SECONDS = 1.0
RATE_COUNTER_PURGE_SECONDS = 300.0


class AgentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "agents"

    def ready(self):
        from agents import signals  # noqa: F401 - connects the receivers
        from agents.rate_limits import purge_expired
        from agents.selectors import agents_by_status
        from agents.status import agents_finish_wrap_up
        from agents.viewers import viewer_for
        from live.sources import PeriodicJob, register_periodic, register_viewers
        from metrics.registry import register_collector

        register_viewers(viewer_for)
        register_periodic(PeriodicJob("wrap-up", WRAP_UP_SWEEP_SECONDS, agents_finish_wrap_up))
        register_collector("desk_agents", "Active agents by status.", ["status"], agents_by_status)
        register_periodic(PeriodicJob("rate-counter-purge", RATE_COUNTER_PURGE_SECONDS, purge_expired))
