"""/ws/dashboard/ through the real ASGI app: auth, snapshot, visibility, seq, resync (README "Live updates").

The same story runs on the in-memory layer and on a real redis-server.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from contactcenter.asgi import application
from live.consumer import DashboardConsumer
from live.hub import get_hub
from tests.support.plivo import django_callback, mpc_event, participant
from tests.support.sockets import drain, until_call_updated

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = "+12025550001"
ALICE = "+14155550101"


async def connect(agent=None, *, path="/ws/dashboard/", headers=None):
    if agent is not None:
        token = await database_sync_to_async(lambda: Token.objects.get_or_create(user=agent.user)[0])()
        path = f"{path}?token={token.key}"
    ws = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await ws.connect(timeout=20)
    assert connected
    return ws


async def close_all(*sockets):
    await asyncio.gather(*(ws.disconnect() for ws in sockets), return_exceptions=True)


async def test_anonymous_is_closed_with_4401(phlo_app):
    ws = await connect()
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4401}
    await ws.disconnect()


async def test_a_bad_token_is_anonymous(phlo_app):
    ws = await connect(path="/ws/dashboard/?token=not-a-token")
    assert (await ws.receive_output(timeout=2))["code"] == 4401
    await ws.disconnect()


async def test_a_foreign_origin_is_refused(supervisor):
    ws = WebsocketCommunicator(application, "/ws/dashboard/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    assert not connected
    await ws.disconnect()


async def test_the_snapshot_comes_first(supervisor, agent):
    ws = await connect(supervisor)
    snapshot = await ws.receive_json_from(timeout=2)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
    assert snapshot["calls"] == []
    assert {a["username"] for a in snapshot["agents"]} == {"sam", "alice"}
    assert set(snapshot["agents"][0]) >= {"id", "username", "name", "address", "status"}
    await ws.disconnect()


async def send(params, app):
    response = await django_callback(AsyncClient(), app, params)
    assert response.status_code == 200, response.content
    return response


def inbound_call_story(mpc="mpc-story"):
    """An inbound call: customer in, Alice answers, hold, unhold, warm transfer to Oscar, both leave."""
    return [
        mpc_event("MPCInitialized", mpc, seq=1),
        participant("ParticipantJoin", mpc, "c1", CUSTOMER, seq=2),
        mpc_event("MPCStart", mpc, seq=3),
        participant("ParticipantJoin", mpc, "a1", ALICE, role="Agent", direction="outbound", seq=4),
        participant("ParticipantHold", mpc, "c1", CUSTOMER, seq=5),
        participant("ParticipantUnhold", mpc, "c1", CUSTOMER, seq=6),
        participant("ParticipantHold", mpc, "c1", CUSTOMER, seq=7),  # warm transfer: customer held …
        participant("ParticipantJoin", mpc, "a2", "+14155550102", role="Agent", direction="outbound", seq=8),
        participant("ParticipantUnhold", mpc, "c1", CUSTOMER, seq=9),  # … and brought back
        participant("ParticipantExit", mpc, "a1", ALICE, role="Agent", direction="outbound", seq=10),
        participant("ParticipantExit", mpc, "c1", CUSTOMER, seq=11),
        mpc_event("MPCEnd", mpc, seq=12),
    ]


EXPECTED_MEMBER_STATES = [
    [],
    [("c1", "connected")],
    [("c1", "connected"), ("a1", "connected")],
    [("c1", "on_hold"), ("a1", "connected")],
    [("c1", "connected"), ("a1", "connected")],
    [("c1", "on_hold"), ("a1", "connected")],
    [("c1", "on_hold"), ("a1", "connected"), ("a2", "connected")],
    [("c1", "connected"), ("a1", "connected"), ("a2", "connected")],
    [("c1", "connected"), ("a1", "left"), ("a2", "connected")],
    [("c1", "left"), ("a1", "left"), ("a2", "connected")],
    [("c1", "left"), ("a1", "left"), ("a2", "left")],
]


async def run_story(phlo_app, supervisor, agent, other_agent, bystander):
    sup_ws, alice_ws, by_ws = await connect(supervisor), await connect(agent), await connect(bystander)
    try:
        for ws in (sup_ws, alice_ws, by_ws):
            assert (await ws.receive_json_from(timeout=2))["type"] == "snapshot"
        for params in inbound_call_story():
            await send(params, phlo_app)
        sup, alice, by = await drain(sup_ws), await drain(alice_ws), await drain(by_ws)
    finally:
        await close_all(sup_ws, alice_ws, by_ws)

    def member_states(messages):
        return [
            [(m["address"] and _member_name(m), m["state"]) for m in msg["call"]["members"]]
            for msg in messages if msg["type"] == "call.updated"
        ]

    def _member_name(m):
        return {CUSTOMER: "c1", ALICE: "a1", "+14155550102": "a2"}[m["address"]]

    assert member_states(sup) == EXPECTED_MEMBER_STATES
    # Alice sees her call from the moment she is a member until it ends, and nothing before.
    assert member_states(alice) == EXPECTED_MEMBER_STATES[2:]
    assert not [m for m in by if m["type"] == "call.updated"]
    for messages in (sup, alice, by):
        assert [m["seq"] for m in messages] == list(range(2, len(messages) + 2))
    versions = [m["call"]["version"] for m in sup if m["type"] == "call.updated"]
    assert versions == sorted(set(versions))
    # Everyone sees agent status follow the call: Alice busy, then wrap-up.
    alice_statuses = [m["agent"]["status"] for m in by if m["type"] == "agent.updated" and m["agent"]["id"] == agent.pk]
    assert alice_statuses == ["busy", "wrap_up"]


async def test_an_inbound_call_story_reaches_exactly_who_may_see_it(phlo_app, supervisor, agent, other_agent):
    from tests.factories import AgentFactory

    bystander = await database_sync_to_async(AgentFactory)(user__username="bea", address="+14155550177")
    await run_story(phlo_app, supervisor, agent, other_agent, bystander)


async def test_the_same_story_over_a_real_redis_server(redis_layer, phlo_app, supervisor, agent, other_agent):
    from tests.factories import AgentFactory

    bystander = await database_sync_to_async(AgentFactory)(user__username="bea", address="+14155550177")
    await run_story(phlo_app, supervisor, agent, other_agent, bystander)


async def test_a_duplicate_callback_sends_no_second_update(phlo_app, supervisor):
    ws = await connect(supervisor)
    await ws.receive_json_from(timeout=2)
    params = participant("ParticipantJoin", "mpc-d", "c1", CUSTOMER, seq=1)
    await send(params, phlo_app)
    await send(params, phlo_app)
    updates = [m for m in await drain(ws) if m["type"] == "call.updated"]
    assert len(updates) == 1
    await ws.disconnect()


async def test_resync_sends_a_fresh_snapshot(phlo_app, supervisor):
    ws = await connect(supervisor)
    await ws.receive_json_from(timeout=2)
    await send(participant("ParticipantJoin", "mpc-r", "c1", CUSTOMER, seq=1), phlo_app)
    update = await ws.receive_json_from(timeout=2)
    await ws.send_json_to({"type": "resync"})
    snapshot = await ws.receive_json_from(timeout=2)
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == update["seq"] + 1
    assert [c["version"] for c in snapshot["calls"]] == [update["call"]["version"]]
    await ws.disconnect()


async def test_unknown_client_messages_get_an_error_not_a_crash(supervisor):
    ws = await connect(supervisor)
    await ws.receive_json_from(timeout=2)
    await ws.send_to(text_data='{"type": "subscribe"}')
    reply = await ws.receive_json_from(timeout=2)
    assert reply["type"] == "error" and reply["seq"] == 2
    await ws.disconnect()


async def test_a_frame_that_is_not_a_json_object_closes_the_socket_and_the_hub_forgets_it(supervisor):
    """Contract §14; over a real Daphne in tests/test_socket_limits.py."""
    hub = get_hub()
    keeper = await connect(supervisor)
    await keeper.receive_json_from(timeout=2)
    for frame in ("not json", "[1]", "[" * 100_000, "{}" + " " * 2000):
        ws = await connect(supervisor)
        await ws.receive_json_from(timeout=2)
        assert len(hub.sockets_of(supervisor.user_id)) == 2
        await ws.send_to(text_data=frame)
        assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4400}
        assert len(hub.sockets_of(supervisor.user_id)) == 1  # forgotten at once, before the close completes
        await ws.disconnect()
    await keeper.send_json_to({"type": "resync"})
    assert (await keeper.receive_json_from(timeout=2))["type"] == "snapshot"
    await keeper.disconnect()
    assert hub.sockets_of(supervisor.user_id) == []


async def test_a_consumer_that_fails_is_forgotten_by_the_hub(supervisor, monkeypatch):
    """Whatever ends a consumer (here a handler raising, which Channels lets end it without its
    disconnect()), the hub forgets the socket, so the person's socket count is not used up."""
    hub = get_hub()

    async def fails(self, **_):
        raise RuntimeError("a bug")

    monkeypatch.setattr(DashboardConsumer, "receive", fails)
    ws = await connect(supervisor)
    await ws.receive_json_from(timeout=2)
    await ws.send_to(text_data='{"type": "resync"}')
    with pytest.raises(RuntimeError):
        await ws.wait(timeout=2)
    assert hub.sockets_of(supervisor.user_id) == []


