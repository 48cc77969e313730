"""`/healthz` and `/readyz`, for load balancers, orchestrators and monitoring (docs/deploy.md, "Health").

- `/healthz`, liveness: the process serves requests. No dependency is checked: a database or
  Redis outage is no reason to restart a process.
- `/readyz`, readiness: the process can take work, that is its database answers (`503` if not).
  The channel layer (Redis) is reported, never a reason for `503`: every process shares one Redis,
  so failing on it would pull every process out of rotation at once, while callbacks and actions
  keep working without it (docs/deploy.md: only the live push waits).

Both are answered on any Host header (contactcenter/probes.py).
"""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse

# How long readiness waits on each dependency: well under a load balancer's usual probe timeout
# (2-5 s), so a hung database is reported as not ready rather than as a probe that timed out.
DATABASE_SECONDS = 1.5
CHANNEL_LAYER_SECONDS = 1.0


async def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request) -> JsonResponse:
    started = time.perf_counter()
    database, channel_layer = await asyncio.gather(
        _outcome(sync_to_async(_select_one)(), DATABASE_SECONDS),
        _outcome(get_channel_layer().group_send("readyz", {"type": "readyz"}), CHANNEL_LAYER_SECONDS),
    )
    ready = database == "ok"
    body = {
        "status": "ok" if ready else "error",
        "database": database,
        "channel_layer": channel_layer,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if ready else 503)


def _select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _outcome(check, seconds: float) -> str:
    try:
        await asyncio.wait_for(check, timeout=seconds)
    except TimeoutError:
        return f"error: no answer within {seconds:g} s"
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"
