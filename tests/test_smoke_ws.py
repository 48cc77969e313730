import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from contactcenter.asgi import application
from tests.support.plivo import django_callback, participant


@pytest.mark.django_db(transaction=True)
async def test_supervisor_sees_a_joined_customer(async_client, phlo_app, supervisor):
    token = await Token.objects.acreate(user=supervisor.user)
    ws = WebsocketCommunicator(application, f"/ws/dashboard/?token={token.key}")
    connected, _ = await ws.connect()
    assert connected
    snapshot = await ws.receive_json_from()
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
    response = await django_callback(async_client, phlo_app, participant("ParticipantJoin", "mpc-x", "m1", "+12025550001"))
    assert response.status_code == 200
    update = await ws.receive_json_from(timeout=3)
    assert update["type"] == "call.updated"
    assert update["call"]["members"][0]["state"] == "connected"
    await ws.disconnect()
