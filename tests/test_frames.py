"""Text frames written straight to Daphne's transport (fastpath/frames.py): RFC 6455 framing as a
WebSocket client reads it, and the usual path whenever the socket is not plainly open."""

import functools

import pytest
from websockets.frames import OP_TEXT, Frame
from websockets.streams import StreamReader

from fastpath.frames import DirectFrames, text_frame


def _parse(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_a_text_frame_is_read_back_as_sent(size):
    payload = ("é" * size).encode()[:size] if size else b""
    frame = _parse(text_frame(payload))
    assert frame.opcode == OP_TEXT and frame.fin and frame.data == payload


class Transport:
    def __init__(self):
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class Protocol:
    STATE_OPEN, STATE_CLOSING, SEND_STATE_GROUND = 1, 2, 0

    def __init__(self):
        self.transport = Transport()
        self.state = self.STATE_OPEN
        self.send_queue = []
        self.send_state = self.SEND_STATE_GROUND
        self._perMessageCompress = None


async def _daphne_send(protocol, message):  # stands in for daphne's Server.handle_reply
    raise AssertionError("not called")


def test_an_open_daphne_socket_gets_the_frame_written_directly():
    protocol = Protocol()
    frames = DirectFrames.behind(functools.partial(_daphne_send, protocol))
    assert frames.write_text(b'{"type":"x","seq":1}')
    assert [_parse(w).data for w in protocol.transport.written] == [b'{"type":"x","seq":1}']


@pytest.mark.parametrize("change", ["closing", "queued", "compressed"])
def test_anything_but_a_plainly_open_socket_goes_the_usual_way(change):
    protocol = Protocol()
    if change == "closing":
        protocol.state = protocol.STATE_CLOSING
    elif change == "queued":
        protocol.send_queue.append((b"x", False))
    else:
        protocol._perMessageCompress = object()
    assert not DirectFrames.behind(functools.partial(_daphne_send, protocol)).write_text(b"{}")
    assert protocol.transport.written == []


def test_other_servers_sends_are_left_alone():
    async def send(message):
        return None

    assert DirectFrames.behind(send) is None
    assert DirectFrames.behind(functools.partial(send)) is None


# --- what the client has not been sent yet (docs/reliability.md: closed before it passes 1 MiB) ------------------


class Descriptor:
    """Twisted's FileDescriptor buffers as its `write` and `doWrite` leave them."""

    def __init__(self, written: bytes = b"", offset: int = 0, pending: tuple[bytes, ...] = ()):
        self.dataBuffer, self.offset = written, offset
        self._tempDataBuffer = list(pending)
        self._tempDataLen = sum(map(len, pending))


class TLSLayer:
    def __init__(self, transport, waiting: tuple[bytes, ...] = ()):
        self.transport = transport
        self._appSendBuffer = list(waiting)


def test_what_waits_is_counted_on_both_ways_and_under_tls():
    protocol = Protocol()
    protocol.transport = Descriptor(b"x" * 1000, offset=400, pending=(b"y" * 50, b"z" * 25))
    frames = DirectFrames.behind(functools.partial(_daphne_send, protocol))
    assert frames.unsent() == 600 + 75
    protocol.send_queue.append((b"q" * 10, False))  # autobahn's queue: the usual way's backlog
    assert frames.unsent() == 600 + 75 + 10
    protocol.transport = TLSLayer(Descriptor(pending=(b"e" * 30,)), waiting=(b"h" * 5,))
    assert frames.unsent() == 10 + 30 + 5


def test_the_real_twisted_transport_is_counted():
    """A TCP connection's buffers as Twisted keeps them (FileDescriptor), written to and not yet flushed."""
    from twisted.internet import abstract

    class Fake(abstract.FileDescriptor):
        connected = 1

        def startWriting(self):
            pass

    descriptor = Fake(reactor=object())
    descriptor.write(b"a" * 300)
    descriptor.write(b"b" * 200)
    protocol = Protocol()
    protocol.transport = descriptor
    assert DirectFrames.behind(functools.partial(_daphne_send, protocol)).unsent() == 500
