"""/api/calls/: listing, one call, the request bodies we accept, and the OpenAPI document."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from calls.models import Action, Call
from tests.factories import CallFactory, MemberFactory
from tests.support.phlo_api import CUSTOMER, live_call, mocked_phlo

CALL_KEYS = {"id", "phlo_id", "status", "started_at", "ended_at", "version", "members"}
MEMBER_KEYS = {"id", "address", "role", "state", "agent", "joined_at", "left_at"}
MEMBER_ACTIONS = ("hold", "unhold", "hangup", "resume-call", "abort-transfer", "voicemail-drop")
CALL_ACTIONS = ("add-member", "warm-transfer", "cold-transfer")


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


def call_of(agent, phlo_app, status: str, *, ended_minutes_ago: int = 0) -> Call:
    ended_at = timezone.now() - timedelta(minutes=ended_minutes_ago) if status == "ended" else None
    call = CallFactory(phlo_app=phlo_app, status=status, ended_at=ended_at)
    MemberFactory(call=call, address=agent.address, agent=agent, role="agent",
                  state="left" if status == "ended" else "connected")
    return call


# --- reading ------------------------------------------------------------------------------------


def test_the_list_holds_live_calls_and_history_on_request(api_for, phlo_app, agent):
    ringing, active = call_of(agent, phlo_app, "ringing"), call_of(agent, phlo_app, "active")
    older, newer = call_of(agent, phlo_app, "ended", ended_minutes_ago=5), call_of(agent, phlo_app, "ended")
    client = api_for(agent)

    def ids(query: str = "") -> set[int] | list[int]:
        response = client.get(f"/api/calls/{query}")
        assert response.status_code == 200
        return [call["id"] for call in response.json()]

    assert set(ids()) == set(ids("?status=live")) == {ringing.pk, active.pk}
    assert ids("?status=ended") == [newer.pk, older.pk]  # newest first
    assert ids("?status=active") == [active.pk]
    assert ids("?status=ringing") == [ringing.pk]


def test_an_unknown_status_filter_is_400(api_for, agent):
    response = api_for(agent).get("/api/calls/?status=everything")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("status: Choose one of")


def test_a_call_has_the_contract_shape(api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    call = api_for(agent).get(f"/api/calls/{live.call.pk}/").json()
    assert set(call) >= CALL_KEYS
    assert (call["id"], call["phlo_id"], call["status"], call["version"]) == (
        live.call.pk, phlo_app.phlo_id, "active", live.call.version
    )
    assert all(set(member) >= MEMBER_KEYS for member in call["members"])
    assert [(m["address"], m["role"], m["state"], m["agent"]) for m in call["members"]] == [
        (agent.address, "agent", "connected", agent.pk),
        (CUSTOMER, "customer", "connected", None),
    ]
    assert api_for(agent).get("/api/calls/").json() == [call]


# --- what a body may hold -----------------------------------------------------------------------

HOSTILE_ADDRESSES = [
    "",
    " +14155550100",
    "+14155550100 ",
    "+1 415 555 0100",
    "+14155550100\n",
    "+1415555\x000100",
    "../../etc/passwd",
    "+14155550100/../../admin",
    "sip:alice@example.com/../admin",
    "sip:../@example.com",
    "sip:alice@example.com?x=1",
    "%2B14155550100",
    "tel:+14155550100",
    "<script>alert(1)</script>",
    "+" + "1" * 300,
    "sip:" + "a" * 200 + "@example.com",
    "+" + "".join(chr(0xFF10 + int(d)) for d in "14155550100"),  # fullwidth digits
    "+" + "".join(chr(0x0660 + int(d)) for d in "14155550100"),  # Arabic-Indic digits
    "sip:ålice@example.com",
    "sip:alice@exämple.com",
    "+0123456789",  # E.164 never starts with 0
    "+12",
    None,
    14155550100,
    True,
    ["+14155550100"],
    {"number": "+14155550100"},
]
VALID_ADDRESSES = ["+14155550100", "14155550100", "sip:alice@example.com", "sip:alice.smith@sip.example.com:5060"]


def address_endpoints(live) -> list[str]:
    """Starting a call, and the call actions (one view and body for all three)."""
    return ["/api/calls/", f"/api/calls/{live.call.pk}/warm-transfer/"]


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES, ids=repr)
def test_a_hostile_address_is_400_and_never_reaches_phlo(phlo, api_for, phlo_app, agent, address):
    live = live_call(phlo_app, agent)
    for path in address_endpoints(live):
        response = api_for(agent).post(path, {"to": address}, format="json")
        assert response.status_code == 400, (path, response.content)
        body = response.json()
        assert body["detail"].startswith("to: ")
        assert "to" in body
    assert not phlo["phlo"].called
    assert Call.objects.count() == 1 and not Action.objects.exists()


@pytest.mark.parametrize("address", VALID_ADDRESSES)
def test_phone_numbers_and_sip_uris_are_accepted(phlo, api_for, phlo_app, agent, address):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/add-member/", {"to": address}, format="json")
    assert response.status_code == 200
    assert api_for(agent).post("/api/calls/", {"to": address}, format="json").status_code == 201


@pytest.mark.parametrize("role", ["supervisor", "", "AGENT", None, 1])
def test_a_role_is_agent_or_customer(phlo, api_for, phlo_app, agent, role):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/warm-transfer/", {"to": "+14155550100", "role": role}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("role: ")
    assert not phlo["phlo"].called


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        ('{"to": "+1415', "JSON parse error"),
        ("[]", "Expected a dictionary"),
        ('"+14155550100"', "Expected a dictionary"),
        ("{}", "to: This field is required."),
    ],
)
def test_a_malformed_body_is_400(phlo, api_for, phlo_app, agent, content, detail):
    live = live_call(phlo_app, agent)
    for path in address_endpoints(live):
        response = api_for(agent).post(path, content, content_type="application/json")
        assert response.status_code == 400
        assert detail in response.json()["detail"]
    assert not phlo["phlo"].called


def test_an_unknown_action_is_404(api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/delete/").status_code == 404
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/kick/").status_code == 404


def test_actions_take_post_only(api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).get(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/")
    assert response.status_code == 405
    assert "detail" in response.json()


# --- the OpenAPI document -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema():
    """Generated once: it is public, and the same for every test here."""
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def ref(content: dict) -> str:
    return content["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def test_the_schema_documents_reading_and_starting_calls(schema):
    calls = schema["paths"]["/api/calls/"]
    assert calls["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith("/Call")
    assert {p["name"] for p in calls["get"]["parameters"]} == {
        "status", "q", "agent", "since", "until", "outcome", "disposition", "cursor", "limit",  # docs/history.md
        "queue", "waited_since", "waited_until",  # docs/reports.md: a report's interval in the history
    }
    assert ref(calls["post"]["requestBody"]["content"]) == "CallStartRequest"
    assert ref(calls["post"]["responses"]["201"]["content"]) == "Call"
    assert set(calls["post"]["responses"]) == {"201", "400", "401", "403", "502", "503", "504"}
    one = schema["paths"]["/api/calls/{call_id}/"]["get"]
    assert set(one["responses"]) == {"200", "401", "403", "404"}
    assert schema["components"]["schemas"]["CallStartRequest"]["required"] == ["to"]


@pytest.mark.parametrize("action", CALL_ACTIONS + MEMBER_ACTIONS)
def test_the_schema_documents_every_action(schema, action):
    path = f"/api/calls/{{call_id}}/{action}/" if action in CALL_ACTIONS else (
        f"/api/calls/{{call_id}}/members/{{member_id}}/{action}/"
    )
    operation = schema["paths"][path]["post"]
    errors = {"400", "401", "403", "404", "409", "502", "504"}
    assert set(operation["responses"]) == {"200", *errors}
    assert ref(operation["responses"]["200"]["content"]) == "ActionResult"
    assert ref(operation["responses"]["502"]["content"]) == "UpstreamError"
    if action in CALL_ACTIONS:
        assert ref(operation["requestBody"]["content"]) == "CallActionRequest"
    else:  # optional: the member's state as the person saw it
        assert ref(operation["requestBody"]["content"]) == "MemberActionAsSeenRequest"
        assert not operation["requestBody"].get("required")
    assert {p["name"] for p in operation["parameters"] if p["in"] == "path"} <= {"call_id", "member_id"}


def test_the_schema_describes_the_action_body(schema):
    body = schema["components"]["schemas"]["CallActionRequest"]
    assert set(body["properties"]) == {"to", "role"}
    assert body["required"] == ["to"]
    assert set(schema["components"]["schemas"]["UpstreamError"]["properties"]) >= {"detail", "upstream_status", "error"}


def test_a_run_whose_first_callback_came_first_is_one_call(api_for, agent, phlo_app, respx_mock, client):
    """Plivo's first callback can reach us before PHLO's answer to the run does (and names no run)."""
    from calls.models import Call
    from tests.support.plivo import django_callback, mpc_event

    django_callback(client, phlo_app, mpc_event("MPCInitialized", "mpc-early", seq=1))
    respx_mock.post(url__regex=r".*/account/.*/phlo/.*/").respond(201, json={"api_id": "run-early", "error": ""})
    response = api_for(agent).post("/api/calls/", {"to": "+12025550123"}, format="json")
    assert response.status_code == 201
    assert Call.objects.count() == 1
    call = Call.objects.get()
    assert (call.mpc_uuid, call.run_id) == ("mpc-early", "run-early")
    assert sorted(call.members.values_list("address", "state")) == [("+12025550123", "dialing"),
                                                                    ("+14155550101", "dialing")]
