"""/api/auth/token/, /api/me/, /api/agents/ (README "The HTTP API")."""

import pytest
from rest_framework.test import APIClient

from agents.login_guard import MAX_FAILURES
from agents.models import Agent

pytestmark = pytest.mark.django_db


def test_a_token_for_good_credentials(agent):
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "correct-horse-1"},
                                format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/me/")
    assert me.status_code == 200 and me.json()["username"] == "alice"


@pytest.mark.parametrize("body", [{"username": "alice", "password": "wrong"}, {"username": "alice"}, {}])
def test_bad_credentials_are_a_400(agent, body):
    response = APIClient().post("/api/auth/token/", body, format="json")
    assert response.status_code == 400 and "detail" in response.json()


def test_repeated_failures_are_throttled(agent):
    client = APIClient()
    for _ in range(MAX_FAILURES):
        client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json")
    response = client.post("/api/auth/token/", {"username": "alice", "password": "correct-horse-1"}, format="json")
    assert response.status_code == 429


def test_an_inactive_user_gets_no_token(agent):
    agent.user.is_active = False
    agent.user.save()
    response = APIClient().post("/api/auth/token/", {"username": "alice", "password": "correct-horse-1"},
                                format="json")
    assert response.status_code == 400


def test_me_has_the_contract_fields(api_for, agent):
    body = api_for(agent).get("/api/me/").json()
    assert {k: body[k] for k in ("id", "username", "name", "address", "status", "is_supervisor")} == {
        "id": agent.pk, "username": "alice", "name": "Alice Agent", "address": "+14155550101",
        "status": "available", "is_supervisor": False,
    }


@pytest.mark.parametrize("status", ["available", "away", "offline"])
def test_an_agent_sets_their_status(api_for, agent, status):
    response = api_for(agent).patch("/api/me/", {"status": status}, format="json")
    assert response.status_code == 200 and response.json()["status"] == status
    assert Agent.objects.get(pk=agent.pk).status == status


@pytest.mark.parametrize("status", ["busy", "wrap_up", "lunch", "", None, 3])
def test_system_and_unknown_statuses_cannot_be_set(api_for, agent, status):
    response = api_for(agent).patch("/api/me/", {"status": status}, format="json")
    assert response.status_code == 400 and "detail" in response.json()
    assert Agent.objects.get(pk=agent.pk).status == "available"


def test_malformed_json_is_a_400(api_for, agent):
    response = api_for(agent).patch("/api/me/", "{nope", content_type="application/json")
    assert response.status_code == 400 and "detail" in response.json()


@pytest.mark.parametrize(("method", "path"), [("get", "/api/me/"), ("patch", "/api/me/"), ("get", "/api/agents/")])
def test_anonymous_gets_401(method, path):
    response = getattr(APIClient(), method)(path)
    assert response.status_code == 401 and "detail" in response.json()


def test_session_writes_need_csrf(agent):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent.user)
    assert client.get("/api/me/").status_code == 200
    assert client.patch("/api/me/", {"status": "away"}, format="json").status_code == 403
    assert Agent.objects.get(pk=agent.pk).status == "available"


def test_the_directory_lists_available_agents_first(api_for, agent, other_agent, supervisor):
    other_agent.status = "busy"
    other_agent.save()
    supervisor.status = "offline"
    supervisor.save()
    body = api_for(agent).get("/api/agents/").json()
    assert [a["username"] for a in body] == ["alice", "oscar", "sam"]
    assert set(body[0]) >= {"id", "username", "name", "address", "status"}


def test_a_user_without_an_agent_record_gets_a_clear_404(db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("loner", password="x" * 10)
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/me/")
    assert response.status_code == 404 and "agent" in response.json()["detail"]
