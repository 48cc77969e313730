"""The dashboard socket: a snapshot, then every change its viewer may see, numbered by `seq`
(README "Live updates").

Close codes: 4401 not signed in, or signed out since (a new password, tokens revoked): sign in
again; 4403 the login was switched off; 4429 this person already has `MAX_SOCKETS_PER_USER`
dashboards open on this process; 4400 the client sent a frame that is not a small JSON object;
4408 the client did not read what it was sent (more would have left over `MAX_UNSENT_BYTES`
waiting for it).

What a client can make a socket do is bounded (docs/reliability.md): `{"type": "resync"}` is answered at
most `RESYNCS_PER_SECOND` times a second, the requests in between folded into one snapshot sent
when the second allows; a frame is read only if it is a JSON object of at most `MAX_CLIENT_FRAME`
characters; and a socket whose client leaves more than `MAX_UNSENT_BYTES` unread is closed rather
than buffered for. However a socket ends (closed by either side, or its consumer failing), the hub
forgets it.
"""

import asyncio
import collections
import dataclasses
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from fastpath.frames import DirectFrames
from fastpath.receive import ReceiveInline
from live.audience import Viewer, admits
from live.hub import get_hub
from live.messages import dumps
from live.sources import World, sources
from live.versions import Versions
from metrics.registry import RESYNCS, SOCKETS

logger = logging.getLogger(__name__)

CLOSE_MALFORMED = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403
CLOSE_NOT_READING = 4408
CLOSE_TOO_MANY_SOCKETS = 4429

RESYNCS_PER_SECOND = 2
MAX_CLIENT_FRAME = 1024  # characters; the one message a client sends, {"type": "resync"}, has 18
MAX_UNSENT_BYTES = 1 << 20


