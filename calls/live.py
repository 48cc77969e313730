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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

if TYPE_CHECKING:
    from calls.selectors import LiveWorld, Viewer

logger = logging.getLogger(__name__)

GROUP = "dashboard.fanout"
HEARTBEAT_SECONDS = 0.5
BEATS_UNANSWERED = 3  # more heartbeats than this outstanding (the oldest sent 1.5 s ago): the layer is lost
HOUSEKEEPING_SECONDS = 1.0
STOP_GRACE_SECONDS = 2.0
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


def user_message(user_id: int, *, active: bool, is_supervisor: bool) -> dict:
    """What may change for a login without an agent record (an operator watching the wall): no
    directory entry to show, only whether their sockets stay open and what they may see."""
    return {"type": "user", "id": user_id, "active": active, "is_supervisor": is_supervisor}


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
    viewer: Viewer

    async def deliver(self, message: dict) -> None: ...
    async def resync(self, world: LiveWorld | None = None) -> None: ...


@dataclass
class _HubRun:
    """One start of the hub: its identity on the layer and its heartbeat count. Its tasks run while
    it is the hub's current run, so a task whose cancellation got lost (a library swallowing it)
    retires itself instead of beating and rejoining beside the next start's tasks."""

    hub_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent: int = 0
    seen: int = 0
    lost: bool = False


