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
    assert frames.write_text('{"type":"x","seq":1}')
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
    assert not DirectFrames.behind(functools.partial(_daphne_send, protocol)).write_text("{}")
    assert protocol.transport.written == []


def test_other_servers_sends_are_left_alone():
    async def send(message):
        return None

    assert DirectFrames.behind(send) is None
    assert DirectFrames.behind(functools.partial(send)) is None
