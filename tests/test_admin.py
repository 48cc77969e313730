"""The admin: PHLO apps never show their token; agents come with their login; history is read-only."""

import pytest
from django.contrib.auth import get_user_model

from agents.models import Agent
from calls.models import PhloApp
from tests.factories import NO_SKILLS_INLINE, CallFactory, MemberFactory

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-do-not-leak"


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser("op", "op@example.com", "op-password-1")
    client.force_login(user)
    return client


def test_the_phlo_app_pages_never_render_the_token(operator, phlo_app):
    for path in ("/admin/calls/phloapp/", f"/admin/calls/phloapp/{phlo_app.pk}/change/", "/admin/calls/phloapp/add/"):
        response = operator.get(path)
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()


def test_saving_without_a_token_keeps_the_old_one(operator, phlo_app):
    response = operator.post(f"/admin/calls/phloapp/{phlo_app.pk}/change/", {
        "name": "Renamed", "phlo_id": phlo_app.phlo_id, "node_id": phlo_app.node_id, "auth_id": phlo_app.auth_id,
        "auth_token": "", "is_default": "on",
    })
    assert response.status_code == 302
    phlo_app.refresh_from_db()
    assert (phlo_app.name, phlo_app.auth_token) == ("Renamed", TOKEN)


def test_a_new_token_replaces_the_old_one(operator, phlo_app):
    operator.post(f"/admin/calls/phloapp/{phlo_app.pk}/change/", {
        "name": "x", "phlo_id": phlo_app.phlo_id, "node_id": "n", "auth_id": "a", "auth_token": "rotated-token",
    })
    assert PhloApp.objects.get().auth_token == "rotated-token"


def test_an_operator_creates_an_agent_with_a_login(operator):
    response = operator.post("/admin/agents/agent/add/", {
        "username": "newbie", "password": "long-enough-pw", "name": "New Agent", "address": "+14155550150",
        "status": "offline", **NO_SKILLS_INLINE,
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    agent = Agent.objects.get()
    assert agent.user.username == "newbie" and agent.user.check_password("long-enough-pw")


def test_a_bad_agent_address_is_refused_in_the_admin(operator):
    response = operator.post("/admin/agents/agent/add/", {
        "username": "newbie", "password": "long-enough-pw", "name": "x", "address": "12 34", "status": "offline",
        **NO_SKILLS_INLINE,
    })
    assert response.status_code == 200 and "E.164" in response.content.decode()
    assert not Agent.objects.exists()


def test_calls_are_read_only_history_with_members_and_events(operator):
    member = MemberFactory(address="+12025550111")
    response = operator.get(f"/admin/calls/call/{member.call.pk}/change/")
    assert response.status_code == 200
    assert "+12025550111" in response.content.decode()
    assert operator.get("/admin/calls/call/add/").status_code == 403


def test_the_call_list_is_searchable_by_member_address(operator):
    MemberFactory(address="+12025550111", call=CallFactory(mpc_uuid="findme"))
    MemberFactory(address="+12025550999", call=CallFactory(mpc_uuid="other"))
    body = operator.get("/admin/calls/call/?q=2025550111").content.decode()
    assert "+12025550111" in body and "+12025550999" not in body


def test_the_call_list_shows_who_when_how_long_and_how_it_ended(operator, agent):
    from datetime import timedelta

    from django.utils import timezone

    started = timezone.now() - timedelta(minutes=10)
    call = CallFactory(status="ended", started_at=started, ended_at=started + timedelta(seconds=125),
                       outcome="answered")
    MemberFactory(call=call, address="+12025550111")
    MemberFactory(call=call, address=agent.address, agent=agent, role="agent")
    body = operator.get("/admin/calls/call/").content.decode()
    for column in ("Customer", "Agents", "Started at", "Duration", "Outcome", "Disposition"):
        assert f">{column}<" in body or f">{column}</a>" in body, column
    assert "+12025550111" in body and "Alice Agent" in body and "02:05" in body and "Answered" in body
    assert operator.get("/admin/calls/call/?outcome__exact=abandoned").content.decode().count("+12025550111") == 0


@pytest.mark.parametrize("model", ["call", "callevent", "action"])
def test_history_cannot_be_deleted_not_even_in_bulk(operator, model):
    member = MemberFactory()
    from calls.models import Action, CallEvent

    obj = {"call": member.call,
           "callevent": CallEvent.objects.create(phlo_app=member.call.phlo_app, call=member.call, event_name="MPCEnd",
                                                 params={}, outcome="applied"),
           "action": Action.objects.create(call=member.call, action="hold", http_status=200)}[model]
    listing = operator.get(f"/admin/calls/{model}/").content.decode()
    assert "delete_selected" not in listing
    assert operator.get(f"/admin/calls/{model}/{obj.pk}/delete/").status_code == 403
    response = operator.post(f"/admin/calls/{model}/", {"action": "delete_selected", "_selected_action": [obj.pk]})
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert response.status_code in (200, 302)
    assert operator.get(f"/admin/calls/{model}/add/").status_code == 403


def test_there_is_a_favicon(client, db):
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/pages/img/favicon.ico"
    with open(finders.find("pages/img/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file


def test_the_api_docs_come_from_our_own_static_files(client, agent):
    client.force_login(agent.user)
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn." not in html and "unpkg" not in html and "@latest" not in html