class Hub:
    """This process's single subscriber: receives each change once and hands it to local sockets."""

    def __init__(self) -> None:
        self.sockets: set[LiveSocket] = set()
        # Who may see which call, so a call change visits only the sockets entitled to it (supervisors
        # and the call's agents), not every socket of the process.
        self.supervisor_sockets: set[LiveSocket] = set()
        self.agent_sockets: dict[int, set[LiveSocket]] = {}
        self.known_versions: OrderedDict[int, int] = OrderedDict()
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.run = _HubRun()
        self.ready = asyncio.Event()
        self.lock = asyncio.Lock()

    async def add(self, socket: LiveSocket) -> None:
        self.sockets.add(socket)
        self._index(socket, socket.viewer)
        async with self.lock:  # never start while a stop is half-way (a page reload: last out, first in)
            if not self.tasks:
                self.ready.clear()
                run = self.run = _HubRun()  # beats of an earlier start are not ours to miss
                self.tasks = [
                    asyncio.ensure_future(self._receive_forever(run)),
                    asyncio.ensure_future(self._beat_forever(run)),
                    asyncio.ensure_future(self._housekeeping_forever(run)),
                ]
        await self.ready.wait()

    async def remove(self, socket: LiveSocket) -> None:
        """The last socket out stops the subscription, so an idle process holds nothing open."""
        self.sockets.discard(socket)
        self._unindex(socket, socket.viewer)
        async with self.lock:
            if self.sockets or not self.tasks:
                return
            # Forget the running subscription before awaiting anything: whatever happens to this
            # coroutine now (Daphne cancels a disconnect that takes too long), the next socket starts
            # a fresh one instead of rejoining a channel the layer has already dropped.
            tasks, self.tasks = self.tasks, []
            channel, self.channel = self.channel, None
            self.run = _HubRun()  # retires the running tasks (see _HubRun)
            for task in tasks:
                task.cancel()
            # A cancelled task may still be finishing work it cannot abandon (a database call runs to
            # its end; a layer call waits for the layer's connection lock). Give it a moment, not the
            # power to hold up the next start.
            _, stuck = await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
            for task in stuck:
                logger.warning("hub task still stopping after %.0f s: %s", STOP_GRACE_SECONDS, _where(task))
            if channel:  # under the lock: a start racing this discard could be unsubscribed by it
                try:
                    async with asyncio.timeout(STOP_GRACE_SECONDS):
                        await get_channel_layer().group_discard(GROUP, channel)
                except Exception:
                    logger.debug("group_discard failed while stopping the hub", exc_info=True)

    def reindex(self, socket: LiveSocket, old: Viewer) -> None:
        """The socket's viewer changed (made or unmade a supervisor): file it under the new one."""
        if socket in self.sockets:
            self._unindex(socket, old)
            self._index(socket, socket.viewer)

    def _index(self, socket: LiveSocket, viewer: Viewer) -> None:
        if viewer.is_supervisor:
            self.supervisor_sockets.add(socket)
        elif viewer.agent_id is not None:
            self.agent_sockets.setdefault(viewer.agent_id, set()).add(socket)

    def _unindex(self, socket: LiveSocket, viewer: Viewer) -> None:
        self.supervisor_sockets.discard(socket)
        if viewer.agent_id is not None:
            sockets = self.agent_sockets.get(viewer.agent_id)
            if sockets is not None:
                sockets.discard(socket)
                if not sockets:
                    del self.agent_sockets[viewer.agent_id]

    def _entitled(self, message: dict) -> list[LiveSocket]:
        sockets = list(self.supervisor_sockets)
        for agent_id in message["agents"]:
            sockets.extend(self.agent_sockets.get(agent_id, ()))
        return sockets

    async def _join(self) -> None:
        layer = get_channel_layer()
        if self.channel is None:
            self.channel = await layer.new_channel(prefix="hub.")
        await layer.group_add(GROUP, self.channel)

    async def _receive_forever(self, run: _HubRun) -> None:
        layer = get_channel_layer()
        while run is self.run:
            try:
                await self._join()
                self.ready.set()
                channel = self.channel
                while run is self.run:
                    message = await layer.receive(channel)
                    if run is self.run:
                        await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("channel layer receive failed; rejoining", exc_info=True)
                run.lost = True
                self.ready.set()  # sockets still get snapshots from the database meanwhile
                await asyncio.sleep(HEARTBEAT_SECONDS)

    async def dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "call":
            if not self._is_newer(message["id"], message["version"]):
                return
            sockets = self._entitled(message)
        elif kind in ("agent", "user"):
            sockets = list(self.sockets)
        elif kind == "heartbeat":
            if message.get("hub") == self.run.hub_id:
                await self._heartbeat_seen(message["n"])
            return
        else:
            return
        for socket in sockets:
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

    async def _beat_forever(self, run: _HubRun) -> None:
        """Notice a lost layer (Redis restarted, messages dropped) by our own heartbeats not coming back.

        Counted in beats, not seconds: a busy process reads its heartbeats late but in order, and
        calling that a loss would resync every dashboard at once, the worst moment to add load.
        """
        layer = get_channel_layer()
        await self.ready.wait()  # a beat sent before we listen would look lost
        while True:
            # Once lost, beat faster: the first beat back (Redis returned) resyncs every dashboard.
            await asyncio.sleep(HEARTBEAT_SECONDS / 5 if run.lost else HEARTBEAT_SECONDS)
            if run is not self.run:
                return
            run.sent += 1
            try:
                await layer.group_send(GROUP, {"type": "heartbeat", "hub": run.hub_id, "n": run.sent})
            except Exception:
                logger.debug("heartbeat could not be sent", exc_info=True)
            if not run.lost and run.sent - run.seen > BEATS_UNANSWERED:
                logger.warning("live updates interrupted (channel layer silent); dashboards will resync")
                run.lost = True
            if run.lost and self.channel:
                try:  # the layer may have forgotten our subscription while it was away
                    await layer.group_add(GROUP, self.channel)
                except Exception:
                    logger.debug("rejoin failed", exc_info=True)

    async def _heartbeat_seen(self, n: int) -> None:
        run = self.run
        skipped = n > run.seen + 1  # a heartbeat went missing, so changes may have too
        run.seen = max(run.seen, n)
        if run.lost or skipped:
            run.lost = False
            logger.info("live updates restored; resyncing %d dashboards", len(self.sockets))
            self.known_versions.clear()
            from calls.selectors import live_world

            # One read for every socket: snapshots one by one would keep the last dashboard waiting
            # for all the others' (consumers' database work runs on a single thread).
            world = await database_sync_to_async(live_world)()
            await asyncio.gather(*(s.resync(world) for s in list(self.sockets)), return_exceptions=True)

    async def _housekeeping_forever(self, run: _HubRun) -> None:
        from agents.services import agents_finish_wrap_up

        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            if run is not self.run:
                return
            try:
                messages = await database_sync_to_async(agents_finish_wrap_up)()
                await publish(messages)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wrap-up housekeeping failed")


def _where(task: asyncio.Task) -> str:
    """The line a task is waiting on, for a log line that says what held it up."""
    frames = task.get_stack()
    if not frames:
        return repr(task)
    frame = frames[-1]
    return f"{task.get_coro().__qualname__} at {frame.f_code.co_filename}:{frame.f_lineno}"


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process in Daphne; one per test loop in tests)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
