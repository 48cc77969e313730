"""The admin never renders, filters or searches a secret (contactcenter/admin_site.py), for any staff
user, through Django's test client: a view-only staff user's change page, the change-list filters
that recovered a PHLO app's token character by character (directly and through a relation), and
every model admin registered on the site. API tokens are revoked from the admin."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.authtoken.models import Token

from contactcenter.admin_site import SECRET_FIELDS, SecretsNeverShown, reaches_secret
from tests.factories import AgentFactory, CallFactory, PhloAppFactory

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-do-not-leak"  # tests.factories.PhloAppFactory's
User = get_user_model()


def staff_client(*permissions: str) -> Client:
    """A staff user holding only these permissions ("calls.view_phloapp", …)."""
    user = User.objects.create_user("viewer", password="viewer-password-1", is_staff=True)
    for label in permissions:
        app_label, codename = label.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_a_view_only_staff_user_never_sees_the_token_on_the_change_page(phlo_app):
    client = staff_client("calls.view_phloapp")
    response = client.get(f"/admin/calls/phloapp/{phlo_app.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert phlo_app.phlo_id in body  # the page is there, read-only…
    assert TOKEN not in body  # …without the token (Django's read-only rendering would print it)
    assert "Auth token" not in body


@pytest.mark.parametrize(
    ("permission", "path"),
    [
        ("calls.view_phloapp", "/admin/calls/phloapp/?auth_token__regex=^t"),
        ("calls.view_phloapp", "/admin/calls/phloapp/?auth_token__startswith=test"),
        ("calls.view_phloapp", "/admin/calls/phloapp/?auth_token=test-auth-token-do-not-leak"),
        ("calls.view_call", "/admin/calls/call/?phlo_app__auth_token__regex=^t"),
        ("calls.view_callevent", "/admin/calls/callevent/?phlo_app__auth_token__startswith=t"),
        ("calls.view_callevent", "/admin/calls/callevent/?call__phlo_app__auth_token__regex=^t"),
        ("agents.view_agent", "/admin/agents/agent/?user__password__startswith=md5"),
        ("agents.view_agent", "/admin/agents/agent/?user__auth_token__key__startswith=a"),
        ("auth.view_user", "/admin/auth/user/?password__startswith=md5"),
        ("auth.view_user", "/admin/auth/user/?auth_token__key__startswith=a"),
    ],
)
def test_no_change_list_filters_on_a_secret(phlo_app, agent, permission, path):
    """Before: `?auth_token__regex=^O…` listed the app when the guess was right (200 with a row,
    or without), one character at a time. Now any lookup reaching a secret is refused (400)."""
    CallFactory(phlo_app=phlo_app)
    Token.objects.create(user=agent.user)
    client = staff_client(permission)
    response = client.get(path)
    assert response.status_code == 400
    assert TOKEN not in response.content.decode()


def test_ordinary_filters_still_work(phlo_app):
    PhloAppFactory(phlo_id="phlo-other", name="Other line", is_default=False)
    client = staff_client("calls.view_phloapp", "calls.view_call")
    body = client.get("/admin/calls/phloapp/?is_default__exact=1").content.decode()
    assert "phlo-test-1" in body and "phlo-other" not in body
    assert client.get(f"/admin/calls/call/?phlo_app__id__exact={phlo_app.pk}").status_code == 200


def test_searching_the_token_finds_nothing(phlo_app):
    client = staff_client("calls.view_phloapp")
    body = client.get(f"/admin/calls/phloapp/?q={TOKEN}").content.decode()
    assert "0 PHLO apps" in body


def test_every_registered_admin_refuses_every_lookup_that_reaches_a_secret():
    """Each model admin on the site (the apps', Django's users and groups, any added later) carries
    the rule, and refuses each path to a secret within three relations of its model."""
    checked = 0
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, SecretsNeverShown), model
        for lookup in _secret_paths(model, depth=3):
            assert not model_admin.lookup_allowed(f"{lookup}__regex", "^a", None), (model, lookup)
            checked += 1
        searched = model_admin.get_search_fields(None)
        assert not [name for name in searched if reaches_secret(model, name)], model
    assert checked >= 10


def _secret_paths(model, depth: int, prefix: str = "") -> list[str]:
    paths = []
    for field in model._meta.get_fields():
        name = f"{prefix}{field.name}"
        if f"{field.model._meta.label_lower}.{field.name}" in SECRET_FIELDS and not field.is_relation:
            paths.append(name)
        elif field.is_relation and field.related_model is not None and depth > 1:
            paths += _secret_paths(field.related_model, depth - 1, f"{name}__")
    return paths


def test_an_operator_revokes_an_agents_api_token_in_the_admin(agent, other_agent):
    kept = Token.objects.create(user=other_agent.user)
    revoked = Token.objects.create(user=agent.user).key
    operator = User.objects.create_superuser("op", "op@example.com", "op-password-1")
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/agents/agent/").content.decode()
    assert revoked not in listing and kept.key not in listing  # the list says who has one, never the key
    response = client.post("/admin/agents/agent/", {
        "action": "revoke_agents_api_tokens", "_selected_action": [agent.pk],
    }, follow=True)
    assert "1 API token(s) revoked" in response.content.decode()
    assert not Token.objects.filter(user=agent.user).exists()
    assert Token.objects.filter(pk=kept.pk).exists()
    api = Client(HTTP_AUTHORIZATION=f"Token {revoked}")
    assert api.get("/api/me/").status_code == 401


def test_an_operator_revokes_a_users_api_token_in_the_admin():
    person = User.objects.create_user("api-client", password="client-password-1")
    Token.objects.create(user=person)
    operator = User.objects.create_superuser("op", "op@example.com", "op-password-1")
    client = Client()
    client.force_login(operator)
    client.post("/admin/auth/user/", {"action": "revoke_users_api_tokens", "_selected_action": [person.pk]})
    assert not Token.objects.filter(user=person).exists()


def test_a_staff_user_who_may_only_view_agents_cannot_revoke(agent):
    Token.objects.create(user=agent.user)
    client = staff_client("agents.view_agent")
    client.post("/admin/agents/agent/", {"action": "revoke_agents_api_tokens", "_selected_action": [agent.pk]})
    assert Token.objects.filter(user=agent.user).exists()


def test_the_admin_login_is_behind_the_same_throttle(agent):
    from agents.login_guard import MAX_FAILURES

    staff = AgentFactory(user__username="staffer", user__is_staff=True).user
    client = Client()
    for _ in range(MAX_FAILURES):
        response = client.post("/admin/login/", {"username": "staffer", "password": "wrong-password"})
        assert response.status_code == 200
    response = client.post("/admin/login/", {"username": "staffer", "password": "correct-horse-1"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The same count as the other doors: the token endpoint refuses this username too.
    api = Client().post("/api/auth/token/", {"username": "staffer", "password": "correct-horse-1"},
                        content_type="application/json")
    assert api.status_code == 429
    assert staff.is_staff
