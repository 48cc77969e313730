"""Call and member actions through the API: the exact PHLO request, the state it implies, the
record, the broadcast; and that a failure of any kind changes nothing."""

import httpx
import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient
from rest_framework.authtoken.models import Token

from calls.models import Action, Call, Member
from contactcenter.asgi import application
from tests.support.phlo_api import (
    API_ID,
    BASIC_AUTH,
    CUSTOMER,
    NODE_URL,
    RUN_URL,
    call_state,
    last_action,
    live_call,
    member_url,
    mocked_phlo,
    sent,
    warm_transfer_call,
)

NEW_NUMBER = "+19995550000"


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


def by_address(call: dict) -> dict[str, tuple]:
    return {m["address"]: (m["role"], m["state"], m["transfer_role"], m["agent"]) for m in call["members"]}


# --- member actions -----------------------------------------------------------------------------

# action → (the call it needs, whose member is acted on, the states it implies by who).
MEMBER_CASES = {
    "hold": ("live", "customer", {"agent": "connected", "customer": "on_hold"}),
    "unhold": ("customer_on_hold", "customer", {"agent": "connected", "customer": "connected"}),
    "hangup": ("live", "customer", {"agent": "connected", "customer": "left"}),
    # The message plays to a machine that answered; Plivo's callbacks say when the member leaves.
    "voicemail-drop": ("live", "customer", {"agent": "connected", "customer": "connected"}),
    "resume-call": ("warm_transfer", "target", {"agent": "connected", "customer": "connected", "target": "connected"}),
    "abort-transfer": ("warm_transfer", "agent", {"agent": "connected", "customer": "connected", "target": "left"}),
}


def scenario(name: str, phlo_app, agent, other_agent):
    if name == "warm_transfer":
        return warm_transfer_call(phlo_app, agent, other_agent)
    return live_call(phlo_app, agent, customer_state="on_hold" if name == "customer_on_hold" else "connected")


@pytest.mark.parametrize("action", MEMBER_CASES)
def test_a_member_action_asks_phlo_and_applies_its_state(phlo, api_for, phlo_app, agent, other_agent, action):
    needs, whose, implied = MEMBER_CASES[action]
    live = scenario(needs, phlo_app, agent, other_agent)
    member = getattr(live, whose)

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{member.pk}/{action}/")

    assert response.status_code == 200, response.json()
    assert sent(phlo) == [("POST", member_url(member.address), BASIC_AUTH, {"action": action.replace("-", "_")})]
    body = response.json()
    assert (body["action"], body["api_id"]) == (action, API_ID)
    assert body["call"]["version"] == live.call.version + (0 if action == "voicemail-drop" else 1)
    states = {who: Member.objects.get(pk=getattr(live, who).pk).state for who in implied}
    assert states == implied
    returned = {m["id"]: m["state"] for m in body["call"]["members"]}
    assert {who: returned[getattr(live, who).pk] for who in implied} == implied
    record = last_action()
    assert (record.action, record.ok, record.http_status, record.upstream_status, record.api_id) == (
        action, True, 200, 201, API_ID
    )
    assert (record.actor, record.call_id, record.member_id) == (agent.user, live.call.pk, member.pk)


def test_a_sip_member_is_addressed_by_its_uri_as_the_sdk_sends_it(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    Member.objects.filter(pk=live.customer.pk).update(address="sip:carol@example.com")
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/").status_code == 200
    assert str(phlo["phlo"].calls.last.request.url) == f"{NODE_URL}members/sip:carol@example.com/"


def test_a_member_action_ignores_any_body(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/",
        {"action": "hangup", "member_address": "+19990000000"}, format="json",
    )
    assert response.status_code == 200
    assert sent(phlo)[0][1:] == (member_url(CUSTOMER), BASIC_AUTH, {"action": "hold"})


# --- call actions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "role", "implied"),
    [
        ("add-member", "customer", {"agent": ("connected", None), "customer": ("connected", None),
                                    "new": ("dialing", None)}),
        ("warm-transfer", "agent", {"agent": ("in_transfer", "initiator"), "customer": ("on_hold", None),
                                    "new": ("dialing", "target")}),
        ("cold-transfer", "agent", {"agent": ("left", None), "customer": ("connected", None),
                                    "new": ("dialing", None)}),
    ],
)
def test_a_call_action_asks_phlo_and_applies_its_state(phlo, api_for, phlo_app, agent, other_agent, action, role,
                                                      implied):
    live = live_call(phlo_app, agent)
    to = other_agent.address

    response = api_for(agent).post(f"/api/calls/{live.call.pk}/{action}/", {"to": to, "role": role}, format="json")

    assert response.status_code == 200, response.json()
    phlo_action = {"add-member": "call", "warm-transfer": "warm_transfer", "cold-transfer": "cold_transfer"}[action]
    assert sent(phlo) == [
        ("POST", NODE_URL, BASIC_AUTH, {"action": phlo_action, "trigger_source": agent.address, "to": to, "role": role})
    ]
    body = response.json()
    assert (body["action"], body["api_id"], body["call"]["version"]) == (action, API_ID, live.call.version + 1)
    members = by_address(body["call"])
    addresses = {"agent": agent.address, "customer": CUSTOMER, "new": to}
    assert {who: members[address][1:3] for who, address in addresses.items()} == implied
    assert members[to][0] == role
    # A dialled agent is linked, and so sees the call; a customer at an agent's number is not them.
    assert members[to][3] == (other_agent.pk if role == "agent" else None)
    stored = {m.address: (m.role, m.state, m.transfer_role or None, m.agent_id) for m in live.call.members.all()}
    assert stored == members
    record = last_action()
    assert (record.action, record.ok, record.request_body) == (action, True, {"to": to, "role": role})
    assert record.member.address == to


