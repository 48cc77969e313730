"""phlo/voice_api.py as the desk builds it (calls/core/upstream.py): the exact Voice API requests, the
errors they end in, the timeout and the log line. The transport they share with PHLO is
tests/test_phlo_client.py's; tests/test_voice_simulator.py sends the same requests to the simulator."""

import asyncio
import logging

import pytest

from calls.core.upstream import voice_api
from calls.models import PhloApp
from phlo import http
from tests.support.phlo_api import AUTH_ID, AUTH_TOKEN, BASIC_AUTH, PHLO_ID, VOICE_BASE_URL, mocked_phlo, sent

APP = PhloApp(phlo_id=PHLO_ID, node_id="node-test-1", auth_id=AUTH_ID, auth_token=AUTH_TOKEN)
MPC = "9d3a1b2c-mpc"
CALL_URL = f"{VOICE_BASE_URL}/Account/{AUTH_ID}/MultiPartyCall/uuid_{MPC}/"


def api():
    return voice_api(APP, MPC)


@pytest.fixture
def plivo(settings):
    with mocked_phlo(settings) as router:
        yield router


@pytest.mark.parametrize(
    ("call", "method", "url", "body"),
    [
        (lambda c: c.add_participant(role="supervisor", from_="+18005550100", to="+14155550199", coach_mode=True,
                                     mute=True),
         "POST", f"{CALL_URL}Participant/",
         {"role": "supervisor", "from": "+18005550100", "to": "+14155550199", "coach_mode": True, "mute": True}),
        (lambda c: c.update_participant("17", coach_mode=False, mute=False),
         "POST", f"{CALL_URL}Participant/17/", {"coach_mode": False, "mute": False}),
        (lambda c: c.update_participant("17", mute=True), "POST", f"{CALL_URL}Participant/17/", {"mute": True}),
        (lambda c: c.update_participant("17", hold=True), "POST", f"{CALL_URL}Participant/17/", {"hold": True}),
        (lambda c: c.remove_participant("17"), "DELETE", f"{CALL_URL}Participant/17/", None),
        (lambda c: c.start_recording(), "POST", f"{CALL_URL}Record/", {"file_format": "mp3"}),
        (lambda c: c.pause_recording(), "POST", f"{CALL_URL}Record/Pause/", {}),
        (lambda c: c.resume_recording(), "POST", f"{CALL_URL}Record/Resume/", {}),
        (lambda c: c.stop_recording(), "DELETE", f"{CALL_URL}Record/", None),
    ],
)
async def test_each_request_goes_where_the_sdk_sends_it(plivo, call, method, url, body):
    reply = await call(api())
    assert sent(plivo, "voice") == [(method, url, BASIC_AUTH, body)]
    assert reply.status == 200 and reply.api_id


async def test_recording_events_are_sent_back_to_the_desk_when_it_knows_its_address(plivo, settings):
    settings.PUBLIC_BASE_URL = "https://cc.example.com"
    await api().start_recording()
    assert sent(plivo, "voice")[0][3] == {
        "file_format": "mp3", "recording_callback_url": f"https://cc.example.com/callbacks/plivo/{PHLO_ID}/",
        "recording_callback_method": "POST",
    }


async def test_an_id_never_leaves_its_path_segment(plivo):
    await voice_api(APP, "../../Call").remove_participant("1/../../x")
    path = plivo["voice"].calls.last.request.url.raw_path.decode()
    assert path == f"/v1/Account/{AUTH_ID}/MultiPartyCall/uuid_..%2F..%2FCall/Participant/1%2F..%2F..%2Fx/"


async def test_an_update_that_changes_nothing_never_reaches_plivo(plivo):
    with pytest.raises(ValueError, match="at least one"):
        await api().update_participant("17")
    with pytest.raises(ValueError):
        await api().add_participant(role="boss", from_="+18005550100", to="+14155550199", coach_mode=True, mute=False)
    assert not plivo["voice"].called


async def test_the_base_url_is_read_at_each_request(plivo, settings):
    settings.PLIVO_API_BASE_URL = "http://voice.test/elsewhere"
    await api().pause_recording()
    assert str(plivo["voice"].calls.last.request.url) == (
        f"http://voice.test/elsewhere/Account/{AUTH_ID}/MultiPartyCall/uuid_{MPC}/Record/Pause/"
    )


@pytest.mark.parametrize(("status", "error_class"), [(400, http.PlivoBadRequest), (401, http.PlivoUnauthorized),
                                                     (404, http.PlivoNotFound), (500, http.PlivoServerError)])
async def test_an_error_names_the_voice_api_and_keeps_what_plivo_said(plivo, status, error_class):
    plivo["voice"].respond(status, json={"api_id": "api-err", "error": "participant not found"})
    with pytest.raises(error_class) as raised:
        await api().update_participant("17", mute=True)
    failure = raised.value
    assert (failure.upstream, failure.status, failure.error, failure.api_id) == (
        "Plivo Voice API", status, "participant not found", "api-err"
    )
    assert str(failure) == f"Plivo Voice API answered {status}: participant not found"


async def test_a_silent_voice_api_times_out_after_phlo_timeout(settings):
    async def never_answer(reader, writer):
        await reader.read(65536)
        await asyncio.sleep(10)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    settings.PLIVO_API_BASE_URL = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    settings.PHLO_TIMEOUT = 0.2
    async with server:
        with pytest.raises(http.PlivoTimeout) as raised:
            await api().start_recording()
    assert str(raised.value) == "Plivo Voice API did not answer within 0.2 s"


async def test_every_request_is_logged_without_credentials(plivo, caplog):
    caplog.set_level(logging.DEBUG)
    await api().add_participant(role="supervisor", from_="+18005550100", to="+14155550199", coach_mode=True,
                                mute=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "phlo"]
    assert len(lines) == 1
    assert lines[0].startswith(
        f"Plivo Voice API POST /Account/{AUTH_ID}/MultiPartyCall/uuid_{MPC}/Participant/ -> 200 in "
    )
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert AUTH_TOKEN not in everything and BASIC_AUTH.split()[1] not in everything
