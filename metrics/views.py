"""`/metrics`: this process's metrics in Prometheus' text format (docs/operations.md).

With METRICS_TOKEN set, a scrape needs `Authorization: Bearer <token>`. Without it, only a
scraper on this machine may read them: a loopback client, not through a proxy (a request relayed by
nginx comes from loopback too, but carries the proxy's forwarding headers).
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from metrics.registry import REGISTRY

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def metrics(request):
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = JsonResponse({"detail": "A bearer token is needed for the metrics."}, status=401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    elif not _from_this_machine(request):
        return JsonResponse(
            {"detail": "Metrics answer loopback clients only; set METRICS_TOKEN to scrape from elsewhere."}, status=403
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def _from_this_machine(request) -> bool:
    if any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False
