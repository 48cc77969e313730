"""The desk's PHLO apps as clients of Plivo's APIs: the settings read here, at each request, so a
test or an operator can point them elsewhere without a restart (README "Configuration")."""

from django.conf import settings

from calls.models import PhloApp
from metrics.registry import UPSTREAM_REQUESTS, UPSTREAM_SECONDS
from phlo.http import Exchange
from phlo.phlo_api import PhloApi


def phlo_api(app: PhloApp) -> PhloApi:
    return PhloApi(
        base_url=settings.PHLO_BASE_URL, timeout=float(settings.PHLO_TIMEOUT), credentials=app.credentials,
        phlo_id=app.phlo_id, node_id=app.node_id,
    )


def record(exchange: Exchange) -> None:
    """phlo/http.py's observer: each request to Plivo in the metrics."""
    UPSTREAM_REQUESTS.labels(upstream=exchange.upstream, action=exchange.action, status=str(exchange.status)).inc()
    UPSTREAM_SECONDS.labels(upstream=exchange.upstream, action=exchange.action).observe(exchange.duration_ms / 1000)
