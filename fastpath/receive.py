"""A dashboard client's frames handed to the consumer's handler without a trip to a thread.

Channels' `AsyncConsumer.dispatch` runs Django's `close_old_connections` in a worker thread before
every handler, so every frame a client sends costs a thread hop. The dashboard reads the database
only through `database_sync_to_async`, which closes old connections itself around each call, so
for `websocket.receive` the hop buys nothing and was three quarters of a frame's CPU (6,000
`{"type": "resync"}` frames from one socket: 1.0 → 0.22 s of Daphne's CPU, docs/reliability.md,
"The third probe"). Every other message (connect, disconnect) goes Channels' way.
"""

from __future__ import annotations


class ReceiveInline:
    """Put before Channels' consumer class: `class Dashboard(ReceiveInline, AsyncWebsocketConsumer)`."""

    async def dispatch(self, message):
        if message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)
