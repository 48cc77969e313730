"""Who may do what after the call (docs/history.md): anonymous / the call's agent / another agent /
a supervisor / a user without an agent record / the call's agent after their login was switched
off, against every history endpoint (by token and by browser session with its CSRF token) and
both history pages. The same matrix as tests/test_call_permissions.py, for the new surface."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.models import Call, Disposition
from tests.test_history_api import ended_call

pytestmark = pytest.mark.django_db

REQUESTERS = ("anonymous", "member", "other agent", "supervisor", "no agent record", "inactive member")
CSRF_TOKEN = "c" * 32

# endpoint → (method, path template, body)
ENDPOINTS = {
    "dispositions": ("get", "/api/dispositions/", None),
    "history": ("get", "/api/calls/?status=ended&q=%2B1%20202", None),
    "export": ("get", "/api/calls/export.csv", None),
    "wrap-up": ("patch", "/api/calls/{call}/wrap-up/", {"disposition": "Resolved", "notes": "n"}),
}
SIGNED_OUT = dict.fromkeys(ENDPOINTS, 401)
EXPECTED = {
    "anonymous": SIGNED_OUT,
    "inactive member": SIGNED_OUT,
    "member": {"dispositions": 200, "history": 200, "export": 403, "wrap-up": 200},
    "other agent": {"dispositions": 200, "history": 200, "export": 403, "wrap-up": 403},
    "supervisor": {"dispositions": 200, "history": 200, "export": 200, "wrap-up": 200},
    "no agent record": {"dispositions": 200, "history": 200, "export": 403, "wrap-up": 403},
}
# Which of them find the call in the history.
SEES_THE_CALL = {"member", "supervisor"}


@pytest.fixture
def call(phlo_app, agent) -> Call:
    Disposition.objects.create(name="Resolved")
    return ended_call(phlo_app, agent=agent)


@pytest.fixture
def user_of(agent, other_agent, supervisor):
    def user(requester: str):
        if requester == "no agent record":
            return get_user_model().objects.get_or_create(username="nobody")[0]
        return {"member": agent.user, "inactive member": agent.user, "other agent": other_agent.user,
                "supervisor": supervisor.user}.get(requester)

    return user


def client_for(user, requester: str, auth: str) -> APIClient:
    if auth == "session":
        client = APIClient(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF_TOKEN)
        client.cookies["csrftoken"] = CSRF_TOKEN
        if user is not None:
            client.force_login(user)
    else:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    if requester == "inactive member":  # signed in, or given a token, before the switch-off
        user.is_active = False
        user.save()
    return client


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("requester", REQUESTERS)
def test_the_permission_matrix(call, user_of, requester, endpoint, auth):
    method, template, body = ENDPOINTS[endpoint]
    client = client_for(user_of(requester), requester, auth)

    path = template.format(call=call.pk)
    response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)

    expected = EXPECTED[requester][endpoint]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert "detail" in response.json()
    if endpoint == "history" and expected == 200:
        assert [c["id"] for c in response.json()] == ([call.pk] if requester in SEES_THE_CALL else [])
    if endpoint == "export" and expected == 200:
        assert str(call.pk) in b"".join(response.streaming_content).decode()
    call.refresh_from_db()
    assert (call.disposition is not None) == (endpoint == "wrap-up" and expected == 200)


LOGIN = "/login/?next="
PAGES = {
    # requester → (status, where a redirect goes) for /history/ and /history/{id}/
    "anonymous": ((302, f"{LOGIN}/history/"), (302, f"{LOGIN}/history/{{call}}/")),
    "inactive member": ((302, f"{LOGIN}/history/"), (302, f"{LOGIN}/history/{{call}}/")),
    "member": ((200, None), (200, None)),
    "other agent": ((200, None), (403, None)),
    "supervisor": ((200, None), (200, None)),
    "no agent record": ((403, None), (403, None)),
}


@pytest.mark.parametrize("requester", REQUESTERS)
def test_the_history_pages(call, user_of, requester):
    user = user_of(requester)
    browser = Client()
    if user is not None:
        browser.force_login(user)
    if requester == "inactive member":
        user.is_active = False
        user.save()

    for path, (status, location) in zip(("/history/", f"/history/{call.pk}/"), PAGES[requester], strict=True):
        response = browser.get(path)
        assert (response.status_code, response.get("Location")) == (
            status, location.format(call=call.pk) if location else None
        )
        if status == 200:
            assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
