"""Who may do what: anonymous / member agent / other agent / supervisor / user without an agent
record / a member whose login was switched off, against every call endpoint (README "The HTTP API"), by
token and by browser session (with its CSRF token). tests/test_authorization_matrix.py has the
rest of the API, the pages and the socket."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.models import Action
from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.support.phlo_api import live_call, mocked_phlo, warm_transfer_call

NEW_NUMBER = "+19995550000"


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


# endpoint → (method, path template, body, the call it needs, whose member a member action is about)
ENDPOINTS = {
    "list": ("get", "/api/calls/", None, "live", None),
    "detail": ("get", "/api/calls/{call}/", None, "live", None),
    "start": ("post", "/api/calls/", {"to": NEW_NUMBER}, "live", None),
    "add-member": ("post", "/api/calls/{call}/add-member/", {"to": NEW_NUMBER}, "live", None),
    "warm-transfer": ("post", "/api/calls/{call}/warm-transfer/", {"to": NEW_NUMBER}, "live", None),
    "cold-transfer": ("post", "/api/calls/{call}/cold-transfer/", {"to": NEW_NUMBER}, "live", None),
    "hold": ("post", "/api/calls/{call}/members/{member}/hold/", None, "live", "customer"),
    "unhold": ("post", "/api/calls/{call}/members/{member}/unhold/", None, "on_hold", "customer"),
    "hangup": ("post", "/api/calls/{call}/members/{member}/hangup/", None, "live", "customer"),
    "voicemail-drop": ("post", "/api/calls/{call}/members/{member}/voicemail-drop/", None, "live", "customer"),
    "resume-call": ("post", "/api/calls/{call}/members/{member}/resume-call/", None, "transfer", "agent"),
    "abort-transfer": ("post", "/api/calls/{call}/members/{member}/abort-transfer/", None, "transfer", "agent"),
}
MEMBER_ACTIONS = ("hold", "unhold", "hangup", "voicemail-drop", "resume-call", "abort-transfer")

# requester → expected status per endpoint. A supervisor may act on any call, but only an agent
# on the line can transfer it, so their transfers are refused by the state rules (409).
EXPECTED = {
    "anonymous": dict.fromkeys(ENDPOINTS, 401),
    "member": {"list": 200, "detail": 200, "start": 201, **dict.fromkeys(list(ENDPOINTS)[3:], 200)},
    "other agent": {"list": 200, "detail": 403, "start": 201, **dict.fromkeys(list(ENDPOINTS)[3:], 403)},
    "supervisor": {
        "list": 200, "detail": 200, "start": 201, "add-member": 200, "warm-transfer": 409, "cold-transfer": 409,
        **dict.fromkeys(MEMBER_ACTIONS, 200),
    },
    "no agent record": {"list": 200, "detail": 403, **dict.fromkeys(list(ENDPOINTS)[2:], 403)},
    "inactive member": dict.fromkeys(ENDPOINTS, 401),
}
CSRF_TOKEN = "c" * 32  # what the page's csrftoken cookie would hold


@pytest.fixture
def client_as(agent, other_agent, supervisor):
    def client_for(requester: str, auth: str = "token") -> APIClient:
        users = {"member": agent.user, "other agent": other_agent.user, "supervisor": supervisor.user,
                 "inactive member": agent.user}
        if requester == "no agent record":
            users[requester], _ = get_user_model().objects.get_or_create(username="nobody")
        if auth == "session":
            client = APIClient(enforce_csrf_checks=True, HTTP_X_CSRFTOKEN=CSRF_TOKEN)
            client.cookies["csrftoken"] = CSRF_TOKEN
            if requester in users:
                client.force_login(users[requester])
        else:
            client = APIClient()
            if requester in users:
                token, _ = Token.objects.get_or_create(user=users[requester])
                client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        if requester == "inactive member":  # signed in, or given a token, before the switch-off
            agent.user.is_active = False
            agent.user.save()
        return client

    return client_for


def make_call(needs: str, phlo_app, agent):
    if needs == "transfer":
        return warm_transfer_call(phlo_app, agent, AgentFactory(address="+14155550177"))
    return live_call(phlo_app, agent, customer_state="on_hold" if needs == "on_hold" else "connected")


def send(client, endpoint: str, live):
    method, template, body, _, whose = ENDPOINTS[endpoint]
    path = template.format(call=live.call.pk, member=getattr(live, whose).pk if whose else "")
    return getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("requester", EXPECTED)
def test_the_permission_matrix(phlo, client_as, phlo_app, agent, requester, endpoint, auth):
    live = make_call(ENDPOINTS[endpoint][3], phlo_app, agent)

    response = send(client_as(requester, auth), endpoint, live)

    expected, method = EXPECTED[requester][endpoint], ENDPOINTS[endpoint][0]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert "detail" in response.json()
    assert phlo["phlo"].called == (expected in (200, 201) and method == "post")
    if expected == 401:
        assert not Action.objects.exists()  # nobody to record it against
    elif method == "post":
        assert Action.objects.get().http_status == expected


@pytest.mark.parametrize(("requester", "sees_it"), [("member", True), ("other agent", False), ("supervisor", True),
                                                    ("no agent record", False)])
def test_the_list_holds_only_the_calls_one_may_see(phlo, client_as, phlo_app, agent, requester, sees_it):
    live = live_call(phlo_app, agent)
    calls = client_as(requester).get("/api/calls/").json()
    assert [c["id"] for c in calls] == ([live.call.pk] if sees_it else [])


def test_an_agent_who_left_still_sees_the_call_but_no_longer_acts_on_it(phlo, client_as, phlo_app, agent):
    """Seeing is "is or was a member"; acting needs a live member of one's own (calls/core/visibility.py)."""
    live = live_call(phlo_app, agent, agent_state="left")
    client = client_as("member")
    assert client.get(f"/api/calls/{live.call.pk}/").status_code == 200
    response = client.post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/")
    assert response.status_code == 403 and "no longer on call" in response.json()["detail"]
    assert not phlo["phlo"].called
    live.customer.refresh_from_db()
    assert live.customer.state == "connected"
    assert Action.objects.get().http_status == 403


