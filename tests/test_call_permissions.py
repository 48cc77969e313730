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
    # A call one may not see is answered as one that does not exist (calls/core/reads.py: visible_call).
    "other agent": {"list": 200, "detail": 404, "start": 201, **dict.fromkeys(list(ENDPOINTS)[3:], 404)},
    "supervisor": {
        "list": 200, "detail": 200, "start": 201, "add-member": 200, "warm-transfer": 409, "cold-transfer": 409,
        **dict.fromkeys(MEMBER_ACTIONS, 200),
    },
    "no agent record": {"list": 200, "detail": 404, "start": 403, **dict.fromkeys(list(ENDPOINTS)[3:], 404)},
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
    response = client.get("/api/calls/99999999999999999999/")  # out of range: no route (conventions/ids.py)
    assert response.status_code == 404 and response.json()["detail"]
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


# --- what a 403 or a 404 tells (the third probe) ----------------------------------------------------------


def test_a_call_one_may_not_see_is_answered_as_one_that_does_not_exist(phlo, client_as, phlo_app, agent):
    """Before: 403 for another agent's call, 404 for no call, so an agent could count the center's
    calls by their ids. Now the same status and the same words for both, on every road to a call."""
    theirs = live_call(phlo_app, AgentFactory(address="+14155550177"))
    missing_id = theirs.call.pk + 1000
    client = client_as("other agent")
    for template, body in [
        ("/api/calls/{call}/", None),
        ("/api/calls/{call}/members/{member}/hold/", None),
        ("/api/calls/{call}/add-member/", {"to": NEW_NUMBER}),
        ("/api/calls/{call}/monitor/", {"mode": "listen"}),
        ("/api/calls/{call}/complete-transfer/", None),
        ("/api/calls/{call}/recording/start/", None),
    ]:
        answers = []
        for call_id, member_id in ((theirs.call.pk, theirs.customer.pk), (missing_id, theirs.customer.pk)):
            path = template.format(call=call_id, member=member_id)
            is_detail = template == "/api/calls/{call}/"
            response = client.get(path) if is_detail else client.post(path, body, format="json")
            answers.append((response.status_code, response.json()["detail"].replace(str(call_id), "N")))
        assert answers[0] == answers[1] == (404, "There is no call N."), (template, answers)
    patch = client.patch(f"/api/calls/{theirs.call.pk}/wrap-up/", {"notes": "x"}, format="json")
    assert (patch.status_code, patch.json()["detail"]) == (404, f"There is no call {theirs.call.pk}.")
    assert not phlo["phlo"].called


def test_a_call_one_sees_but_may_not_act_on_is_still_a_403(phlo, client_as, phlo_app, agent):
    """Contract §4's 403: the call exists for them (they were on it), acting is what they may not do."""
    live = live_call(phlo_app, agent, agent_state="left")
    client = client_as("member")
    assert client.get(f"/api/calls/{live.call.pk}/").status_code == 200
    assert client.post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/").status_code == 403
    assert client.post(f"/api/calls/{live.call.pk}/monitor/", {"mode": "listen"}, format="json").status_code == 403
