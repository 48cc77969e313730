"""`/healthz`, `/readyz` and `/metrics`, answered to a probe on any `Host` (docs/operations.md).

Load balancers and Prometheus reach each process by its address (`http://10.0.0.7:8001/healthz`),
so the Host they send is that address, never the site's name. Django's host check (ALLOWED_HOSTS,
first made by CommonMiddleware) would answer them `400` and log a traceback every time, so a
process could never pass its own health check. These three paths are answered here, in a
middleware placed before any that reads the host (and after those that only add headers: probes
carry the same security headers as every response); every other request keeps the host check.
`/metrics` keeps its own rules (METRICS_TOKEN, or loopback only: metrics/views.py).

Under ASGI the middleware runs inline on the event loop: one dictionary look-up per request.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync, sync_to_async

from contactcenter.health import healthz, readyz
from fastpath.middleware import BothWays
from metrics.views import metrics


async def scrape(request):
    return await sync_to_async(metrics)(request)  # the collectors read the database


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": scrape}


class ProbesOnAnyHost(BothWays):
    """Answers GET and HEAD of the probe paths before the host check; passes everything else on."""

    def __call_sync__(self, request):
        probe = _probe_for(request)
        if probe is None:
            return self.get_response(request)
        return async_to_sync(probe)(request)  # the test client and WSGI servers

    async def __acall__(self, request):
        probe = _probe_for(request)
        if probe is None:
            return await self.get_response(request)
        return await probe(request)


def _probe_for(request):
    if request.method not in ("GET", "HEAD"):
        return None
    return PROBES.get(request.path_info)
