"""What an operator relies on (docs/operations.md): every authentic callback kept whatever its
shape, the callback log in the admin, Prometheus metrics at /metrics, one log line per callback."""

import json
import re

import pytest
from django.contrib.auth import get_user_model

from calls.models import Action, Call, CallEvent, Member
from tests.support.phlo_api import CUSTOMER, live_call
from tests.support.plivo import django_callback, mpc_event, participant

pytestmark = pytest.mark.django_db

MPC = "mpc-ops"


def kept(response, outcome: str) -> CallEvent:
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == outcome
    return CallEvent.objects.order_by("-pk").first()


def joined_call(client, phlo_app) -> Call:
    django_callback(client, phlo_app, participant("ParticipantJoin", MPC, "c1", CUSTOMER, seq=1))
    return Call.objects.get(mpc_uuid=MPC)


# --- every family is kept ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "family", "outcome"),
    [
        (mpc_event("MPCStart", MPC, seq=2), "mpc-state", "no_change"),
        (participant("ParticipantSpeakStart", MPC, "c1", CUSTOMER, seq=3), "participant-speak", "no_change"),
        (participant("ParticipantDigitInput", MPC, "c1", CUSTOMER, seq=4, DigitInput="4111111111111111"),
         "participant-digits", "no_change"),
        (participant("AddParticipantByAPIActionCompleted", MPC, "a9", "+14155550199", role="Agent",
                     direction="outbound", seq=5, AddParticipantAPIRequestOutcome="success", RequestUUID="req-1"),
         "add-participant", "no_change"),
        (mpc_event("MPCRecordingCompleted", MPC, seq=6, RecordingUUID="rec-1", RecordingURL="https://x.test/r.mp3",
                   RecordingDuration="12", RecordingFormat="mp3"), "recording", "applied"),
        (mpc_event("ParticipantRecordingInitiated", MPC, seq=7), "recording", "no_change"),
        (mpc_event("PhloNodeSomethingNew", MPC, seq=8, Detail="new"), "unknown", "unrecognised"),
        ({"Whatever": "Plivo sends next", "Foo": "1"}, "unknown", "unrecognised"),
        ({"CallUUID": "leg-x", "CallStatus": "ringing", "To": "+14155550123"}, "call-status", "unmatched"),
    ],
)
def test_every_authentic_callback_is_kept_and_answered_200(client, phlo_app, params, family, outcome):
    call = joined_call(client, phlo_app)
    version = call.version
    stored = kept(django_callback(client, phlo_app, params), outcome)
    assert (stored.family, stored.outcome) == (family, outcome)
    assert set(stored.params) == set(params)  # all its parameters
    if outcome != "applied":
        call.refresh_from_db()
        assert call.version == version  # it changed nothing
        assert outcome == "no_change" or stored.reason
    if outcome == "unrecognised":
        assert "Unknown multiparty-call event" in stored.reason or "No recognisable" in stored.reason


def test_keys_pressed_are_stored_masked(client, phlo_app):
    joined_call(client, phlo_app)
    params = participant("ParticipantDigitInput", MPC, "c1", CUSTOMER, seq=3, DigitInput="4111111111111111")
    stored = kept(django_callback(client, phlo_app, params), "no_change")
    assert stored.params["DigitInput"] == "•" * 16
    assert "4111111111111111" not in json.dumps(list(CallEvent.objects.values_list("params", flat=True)))


def test_a_replayed_unrecognised_callback_is_kept_once_more_as_a_duplicate(client, phlo_app):
    params = mpc_event("PhloNodeSomethingNew", MPC, seq=1)
    kept(django_callback(client, phlo_app, params), "unrecognised")
    kept(django_callback(client, phlo_app, params), "duplicate")
    assert list(CallEvent.objects.values_list("outcome", flat=True)) == ["unrecognised", "duplicate"]


def test_the_termination_cause_is_kept_on_the_call(client, phlo_app):
    joined_call(client, phlo_app)
    django_callback(client, phlo_app, mpc_event("MPCEnd", MPC, seq=9, MPCTerminationCause="Hangup",
                                                MPCTerminationCauseCode="2000"))
    call = Call.objects.get(mpc_uuid=MPC)
    assert (call.status, call.termination_cause, call.termination_cause_code) == ("ended", "Hangup", "2000")


