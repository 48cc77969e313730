"""A dashboard's text frames written straight to Daphne's WebSocket transport, and how much of what
a socket was given still waits for its client.

Each message a socket sends would otherwise go through Channels' `send`, Daphne's reply handler and
autobahn's `sendMessage` (argument checks, framing, a debug log line whose arguments are formatted
even when debug is off), about half of the fan-out's CPU per frame in py-spy profiles of the
bench (docs/benchmarks.md). A server frame is a two-to-ten-byte header and the payload, unmasked
(RFC 6455, section 5.2), so when the socket is Daphne's, open, uncompressed and has nothing queued
in autobahn, the frame is written here; otherwise (another server, a socket opening or closing)
the message goes the usual way. Either way frames leave in the order they were sent.

Neither way asks whether the client reads: Twisted buffers whatever it is given until the kernel
takes it, so a client that reads nothing makes the process hold every frame for it. `unsent` is
that backlog, on both ways (autobahn's send queue and the transport's buffers), for the socket to
decide when to give up on its client (live/consumer.py). Twisted's transports have no public size
getter: the count reads `FileDescriptor`'s own buffers (`dataBuffer` from `offset`, and
`_tempDataLen`, as its `_isSendBufferFull` does), under TLS those of the transport it wraps.
"""

from __future__ import annotations

import functools

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)
_TRANSPORT_LAYERS = 4  # TLS over TCP is two; a deeper stack is not Daphne's


def text_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((_TEXT_FIN, n)) + payload
    if n < 1 << 16:
        return bytes((_TEXT_FIN, 126)) + n.to_bytes(2, "big") + payload
    return bytes((_TEXT_FIN, 127)) + n.to_bytes(8, "big") + payload


def buffered(transport) -> int:
    """Bytes a Twisted transport holds that the kernel has not taken yet."""
    total = 0
    for _ in range(_TRANSPORT_LAYERS):
        if transport is None:
            break
        total += sum(len(data) for data in getattr(transport, "_appSendBuffer", ()))  # TLS before its handshake
        if hasattr(transport, "_tempDataLen"):  # twisted.internet.abstract.FileDescriptor (TCP, UNIX)
            return total + len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        transport = getattr(transport, "transport", None)  # a wrapper (TLS): the transport under it
    return total


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

    def unsent(self) -> int:
        """Bytes given to this socket, either way, that its client has not been sent yet."""
        p = self.protocol
        return sum(len(data) for data, _ in p.send_queue) + buffered(p.transport)

    def write_text(self, payload: bytes) -> bool:
        """Write one text frame (UTF-8 `payload`) now; False when it must go the usual way."""
        p = self.protocol
        if (
            p.state != p.STATE_OPEN
            or p.send_queue
            or p.send_state != p.SEND_STATE_GROUND
            or getattr(p, "_perMessageCompress", None) is not None
        ):
            return False
        p.transport.write(text_frame(payload))
        return True
