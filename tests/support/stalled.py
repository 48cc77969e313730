"""A WebSocket client that stops reading: websockets' sans-I/O protocol over a plain blocking socket
with a small receive buffer, so what the server sends piles up on the server's side until the test
reads (or the server gives up on it). For the socket limits of docs/reliability.md (tests/test_socket_limits.py)."""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import dataclass, field

from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.protocol import State
from websockets.uri import parse_uri


@dataclass
class Received:
    texts: list[str] = field(default_factory=list)
    close_code: int | None = None
    reset: bool = False  # the server dropped the connection without a close frame (or after one, unread)


class StalledClient:
    def __init__(self, url: str, *, receive_buffer: int = 4096) -> None:
        uri = parse_uri(url)
        self.protocol = ClientProtocol(uri, max_size=None)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.connect((uri.host, uri.port))
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while self.protocol.state is State.CONNECTING:
            self.protocol.receive_data(self.sock.recv(4096))
        if self.protocol.handshake_exc is not None:
            raise self.protocol.handshake_exc
        self.early = self.protocol.events_received()[1:]  # frames that came with the handshake's response

    def _flush(self) -> None:
        data = b"".join(self.protocol.data_to_send())
        if data:
            self.sock.sendall(data)

    def send_text(self, text: str, times: int = 1) -> None:
        """`times` frames of `text` in one write (raises ConnectionError once the server has dropped us)."""
        for _ in range(times):
            self.protocol.send_text(text.encode())
        self._flush()

    def read(self, quiet: float = 1.0, limit: float = 60.0) -> Received:
        """Read everything the server sends until it has been quiet for `quiet` s or closed."""
        received = Received()
        self.sock.settimeout(quiet)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                break
            except ConnectionError:
                received.reset = True
                break
            if not data:
                self.protocol.receive_eof()
            else:
                self.protocol.receive_data(data)
            for frame in self.protocol.events_received():
                if frame.opcode is Opcode.TEXT:
                    received.texts.append(frame.data.decode())
                elif frame.opcode is Opcode.CLOSE:
                    received.close_code = self.protocol.close_code
            with contextlib.suppress(ConnectionError):  # the server may be gone by now
                self._flush()
            if not data:
                break
        return received

    def close(self) -> None:
        self.sock.close()
