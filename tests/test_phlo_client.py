"""phlo/phlo_api.py and phlo/http.py: the exact PHLO requests, the error classes, timeouts and logging."""

import asyncio
import logging
import socket

import httpx
import pytest

from calls.core.upstream import phlo_api
from calls.models import PhloApp
from phlo import http
from phlo.http import Credentials
from phlo.vocabulary import MemberAction
from tests.support.phlo_api import (
    API_ID,
    AUTH_ID,
    AUTH_TOKEN,
    BASIC_AUTH,
    NODE_ID,
    NODE_URL,
    PHLO_BASE_URL,
    PHLO_ID,
    RUN_URL,
    mocked_phlo,
    sent,
)

CREDENTIALS = Credentials(auth_id=AUTH_ID, auth_token=AUTH_TOKEN)
APP = PhloApp(phlo_id=PHLO_ID, node_id=NODE_ID, auth_id=AUTH_ID, auth_token=AUTH_TOKEN)


def api():
    """The client as the desk makes it: from the settings of the moment (calls/core/upstream.py)."""
    return phlo_api(APP)


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


@pytest.mark.parametrize(
    ("call", "method", "url", "body"),
    [
        (lambda c: c.run({"from": "+14155550101", "to": "+12025550001"}),
         "POST", RUN_URL, {"from": "+14155550101", "to": "+12025550001"}),
        (lambda c: c.get_phlo(), "GET", f"{PHLO_BASE_URL}/phlo/{PHLO_ID}/", None),
        (lambda c: c.get_node(), "GET", NODE_URL, None),
        (lambda c: c.get_run("run-1"), "GET", f"{PHLO_BASE_URL}/phlo/{PHLO_ID}/runs/run-1/", None),
        *(
            (lambda c, action=action, role=role: c.node_action(
                action, trigger_source="+14155550101", to="sip:bob@example.com", role=role),
             "POST", NODE_URL,
             {"action": action, "trigger_source": "+14155550101", "to": "sip:bob@example.com", "role": role})
            for action, role in [("call", "customer"), ("warm_transfer", "agent"), ("cold_transfer", "agent")]
        ),
        *(
            (lambda c, action=action: c.member_action(action, member_address="+12025550001"),
             "POST", f"{NODE_URL}members/+12025550001/", {"action": action})
            for action in MemberAction
        ),
    ],
)
async def test_each_request_goes_where_the_sdk_sends_it(phlo, call, method, url, body):
    reply = await call(api())
    assert sent(phlo) == [(method, url, BASIC_AUTH, body)]
    assert reply.status == 201
    assert reply.api_id == API_ID


@pytest.mark.parametrize(
    ("address", "segment"),
    [
        ("+14155550101", "+14155550101"),
        ("14155550101", "14155550101"),
        ("sip:alice@example.com", "sip:alice@example.com"),
        ("sip:a.b+desk;x=1@phone.plivo.com:5080", "sip:a.b+desk;x=1@phone.plivo.com:5080"),
        # What would leave the segment is escaped: the client never lets an address reach another segment.
        ("../../admin?x=1#y z%", "..%2F..%2Fadmin%3Fx=1%23y%20z%25"),
    ],
)
async def test_a_member_address_goes_raw_into_its_path_segment_as_the_sdk_sends_it(phlo, address, segment):
    await api().member_action("hold", member_address=address)
    request = phlo["phlo"].calls.last.request
    assert request.url.raw_path.decode() == f"/v1/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/members/{segment}/"


async def test_the_base_url_is_read_at_each_request(phlo, settings):
    settings.PHLO_BASE_URL = "http://phlo.test/elsewhere/"
    await api().get_phlo()
    assert str(phlo["phlo"].calls.last.request.url) == f"http://phlo.test/elsewhere/phlo/{PHLO_ID}/"


