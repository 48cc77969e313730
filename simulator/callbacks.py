"""Callbacks out: form-encoded POSTs signed like Plivo's, retried like Plivo's, in order per call.

Each multiparty call has its own queue and worker, so the desk receives a call's events in the
order they happened; a callback being retried holds back the later ones of that call only.
The `reorder` fault sends every event on its own after a random delay instead, and
`duplicate_rate` delivers some a second time, as Plivo does when an answer is late.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from phlo.signatures import sign
from simulator.directory import Phlo, PhloDirectory
from simulator.faults import Faults
from simulator.tasks import BackgroundTasks

logger = logging.getLogger(__name__)

# Pauses before each retry of a callback that failed (non-2xx, refused or timed out).
DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0)
# From an event to its callback leaving: Plivo's processing and the network. It also keeps a
# run's first callback behind PHLO's answer to the run, as on the real platform.
DEFAULT_LATENCY = (0.02, 0.1)
REORDER_WINDOW_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2.0  # Plivo's default connection timeout for webhooks


@dataclass(frozen=True)
class Delivery:
    phlo: Phlo
    mpc_uuid: str
    params: dict[str, str]
    url: str = ""  # where the request asked for these (recording_callback_url); else the PHLO's callback URL


class Courier:
    def __init__(
        self,
        *,
        callback_base: str,
        faults: Faults,
        directory: PhloDirectory,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        latency: tuple[float, float] = DEFAULT_LATENCY,
        timeout: float = 8.0,
        rng: random.Random | None = None,
    ):
        self.callback_base = callback_base.rstrip("/")
        self.faults = faults
        self.retry_delays = tuple(retry_delays)
        self.latency = latency
        self._directory = directory
        self._timeout = timeout
        self._rng = rng or random.Random()
        self._queues: dict[str, asyncio.Queue[Delivery | None]] = {}
        self._tasks = BackgroundTasks()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._client: httpx.AsyncClient | None = None

    def url_for(self, phlo_id: str) -> str:
        return f"{self.callback_base}/callbacks/plivo/{phlo_id}/"

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self._timeout, connect=CONNECT_TIMEOUT_SECONDS))

    def send(self, phlo: Phlo, mpc_uuid: str, params: dict[str, str], *, url: str = "") -> None:
        delivery = Delivery(phlo, mpc_uuid, params, url)
        self._pending += 1
        self._idle.clear()
        if self.faults.reorder:
            self._tasks.spawn(self._deliver_after(delivery, self._rng.uniform(0, REORDER_WINDOW_SECONDS)))
            return
        queue = self._queues.get(mpc_uuid)
        if queue is None:
            queue = self._queues[mpc_uuid] = asyncio.Queue()
            self._tasks.spawn(self._work_through(queue))
        queue.put_nowait(delivery)

    def finish(self, mpc_uuid: str) -> None:
        """The call is over: its worker stops once its last callbacks are delivered."""
        queue = self._queues.pop(mpc_uuid, None)
        if queue is not None:
            queue.put_nowait(None)

    async def drain(self, timeout: float) -> None:
        """Wait until every callback sent so far is delivered (or given up on)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, grace: float = 2.0) -> None:
        try:
            await self.drain(grace)
        except TimeoutError:
            logger.warning("simulator stopping with %d callbacks undelivered", self._pending)
        await self._tasks.cancel_all()
        if self._client is not None:
            await self._client.aclose()

    # --- delivery -----------------------------------------------------------------------------

    async def _work_through(self, queue: asyncio.Queue[Delivery | None]) -> None:
        while (delivery := await queue.get()) is not None:
            await self._deliver(delivery)

    async def _deliver_after(self, delivery: Delivery, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            if self.latency[1] > 0:
                await asyncio.sleep(self._rng.uniform(*self.latency))
            delivered = await self._post_with_retries(delivery)
            if delivered and self._rng.random() < self.faults.duplicate_rate:
                await self._post_with_retries(delivery)
        finally:
            self._pending -= 1
            if self._pending == 0:
                self._idle.set()

    async def _post_with_retries(self, delivery: Delivery) -> bool:
        for pause in (*self.retry_delays, None):
            failure = await self._post(delivery)
            if failure is None:
                return True
            event = delivery.params.get("EventName")
            if pause is None:
                logger.warning("callback %s of %s not delivered: %s; giving up", event, delivery.mpc_uuid, failure)
                return False
            logger.info("callback %s of %s failed (%s); retrying in %ss", event, delivery.mpc_uuid, failure, pause)
            await asyncio.sleep(pause)
        return False

    async def _post(self, delivery: Delivery) -> str | None:
        """One attempt; None when the desk accepted it, else what went wrong."""
        # Sign with the newest token we know, as Plivo does right after a token change.
        phlo = self._directory.cached(delivery.phlo.phlo_id) or delivery.phlo
        url = delivery.url or self.url_for(phlo.phlo_id)
        nonce = str(secrets.randbits(64))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "PlivoHTTP/1.0 (PHLO simulator)",
            "X-Plivo-Signature-V3": sign(
                auth_token=phlo.auth_token, url=url, method="POST", params=delivery.params, nonce=nonce
            ),
            "X-Plivo-Signature-V3-Nonce": nonce,
        }
        try:
            response = await self._client.post(url, content=urlencode(delivery.params), headers=headers)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
