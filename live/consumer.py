"""The dashboard socket: a snapshot, then every change its viewer may see, numbered by `seq`
(README "Live updates").

Close codes: 4401 not signed in, or signed out since (a new password, tokens revoked): sign in
again; 4403 the login was switched off; 4429 this person already has `MAX_SOCKETS_PER_USER`
dashboards open on this process.
"""

import dataclasses
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from fastpath.frames import DirectFrames
from live.audience import Viewer, admits
from live.hub import get_hub
from live.messages import dumps
from live.sources import World, sources
from live.versions import Versions
from metrics.registry import RESYNCS, SOCKETS

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403
CLOSE_TOO_MANY_SOCKETS = 4429


class DashboardConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket (an alias that names no layer): the process's hub is the
    # one subscriber, so a socket costs no layer queue and, with Redis, no SUBSCRIBE of its own.
    channel_layer_alias = "dashboard sockets use the hub"
    viewer: Viewer | None = None
    frames: DirectFrames | None = None

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
        await self.hub.add(self)
        await self.resync(reason="connected")

    async def disconnect(self, code):
        if self.viewer is not None:
            SOCKETS.labels(_role(self.viewer)).dec()
            await self.hub.remove(self)

    async def receive(self, text_data=None, bytes_data=None):
        if self.viewer is None:
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if isinstance(message, dict) and message.get("type") == "resync":
            await self.resync()
        else:
            await self._send_numbered("error", "detail", dumps('Unknown message; send {"type": "resync"}.'))

    async def resync(self, world: World | None = None, *, reason: str = "asked") -> None:
        """Send the truth from the database (or from `world`, read once for all of the process's
        sockets); changes arriving meanwhile wait and are sent after it."""
        if reason != "connected":
            RESYNCS.labels(reason).inc()
        self.ready = False
        if world is None:
            snapshot = await database_sync_to_async(sources.snapshot_for)(self.viewer)
        else:
            snapshot = world.snapshot_for(self.viewer)
        self.versions.reset(snapshot.versions)
        self.seq += 1
        await self.send(text_data=dumps({"type": "snapshot", "seq": self.seq, **snapshot.body}))
        self.ready = True
        pending, self.pending = self.pending, []
        for message in pending:
            await self.deliver(message)

    async def deliver(self, message: dict) -> None:
        """Called by the hub for every change on this process that may concern this socket."""
        if not self.ready:
            self.pending.append(message)
            return
        if message["type"] == "viewer":
            await self._viewer_changed(message)
            return
        if message["type"] == "signed_out":
            if message["user_id"] == self.viewer.user_id:
                await self.close(code=CLOSE_UNAUTHENTICATED)
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
            await self.close(code=CLOSE_DEACTIVATED)
        elif message["is_supervisor"] != self.viewer.is_supervisor:
            old, self.viewer = self.viewer, dataclasses.replace(self.viewer, is_supervisor=message["is_supervisor"])
            SOCKETS.labels(_role(old)).dec()
            SOCKETS.labels(_role(self.viewer)).inc()
            self.hub.reindex(self, old)
            await self.resync(reason="rights changed")

    async def _send_numbered(self, kind: str, key: str, payload_json: str) -> None:
        self.seq += 1
        text = f'{{"type":"{kind}","seq":{self.seq},"{key}":{payload_json}}}'
        if self.frames is None or not self.frames.write_text(text):
            await self.send(text_data=text)


def _role(viewer: Viewer) -> str:
    return "supervisor" if viewer.is_supervisor else "agent"
