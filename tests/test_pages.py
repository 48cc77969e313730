"""The pages (README "Pages"): where `/` leads, who may open the desk and the wall, signing in and out."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from agents.login_guard import MAX_FAILURES
from tests.factories import AgentFactory, MemberFactory

PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's


def signed_in(agent_or_user) -> Client:
    client = Client()
    client.force_login(getattr(agent_or_user, "user", agent_or_user))
    return client


def page_data(response) -> dict:
    match = re.search(r'<script id="page-data" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page carries its data for the scripts"
    return json.loads(match.group(1))


@pytest.fixture
def plain_user(db):
    return get_user_model().objects.create_user("nodesk", password=PASSWORD)


# --- where / leads ----------------------------------------------------------------------------------


def test_home_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"


def test_home_sends_an_agent_to_the_desk(agent):
    response = signed_in(agent).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/agent/"


def test_home_sends_a_supervisor_to_the_wall(supervisor):
    response = signed_in(supervisor).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/supervisor/"


def test_home_sends_a_superuser_without_agent_to_the_wall(db):
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    assert signed_in(admin).get("/")["Location"] == "/supervisor/"


def test_home_explains_an_account_without_agent_record(plain_user):
    response = signed_in(plain_user).get("/")
    assert response.status_code == 200
    assert b"Your account has no desk yet" in response.content
    assert b"nodesk" in response.content


# --- access to the desk and the wall --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/agent/", "/supervisor/"])
def test_pages_need_a_signed_in_user(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_agent_gets_the_desk(agent):
    response = signed_in(agent).get("/agent/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "pages/js/desk.js" in html
    assert 'id="connection"' in html and 'role="status"' in html
    assert 'aria-live="polite"' in html
    data = page_data(response)
    assert data["page"] == "agent"
    assert data["me"]["id"] == agent.pk and data["me"]["is_supervisor"] is False
    assert data["is_supervisor"] is False
    assert "no-store" in response.get("Cache-Control", "") or "max-age=0" in response.get("Cache-Control", "")


def test_agent_is_sent_from_the_wall_to_the_desk(agent):
    response = signed_in(agent).get("/supervisor/")
    assert response.status_code == 302
    assert response["Location"] == "/agent/"


def test_supervisor_gets_the_wall(supervisor, agent):
    response = signed_in(supervisor).get("/supervisor/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "pages/js/wall.js" in html
    for counter in ("active", "on_hold", "transfers", "available", "busy", "wrap_up", "away"):
        assert f'data-counter="{counter}"' in html
    data = page_data(response)
    assert data["is_supervisor"] is True
    assert {a["username"] for a in data["snapshot"]["agents"]} == {"alice", "sam"}


def test_supervisor_may_also_use_a_desk(supervisor):
    response = signed_in(supervisor).get("/agent/")
    assert response.status_code == 200
    assert page_data(response)["me"]["is_supervisor"] is True


def test_superuser_without_agent_is_sent_to_the_wall_from_the_desk(db):
    admin = get_user_model().objects.create_superuser("root", password=PASSWORD)
    client = signed_in(admin)
    assert client.get("/agent/")["Location"] == "/supervisor/"
    response = client.get("/supervisor/")
    assert response.status_code == 200
    assert page_data(response)["me"] is None


@pytest.mark.parametrize("path", ["/agent/", "/supervisor/"])
def test_account_without_agent_record_is_refused_clearly(plain_user, path):
    response = signed_in(plain_user).get(path)
    assert response.status_code == 403
    assert b"Your account has no desk yet" in response.content


def test_desk_snapshot_holds_only_the_agents_own_calls(agent, other_agent, supervisor):
    mine = MemberFactory(role="agent", agent=agent, address=agent.address).call
    MemberFactory(call=mine, address="+12025550143")
    theirs = MemberFactory(role="agent", agent=other_agent, address=other_agent.address).call
    desk = page_data(signed_in(agent).get("/agent/"))
    assert [c["id"] for c in desk["snapshot"]["calls"]] == [mine.pk]
    wall = page_data(signed_in(supervisor).get("/supervisor/"))
    assert {c["id"] for c in wall["snapshot"]["calls"]} == {mine.pk, theirs.pk}


# --- signing in and out ---------------------------------------------------------------------------------


def test_login_page_has_a_csrf_token_and_labelled_fields(client, db):
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'autocomplete="current-password"' in html


def test_login_without_csrf_token_is_refused(agent):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_with_csrf_token_signs_in_and_goes_home(agent):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/agent/"


def test_login_follows_a_local_next_but_not_a_foreign_one(agent):
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "/supervisor/"})
    assert response["Location"] == "/supervisor/"
    client = Client()
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_wrong_password_shows_an_error(client, agent):
    response = client.post("/login/", {"username": "alice", "password": "wrong-password"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'role="alert"' in response.content


def test_signed_in_user_visiting_login_goes_home(agent):
    assert signed_in(agent).get("/login/")["Location"] == "/"


def test_repeated_failures_block_that_username_from_that_address(client, agent):
    for _ in range(MAX_FAILURES):
        assert client.post("/login/", {"username": "alice", "password": "wrong-password"}).status_code == 200
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Someone else at the same address is not locked out by alice's failures.
    other = AgentFactory(user__username="bob")
    response = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.user.pk)


def test_a_success_clears_earlier_failures(client, agent):
    for _ in range(MAX_FAILURES - 1):
        client.post("/login/", {"username": "alice", "password": "wrong-password"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.post("/logout/")
    for _ in range(MAX_FAILURES - 1):
        client.post("/login/", {"username": "alice", "password": "wrong-password"})
    assert client.post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_logout_is_a_post_and_returns_to_sign_in(agent):
    client = signed_in(agent)
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/agent/").status_code == 302


# --- nothing secret in a page ----------------------------------------------------------------------------


def test_pages_carry_no_secrets(agent, supervisor, phlo_app):
    call = MemberFactory(role="agent", agent=agent, address=agent.address, call__phlo_app=phlo_app).call
    MemberFactory(call=call, address="+12025550143")
    pages = [
        signed_in(agent).get("/agent/"),
        signed_in(supervisor).get("/supervisor/"),
        Client().get("/login/"),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert phlo_app.auth_token not in html
        assert phlo_app.auth_id not in html
        assert settings.SECRET_KEY not in html
        assert agent.user.password not in html and "md5$" not in html
        assert "sessionid" not in html
    # The desk and the wall do show the call itself.
    assert "+12025550143" in pages[0].content.decode()
    assert "+12025550143" in pages[1].content.decode()
