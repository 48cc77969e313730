"""/metrics over real sockets: two Daphne processes on one database, each counting what it served,
scraped with the bearer token; and JSON log lines an operator's shipper can read."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets

from tests.support.plivo import participant, signed_headers
from tests.support.servers import Stack, free_port, wait_for_http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PHLO_ID, AUTH_TOKEN, METRICS_TOKEN = "phlo-metrics", "metrics-auth-token", "scrape-token-123"
SET_UP = """
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from agents.accounts import agent_create_or_update
call_command("configure_phlo", "--name", "Metrics", "--phlo-id", {phlo_id!r}, "--node-id", "n1",
             "--auth-id", "MAMETRICS", "--auth-token", {auth_token!r}, "--default")
sam, _ = agent_create_or_update(username="sam", password=None, address="+14155558199", is_supervisor=True)
alice, _ = agent_create_or_update(username="alice", password=None, address="+14155558101")
print(Token.objects.get_or_create(user=sam.user)[0].key, Token.objects.get_or_create(user=alice.user)[0].key)
"""


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    stack = Stack(
        tmp_path_factory.mktemp("metrics"), METRICS_TOKEN=METRICS_TOKEN, LOG_FORMAT="json", LOG_LEVEL="INFO",
        PHLO_BASE_URL=f"http://127.0.0.1:{free_port()}/v1", PHLO_TIMEOUT="1",  # nobody listens there
    ).setup()
    try:
        set_up = stack.manage("shell", "-c", SET_UP.format(phlo_id=PHLO_ID, auth_token=AUTH_TOKEN))
        sam, alice = set_up.stdout.strip().splitlines()[-1].split()
        a, b = stack.start_daphne(), stack.start_daphne()
        for daphne in (a, b):
            wait_for_http(f"{daphne.url}/healthz")
        yield a, b, sam, alice
    finally:
        stack.stop()


async def scrape(http: httpx.AsyncClient, daphne, token: str | None = METRICS_TOKEN) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.get(f"{daphne.url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def value(text: str, sample: str) -> float:
    found = re.search(r"^" + re.escape(sample) + r" (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def send(http: httpx.AsyncClient, daphne, params: dict, *, token: str = AUTH_TOKEN) -> httpx.Response:
    url = daphne.callback_url(PHLO_ID)
    headers = signed_headers(auth_token=token, url=url, method="POST", params=params)
    return await http.post(url, data=params, headers=headers)


async def test_each_process_counts_what_it_served(two_processes):
    a, b, sam, _alice = two_processes
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{a.url}/metrics")).status_code == 401  # a token is set: none given
        assert (await http.get(f"{a.url}/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        before_a, before_b = await scrape(http, a), await scrape(http, b)
        async with websockets.connect(f"{a.ws_url}/ws/dashboard/?token={sam}") as wall:
            assert json.loads(await wall.recv())["type"] == "snapshot"
            for n in range(3):
                joined = participant("ParticipantJoin", f"mpc-m{n}", "c1", f"+120255581{n:02d}", seq=1)
                response = await send(http, a, joined)
                assert response.status_code == 200
            await send(http, b, participant("ParticipantJoin", "mpc-mb", "c1", "+12025558200", seq=1))
            assert (await send(http, b, participant("ParticipantHold", "mpc-mb", "c1", "+12025558200", seq=2),
                               token="forged")).status_code == 403
            for _ in range(3):  # the wall sees A's three calls appear
                while json.loads(await asyncio.wait_for(wall.recv(), 5))["type"] != "call.updated":
                    pass
            after_a = await scrape(http, a)
        after_b = await scrape(http, b)
        held = await http.post(f"{a.url}/api/calls/1/members/1/hold/", headers={"Authorization": f"Token {sam}"})
        after_action = await scrape(http, a)

    applied = f'desk_callbacks_total{{app="{PHLO_ID}",family="participant-state",outcome="applied"}}'
    forged = f'desk_callbacks_total{{app="{PHLO_ID}",family="-",outcome="bad signature"}}'
    assert value(after_a, applied) - value(before_a, applied) == 3
    assert value(after_b, applied) - value(before_b, applied) == 1
    assert value(after_b, forged) - value(before_b, forged) == 1 and value(after_a, forged) == value(before_a, forged)
    assert value(after_a, 'desk_websockets{role="supervisor"}') == 1
    assert value(after_b, 'desk_websockets{role="supervisor"}') == 0
    assert value(after_a, "desk_fanout_lag_seconds_count") >= 3  # each call change fanned out on A
    intake = "desk_callback_intake_seconds_count"
    assert value(after_a, intake) - value(before_a, intake) == 3
    assert value(after_b, 'desk_calls_waiting{queue=""}') == 4  # the database's figure, the same on every process
    assert held.status_code == 502  # PHLO is unreachable here
    unreachable = 'desk_upstream_requests_total{action="hold",status="unreachable",upstream="PHLO"}'
    assert value(after_action, unreachable) == 1


def test_json_log_lines_say_what_happened_and_nothing_secret(two_processes):
    a, *_ = two_processes
    lines = [json.loads(line) for line in a.log().splitlines() if line.startswith("{")]
    callbacks = [line for line in lines if line["logger"] == "calls.intake.views"]
    assert callbacks, a.log()
    fields = {"time", "level", "message", "app", "family", "event", "outcome", "status", "duration_ms"}
    assert fields <= set(callbacks[0])
    upstream = [line for line in lines if line["logger"] == "phlo"]
    assert upstream and upstream[0]["upstream"] == "PHLO" and upstream[0]["status"] == "unreachable"
    assert AUTH_TOKEN not in a.log() and METRICS_TOKEN not in a.log()