def test_an_unknown_call_is_404(phlo, client_as, phlo_app, agent):
    client = client_as("supervisor")
    response = client.get("/api/calls/999999/")
    assert response.status_code == 404 and "no call" in response.json()["detail"]
    response = client.get("/api/calls/99999999999999999999/")  # no id of ours: matches no route
    assert response.status_code == 404 and response.json()["detail"] == "Not found."
    response = client.post("/api/calls/999999/add-member/", {"to": NEW_NUMBER}, format="json")
    assert response.status_code == 404
    assert client.post("/api/calls/999999/members/1/hold/").status_code == 404
    assert not phlo["phlo"].called
    assert [a.http_status for a in Action.objects.all()] == [404, 404]


def test_a_member_of_another_call_is_404(phlo, client_as, phlo_app, agent):
    live = live_call(phlo_app, agent)
    stranger = MemberFactory(call=CallFactory(phlo_app=phlo_app))
    for member_id in (stranger.pk, 999999):
        response = client_as("member").post(f"/api/calls/{live.call.pk}/members/{member_id}/hold/")
        assert response.status_code == 404
        assert "has no member" in response.json()["detail"]
    assert not phlo["phlo"].called


def test_a_browser_session_needs_the_csrf_token(phlo, phlo_app, agent):
    live = live_call(phlo_app, agent)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)
    path = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/"
    refused = browser.post(path, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    token = "a" * 32  # what the page's csrftoken cookie would hold
    browser.cookies["csrftoken"] = token
    assert browser.post(path, content_type="application/json", headers={"X-CSRFToken": token}).status_code == 200