def test_role_defaults_to_agent(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    api_for(agent).post(f"/api/calls/{live.call.pk}/add-member/", {"to": NEW_NUMBER}, format="json")
    assert sent(phlo)[0][3]["role"] == "agent"


def test_the_trigger_source_is_always_the_requesters_own_address(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/warm-transfer/",
        {"to": NEW_NUMBER, "trigger_source": "+19990000000", "from": "+19990000001"}, format="json",
    )
    assert response.status_code == 200
    assert sent(phlo)[0][3] == {"action": "warm_transfer", "trigger_source": agent.address, "to": NEW_NUMBER,
                                "role": "agent"}


def test_a_supervisor_who_is_not_on_the_call_adds_through_the_agent_who_is(phlo, api_for, phlo_app, agent, supervisor):
    """PHLO acts only on behalf of a member of the call: the supervisor's own address would be a 404."""
    live = live_call(phlo_app, agent)
    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/add-member/", {"to": NEW_NUMBER}, format="json")
    assert response.status_code == 200
    assert sent(phlo)[0][3]["trigger_source"] == agent.address


def test_an_add_with_nobody_on_the_line_is_refused_before_phlo(phlo, api_for, phlo_app, agent, supervisor):
    live = live_call(phlo_app, agent, agent_state="left", customer_state="ringing")
    response = api_for(supervisor).post(f"/api/calls/{live.call.pk}/add-member/", {"to": NEW_NUMBER}, format="json")
    assert response.status_code == 409
    assert "Nobody is on the line" in response.json()["detail"]
    assert not phlo["phlo"].called


# --- starting a call ----------------------------------------------------------------------------


def test_starting_a_call_runs_the_default_phlo_and_creates_the_call(phlo, api_for, phlo_app, agent):
    response = api_for(agent).post("/api/calls/", {"to": CUSTOMER}, format="json")

    assert response.status_code == 201, response.json()
    assert sent(phlo) == [("POST", RUN_URL, BASIC_AUTH, {"from": agent.address, "to": CUSTOMER})]
    call = response.json()
    assert call["status"] == "ringing" and call["phlo_id"] == phlo_app.phlo_id
    assert [(m["address"], m["role"], m["state"], m["agent"]) for m in call["members"]] == [
        (agent.address, "agent", "dialing", agent.pk),
        (CUSTOMER, "customer", "dialing", None),
    ]
    assert Call.objects.get(pk=call["id"]).run_id == API_ID
    record = last_action()
    assert (record.action, record.ok, record.http_status, record.call_id) == ("start-call", True, 201, call["id"])


def test_a_run_id_in_phlos_answer_names_the_run(phlo, api_for, phlo_app, agent):
    phlo["phlo"].respond(201, json={"api_id": API_ID, "run_id": "run-42", "error": ""})
    call = api_for(agent).post("/api/calls/", {"to": CUSTOMER}, format="json").json()
    assert Call.objects.get(pk=call["id"]).run_id == "run-42"


def test_a_failed_start_leaves_no_call(phlo, api_for, phlo_app, agent):
    phlo["phlo"].respond(401, json={"api_id": "api-x", "error": "Could not verify your access level"})
    response = api_for(agent).post("/api/calls/", {"to": CUSTOMER}, format="json")
    assert response.status_code == 502
    assert response.json()["upstream_status"] == 401
    assert not Call.objects.exists()
    record = last_action()
    assert (record.action, record.ok, record.http_status, record.call) == ("start-call", False, 502, None)


def test_no_default_phlo_app_is_503(phlo, api_for, phlo_app, agent):
    phlo_app.is_default = False
    phlo_app.save()
    response = api_for(agent).post("/api/calls/", {"to": CUSTOMER}, format="json")
    assert response.status_code == 503
    assert "configure_phlo" in response.json()["detail"]
    assert not phlo["phlo"].called


# --- failures change nothing --------------------------------------------------------------------

# PHLO's failure → (our status, the upstream status reported, PHLO's own words (kept in the
# response's `error` and the record), the sentence the person reads (calls/actions/words.py)).
FAILURES = {
    "400": (httpx.Response(400, json={"api_id": "api-400", "error": "member not found in call"}), 502, 400,
            "member not found in call", "PHLO refused the request (HTTP 400); nothing was changed."),
    "401": (httpx.Response(401, json={"api_id": "api-401", "error": "Could not verify your access level"}), 502,
            401, "Could not verify your access level", "PHLO refused the desk's credentials (HTTP 401)"),
    "404": (httpx.Response(404, json={"api_id": "api-404", "error": "phlo not found"}), 502, 404, "phlo not found",
            "PHLO no longer knows this call"),
    "500": (httpx.Response(500, json={"api_id": "api-500", "error": "internal error"}), 502, 500, "internal error",
            "PHLO had a problem (HTTP 500) and did not act; nothing was changed."),
    "timeout": (httpx.ReadTimeout("timed out"), 504, None, "did not answer within", "may or may not have happened"),
    "connection": (httpx.ConnectError("[Errno 111] Connection refused"), 502, None,
                   "Could not connect to PHLO: [Errno 111] Connection refused", "nothing was changed"),
}


ATTEMPTS = {
    "hold": lambda live: (f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/", None),
    "warm-transfer": lambda live: (f"/api/calls/{live.call.pk}/warm-transfer/", {"to": NEW_NUMBER}),
}


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("action", ATTEMPTS)
def test_a_phlo_failure_changes_nothing_and_is_recorded(phlo, api_for, phlo_app, agent, action, failure):
    answer, status, upstream_status, words, sentence = FAILURES[failure]
    phlo["phlo"].side_effect = answer if isinstance(answer, Exception) else None
    phlo["phlo"].return_value = None if isinstance(answer, Exception) else answer
    live = live_call(phlo_app, agent)
    before = call_state(live.call)
    path, body = ATTEMPTS[action](live)

    response = api_for(agent).post(path, body, format="json")

    assert response.status_code == status
    reply = response.json()
    assert sentence in reply["detail"]
    assert reply["upstream_status"] == upstream_status
    if upstream_status:
        assert reply["error"] == words
        assert reply["api_id"] == f"api-{failure}"
    assert call_state(live.call) == before
    record = last_action()
    assert (record.action, record.ok, record.http_status, record.upstream_status) == (
        action, False, status, upstream_status
    )
    assert words in record.error
    assert record.call_id == live.call.pk
    assert Action.objects.count() == 1


def test_a_refused_action_never_reaches_phlo_and_is_recorded(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent, customer_state="left")
    before = call_state(live.call)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/")
    assert response.status_code == 409
    assert response.json() == {"detail": "Only a connected member can be put on hold; this member is left."}
    assert not phlo["phlo"].called
    assert call_state(live.call) == before
    record = last_action()
    assert (record.ok, record.http_status, record.member_id, record.upstream_status) == (
        False, 409, live.customer.pk, None
    )


def test_a_callback_that_overtakes_the_action_is_not_overwritten(phlo, api_for, phlo_app, agent):
    """The customer hangs up while PHLO is being asked to hold them: they stay left."""
    live = live_call(phlo_app, agent)

    async def customer_leaves_meanwhile(request):
        await sync_to_async(Member.objects.filter(pk=live.customer.pk).update)(state="left")
        return httpx.Response(201, json={"api_id": API_ID, "error": ""})

    phlo["phlo"].side_effect = customer_leaves_meanwhile
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/")
    assert response.status_code == 200
    assert by_address(response.json()["call"])[CUSTOMER][1] == "left"
    assert Member.objects.get(pk=live.customer.pk).state == "left"
    assert last_action().ok


# --- the broadcast ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_a_successful_action_sends_exactly_one_call_update(settings, phlo_app, agent):
    live = await sync_to_async(live_call)(phlo_app, agent)
    token = await Token.objects.acreate(user=agent.user)
    ws = WebsocketCommunicator(application, f"/ws/dashboard/?token={token.key}")
    try:
        connected, _ = await ws.connect()
        assert connected
        assert (await ws.receive_json_from(timeout=3))["type"] == "snapshot"
        with mocked_phlo(settings):
            response = await AsyncClient().post(
                f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/",
                headers={"Authorization": f"Token {token.key}"},
            )
        assert response.status_code == 200
        update = await ws.receive_json_from(timeout=3)
        assert update["type"] == "call.updated"
        assert update["call"] == response.json()["call"]
        assert await ws.receive_nothing(timeout=0.3)
    finally:
        await ws.disconnect()
