"""Callbacks against the second probe: deeply nested JSON, every malformed body (a 400 and one log
line, never a 500), replays that move key/value boundaries under a valid signature (the nonce
memory), over-long authentic values (stored and answered 200, on PostgreSQL too: this file runs in
the PostgreSQL pass of `make test`), and a customer calling from an agent's number."""

import hashlib
import json
import logging
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from agents.models import Agent
from calls.intake.nonces import KEPT, purge_old_nonces
from calls.models import Call, CallbackNonce, CallEvent, Member
from phlo.events import MAX_ADDRESS_LENGTH, MAX_ID_LENGTH
from phlo.json_body import MAX_DEPTH, nesting_deeper_than
from tests.support.plivo import django_callback, participant, signed_headers

pytestmark = pytest.mark.django_db

CUSTOMER = "+12025550001"


def path_of(app) -> str:
    return f"/callbacks/plivo/{app.phlo_id}/"


def post_signed(client, app, body: str, content_type: str, params_signed: dict, *, headers=None):
    """POST `body` with a valid signature over `params_signed` (what the desk would parse from it)."""
    headers = headers or signed_headers(auth_token=app.auth_token, url=f"http://testserver{path_of(app)}",
                                        method="POST", params=params_signed)
    return client.post(path_of(app), data=body, content_type=content_type, headers=headers)


def stored() -> tuple[int, int, int]:
    return CallEvent.objects.count(), Call.objects.count(), Member.objects.count()


def refusal_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- deep JSON and every other malformed body: 400, one line ----------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5000, 30000])
def test_deeply_nested_json_is_a_400_with_one_log_line(client, phlo_app, caplog, depth):
    """Before: 1.8 KB of brackets raised RecursionError (in the signature check from depth ~900, in
    json.loads from ~5000): a 500 and ~200 KB of traceback per request."""
    body = '{"EventName": ' + "[" * depth + "]" * depth + "}"
    response = post_signed(client, phlo_app, body, "application/json", {"EventName": []})
    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    assert stored() == (0, 0, 0)
    lines = refusal_lines(caplog)
    assert len(lines) == 1 and not lines[0].exc_info and len(lines[0].getMessage()) < 300


def test_brackets_inside_strings_are_not_nesting():
    text = json.dumps({"a": "[[[[[[[[[[[[[[[[[[[[", "b": '\\"[[[[[[[[[[[[', "c": [[1]]})
    assert not nesting_deeper_than(text, 3)
    assert nesting_deeper_than('{"a": [[[["x"]]]]}', 4)


def test_json_nested_within_the_limit_reaches_the_signature_and_shape_checks(client, phlo_app):
    params = {"EventName": [["x"]]}
    response = post_signed(client, phlo_app, json.dumps(params), "application/json", params)
    assert response.status_code == 400 and "not a plain value" in response.json()["detail"]


