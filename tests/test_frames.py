"""Text frames written straight to Daphne's transport (fastpath/frames.py): RFC 6455 framing as a
WebSocket client reads it, and the usual path whenever the socket is not plainly open."""

import functools

import pytest
from websockets.frames import OP_TEXT, Frame
from websockets.streams import StreamReader

from fastpath.frames import DirectFrames, text_frame, write_now


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


# --- sent at once when nothing waits (docs/benchmarks.md, "A frame sent at once") ---------------------------------


class Reactor:
    """Notes which descriptors Twisted asks to be told are writable."""

    def __init__(self):
        self.writers = []

    def addWriter(self, descriptor):
        self.writers.append(descriptor)

    def removeWriter(self, descriptor):
        self.writers.remove(descriptor)


@pytest.fixture
def tcp_pair():
    """A real Twisted TCP connection (what Daphne's socket transport is) over a socket pair."""
    import socket

    from twisted.internet import tcp

    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.settimeout(2)
    transport = tcp.Connection(ours, protocol=None, reactor=Reactor())
    transport.connected = 1  # as once its protocol is made
    yield transport, theirs
    ours.close()
    theirs.close()


def _read(peer, size: int) -> bytes:
    data = b""
    while len(data) < size:
        data += peer.recv(size - len(data))
    return data


def test_a_frame_to_a_transport_with_nothing_waiting_is_sent_at_once(tcp_pair):
    transport, peer = tcp_pair
    write_now(transport, b"first")
    write_now(transport, b"second")
    assert _read(peer, 11) == b"firstsecond"
    assert transport.reactor.writers == [] and transport._tempDataLen == 0  # no writer round trip


def test_behind_what_waits_a_frame_waits_too_in_order(tcp_pair):
    transport, peer = tcp_pair
    transport.write(b"queued")  # Twisted's way: buffered until the socket is writable
    write_now(transport, b"next")
    assert transport._tempDataBuffer == [b"queued", b"next"]
    transport.doWrite()
    assert _read(peer, 10) == b"queuednext"


def test_what_the_kernel_does_not_take_is_left_to_twisted_in_order(tcp_pair):
    import socket

    transport, peer = tcp_pair
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = bytes(range(256)) * 4096  # 1 MiB: far more than the kernel takes at once
    write_now(transport, big)
    assert 0 < transport._tempDataLen < len(big)
    assert transport.reactor.writers == [transport]  # the rest goes when the socket is writable
    write_now(transport, b"after")  # behind the rest, never before it
    received = b""
    while len(received) < len(big) + 5:
        transport.doWrite()
        received += peer.recv(1 << 16)
    assert received == big + b"after"


def test_a_tls_layer_over_the_connection_is_never_bypassed(tcp_pair):
    """Daphne serving TLS itself wraps the connection in a protocol (TLSMemoryBIOProtocol) that
    hands the connection's attributes through: the frame must go through the layer's `write`."""
    from twisted.protocols.policies import ProtocolWrapper

    class Encrypting(ProtocolWrapper):
        def __init__(self, transport):
            super().__init__(factory=None, wrappedProtocol=None)
            self.transport, self.connected, self.written = transport, 1, []

        def write(self, data):
            self.written.append(data)

    transport, peer = tcp_pair
    layer = Encrypting(transport)
    assert layer.TLS is False and layer.writeSomeData  # what it passes through from the connection
    write_now(layer, b"secret")
    assert layer.written == [b"secret"]
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(16)  # nothing in the clear


def test_a_transport_that_is_not_plain_tcp_is_written_twisteds_way():
    protocol = Protocol()  # its transport has only `write` (TLS and anything else look like this)
    write_now(protocol.transport, b"x")
    assert protocol.transport.written == [b"x"]
