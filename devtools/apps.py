from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """The whole product on one machine: the PHLO simulator wired to this desk, and `make run`."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "devtools"