MALFORMED = {
    "broken JSON": ("{nope", "application/json"),
    "a JSON list": ("[1, 2]", "application/json"),
    "a JSON string": ('"EventName"', "application/json"),
    "a huge JSON number": ('{"SequenceNumber": ' + "9" * 5000 + "}", "application/json"),
    "JSON with a NUL": ('{"EventName": "MPC\\u0000Start"}', "application/json", {"EventName": "MPC\x00Start"}),
    "not UTF-8": (b"EventName=\xff\xfe", "application/x-www-form-urlencoded"),
    "broken form": ("EventName", "application/x-www-form-urlencoded"),
    "a parameter twice": ("EventName=MPCStart&EventName=MPCEnd", "application/x-www-form-urlencoded"),
    "an unknown content type": ("EventName=MPCStart", "text/xml"),
    "a multipart body without fields": ("--x\r\nnonsense", "multipart/form-data; boundary=x", {}),
    "too many fields": ("&".join(f"k{n}=v" for n in range(600)), "application/x-www-form-urlencoded"),
    "too large": ("a=" + "b" * 70_000, "application/x-www-form-urlencoded"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_every_malformed_body_is_a_400_with_one_log_line(client, phlo_app, caplog, case):
    body, content_type, *signed = MALFORMED[case]
    # Signed as the desk would parse it where it can: these get past the signature to the shape check.
    response = post_signed(client, phlo_app, body, content_type, signed[0] if signed else {"EventName": "MPCStart"})
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert stored() == (0, 0, 0)
    lines = refusal_lines(caplog)
    assert len(lines) == 1 and not lines[0].exc_info, [r.getMessage() for r in lines]


def test_a_body_declared_too_large_is_refused_before_it_is_read(client, phlo_app):
    response = client.post(path_of(phlo_app), data="EventName=MPCStart",
                           content_type="application/x-www-form-urlencoded", headers={"Content-Length": str(10**9)})
    assert response.status_code == 400 and "too large" in response.json()["detail"]


# --- replays: a nonce is good for one request --------------------------------------------------------


def hold(seq: int) -> dict:
    return participant("ParticipantHold", "mpc-replay", "c1", CUSTOMER, seq=seq)


def test_moving_a_key_value_boundary_under_the_same_signature_is_refused(client, phlo_app):
    """V3 signs keys and values run together: `ParticipantRole=Customer&SequenceNumber=40` and
    `ParticipantRole=CustomerSequenceNumber40` have the same signature. Before, the second
    verified, escaped the dedupe key (no SequenceNumber) and applied an old hold again."""
    django_callback(client, phlo_app, participant("ParticipantJoin", "mpc-replay", "c1", CUSTOMER, seq=1))
    original = hold(40)
    url = f"http://testserver{path_of(phlo_app)}"
    headers = signed_headers(auth_token=phlo_app.auth_token, url=url, method="POST", params=original)
    assert post_signed(client, phlo_app, urlencode(original), "application/x-www-form-urlencoded", original,
                       headers=headers).status_code == 200
    django_callback(client, phlo_app, participant("ParticipantUnhold", "mpc-replay", "c1", CUSTOMER, seq=41))
    moved = {k: v for k, v in original.items() if k != "SequenceNumber"}
    moved["ParticipantRole"] = "CustomerSequenceNumber40"
    from phlo.signatures import signature_valid

    assert signature_valid(auth_token=phlo_app.auth_token, url=url, method="POST", params=moved,
                           signature=headers["X-Plivo-Signature-V3"], nonce=headers["X-Plivo-Signature-V3-Nonce"])
    before = stored()
    response = post_signed(client, phlo_app, urlencode(moved), "application/x-www-form-urlencoded", moved,
                           headers=headers)
    assert response.status_code == 403 and "nonce" in response.json()["detail"]
    assert stored() == before
    assert Member.objects.get(member_id="c1").state == "connected"  # not put on hold again


def test_the_same_nonce_with_the_identical_request_is_a_retry(client, phlo_app):
    params = hold(7)
    headers = signed_headers(auth_token=phlo_app.auth_token, url=f"http://testserver{path_of(phlo_app)}",
                             method="POST", params=params)
    body = urlencode(params)
    first = post_signed(client, phlo_app, body, "application/x-www-form-urlencoded", params, headers=headers)
    again = post_signed(client, phlo_app, body, "application/x-www-form-urlencoded", params, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["outcome"] == "duplicate"
    assert CallbackNonce.objects.count() == 1


def test_the_same_nonce_with_other_parameters_is_refused(client, phlo_app):
    nonce = "12345678901234567"
    first = django_callback(client, phlo_app, hold(1), headers={})
    assert first.status_code == 200
    url = f"http://testserver{path_of(phlo_app)}"
    for params in (hold(1), hold(2)):
        headers = signed_headers(auth_token=phlo_app.auth_token, url=url, method="POST", params=params, nonce=nonce)
        response = post_signed(client, phlo_app, urlencode(params), "application/x-www-form-urlencoded", params,
                               headers=headers)
        expected = 200 if params == hold(1) else 403
        assert response.status_code == expected


def test_nonces_are_kept_beyond_the_retry_window_then_purged(phlo_app):
    CallbackNonce.objects.create(phlo_app=phlo_app, nonce="old", fingerprint="f",
                                 seen_at=timezone.now() - KEPT - timedelta(minutes=1))
    CallbackNonce.objects.create(phlo_app=phlo_app, nonce="recent", fingerprint="f",
                                 seen_at=timezone.now() - KEPT + timedelta(minutes=1))
    assert purge_old_nonces() == []
    assert list(CallbackNonce.objects.values_list("nonce", flat=True)) == ["recent"]



# --- the nonce memory keeps nothing of the request (the third probe) ---------------------------------------

DIGITS = "085227"


def legacy_fingerprint(method: str, url: str, params: dict) -> str:
    """What the desk stored before: an unkeyed SHA-256 of the request."""
    canonical = json.dumps([method, url, params], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def keys_pressed(phlo_app) -> dict:
    return participant("ParticipantDigitInput", "mpc-keys", "c1", CUSTOMER, seq=3, DigitInput=DIGITS)


def test_the_nonce_memory_proves_nothing_about_the_keys_pressed(client, phlo_app):
    """Before: the keys were stored masked, but the nonce's fingerprint was an unkeyed SHA-256 of the
    request, kept 48 h: trying every 6-digit value against it found them in 1.6 s."""
    params = keys_pressed(phlo_app)
    assert django_callback(client, phlo_app, params).status_code == 200
    event = CallEvent.objects.get(params__EventName="ParticipantDigitInput")
    assert event.params["DigitInput"] == "••••••"  # stored masked
    stored_fingerprint = CallbackNonce.objects.get().fingerprint

    # The attacker's side: everything but the digits is in the stored event; the method, URL and the
    # fingerprint's form are known. Every 6-digit value is tried.
    known = {**event.params, "DigitInput": "\x00"}
    prefix, suffix = json.dumps(["POST", f"http://testserver{path_of(phlo_app)}", known], sort_keys=True,
                                separators=(",", ":"), ensure_ascii=False).split("\\u0000")
    found = [
        digits for digits in (f"{n:06d}" for n in range(10**6))
        if hashlib.sha256(f"{prefix}{digits}{suffix}".encode()).hexdigest() == stored_fingerprint
    ]
    assert found == []
    assert legacy_fingerprint("POST", f"http://testserver{path_of(phlo_app)}", params) != stored_fingerprint
    # Keyed by the site's secret: it matches the request only under SECRET_KEY.
    from calls.intake.nonces import SignedRequest

    request = SignedRequest("POST", f"http://testserver{path_of(phlo_app)}", params)
    assert request.fingerprint() == stored_fingerprint
    assert request.fingerprint(secret="another site's key") != stored_fingerprint


def test_a_retry_of_a_callback_first_seen_before_the_upgrade_is_still_a_retry(client, phlo_app):
    """Nonces stored before (unkeyed fingerprints) are kept 48 h: a Plivo retry of such a callback is
    its identical request again, and must not be refused; another request under that nonce still is."""
    params = hold(5)
    url = f"http://testserver{path_of(phlo_app)}"
    headers = signed_headers(auth_token=phlo_app.auth_token, url=url, method="POST", params=params)
    CallbackNonce.objects.create(phlo_app=phlo_app, nonce=headers["X-Plivo-Signature-V3-Nonce"],
                                 fingerprint=legacy_fingerprint("POST", url, params))
    retry = post_signed(client, phlo_app, urlencode(params), "application/x-www-form-urlencoded", params,
                        headers=headers)
    assert retry.status_code == 200, retry.content
    moved = {**{k: v for k, v in params.items() if k != "SequenceNumber"}, "ParticipantRole": "CustomerSequenceNumber5"}
    replay = post_signed(client, phlo_app, urlencode(moved), "application/x-www-form-urlencoded", moved,
                         headers=headers)
    assert replay.status_code == 403


def test_a_retry_across_a_secret_key_rotation_is_still_a_retry(client, phlo_app, settings):
    """The old key in SECRET_KEY_FALLBACKS (Django's way to rotate it) still recognises its fingerprints."""
    params = hold(6)
    url = f"http://testserver{path_of(phlo_app)}"
    headers = signed_headers(auth_token=phlo_app.auth_token, url=url, method="POST", params=params)
    body = urlencode(params)
    assert post_signed(client, phlo_app, body, "application/x-www-form-urlencoded", params,
                       headers=headers).status_code == 200
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "the new secret key, rotated in"
    again = post_signed(client, phlo_app, body, "application/x-www-form-urlencoded", params, headers=headers)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"


# --- over-long authentic values: stored, 200 (PostgreSQL enforces the column lengths) ---------------


def test_a_long_sip_uri_and_a_long_mpc_uuid_are_stored_and_answered_200(client, phlo_app):
    """On PostgreSQL a 147-character SIP URI in ParticipantCallFrom (then a 128-character column)
    and a 77-character MPCUUID (then 64) answered 500 on every retry, for ever."""
    sip = "sip:" + "a" * 131 + "@example.com"  # 147 characters
    mpc = "mpc-" + "0" * 73  # 77 characters
    assert (len(sip), len(mpc)) == (147, 77)
    response = django_callback(client, phlo_app, participant("ParticipantJoin", mpc, "m1", sip, seq=1))
    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    member = Member.objects.get()
    assert (member.address, member.call.mpc_uuid) == (sip, mpc)


def test_values_longer_than_any_column_are_cut_in_the_state_and_kept_whole_in_the_record(client, phlo_app):
    sip = "sip:" + "b" * 400 + "@example.com"
    mpc = "mpc-" + "1" * 300
    member_id = "m" * 300
    response = django_callback(client, phlo_app, participant("ParticipantJoin", mpc, member_id, sip, seq=1))
    assert response.status_code == 200
    member = Member.objects.get()
    assert member.address == sip[:MAX_ADDRESS_LENGTH] and member.member_id == member_id[:MAX_ID_LENGTH]
    assert member.call.mpc_uuid == mpc[:MAX_ID_LENGTH]
    event = CallEvent.objects.get()
    assert (event.params["ParticipantCallFrom"], event.params["MPCUUID"]) == (sip, mpc)
    # A retry of the same callback finds its twin: answered 200 again, applied once.
    again = django_callback(client, phlo_app, participant("ParticipantJoin", mpc, member_id, sip, seq=1))
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert Member.objects.count() == 1


# --- role before address -----------------------------------------------------------------------------


def test_a_customer_calling_from_an_agents_number_is_not_that_agent(client, phlo_app, agent):
    """Before: an inbound customer whose caller ID equalled an agent's address was attached to the
    agent (their desk showed it, they became busy)."""
    response = django_callback(client, phlo_app, participant("ParticipantJoin", "mpc-spoof", "c1", agent.address,
                                                             role="Customer", seq=1))
    assert response.status_code == 200
    member = Member.objects.get()
    assert (member.role, member.agent_id) == ("customer", None)
    assert Agent.objects.get(pk=agent.pk).status == "available"
    # The agent's own leg in the same call is theirs.
    django_callback(client, phlo_app, participant("ParticipantJoin", "mpc-spoof", "a1", agent.address, role="Agent",
                                                  direction="outbound", seq=2))
    assert Member.objects.get(member_id="a1").agent_id == agent.pk
    assert Agent.objects.get(pk=agent.pk).status == "busy"
