"""A password change revokes what the old password opened (agents/credentials.py, agents/signals.py):
the API token stops working and the next login gets a new one; open dashboards close with 4401
("sign in again"). By every road a password changes: the admin's password form, the agent form,
`manage.py changepassword`. A login that merely re-hashes the same password revokes nothing."""

import io

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contactcenter.asgi import application
from tests.factories import NO_SKILLS_INLINE

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's
NEW_PASSWORD = "a-brand-new-password-7"


def token_for(username: str, password: str):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")


def operator_client() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("op", "op@example.com", "op-password-1"))
    return client


def change_in_user_admin(user):
    response = operator_client().post(f"/admin/auth/user/{user.pk}/password/", {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true",
    })
    assert response.status_code == 302, response.content.decode()[:2000]


def change_in_agent_admin(user):
    agent = user.agent
    response = operator_client().post(f"/admin/agents/agent/{agent.pk}/change/", {
        "username": user.username, "password": NEW_PASSWORD, "name": agent.name, "address": agent.address,
        "status": agent.status, **NO_SKILLS_INLINE,
    })
    assert response.status_code == 302, response.content.decode()[:2000]


def change_with_the_command(user, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=io.StringIO())


@pytest.mark.django_db
@pytest.mark.parametrize("road", [change_in_user_admin, change_in_agent_admin, change_with_the_command])
def test_a_new_password_revokes_the_old_token(agent, road, monkeypatch):
    old = token_for("alice", PASSWORD).json()["token"]
    assert APIClient(HTTP_AUTHORIZATION=f"Token {old}").get("/api/me/").status_code == 200
    if road is change_with_the_command:
        road(agent.user, monkeypatch)
    else:
        road(agent.user)
    assert APIClient(HTTP_AUTHORIZATION=f"Token {old}").get("/api/me/").status_code == 401
    assert token_for("alice", PASSWORD).status_code == 400
    new = token_for("alice", NEW_PASSWORD).json()["token"]
    assert new != old
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new}").get("/api/me/").status_code == 200


@pytest.mark.django_db
def test_saving_an_agent_without_a_new_password_revokes_nothing(agent):
    token = Token.objects.create(user=agent.user)
    response = operator_client().post(f"/admin/agents/agent/{agent.pk}/change/", {
        "username": "alice", "password": "", "name": "Renamed", "address": agent.address, "status": agent.status,
        **NO_SKILLS_INLINE,
    })
    assert response.status_code == 302
    assert Token.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_a_login_that_upgrades_the_hash_revokes_nothing(settings, agent):
    """Django re-hashes a password with the preferred hasher when one logs in: the same password."""
    token = Token.objects.create(user=agent.user)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    assert token_for("alice", PASSWORD).json()["token"] == token.key
    agent.user.refresh_from_db()
    assert agent.user.password.startswith("pbkdf2_sha256$")  # it was re-hashed…
    assert Token.objects.filter(pk=token.pk).exists()  # …and nothing was revoked


@pytest.mark.django_db(transaction=True)
async def test_a_new_password_closes_open_dashboards(agent, other_agent):
    """Both the socket opened with the token and the one opened with the session close with 4401;
    another person's socket stays open."""
    token = await database_sync_to_async(lambda: Token.objects.create(user=agent.user).key)()
    session = Client()
    await database_sync_to_async(session.force_login)(agent.user)
    cookie = f"sessionid={session.cookies['sessionid'].value}".encode()
    other_token = await database_sync_to_async(lambda: Token.objects.create(user=other_agent.user).key)()
    by_token = WebsocketCommunicator(application, f"/ws/dashboard/?token={token}")
    by_session = WebsocketCommunicator(application, "/ws/dashboard/", headers=[(b"cookie", cookie)])
    others = WebsocketCommunicator(application, f"/ws/dashboard/?token={other_token}")
    for ws in (by_token, by_session, others):
        assert (await ws.connect(timeout=10))[0]
        assert (await ws.receive_json_from(timeout=5))["type"] == "snapshot"

    await database_sync_to_async(change_in_user_admin)(agent.user)

    assert await by_token.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await by_session.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await others.receive_nothing(timeout=0.5)
    for ws in (by_token, by_session, others):
        await ws.disconnect()
    # Reconnecting with what the old password opened gets nowhere.
    again = WebsocketCommunicator(application, f"/ws/dashboard/?token={token}")
    await again.connect(timeout=10)
    assert await again.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await again.disconnect()
