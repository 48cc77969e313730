"""What the desk's server does so that people can trust what they see (issue 18): an action carries
the state the person saw and is refused if it no longer holds; a cold transfer hands the customer
over talking; Plivo's refusals become sentences; signing out means offline."""

import httpx
import pytest

from agents.models import Agent
from calls.models import Action, Member
from tests.support.phlo_api import (
    BASIC_AUTH,
    CUSTOMER,
    NODE_URL,
    call_state,
    last_action,
    live_call,
    member_url,
    mocked_phlo,
    sent,
)


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


def hold_url(live) -> str:
    return f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/"


# --- acting on what the person saw ----------------------------------------------------------------


def test_an_action_on_the_state_the_person_saw_goes_ahead(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(hold_url(live), {"expected_state": "connected"}, format="json")
    assert response.status_code == 200, response.json()
    assert Member.objects.get(pk=live.customer.pk).state == "on_hold"
    assert last_action().request_body == {"expected_state": "connected"}


def test_an_action_on_a_state_that_changed_meanwhile_is_refused_before_phlo(phlo, api_for, phlo_app, agent):
    """The button said Unhold (on hold, as the person saw it); a supervisor took the customer off hold."""
    live = live_call(phlo_app, agent, customer_state="connected")
    before = call_state(live.call)
    unhold = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/unhold/"

    response = api_for(agent).post(unhold, {"expected_state": "on_hold"}, format="json")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "This member is connected now, not on hold as shown when you clicked; nothing was changed."
    )
    assert not phlo["phlo"].called
    assert call_state(live.call) == before
    record = last_action()
    assert (record.ok, record.http_status, record.request_body) == (False, 409, {"expected_state": "on_hold"})


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"expected_state": ', "application/json"), ('{"expected_state": "asleep"}', "application/json"),
     ("[1, 2]", "application/json")],
)
def test_a_bad_as_seen_body_is_a_400_and_changes_nothing(phlo, api_for, phlo_app, agent, body, content_type):
    live = live_call(phlo_app, agent)
    before = call_state(live.call)
    response = api_for(agent).generic("POST", hold_url(live), body, content_type=content_type)
    assert response.status_code == 400
    assert "detail" in response.json() or "expected_state" in response.json()
    assert not phlo["phlo"].called
    assert call_state(live.call) == before


def test_without_a_body_a_member_action_needs_none(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent)
    assert api_for(agent).post(hold_url(live)).status_code == 200
    assert api_for(agent).generic("POST", hold_url(live), "", content_type="application/json").status_code == 409


# --- a cold transfer hands the customer over talking ------------------------------------------------


def test_a_cold_transfer_takes_a_held_customer_off_hold(phlo, api_for, phlo_app, agent, other_agent):
    live = live_call(phlo_app, agent, customer_state="on_hold")

    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/cold-transfer/", {"to": other_agent.address}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert sent(phlo) == [
        ("POST", NODE_URL, BASIC_AUTH,
         {"action": "cold_transfer", "trigger_source": agent.address, "to": other_agent.address, "role": "agent"}),
        ("POST", member_url(CUSTOMER), BASIC_AUTH, {"action": "unhold"}),
    ]
    states = {m["address"]: (m["state"], m["joined_via"], m["invited_by"]) for m in response.json()["call"]["members"]}
    assert states == {
        agent.address: ("left", None, None),
        CUSTOMER: ("connected", None, None),
        other_agent.address: ("dialing", "cold_transfer", agent.pk),
    }
    assert Action.objects.filter(action="cold-transfer").count() == 1  # one action, one record


def test_a_refused_cold_transfer_leaves_a_held_customer_held(phlo, api_for, phlo_app, agent, other_agent):
    phlo["phlo"].respond(400, json={"api_id": "api-400", "error": f"{other_agent.address} is busy in another "
                                                                  "multiparty call of this node"})
    live = live_call(phlo_app, agent, customer_state="on_hold")
    before = call_state(live.call)

    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/cold-transfer/", {"to": other_agent.address}, format="json"
    )

    assert response.status_code == 502
    assert [request[3]["action"] for request in sent(phlo)] == ["cold_transfer"]
    assert call_state(live.call) == before