async def test_unknown_actions_and_roles_never_reach_phlo(phlo):
    with pytest.raises(ValueError):
        await api().member_action("mute_all", member_address="+12025550001")
    with pytest.raises(ValueError):
        await api().node_action("call", trigger_source="+14155550101", to="+12025550001", role="supervisor")
    assert not phlo["phlo"].called


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, http.PlivoBadRequest),
        (401, http.PlivoUnauthorized),
        (404, http.PlivoNotFound),
        (405, http.PlivoMethodNotAllowed),
        (403, http.PlivoClientError),
        (422, http.PlivoClientError),
        (500, http.PlivoServerError),
        (503, http.PlivoServerError),
        (302, http.PlivoResponseError),
    ],
)
async def test_each_error_status_has_its_class_and_keeps_what_phlo_said(phlo, status, error_class):
    phlo["phlo"].respond(status, json={"api_id": "api-err", "error": f"it went wrong ({status})"})
    with pytest.raises(error_class) as raised:
        await api().get_phlo()
    assert type(raised.value) is error_class
    failure = raised.value
    assert (failure.status, failure.error, failure.api_id) == (status, f"it went wrong ({status})", "api-err")
    assert isinstance(raised.value, http.PlivoError)


async def test_an_error_without_json_keeps_its_text(phlo):
    phlo["phlo"].respond(502, text="<html>Bad gateway</html>")
    with pytest.raises(http.PlivoServerError) as raised:
        await api().get_phlo()
    assert raised.value.error == "<html>Bad gateway</html>"
    assert raised.value.api_id == ""


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ReadError("connection reset"), httpx.RemoteProtocolError("x")],
)
async def test_a_broken_connection_is_unreachable(phlo, failure):
    phlo["phlo"].side_effect = failure
    with pytest.raises(http.PlivoUnreachable) as raised:
        await api().get_phlo()
    assert raised.value.status is None


async def test_a_refused_connection_is_unreachable(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PHLO_BASE_URL = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(http.PlivoUnreachable) as raised:
        await api().get_phlo()
    assert raised.value.status is None
    assert str(raised.value).startswith("Could not connect to PHLO: ")


async def _serve(handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"


async def test_a_silent_phlo_times_out_after_phlo_timeout(settings):
    async def never_answer(reader, writer):
        await reader.read(65536)
        await asyncio.sleep(10)

    server, settings.PHLO_BASE_URL = await _serve(never_answer)
    settings.PHLO_TIMEOUT = 0.2
    async with server:
        with pytest.raises(http.PlivoTimeout) as raised:
            await api().get_phlo()
    assert 150 <= raised.value.duration_ms < 1000
    assert raised.value.status is None


async def test_an_answer_trickling_in_is_cut_at_phlo_timeout(settings):
    """httpx's timeouts are per read; a byte every 50 ms never trips them, the overall deadline does."""

    async def trickle(reader, writer):
        await reader.read(65536)
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.05)

    server, settings.PHLO_BASE_URL = await _serve(trickle)
    settings.PHLO_TIMEOUT = 0.3
    async with server:
        with pytest.raises(http.PlivoTimeout) as raised:
            await api().get_phlo()
    assert raised.value.duration_ms < 1000


async def test_every_request_is_logged_without_credentials(phlo, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    await api().member_action("hold", member_address="+12025550001")
    phlo["phlo"].respond(404, json={"error": "no such member"})
    with pytest.raises(http.PlivoNotFound):
        await api().get_phlo()

    lines = [r.getMessage() for r in caplog.records if r.name == "phlo"]
    assert len(lines) == 2
    member_path = f"/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/members/+12025550001/"
    assert lines[0].startswith(f"PHLO POST {member_path} -> 201 in ")
    assert lines[0].endswith(" ms")
    assert lines[1].startswith(f"PHLO GET /phlo/{PHLO_ID}/ -> 404 in ")
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert AUTH_TOKEN not in everything
    assert BASIC_AUTH.split()[1] not in everything
    assert "authorization" not in everything.lower()


def test_the_credentials_repr_hides_the_token():
    assert AUTH_TOKEN not in repr(CREDENTIALS)
    assert AUTH_ID in repr(CREDENTIALS)


async def test_one_pooled_client_serves_a_loop():
    assert http.shared_client() is http.shared_client()


def test_each_event_loop_gets_its_own_client():
    async def client_of_this_loop():
        return http.shared_client()

    first, second = asyncio.run(client_of_this_loop()), asyncio.run(client_of_this_loop())
    assert first is not second