def test_an_add_participant_outcome_is_noted_on_the_action_it_answers(client, phlo_app, agent):
    live = live_call(phlo_app, agent)
    Call.objects.filter(pk=live.call.pk).update(mpc_uuid=MPC)
    action = Action.objects.create(actor=agent.user, call=live.call, action="add-member", http_status=200,
                                   ok=True, api_id="req-42", request_body={"to": "+14155550177", "role": "agent"})
    params = participant("AddParticipantByAPIActionCompleted", MPC, "m7", "+14155550177", role="Agent",
                         direction="outbound", seq=2, AddParticipantAPIRequestOutcome="success", RequestUUID="req-42")
    kept(django_callback(client, phlo_app, params), "no_change")
    action.refresh_from_db()
    assert action.upstream_outcome == "success"


def test_a_failed_add_participant_marks_the_dialled_member_gone(client, phlo_app, agent):
    live = live_call(phlo_app, agent)
    Call.objects.filter(pk=live.call.pk).update(mpc_uuid=MPC)
    dialled = Member.objects.create(call=live.call, address="+14155550177", role="agent", state="dialing")
    params = participant("AddParticipantByAPIActionCompleted", MPC, "m7", "+14155550177", role="Agent",
                         direction="outbound", seq=2, AddParticipantAPIRequestOutcome="failure")
    kept(django_callback(client, phlo_app, params), "applied")
    dialled.refresh_from_db()
    assert dialled.state == "left"


# --- the admin ------------------------------------------------------------------------------------


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser("operator", password="operator-password-1")
    client.force_login(user)
    return client


def test_the_admin_index_counts_unrecognised_and_unmatched_callbacks_of_the_last_hour(client, phlo_app):
    django_callback(client, phlo_app, {"Whatever": "x"})
    django_callback(client, phlo_app, {"CallUUID": "leg-x", "CallStatus": "ringing"})
    django_callback(client, phlo_app, {"CallUUID": "leg-y", "CallStatus": "ringing"})
    user = get_user_model().objects.create_superuser("operator", password="operator-password-1")
    client.force_login(user)
    html = client.get("/admin/").content.decode()
    assert re.search(r"<strong>1 unrecognised</strong> and <strong>2 unmatched</strong>", html)
    assert "/admin/calls/callevent/?outcome__in=unrecognised,unmatched" in html


def test_the_callback_log_finds_an_unmatched_callback_by_what_it_says(client, phlo_app):
    django_callback(client, phlo_app, {"CallUUID": "leg-findme", "CallStatus": "ringing", "To": "+14155550123"})
    django_callback(client, phlo_app, {"CallUUID": "leg-other", "CallStatus": "ringing", "To": "+14155550999"})
    user = get_user_model().objects.create_superuser("operator", password="operator-password-1")
    client.force_login(user)
    by_address = client.get("/admin/calls/callevent/", {"q": "+14155550123"})
    assert by_address.status_code == 200 and "1 result" in by_address.content.decode()
    found = client.get("/admin/calls/callevent/", {"q": "leg-findme"})
    assert found.status_code == 200 and "1 result" in found.content.decode()
    filtered = client.get("/admin/calls/callevent/", {"outcome": "unmatched", "family": "call-status"})
    assert filtered.status_code == 200 and "2 call events" in filtered.content.decode().lower()


# --- /metrics, in-process ---------------------------------------------------------------------------


def test_metrics_answer_loopback_only_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    # nginx on the same machine relays from loopback, but says whom for
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 403


def test_metrics_need_the_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert b"desk_callbacks_total" in response.content


def test_the_metrics_move_with_the_callbacks(client, phlo_app, settings):
    settings.METRICS_TOKEN = ""

    def value(pattern: str) -> float:
        text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        found = re.search(r"^" + pattern + r" (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    applied = r'desk_callbacks_total\{app="phlo-test-1",family="participant-state",outcome="applied"\}'
    refused = r'desk_callbacks_total\{app="phlo-test-1",family="-",outcome="bad signature"\}'
    before_applied, before_refused = value(applied), value(refused)
    joined_call(client, phlo_app)
    django_callback(client, phlo_app, participant("ParticipantHold", MPC, "c1", CUSTOMER, seq=2), sign_with="wrong")
    assert value(applied) == before_applied + 1
    assert value(refused) == before_refused + 1
    assert value(r'desk_calls_waiting\{queue=""\}') == 1.0  # a call with no queue
    assert value(r'desk_agents\{status="available"\}') >= 0
