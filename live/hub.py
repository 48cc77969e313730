"""Live fan-out: every change reaches every dashboard that may see it, on any process.

One channel-layer subscription per process (the `Hub`), not one per socket: a change is
serialised once where it happens, published once, and each process fans it out to its own
sockets in memory. The database stays the truth; messages carry versions so late or duplicated
copies are dropped, and a socket that may have missed something gets a snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from live.audience import Viewer
from live.clock import run_job
from live.messages import batched, dumps
from live.publish import GROUP
from live.sources import PeriodicJob, World, sources
from live.versions import Versions
from metrics.registry import FANOUT_LAG_SECONDS

logger = logging.getLogger(__name__)

# Presence (agent status) reaches sockets at most once a tick: every change of a tick in one frame per
# socket, not one frame per change to every socket (docs/benchmarks.md). A change after a quiet
# tick goes out at once. The tick is 0.1 s, longer when the process holds so many sockets that
# presence would cost more than PRESENCE_FRAMES_PER_SECOND frames (about a tenth of a core here):
# then a busy center's presence costs the same per second however many dashboards watch it, and
# each frame carries more changes (at 1,000 sockets: one a second).
BATCH_TICK_SECONDS = 0.1
TICK_WRITES_PER_TURN = 50  # sockets a tick writes to before it lets the loop run something else
TICK_SPREAD = 0.5  # the share of a tick over which its turns are spread
PRESENCE_FRAMES_PER_SECOND = 1000
HEARTBEAT_SECONDS = 0.5
BEATS_UNANSWERED = 3  # more heartbeats than this outstanding (the oldest sent 1.5 s ago): the layer is lost
STOP_GRACE_SECONDS = 2.0
KNOWN_VERSIONS_KEPT = 20_000


class LiveSocket(Protocol):
    viewer: Viewer

    async def deliver(self, message: dict) -> None: ...
    async def resync(self, world: World | None = None, *, reason: str = "asked") -> None: ...


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
        self.user_sockets: dict[int, set[LiveSocket]] = {}  # whose sockets to close, and how many each has
        self.versions = Versions(kept=KNOWN_VERSIONS_KEPT)
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.run = _HubRun()
        self.ready = asyncio.Event()
        self.lock = asyncio.Lock()
        self.batches: dict[str, dict[str, dict]] = {}  # batch name → key → the newest change
        self.tick_lock = asyncio.Lock()  # one tick's writes at a time
        self.batch_flush: asyncio.TimerHandle | None = None
        self.last_batch_flush = 0.0

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
                    *(
                        asyncio.ensure_future(self._periodic_forever(run, job))
                        for job in sources.periodic if job.while_watched
                    ),
                ]
        await self.ready.wait()

    def forget(self, socket: LiveSocket) -> None:
        """Send nothing more to a socket that is closing, and free its place among its person's sockets
        (MAX_SOCKETS_PER_USER) now; `remove` follows when it has gone. Safe to call from a delivery."""
        self.sockets.discard(socket)
        self._unindex(socket, socket.viewer)

    async def remove(self, socket: LiveSocket) -> None:
        """The last socket out stops the subscription, so an idle process holds nothing open."""
        self.forget(socket)
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

    def sockets_of(self, user_id: int) -> list[LiveSocket]:
        return list(self.user_sockets.get(user_id, ()))

    def _index(self, socket: LiveSocket, viewer: Viewer) -> None:
        self.user_sockets.setdefault(viewer.user_id, set()).add(socket)
        if viewer.is_supervisor:
            self.supervisor_sockets.add(socket)
        elif viewer.agent_id is not None:
            self.agent_sockets.setdefault(viewer.agent_id, set()).add(socket)

    def _unindex(self, socket: LiveSocket, viewer: Viewer) -> None:
        self.supervisor_sockets.discard(socket)
        _discard(self.user_sockets, viewer.user_id, socket)
        if viewer.agent_id is not None:
            _discard(self.agent_sockets, viewer.agent_id, socket)

    def _admitted(self, audience: dict) -> list[LiveSocket]:
        """The sockets an audience may reach, found through the index rather than by asking each."""
        if audience["everyone"]:
            return list(self.sockets)
        sockets = list(self.supervisor_sockets) if audience["supervisors"] else []
        for agent_id in audience["agents"]:
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
        if kind == "update":
            if not self.versions.is_newer(message["key"], message["version"]):
                return  # older than a copy this process already fanned out (retries, reordering)
            if "batch" in message:
                self._hold_for_batch(message)
                return
            sockets = self._admitted(message["audience"])
        elif kind in ("viewer", "signed_out"):
            sockets = self.sockets_of(message["user_id"])
        elif kind == "heartbeat":
            if message.get("hub") == self.run.hub_id:
                await self._heartbeat_seen(message["n"])
            return
        else:
            return
        await self._deliver(sockets, message)

    async def _deliver(self, sockets: list[LiveSocket], message: dict, *, since: float | None = None) -> None:
        """Hand `message` to each socket; the fan-out lag counts from the change's commit, or from
        `since` (when a tick meant to write these sockets: presence waits for its tick on purpose)."""
        for socket in sockets:
            try:
                await socket.deliver(message)
            except Exception:
                logger.exception("delivering a %s change to a socket failed", message["type"])
        start = since if since is not None else message.get("at")
        if start is not None:
            FANOUT_LAG_SECONDS.observe(max(0.0, time.time() - start))

    def _hold_for_batch(self, message: dict) -> None:
        self.batches.setdefault(message["batch"][0], {})[message["key"]] = message
        if self.batch_flush is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self.last_batch_flush + self.batch_tick() - loop.time())
            self.batch_flush = loop.call_later(delay, lambda: asyncio.ensure_future(self._flush_batches()))

    def batch_tick(self) -> float:
        return max(BATCH_TICK_SECONDS, len(self.sockets) / PRESENCE_FRAMES_PER_SECOND)

    async def _flush_batches(self) -> None:
        """Each batch's changes since the last tick: alone as they came, or together in one frame
        per audience (for presence: one frame for every socket).

        A tick writes to every socket, a thousand frames on a big process. Written in one go, they
        were a burst that every callback arriving meanwhile waited behind, and every client read as
        one. So a tick writes TICK_WRITES_PER_TURN sockets a turn, its turns spread evenly over
        TICK_SPREAD of the tick (at 1,050 sockets: 50 sockets every 25 ms; docs/benchmarks.md).
        Ticks go out one after another, never interleaved, so no socket gets an older tick's states
        after a newer one's."""
        loop = asyncio.get_running_loop()
        planned, self.batch_flush = self.batch_flush, None
        self.last_batch_flush = loop.time()
        # When this tick was meant to start, on the wall clock the fan-out lag counts with.
        due = time.time() - (max(0.0, loop.time() - planned.when()) if planned else 0.0)
        batches, self.batches = self.batches, {}
        async with self.tick_lock:
            sends = []
            for changes in batches.values():
                by_audience: dict[str, list[dict]] = {}
                for change in changes.values():
                    by_audience.setdefault(dumps(change["audience"]), []).append(change)
                for group in by_audience.values():
                    message = group[0] if len(group) == 1 else batched(group)
                    sockets = self._admitted(message["audience"])
                    sends += [(message, sockets[i:i + TICK_WRITES_PER_TURN])
                              for i in range(0, len(sockets), TICK_WRITES_PER_TURN)]
            pause = TICK_SPREAD * self.batch_tick() / len(sends) if len(sends) > 1 else 0.0
            for turn, (message, sockets) in enumerate(sends):
                if turn:
                    await asyncio.sleep(pause)
                await self._deliver(sockets, message, since=due + turn * pause)

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
            self.versions.reset()
            # One read for every socket: snapshots one by one would keep the last dashboard waiting
            # for all the others' (consumers' database work runs on a single thread).
            world = await database_sync_to_async(sources.world)()
            await asyncio.gather(*(s.resync(world, reason="layer lost") for s in list(self.sockets)),
                                 return_exceptions=True)

    async def _periodic_forever(self, run: _HubRun, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.seconds)
            if run is not self.run:
                return
            await run_job(job)


def _discard(index: dict[int, set[LiveSocket]], key: int, socket: LiveSocket) -> None:
    sockets = index.get(key)
    if sockets is not None:
        sockets.discard(socket)
        if not sockets:
            del index[key]


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
