"""Socket tickets (docs/integrations.md): `POST /api/ws-ticket/` → a ticket usable once,
within 30 s, as `?ticket=`; kept hashed in the database, so any process takes it, and only once.
`?token=` and the session keep working; an integrator's key may authenticate the handshake."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from datetime import timedelta

import httpx
import pytest
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agents.models import SocketTicket
from contactcenter.asgi import application
from tests.support.servers import Stack

pytestmark = pytest.mark.django_db(transaction=True)


def ticket_for(api) -> str:
    response = api.post("/api/ws-ticket/")
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"ticket"}
    return response.json()["ticket"]


async def opened(path: str, headers=None) -> tuple[WebsocketCommunicator, dict]:
    """Connect and read the first frame: the snapshot, or the close."""
    ws = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await ws.connect(timeout=20)
    assert connected
    first = await ws.receive_output(timeout=5)
    return ws, first


def is_snapshot(frame: dict) -> bool:
    return frame["type"] == "websocket.send" and json.loads(frame["text"])["type"] == "snapshot"


async def test_a_ticket_opens_one_socket_once(supervisor, api_for):
    ticket = await database_sync_to_async(lambda: ticket_for(api_for(supervisor)))()
    ws, first = await opened(f"/ws/dashboard/?ticket={ticket}")
    assert is_snapshot(first) and json.loads(first["text"])["stats"] is not None  # the supervisor's view
    again, refused = await opened(f"/ws/dashboard/?ticket={ticket}")
    assert refused == {"type": "websocket.close", "code": 4401}
    await asyncio.gather(ws.disconnect(), again.disconnect())


async def test_only_the_ticket_s_hash_is_kept_and_it_expires(agent, api_for):
    ticket = await database_sync_to_async(lambda: ticket_for(api_for(agent)))()
    row = await database_sync_to_async(SocketTicket.objects.get)()
    assert row.digest == hashlib.sha256(ticket.encode()).hexdigest() and row.user_id == agent.user_id
    assert timedelta(seconds=25) < row.expires_at - timezone.now() <= timedelta(seconds=30)
    await database_sync_to_async(SocketTicket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    ws, refused = await opened(f"/ws/dashboard/?ticket={ticket}")
    assert refused["code"] == 4401
    await ws.disconnect()


async def test_an_unknown_ticket_is_anonymous(agent):
    ws, refused = await opened("/ws/dashboard/?ticket=made-up")
    assert refused["code"] == 4401
    await ws.disconnect()


async def test_a_ticket_needs_someone_signed_in(api_for):
    response = await database_sync_to_async(lambda: api_for(None).post("/api/ws-ticket/"))()
    assert response.status_code == 401


async def test_the_token_in_the_url_keeps_working(agent):
    token = await database_sync_to_async(lambda: Token.objects.get_or_create(user=agent.user)[0].key)()
    ws, first = await opened(f"/ws/dashboard/?token={token}")
    assert is_snapshot(first)
    await ws.disconnect()


async def test_an_integrator_s_key_may_authenticate_the_handshake(agent):
    out = io.StringIO()
    await database_sync_to_async(call_command)("create_api_key", "wallboard", "--read-only", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    ws, first = await opened("/ws/dashboard/", headers=[(b"authorization", f"Api-Key {key}".encode())])
    assert is_snapshot(first) and "stats" in json.loads(first["text"])  # a supervisor's snapshot
    await database_sync_to_async(call_command)("revoke_api_key", "wallboard", stdout=io.StringIO())
    while (frame := await ws.receive_output(timeout=5))["type"] != "websocket.close":
        pass
    assert frame["code"] == 4401  # the open socket closes at once
    await ws.disconnect()
    ws, refused = await opened("/ws/dashboard/", headers=[(b"authorization", f"Api-Key {key}".encode())])
    assert refused["code"] == 4401
    await ws.disconnect()


# --- two processes share the tickets ----------------------------------------------------------------

SET_UP = """
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update
sam, _ = agent_create_or_update(username="sam", password=None, address="+14155558199", is_supervisor=True)
print(Token.objects.get_or_create(user=sam.user)[0].key)
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_ticket_from_one_process_opens_a_socket_on_another_once(tmp_path):
    stack = Stack(tmp_path).setup()
    try:
        token = stack.manage("shell", "-c", SET_UP).stdout.strip().splitlines()[-1]
        a, b = stack.start_daphne(), stack.start_daphne()

        async def story():
            async with httpx.AsyncClient(headers={"Authorization": f"Token {token}"}) as http:
                tickets = [(await http.post(f"{a.url}/api/ws-ticket/")).json()["ticket"] for _ in range(2)]
            async with websockets.connect(f"{b.ws_url}/ws/dashboard/?ticket={tickets[0]}") as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
            # The other ticket, offered to both processes at once: exactly one socket gets in.
            results = await asyncio.gather(*(first_frame(f"{d.ws_url}/ws/dashboard/?ticket={tickets[1]}")
                                             for d in (a, b)))
            assert sorted(results, key=str) == [4401, "snapshot"]

        asyncio.run(story())
    finally:
        stack.stop()


async def first_frame(url: str):
    async with websockets.connect(url) as ws:
        try:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code