class DashboardConsumer(ReceiveInline, AsyncWebsocketConsumer):
    # No channel-layer channel per socket (an alias that names no layer): the process's hub is the
    # one subscriber, so a socket costs no layer queue and, with Redis, no SUBSCRIBE of its own.
    channel_layer_alias = "dashboard sockets use the hub"
    viewer: Viewer | None = None
    frames: DirectFrames | None = None
    closing = False  # this side has closed the socket (or given up on it): nothing more is sent
    left = True  # not (or no longer) among the hub's sockets
    folded: asyncio.Task | None = None  # the snapshot that answers the resyncs asked since the last one

    async def __call__(self, scope, receive, send):
        # However the consumer ends, an exception in a handler included (which Channels lets end it
        # without `disconnect`), the hub forgets the socket: else it keeps a place among the
        # person's MAX_SOCKETS_PER_USER until the process restarts.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._leave()

    async def connect(self):
        user = self.scope.get("user")
        # Accept first, then close: a close before accept reaches the browser as a bare HTTP 403
        # and the client could not tell "log in again" from a network fault.
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        viewer = await database_sync_to_async(sources.viewer_for)(user)
        self.hub = get_hub()
        # Counted per process (the hub knows its own sockets): one token cannot hold thousands of
        # sockets, each with its share of every broadcast, on any one process.
        if len(self.hub.sockets_of(viewer.user_id)) >= settings.MAX_SOCKETS_PER_USER:
            logger.warning("socket refused: user %s already has %d open", viewer.user_id, settings.MAX_SOCKETS_PER_USER)
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return
        self.viewer = viewer
        SOCKETS.labels(_role(self.viewer)).inc()
        self.seq = 0
        self.frames = DirectFrames.behind(self.base_send)  # None on servers other than Daphne
        self.versions = Versions()
        self.ready = False
        self.pending: list[dict] = []
        self.resyncs_answered: collections.deque[float] = collections.deque(maxlen=RESYNCS_PER_SECOND)
        self.left = False
        await self.hub.add(self)
        await self.resync(reason="connected")

    async def disconnect(self, code):
        await self._leave()

    async def _leave(self) -> None:
        if self.left:
            return
        self.left = True
        if self.folded is not None:
            self.folded.cancel()
        SOCKETS.labels(_role(self.viewer)).dec()
        await self.hub.remove(self)  # forgets the socket before its first await: cancelling it cannot undo that

    async def _close(self, code: int) -> None:
        """Close from this side: the hub forgets the socket at once (nothing more is sent to it, and its
        place among the person's sockets is free), then the close frame goes. (Not `_leave`: this may
        run in the hub's own task, which the last socket's `remove` stops; `disconnect` follows.)"""
        if self.closing:
            return
        self.closing = True
        if not self.left:
            self.hub.forget(self)
        await self.close(code=code)

    async def receive(self, text_data=None, bytes_data=None):
        if self.viewer is None or self.closing:
            return
        message = _small_json_object(text_data)
        if message is None:
            await self._close(CLOSE_MALFORMED)
        elif message.get("type") == "resync":
            await self._resync_asked()
        else:
            await self._send_numbered("error", "detail", dumps('Unknown message; send {"type": "resync"}.'))

    async def _resync_asked(self) -> None:
        """At most RESYNCS_PER_SECOND snapshots in any second: a request beyond that waits for the
        second to allow one, and the requests meanwhile are answered by that same snapshot."""
        if self.folded is not None:
            return
        now = asyncio.get_running_loop().time()
        answered = self.resyncs_answered
        wait = answered[0] + 1.0 - now if len(answered) == answered.maxlen else 0.0
        if wait <= 0:
            await self._answer_resync()
        else:
            self.folded = asyncio.ensure_future(self._answer_resync_in(wait))

    async def _answer_resync_in(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.folded = None  # a request from now on is after this snapshot's read: it needs its own
        try:
            await self._answer_resync()
        except Exception:
            logger.exception("a folded resync failed")

    async def _answer_resync(self) -> None:
        self.resyncs_answered.append(asyncio.get_running_loop().time())
        await self.resync()

    async def resync(self, world: World | None = None, *, reason: str = "asked") -> None:
        """Send the truth from the database (or from `world`, read once for all of the process's
        sockets); changes arriving meanwhile wait and are sent after it."""
        if self.closing:
            return
        if reason != "connected":
            RESYNCS.labels(reason).inc()
        self.ready = False
        if world is None:
            snapshot = await database_sync_to_async(sources.snapshot_for)(self.viewer)
        else:
            snapshot = world.snapshot_for(self.viewer)
        self.versions.reset(snapshot.versions)
        self.seq += 1
        await self._send_text(dumps({"type": "snapshot", "seq": self.seq, **snapshot.body}))
        self.ready = True
        pending, self.pending = self.pending, []
        for message in pending:
            await self.deliver(message)

    async def deliver(self, message: dict) -> None:
        """Called by the hub for every change on this process that may concern this socket."""
        if self.closing:
            return
        if not self.ready:
            self.pending.append(message)
            return
        if message["type"] == "viewer":
            await self._viewer_changed(message)
            return
        if message["type"] == "signed_out":
            if message["user_id"] == self.viewer.user_id:
                await self._close(CLOSE_UNAUTHENTICATED)
            return
        if not admits(message["audience"], self.viewer):
            return
        if not self.versions.is_newer(message["key"], message["version"], final=message["final"]):
            return  # this socket already shows this version or a newer one
        await self._send_numbered(message["frame"], message["field"], message["json"])

    async def _viewer_changed(self, message: dict) -> None:
        """This person was switched off (close) or given other rights (resync to what they may see now)."""
        if message["user_id"] != self.viewer.user_id:
            return
        if not message["active"]:
            await self._close(CLOSE_DEACTIVATED)
        elif message["is_supervisor"] != self.viewer.is_supervisor:
            old, self.viewer = self.viewer, dataclasses.replace(self.viewer, is_supervisor=message["is_supervisor"])
            SOCKETS.labels(_role(old)).dec()
            SOCKETS.labels(_role(self.viewer)).inc()
            self.hub.reindex(self, old)
            await self.resync(reason="rights changed")

    async def _send_numbered(self, kind: str, key: str, payload_json: str) -> None:
        self.seq += 1
        await self._send_text(f'{{"type":"{kind}","seq":{self.seq},"{key}":{payload_json}}}')

    async def _send_text(self, text: str) -> None:
        """Every frame this socket sends: straight to Daphne's transport when it can, else the usual
        way (fastpath/frames.py); either way, not when what its client has left unread and this frame
        would pass MAX_UNSENT_BYTES: then the socket is closed instead. (A client that has read
        everything gets a frame of any size: a big center's snapshot.) On a server other than Daphne
        the server's own flow control is all there is."""
        if self.closing:
            return
        if self.frames is None:
            await self.send(text_data=text)
            return
        payload = text.encode()
        unsent = self.frames.unsent()
        if unsent and unsent + len(payload) > MAX_UNSENT_BYTES:
            logger.warning(
                "socket closed, its client not reading: %d bytes unsent, %d more to send (user %s)",
                unsent, len(payload), self.viewer.user_id,
            )
            await self._close(CLOSE_NOT_READING)
        elif not self.frames.write_text(payload):
            await self.send(text_data=text)


def _small_json_object(text: str | None) -> dict | None:
    """The frame as a JSON object, or None: binary, too long, not JSON (nested too deep for the
    parser included), or JSON but not an object."""
    if text is None or len(text) > MAX_CLIENT_FRAME:
        return None
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def _role(viewer: Viewer) -> str:
    return "supervisor" if viewer.is_supervisor else "agent"