async def test_a_session_cookie_authenticates_the_socket(client, supervisor):
    await database_sync_to_async(client.force_login)(supervisor.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    ws = await connect(headers=[(b"cookie", cookie), (b"origin", b"http://localhost"), (b"host", b"localhost")])
    assert (await ws.receive_json_from(timeout=2))["type"] == "snapshot"
    await ws.disconnect()


async def test_three_hundred_sockets_each_receive_one_change_exactly_once(settings, phlo_app, supervisor):
    settings.MAX_SOCKETS_PER_USER = 300  # one person's sockets here; the cap has its own test
    sockets = list(await asyncio.gather(*(connect(supervisor) for _ in range(300))))
    try:
        await asyncio.gather(*(ws.receive_json_from(timeout=10) for ws in sockets))
        await send(participant("ParticipantJoin", "mpc-300", "c1", CUSTOMER, seq=1), phlo_app)
        received = await asyncio.gather(*(until_call_updated(ws) for ws in sockets))
        extra = await asyncio.gather(*(drain(ws, timeout=0.5) for ws in sockets))
        for before, after in zip(received, extra, strict=True):
            messages = before + after
            # The queue's figures may come before or after (a customer now waits; the figures job
            # may run between the commit and the call's publication); the call's change comes once.
            assert [m["type"] for m in messages].count("call.updated") == 1
            assert {m["type"] for m in messages} <= {"call.updated", "stats.updated", "queue.updated"}
            assert [m["seq"] for m in messages] == list(range(2, 2 + len(messages)))
    finally:
        await close_all(*sockets)


async def test_a_deactivated_user_is_disconnected(supervisor, agent):
    ws = await connect(agent)
    await ws.receive_json_from(timeout=2)

    def deactivate():
        agent.user.is_active = False
        agent.user.save()

    await database_sync_to_async(deactivate)()
    assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await ws.disconnect()


async def test_a_page_reload_keeps_receiving(phlo_app, supervisor):
    """The last socket leaving and a new one arriving at once must not leave the new one deaf."""
    first = await connect(supervisor)
    await first.receive_json_from(timeout=2)
    second_connecting = asyncio.ensure_future(connect(supervisor))
    await first.disconnect()
    second = await second_connecting
    await second.receive_json_from(timeout=2)
    await send(participant("ParticipantJoin", "mpc-reload", "c1", CUSTOMER, seq=1), phlo_app)
    assert (await second.receive_json_from(timeout=3))["type"] == "call.updated"
    await second.disconnect()


class Backlogged:
    """Stands in for fastpath.frames.DirectFrames on a socket whose client has stopped reading."""

    def __init__(self, unsent: int, direct: bool):
        self.backlog, self.direct, self.written = unsent, direct, []

    def unsent(self) -> int:
        return self.backlog

    def write_text(self, payload: bytes) -> bool:
        if self.direct:
            self.written.append(payload)
        return self.direct


@pytest.mark.parametrize("direct", [True, False], ids=["straight to the transport", "through Channels and autobahn"])
async def test_a_socket_whose_client_does_not_read_is_closed_on_either_way(supervisor, monkeypatch, direct):
    """Contract §14: before its unsent data passes 1 MiB; over a real Daphne in tests/test_socket_limits.py."""
    from live import consumer

    frames = Backlogged(unsent=1000, direct=direct)
    monkeypatch.setattr(consumer.DirectFrames, "behind", classmethod(lambda cls, send: frames))
    ws = await connect(supervisor)
    if direct:
        for _ in range(100):
            if frames.written:
                break
            await asyncio.sleep(0.02)
        assert b'"type":"snapshot"' in frames.written[0]
    else:
        assert (await ws.receive_json_from(timeout=2))["type"] == "snapshot"
    frames.backlog = consumer.MAX_UNSENT_BYTES - 10  # the next snapshot would pass the limit
    written = len(frames.written)
    await ws.send_json_to({"type": "resync"})
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": 4408}
    assert len(frames.written) == written  # nothing more was written
    assert get_hub().sockets_of(supervisor.user_id) == []
    await ws.disconnect()
