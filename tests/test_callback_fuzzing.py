"""Property-based: whatever arrives at the intake, signed or not, it never errors, never half-writes,
and nothing unsigned or forged changes state; a replayed valid callback is applied once."""

import json
import uuid
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.models import Call, CallEvent, Member
from tests.support.plivo import django_callback, participant, signed_headers

pytestmark = pytest.mark.django_db

KNOWN_KEYS = ["EventName", "MPCUUID", "MemberID", "ParticipantRole", "ParticipantCallUUID", "ParticipantCallFrom",
              "ParticipantCallTo", "ParticipantCallDirection", "EventTimestamp", "SequenceNumber", "CallUUID",
              "CallStatus", "DialStatus", "DialBLegUUID", "DialALegUUID", "MemberAddress", "To", "From", "Direction"]
KNOWN_VALUES = ["MPCInitialized", "MPCStart", "MPCEnd", "ParticipantJoin", "ParticipantExit", "ParticipantHold",
                "ParticipantUnhold", "Agent", "Customer", "inbound", "outbound", "busy", "completed", "ringing",
                "in-progress", "2026-11-23 10:00:00", "-1", "99999999999999999999999", "", "+14155550101",
                "sip:a@b.c"]

text = st.text(min_size=0, max_size=40)
values = st.one_of(st.sampled_from(KNOWN_VALUES), text, st.text(min_size=2000, max_size=3000))
json_values = st.one_of(values, st.integers(), st.floats(allow_nan=True), st.booleans(), st.none(),
                        st.lists(text, max_size=3), st.dictionaries(text, text, max_size=2))
keys = st.one_of(st.sampled_from(KNOWN_KEYS), text)
form_params = st.dictionaries(keys, values, max_size=25)
json_params = st.dictionaries(keys, json_values, max_size=25)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COUNTS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_cases():
    """How many cases ran, for the test log and docs/reliability.md."""
    yield
    print(f"\ncallback fuzz cases run: {COUNTS} (total {sum(COUNTS.values())})")


def counts():
    return CallEvent.objects.count(), Call.objects.count(), Member.objects.count()


def _post(client, app, body, content_type, sign_params):
    path = f"/callbacks/plivo/{app.phlo_id}/"
    headers = {}
    if sign_params is not None:
        headers = signed_headers(auth_token=app.auth_token, url=f"http://testserver{path}", method="POST",
                                 params=sign_params)
    return client.post(path, data=body, content_type=content_type, headers=headers)


@FUZZ
@given(params=form_params, signed=st.booleans())
def test_form_bodies_never_fail_and_unsigned_ones_change_nothing(client, phlo_app, params, signed):
    COUNTS["form"] = COUNTS.get("form", 0) + 1
    before = counts()
    try:
        response = _post(client, phlo_app, urlencode(params), "application/x-www-form-urlencoded",
                         params if signed else None)
    except Exception as exc:  # the sign helper itself may refuse; the server is what we test
        pytest.fail(f"request raised {exc!r}")
    assert response.status_code in (200, 400, 403), response.content
    assert response.headers["Content-Type"].startswith("application/json")
    if not signed:
        assert response.status_code in (400, 403)
    if response.status_code != 200:
        assert counts() == before
    else:
        assert counts()[0] <= before[0] + 1


@FUZZ
@given(params=json_params)
def test_json_bodies_never_fail_and_forged_ones_change_nothing(client, phlo_app, params):
    COUNTS["json"] = COUNTS.get("json", 0) + 1
    before = counts()
    path = f"/callbacks/plivo/{phlo_app.phlo_id}/"
    forged = {"X-Plivo-Signature-V3": "Zm9yZ2Vk", "X-Plivo-Signature-V3-Nonce": "1"}
    response = client.post(path, data=json.dumps(params), content_type="application/json", headers=forged)
    assert response.status_code in (400, 403)
    assert counts() == before


@FUZZ
@given(body=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"]))
def test_raw_garbage_is_refused_cleanly(client, phlo_app, body, content_type):
    COUNTS["raw"] = COUNTS.get("raw", 0) + 1
    before = counts()
    response = client.post(f"/callbacks/plivo/{phlo_app.phlo_id}/", data=body, content_type=content_type)
    assert response.status_code in (400, 403)
    assert counts() == before


@FUZZ
@given(seq=st.integers(min_value=0, max_value=10**6), replays=st.integers(min_value=1, max_value=4),
       via=st.sampled_from(["form", "json", "GET"]))
def test_replays_of_a_valid_callback_are_applied_once(client, phlo_app, seq, replays, via):
    COUNTS["replay"] = COUNTS.get("replay", 0) + 1
    # examples share one database (the fixture is per test), so each gets a call of its own
    params = participant("ParticipantHold", f"mpc-replay-{uuid.uuid4().hex}", "m1", "+12025550001", seq=seq)
    before = CallEvent.objects.count()
    responses = [
        django_callback(client, phlo_app, params, method="GET" if via == "GET" else "POST",
                        body="json" if via == "json" else "form")
        for _ in range(1 + replays)
    ]
    assert [r.status_code for r in responses] == [200] * (1 + replays)
    assert [r.json()["outcome"] for r in responses[1:]] == ["duplicate"] * replays
    # Every delivery is kept; one of them applied.
    assert CallEvent.objects.count() == before + 1 + replays
    assert CallEvent.objects.filter(params__MPCUUID=params["MPCUUID"]).exclude(outcome="duplicate").count() == 1
    call = Call.objects.get(mpc_uuid=params["MPCUUID"])
    assert call.version == 2 and Member.objects.get(call=call).state == "on_hold"
