"""Live fan-out: every change reaches every dashboard that may see it, on any process.

One channel-layer subscription per process (the `Hub`), not one per socket: a change is
serialised once where it happens, published once, and each process fans it out to its own
sockets in memory. The database stays the truth; messages carry the call's `version` so late
or duplicated copies are dropped, and a socket that may have missed something gets a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

GROUP = "dashboard.fanout"
HEARTBEAT_SECONDS = 0.5
HEARTBEAT_LOST_AFTER = 1.5
HOUSEKEEPING_SECONDS = 1.0
KNOWN_VERSIONS_KEPT = 20_000


def dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def call_message(call_dict: dict, agent_ids: Iterable[int]) -> dict:
    """A layer message for one call change; the call is encoded to JSON here, once."""
    return {
        "type": "call",
        "id": call_dict["id"],
        "version": call_dict["version"],
        "ended": call_dict["status"] == "ended",
        "agents": sorted(set(agent_ids)),
        "json": dumps(call_dict),
    }


def agent_message(agent_dict: dict, *, active: bool = True, is_supervisor: bool = False) -> dict:
    return {
        "type": "agent",
        "id": agent_dict["id"],
        "active": active,
        "is_supervisor": is_supervisor,
        "json": dumps(agent_dict),
    }


async def publish(messages: Iterable[dict]) -> None:
    """Send committed changes to every process. At-most-once: the hub heals losses by resync."""
    layer = get_channel_layer()
    for message in messages:
        try:
            await layer.group_send(GROUP, message)
        except Exception:  # the change is committed; dashboards resync when the layer is back
            logger.warning("could not publish a %s change; dashboards will resync", message["type"], exc_info=True)


def publish_on_commit(messages: list[dict]) -> None:
    """From sync code inside a transaction: publish once the change is committed."""
    if messages:
        transaction.on_commit(lambda: async_to_sync(publish)(messages))


class LiveSocket(Protocol):
    async def deliver(self, message: dict) -> None: ...
    async def resync(self) -> None: ...


@dataclass
class _Heartbeat:
    sent: int = 0
    seen: int = 0
    seen_at: float = 0.0
    lost: bool = False


class Hub:
    """This process's single subscriber: receives each change once and hands it to local sockets."""

    def __init__(self) -> None:
        self.sockets: set[LiveSocket] = set()
        self.known_versions: OrderedDict[int, int] = OrderedDict()
        self.hub_id = uuid.uuid4().hex
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.heartbeat = _Heartbeat()
        self.ready = asyncio.Event()
        self.lock = asyncio.Lock()

    async def add(self, socket: LiveSocket) -> None:
        self.sockets.add(socket)
        async with self.lock:  # never start while a stop is half-way (a page reload: last out, first in)
            if not self.tasks:
                self.ready.clear()
                self.tasks = [
                    asyncio.ensure_future(self._receive_forever()),
                    asyncio.ensure_future(self._beat_forever()),
                    asyncio.ensure_future(self._housekeeping_forever()),
                ]
        await self.ready.wait()

    async def remove(self, socket: LiveSocket) -> None:
        """The last socket out stops the subscription, so an idle process holds nothing open."""
        self.sockets.discard(socket)
        async with self.lock:
            if self.sockets or not self.tasks:
                return
            tasks, self.tasks = self.tasks, []
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.channel:
                channel, self.channel = self.channel, None
                try:
                    await get_channel_layer().group_discard(GROUP, channel)
                except Exception:
                    logger.debug("group_discard failed while stopping the hub", exc_info=True)

    async def _join(self) -> None:
        layer = get_channel_layer()
        if self.channel is None:
            self.channel = await layer.new_channel(prefix="hub.")
        await layer.group_add(GROUP, self.channel)

    async def _receive_forever(self) -> None:
        layer = get_channel_layer()
        while True:
            try:
                await self._join()
                self.ready.set()
                while True:
                    message = await layer.receive(self.channel)
                    await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("channel layer receive failed; rejoining", exc_info=True)
                self.heartbeat.lost = True
                self.ready.set()  # sockets still get snapshots from the database meanwhile
                await asyncio.sleep(HEARTBEAT_SECONDS)

    async def dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "call":
            if not self._is_newer(message["id"], message["version"]):
                return
        elif kind == "heartbeat":
            if message.get("hub") == self.hub_id:
                await self._heartbeat_seen(message["n"])
            return
        elif kind != "agent":
            return
        for socket in list(self.sockets):
            try:
                await socket.deliver(message)
            except Exception:
                logger.exception("delivering a %s change to a socket failed", kind)

    def _is_newer(self, call_id: int, version: int) -> bool:
        """Drop copies older than one this process already fanned out (retries, reordering)."""
        known = self.known_versions.get(call_id)
        if known is not None and version <= known:
            return False
        self.known_versions[call_id] = version
        self.known_versions.move_to_end(call_id)
        while len(self.known_versions) > KNOWN_VERSIONS_KEPT:
            self.known_versions.popitem(last=False)
        return True

    async def _beat_forever(self) -> None:
        """Notice a lost layer (Redis restarted, messages dropped) by our own heartbeat not coming back."""
        loop = asyncio.get_running_loop()
        layer = get_channel_layer()
        self.heartbeat.seen_at = loop.time()
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            beat = self.heartbeat
            beat.sent += 1
            try:
                await layer.group_send(GROUP, {"type": "heartbeat", "hub": self.hub_id, "n": beat.sent})
            except Exception:
                logger.debug("heartbeat could not be sent", exc_info=True)
            if not beat.lost and loop.time() - beat.seen_at > HEARTBEAT_LOST_AFTER:
                logger.warning("live updates interrupted (channel layer silent); dashboards will resync")
                beat.lost = True
            if beat.lost and self.channel:
                try:  # the layer may have forgotten our subscription while it was away
                    await layer.group_add(GROUP, self.channel)
                except Exception:
                    logger.debug("rejoin failed", exc_info=True)

    async def _heartbeat_seen(self, n: int) -> None:
        beat = self.heartbeat
        beat.seen = max(beat.seen, n)
        beat.seen_at = asyncio.get_running_loop().time()
        if beat.lost:
            beat.lost = False
            logger.info("live updates restored; resyncing %d dashboards", len(self.sockets))
            self.known_versions.clear()
            await asyncio.gather(*(s.resync() for s in list(self.sockets)), return_exceptions=True)

    async def _housekeeping_forever(self) -> None:
        from agents.services import agents_finish_wrap_up

        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                messages = await database_sync_to_async(agents_finish_wrap_up)()
                await publish(messages)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wrap-up housekeeping failed")


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in Daphne; one per test loop in tests)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
