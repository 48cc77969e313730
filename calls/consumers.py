"""The dashboard socket (CONTRACT §6): a snapshot, then every visible change, numbered by `seq`."""

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from calls.live import dumps, get_hub
from calls.selectors import LiveWorld, Viewer, snapshot_for, viewer_for

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403


class DashboardConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket (an alias that names no layer): the process's hub is the
    # one subscriber, so a socket costs no layer queue and, with Redis, no SUBSCRIBE of its own.
    channel_layer_alias = "dashboard sockets use the hub"
    viewer: Viewer | None = None

    async def connect(self):
        user = self.scope.get("user")
        # Accept first, then close: a close before accept reaches the browser as a bare HTTP 403
        # and the client could not tell "log in again" from a network fault.
        await self.accept()
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.viewer = await database_sync_to_async(viewer_for)(user)
        self.seq = 0
        self.versions: dict[int, int] = {}
        self.ready = False
        self.pending: list[dict] = []
        self.hub = get_hub()
        await self.hub.add(self)
        await self.resync()

    async def disconnect(self, code):
        if self.viewer is not None:
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

    async def resync(self, world: LiveWorld | None = None) -> None:
        """Send the truth from the database (or from `world`, read once for all of the process's
        sockets); changes arriving meanwhile wait and are sent after it."""
        self.ready = False
        if world is None:
            snapshot = await database_sync_to_async(snapshot_for)(self.viewer)
        else:
            snapshot = world.snapshot_for(self.viewer)
        self.versions = {call["id"]: call["version"] for call in snapshot["calls"]}
        self.seq += 1
        await self.send(text_data=dumps({"type": "snapshot", "seq": self.seq, **snapshot}))
        self.ready = True
        pending, self.pending = self.pending, []
        for message in pending:
            await self.deliver(message)

    async def deliver(self, message: dict) -> None:
        """Called by the hub for every change on this process; decides what this socket may see."""
        if not self.ready:
            self.pending.append(message)
            return
        if message["type"] == "call":
            await self._deliver_call(message)
        elif message["type"] == "user":
            await self._deliver_user(message)
        else:
            await self._deliver_agent(message)

    async def _deliver_call(self, message: dict) -> None:
        if not (self.viewer.is_supervisor or self.viewer.agent_id in message["agents"]):
            return
        call_id = message["id"]
        if message["version"] <= self.versions.get(call_id, 0):
            return  # this socket already shows this version or a newer one
        if message["ended"]:
            self.versions.pop(call_id, None)  # the hub drops any older copy of an ended call
        else:
            self.versions[call_id] = message["version"]
        await self._send_numbered("call.updated", "call", message["json"])

    async def _deliver_agent(self, message: dict) -> None:
        if message["id"] == self.viewer.agent_id:
            if not message["active"]:
                await self.close(code=CLOSE_DEACTIVATED)
                return
            if message["is_supervisor"] != self.viewer.is_supervisor:
                old, self.viewer = self.viewer, Viewer(self.viewer.user_id, self.viewer.agent, message["is_supervisor"])
                self.hub.reindex(self, old)
                await self._send_numbered("agent.updated", "agent", message["json"])
                await self.resync()  # what this person may see has changed
                return
        await self._send_numbered("agent.updated", "agent", message["json"])

    async def _deliver_user(self, message: dict) -> None:
        """A login without an agent record switched off or given other rights (nothing to show)."""
        if message["id"] != self.viewer.user_id:
            return
        if not message["active"]:
            await self.close(code=CLOSE_DEACTIVATED)
        elif message["is_supervisor"] != self.viewer.is_supervisor:
            old, self.viewer = self.viewer, Viewer(self.viewer.user_id, self.viewer.agent, message["is_supervisor"])
            self.hub.reindex(self, old)
            await self.resync()

    async def _send_numbered(self, kind: str, key: str, payload_json: str) -> None:
        self.seq += 1
        await self.send(text_data=f'{{"type":"{kind}","seq":{self.seq},"{key}":{payload_json}}}')
