"""What the PHLO simulator learns from this desk's database, read here and handed to it: the PHLO
apps, as Plivo's console would hold them. Nothing else: who answers a customer is the desk's
router's business (docs/routing.md)."""

from datetime import UTC

from django.db import close_old_connections

from calls.models import PhloApp
from simulator.directory import Phlo


def load_phlos_from_database() -> list[Phlo]:
    close_old_connections()  # a long-running simulator must not hold on to a dropped connection
    return [
        Phlo(
            phlo_id=app.phlo_id, node_id=app.node_id, name=app.name, auth_id=app.auth_id,
            auth_token=app.auth_token, is_default=app.is_default,
            created_on=app.created_at.astimezone(UTC).isoformat(sep=" "),
        )
        for app in PhloApp.objects.order_by("-is_default", "pk")
    ]
