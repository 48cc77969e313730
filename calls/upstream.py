"""The desk's PHLO apps as clients of Plivo's APIs: the settings read here, at each request, so a
test or an operator can point them elsewhere without a restart (README "Configuration")."""

from django.conf import settings

from calls.models import PhloApp
from phlo.phlo_api import PhloApi


def phlo_api(app: PhloApp) -> PhloApi:
    return PhloApi(
        base_url=settings.PHLO_BASE_URL, timeout=float(settings.PHLO_TIMEOUT), credentials=app.credentials,
        phlo_id=app.phlo_id, node_id=app.node_id,
    )
