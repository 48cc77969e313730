"""The desk's PHLO apps as clients of Plivo's APIs: the settings read here, at each request, so a
test or an operator can point them elsewhere without a restart (README "Configuration")."""

from django.conf import settings

from calls.models import PhloApp
from metrics.registry import UPSTREAM_REQUESTS, UPSTREAM_SECONDS
from phlo.http import Exchange
from phlo.phlo_api import PhloApi
from phlo.voice_api import VoiceApi


def phlo_api(app: PhloApp) -> PhloApi:
    return PhloApi(
        base_url=settings.PHLO_BASE_URL, timeout=float(settings.PHLO_TIMEOUT), credentials=app.credentials,
        phlo_id=app.phlo_id, node_id=app.node_id,
    )


def voice_api(app: PhloApp, mpc_uuid: str) -> VoiceApi:
    """The Voice API for one of the app's multiparty calls. Its requests are as quick as PHLO's,
    so they share PHLO_TIMEOUT. Recording events come back to the app's callback URL when the
    desk knows its public origin (PUBLIC_BASE_URL); else Plivo sends them where the call's others go."""
    public = settings.PUBLIC_BASE_URL
    return VoiceApi(
        base_url=settings.PLIVO_API_BASE_URL, timeout=float(settings.PHLO_TIMEOUT), credentials=app.credentials,
        mpc_uuid=mpc_uuid, recording_callback_url=f"{public}{app.callback_path}" if public else "",
    )


def record(exchange: Exchange) -> None:
    """phlo/http.py's observer: each request to Plivo in the metrics."""
    UPSTREAM_REQUESTS.labels(upstream=exchange.upstream, action=exchange.action, status=str(exchange.status)).inc()
    UPSTREAM_SECONDS.labels(upstream=exchange.upstream, action=exchange.action).observe(exchange.duration_ms / 1000)
