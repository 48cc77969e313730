"""The process's own clock: the periodic jobs that must run whether or not anyone watches (a
wrap-up that is over ends, old nonces and counters go), from the process's first request until it
stops. Daphne has no start-up hook for it, so contactcenter/asgi.py starts it with the first
request, as it starts the call router. The jobs only a dashboard needs run in the hub, while
dashboards are connected (live/hub.py)."""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async

from live.publish import publish
from live.sources import PeriodicJob, sources

logger = logging.getLogger(__name__)

_started: dict[asyncio.AbstractEventLoop, list[asyncio.Task]] = {}


def start_clock() -> None:
    """Start the always-running jobs on the running loop, once per loop."""
    loop = asyncio.get_running_loop()
    if loop in _started:
        return
    for stale in [other for other in _started if other.is_closed()]:
        del _started[stale]
    _started[loop] = [
        loop.create_task(_forever(job), name=f"clock: {job.name}") for job in sources.periodic if not job.while_watched
    ]


async def _forever(job: PeriodicJob) -> None:
    while True:
        await asyncio.sleep(job.seconds)
        await run_job(job)


async def run_job(job: PeriodicJob) -> None:
    """Run one job and publish what it changed; a failure is logged, and the job runs again next time."""
    try:
        await publish(await database_sync_to_async(job.run)())
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("periodic job %s failed", job.name)
