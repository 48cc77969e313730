"""The agent admin never changes a login its staff member could not change in Django's own user
admin (docs/reliability.md, "The third probe", finding 1)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from agents.models import Agent
from tests.factories import NO_SKILLS_INLINE

pytestmark = pytest.mark.django_db

User = get_user_model()


def _staff(client, username: str, *perms: str):
    user = User.objects.create_user(username, password="staff-password-1", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    Agent.objects.create(user=user, address=f"sip:{username}@example.com")
    client.force_login(user)
    return user


def _post_change(client, agent: Agent, **changes):
    form = {
        "username": agent.user.username, "password": "", "name": agent.name, "address": agent.address,
        "status": agent.status, **NO_SKILLS_INLINE, **changes,
    }
    if agent.is_supervisor and "is_supervisor" not in changes:
        form["is_supervisor"] = "on"
    return client.post(f"/admin/agents/agent/{agent.pk}/change/", form)


@pytest.fixture
def root_agent(db):
    root = User.objects.create_superuser("root", "root@example.com", "root-password-1")
    return Agent.objects.create(user=root, address="+14155550190", name="Root")


def test_an_agent_only_staff_member_cannot_set_a_superusers_password(client, root_agent):
    _staff(client, "clerk", "agents.change_agent", "agents.view_agent")
    response = _post_change(client, root_agent, password="taken-over-pw-9", username="root2")
    assert response.status_code == 302
    root_agent.user.refresh_from_db()
    assert root_agent.user.username == "root"
    assert root_agent.user.check_password("root-password-1")
    assert APIClient().post(
        "/api/auth/token/", {"username": "root", "password": "taken-over-pw-9"}, format="json"
    ).status_code == 400


def test_an_agent_only_staff_member_cannot_make_themselves_supervisor(client):
    clerk = _staff(client, "clerk", "agents.change_agent", "agents.view_agent")
    response = _post_change(client, clerk.agent, is_supervisor="on", name="Still a clerk")
    assert response.status_code == 302
    clerk.agent.refresh_from_db()
    assert clerk.agent.name == "Still a clerk"  # what they may change is changed
    assert clerk.agent.is_supervisor is False


def test_the_change_page_shows_no_password_field_to_them(client, root_agent):
    _staff(client, "clerk", "agents.change_agent", "agents.view_agent")
    page = client.get(f"/admin/agents/agent/{root_agent.pk}/change/").content.decode()
    assert 'name="password"' not in page
    assert 'name="username"' not in page
    assert 'name="is_supervisor"' not in page
    assert "root" in page  # the username is shown, read-only


def test_a_user_changer_may_change_an_ordinary_agents_login(client, agent):
    _staff(client, "hr", "agents.change_agent", "agents.view_agent", "auth.change_user")
    response = _post_change(client, agent, password="a-new-password-7", is_supervisor="on")
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.user.check_password("a-new-password-7") and agent.is_supervisor


def test_a_user_changer_still_cannot_change_a_superuser(client, root_agent):
    _staff(client, "hr", "agents.change_agent", "agents.view_agent", "auth.change_user")
    _post_change(client, root_agent, password="taken-over-pw-9")
    root_agent.user.refresh_from_db()
    assert root_agent.user.check_password("root-password-1")


def test_a_superuser_changes_a_superusers_login(client, root_agent):
    other = User.objects.create_superuser("root-two", "r2@example.com", "root-password-2")
    client.force_login(other)
    _post_change(client, root_agent, password="rotated-by-root-3")
    root_agent.user.refresh_from_db()
    assert root_agent.user.check_password("rotated-by-root-3")


def test_adding_an_agent_is_adding_a_login(client):
    _staff(client, "clerk", "agents.add_agent", "agents.change_agent", "agents.view_agent")
    response = client.post("/admin/agents/agent/add/", {
        "username": "sup", "password": "known-password-1", "address": "+14155550177", "status": "offline",
        "is_supervisor": "on", **NO_SKILLS_INLINE,
    })
    assert response.status_code == 403
    assert not User.objects.filter(username="sup").exists()


def test_revoking_tokens_skips_logins_they_may_not_change(client, root_agent):
    from rest_framework.authtoken.models import Token

    Token.objects.create(user=root_agent.user)
    _staff(client, "clerk", "agents.change_agent", "agents.view_agent")
    client.post("/admin/agents/agent/", {"action": "revoke_agents_api_tokens", "_selected_action": [root_agent.pk]})
    assert Token.objects.filter(user=root_agent.user).exists()
