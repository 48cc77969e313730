"""A dashboard's text frames written straight to Daphne's WebSocket transport.

Each message a socket sends would otherwise go through Channels' `send`, Daphne's reply handler and
autobahn's `sendMessage` (argument checks, framing, a debug log line whose arguments are formatted
even when debug is off), about half of the fan-out's CPU per frame in py-spy profiles of the
bench (docs/benchmarks.md). A server frame is a two-to-ten-byte header and the payload, unmasked
(RFC 6455, section 5.2), so when the socket is Daphne's, open, uncompressed and has nothing queued
in autobahn, the frame is written here; otherwise (another server, a socket opening or closing)
the message goes the usual way. Either way frames leave in the order they were sent.
"""

from __future__ import annotations

import functools

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((_TEXT_FIN, n)) + payload
    if n < 1 << 16:
        return bytes((_TEXT_FIN, 126)) + n.to_bytes(2, "big") + payload
    return bytes((_TEXT_FIN, 127)) + n.to_bytes(8, "big") + payload


class DirectFrames:
    """The autobahn protocol behind a Daphne socket's ASGI `send` (`functools.partial(handle_reply, protocol)`)."""

    def __init__(self, protocol) -> None:
        self.protocol = protocol

    @classmethod
    def behind(cls, send) -> DirectFrames | None:
        protocol = send.args[0] if isinstance(send, functools.partial) and send.args else None
        needed = ("transport", "state", "STATE_OPEN", "send_queue", "send_state", "SEND_STATE_GROUND")
        if protocol is None or not all(hasattr(protocol, name) for name in needed):
            return None
        return cls(protocol)

    def write_text(self, text: str) -> bool:
        """Write one text frame now; False when it must go the usual way."""
        p = self.protocol
        if (
            p.state != p.STATE_OPEN
            or p.send_queue
            or p.send_state != p.SEND_STATE_GROUND
            or getattr(p, "_perMessageCompress", None) is not None
        ):
            return False
        p.transport.write(text_frame(text.encode()))
        return True