def test_a_customer_plivo_would_not_unhold_stays_held_for_the_new_agent(phlo, api_for, phlo_app, agent, other_agent):
    phlo["phlo"].side_effect = [
        httpx.Response(201, json={"api_id": "api-transfer", "error": ""}),
        httpx.Response(500, json={"api_id": "api-500", "error": "internal error"}),
    ]
    live = live_call(phlo_app, agent, customer_state="on_hold")

    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/cold-transfer/", {"to": other_agent.address}, format="json"
    )

    assert response.status_code == 200  # the transfer happened
    assert Member.objects.get(pk=live.customer.pk).state == "on_hold"  # as it still is on Plivo's side
    assert Member.objects.get(pk=live.agent.pk).state == "left"


def test_a_cold_transfer_with_nobody_held_sends_only_the_transfer(phlo, api_for, phlo_app, agent, other_agent):
    live = live_call(phlo_app, agent)
    api_for(agent).post(f"/api/calls/{live.call.pk}/cold-transfer/", {"to": other_agent.address}, format="json")
    assert [request[3]["action"] for request in sent(phlo)] == ["cold_transfer"]


# --- Plivo's refusals in sentences --------------------------------------------------------------------


def test_a_busy_target_is_named_in_a_sentence_and_plivos_words_are_kept(phlo, api_for, phlo_app, agent, other_agent):
    raw = f"{other_agent.address} is busy in another multiparty call of this node"
    phlo["phlo"].respond(400, json={"api_id": "api-busy", "error": raw})
    live = live_call(phlo_app, agent)

    response = api_for(agent).post(
        f"/api/calls/{live.call.pk}/warm-transfer/", {"to": other_agent.address}, format="json"
    )

    assert response.status_code == 502
    body = response.json()
    assert body["detail"] == "Oscar Other is on another call; pick someone who is available. Nothing was changed."
    assert (body["upstream_status"], body["error"]) == (400, raw)
    assert raw in last_action().error


def test_a_refusal_about_a_member_names_them(phlo, api_for, phlo_app, agent):
    phlo["phlo"].respond(400, json={"api_id": "api-x", "error": f"member {CUSTOMER} is not on hold"})
    live = live_call(phlo_app, agent, customer_state="on_hold")
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/unhold/")
    assert response.json()["detail"] == f"{CUSTOMER} is not on hold any more. Nothing was changed."


def test_plivos_words_go_to_the_log(phlo, api_for, phlo_app, agent, caplog):
    phlo["phlo"].respond(500, json={"api_id": "api-500", "error": "Internal server error, please try again later"})
    live = live_call(phlo_app, agent)
    with caplog.at_level("WARNING", logger="calls.actions.flow"):
        api_for(agent).post(hold_url(live))
    assert "Internal server error, please try again later" in caplog.text
    assert phlo_app.auth_token not in caplog.text


# --- signing out ---------------------------------------------------------------------------------


def test_signing_out_makes_an_agent_offline(client, agent):
    client.force_login(agent.user)
    assert client.post("/logout/").status_code == 302
    agent.refresh_from_db()
    assert (agent.status, agent.chosen_status) == ("offline", "offline")


def test_signing_out_on_a_call_makes_the_agent_offline_after_it(client, phlo_app, agent):
    Agent.objects.filter(pk=agent.pk).update(status="busy", chosen_status="available")
    client.force_login(agent.user)
    client.post("/logout/")
    agent.refresh_from_db()
    assert (agent.status, agent.chosen_status) == ("busy", "offline")


def test_signing_out_without_a_desk_still_signs_out(client, db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("nodesk", password="x-password-1")
    client.force_login(user)
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_unhandled_transport_error_is_unchanged(phlo, api_for, phlo_app, agent):
    phlo["phlo"].side_effect = httpx.ConnectError("[Errno 111] Connection refused")
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(hold_url(live))
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert detail == "Could not connect to PHLO: [Errno 111] Connection refused; nothing was changed."
