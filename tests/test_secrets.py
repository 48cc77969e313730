"""Secrets stay secret: a PHLO app's auth token, people's passwords, API tokens and session keys
never appear in an API response, a page (the admin's and /api/docs/, /api/schema/ included), a
WebSocket message or a log line.

Two flows, each grepped whole for every secret it used:
- in-process, with every logger at DEBUG (caplog): sign-ins right, wrong and throttled; signed
  and forged callbacks; actions with PHLO (respx) answering success, 500, 401, a timeout and a
  refused connection; every page, the API and the admin, including a token rotation and failed
  admin forms;
- over real sockets: Daphne and the PHLO simulator as processes at LOG_LEVEL=DEBUG with DEBUG on,
  a dashboard socket, calls and actions through the simulator with its faults, an admin token
  rotation; then Daphne's and the simulator's log files are grepped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import time

import httpx
import pytest
import websockets
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.login_guard import MAX_FAILURES
from tests.factories import NO_SKILLS_INLINE, PhloAppFactory
from tests.support.phlo_api import live_call, mocked_phlo
from tests.support.plivo import django_callback, mpc_event, participant
from tests.support.servers import Stack, free_port, stop, wait_for_port

PHLO_TOKEN = "test-auth-token-do-not-leak"  # tests.factories.PhloAppFactory's
ROTATED_TOKEN = "rotated-phlo-token-do-not-leak"
PASSWORD = "correct-horse-1"  # tests.factories.UserFactory's
WRONG_PASSWORD = "wrong-guess-do-not-log-7"
NEW_PASSWORD = "new-password-do-not-leak-9"
OPERATOR_PASSWORD = "operator-password-do-not-leak"


class Seen:
    """Everything the flow showed anyone: bodies and headers of responses."""

    def __init__(self):
        self.texts: list[str] = []

    def __call__(self, response):
        self.texts.append(response.content.decode("utf-8", "replace"))
        self.texts.append(str(response.headers if hasattr(response, "headers") else response.items()))
        return response


def assert_nowhere(secrets: list[str], texts: list[str]) -> None:
    for secret in secrets:
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"{secret!r} leaked: {leaks[0][:2000]}"


def everything_logged(caplog) -> list[str]:
    texts = [caplog.text]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), str(record.exc_text or ""), repr(record.__dict__)]
    return texts


@pytest.fixture
def debug_logs(caplog, monkeypatch):
    """Every logger at DEBUG, the quiet ones too (settings raise httpx and Daphne's to WARNING),
    into caplog only: the console handler of settings.LOGGING stays at WARNING (`pytest -s`)."""
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            monkeypatch.setattr(handler, "level", logging.WARNING)
    for name in ("", "django", "django.request", "django.security", "django.db.backends", "httpx", "httpcore",
                 "calls", "agents", "desk", "contactcenter", "django.channels.server"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.mark.django_db
def test_no_secret_in_any_response_or_log_line_in_process(settings, debug_logs, agent, other_agent, supervisor):
    seen = Seen()
    app = PhloAppFactory()
    get_user_model().objects.create_superuser("op", "op@example.com", OPERATOR_PASSWORD)
    live = live_call(app, agent)
    api_token = Token.objects.create(user=agent.user).key

    # Signing in: right, wrong, throttled; by the login page and by the token endpoint.
    browser = Client()
    seen(browser.get("/login/"))
    seen(browser.post("/login/", {"username": "alice", "password": WRONG_PASSWORD}))
    seen(APIClient().post("/api/auth/token/", {"username": "alice", "password": WRONG_PASSWORD}, format="json"))
    seen(APIClient().post("/api/auth/token/", {"username": "oscar", "password": PASSWORD}, format="json"))
    for _ in range(MAX_FAILURES):
        APIClient().post("/api/auth/token/", {"username": "sam", "password": WRONG_PASSWORD}, format="json")
    seen(APIClient().post("/api/auth/token/", {"username": "sam", "password": PASSWORD}, format="json"))
    seen(browser.post("/login/", {"username": "alice", "password": PASSWORD}))
    session_key = browser.session.session_key

    # Callbacks: a story on the call, a forged one, a broken one.
    plivo = Client()
    for params in (
        participant("ParticipantHold", live.call.mpc_uuid, live.customer.member_id, live.customer.address, seq=1),
        participant("ParticipantUnhold", live.call.mpc_uuid, live.customer.member_id, live.customer.address, seq=2),
        mpc_event("MPCStart", "mpc-new", seq=1),
    ):
        assert seen(django_callback(plivo, app, params)).status_code == 200
    forged = django_callback(plivo, app, mpc_event("MPCEnd", "mpc-new", seq=9), sign_with="forged")
    assert seen(forged).status_code == 403
    seen(plivo.post(f"/callbacks/plivo/{app.phlo_id}/", "{nope", content_type="application/json"))

    # Actions, with PHLO succeeding and failing every way.
    api = APIClient(HTTP_AUTHORIZATION=f"Token {api_token}")
    hold = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/"
    unhold = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/unhold/"
    with mocked_phlo(settings) as phlo:
        route = phlo["phlo"]
        for answer in (
            httpx.Response(500, json={"api_id": "a1", "error": "internal"}),
            httpx.Response(401, json={"api_id": "a2", "error": "Could not verify your access level"}),
            httpx.Response(400, text="<html>bad gateway page</html>"),
            httpx.ReadTimeout("timed out"),
            httpx.ConnectError("connection refused"),
        ):
            route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)
            assert seen(api.post(hold)).status_code in (502, 504)
        route.mock(return_value=httpx.Response(201, json={"api_id": "ok", "error": ""}))
        assert seen(api.post(hold)).status_code == 200
        assert seen(api.post(unhold)).status_code == 200
        assert seen(api.post("/api/calls/", {"to": "+12025550188"}, format="json")).status_code == 201
        assert seen(api.post(f"/api/calls/{live.call.pk}/warm-transfer/", {"to": "sip:bob@example.com"},
                             format="json")).status_code == 200
        assert "Basic " in sent_authorization(route)  # the token did travel, to PHLO only

    # The API, the pages, the docs.
    for path in ("/api/me/", "/api/agents/", "/api/calls/", "/api/calls/?status=ended", f"/api/calls/{live.call.pk}/",
                 "/api/schema/", "/api/docs/", "/healthz"):
        seen(api.get(path))
    for who in (agent, supervisor):
        page = Client()
        page.force_login(who.user)
        for path in ("/", "/agent/", "/supervisor/"):
            seen(page.get(path))

    # The admin: PHLO apps (a rotation, a failed form with a typed token), agents (a new password,
    # a failed form with one typed), users, calls with their events and actions.
    admin = Client()
    seen(admin.post("/admin/login/", {"username": "op", "password": OPERATOR_PASSWORD, "next": "/admin/"}))
    change = f"/admin/calls/phloapp/{app.pk}/change/"
    form = {"name": app.name, "phlo_id": app.phlo_id, "node_id": app.node_id, "auth_id": app.auth_id,
            "is_default": "on"}
    assert seen(admin.post(change, {**form, "name": "", "auth_token": ROTATED_TOKEN})).status_code == 200
    assert seen(admin.post(change, {**form, "auth_token": ROTATED_TOKEN})).status_code == 302
    agent_change = f"/admin/agents/agent/{agent.pk}/change/"
    agent_form = {
        "username": "alice", "name": "Alice", "address": agent.address, "status": "available", **NO_SKILLS_INLINE
    }
    assert seen(admin.post(agent_change, {**agent_form, "address": "not a number", "password": NEW_PASSWORD})
                ).status_code == 200
    assert seen(admin.post(agent_change, {**agent_form, "password": NEW_PASSWORD})).status_code == 302
    for path in ("/admin/", "/admin/calls/phloapp/", change, f"/admin/calls/phloapp/{app.pk}/history/",
                 f"/admin/calls/phloapp/{app.pk}/delete/", "/admin/calls/phloapp/add/", "/admin/calls/call/",
                 f"/admin/calls/call/{live.call.pk}/change/", "/admin/calls/callevent/", "/admin/calls/action/",
                 "/admin/agents/agent/", agent_change, "/admin/auth/user/", f"/admin/auth/user/{agent.user_id}/change/",
                 f"/admin/auth/user/{agent.user_id}/password/"):
        assert seen(admin.get(path)).status_code == 200, path
    # DRF's token admin would list every API token in clear: it is switched off.
    assert seen(admin.get("/admin/authtoken/tokenproxy/")).status_code == 404

    secrets = [PHLO_TOKEN, ROTATED_TOKEN, PASSWORD, WRONG_PASSWORD, NEW_PASSWORD, OPERATOR_PASSWORD]
    assert_nowhere([*secrets, api_token], seen.texts)  # alice's API token was never handed out here
    # API tokens and session keys belong in the headers that carry them, never in a log line.
    assert_nowhere([*secrets, api_token, session_key, admin.session.session_key], everything_logged(debug_logs))
    assert len(debug_logs.records) > 20  # the flow did log: PHLO requests, refusals, errors
    print(f"\nsecrets in-process: {len(secrets) + 3} secrets, {len(seen.texts) // 2} responses and "
          f"{len(debug_logs.records)} DEBUG log records grepped, 0 found")


def sent_authorization(route) -> str:
    return " ".join(call.request.headers.get("authorization", "") for call in route.calls)


# --- over real sockets -------------------------------------------------------------------------------

STACK_TOKEN = "stack-phlo-token-do-not-leak"
STACK_ROTATED = "stack-rotated-token-do-not-leak"
STACK_PASSWORD = "stack-password-do-not-leak"
SET_UP = """
from django.contrib.auth import get_user_model
from django.core.management import call_command

call_command("configure_phlo", "--name", "Secrets", "--phlo-id", "phlo-s", "--node-id", "node-s",
             "--auth-id", "MASECRETS", "--auth-token", {token!r}, "--default")
call_command("create_agent", "alice", "--password", {password!r}, "--address", "+14155550101")
call_command("create_agent", "sam", "--password", {password!r}, "--address", "+14155550199", "--supervisor")
get_user_model().objects.create_superuser("op", "op@example.com", {password!r})
"""


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


async def dashboard(ws_url: str, token: str, ready: asyncio.Event, received: list[str]) -> None:
    async with websockets.connect(f"{ws_url}/ws/dashboard/?token={token}") as ws:
        received.append(await ws.recv())
        ready.set()
        try:
            while True:
                received.append(await asyncio.wait_for(ws.recv(), timeout=30))
        except (TimeoutError, asyncio.CancelledError, websockets.ConnectionClosed):
            pass


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_no_secret_in_responses_socket_messages_or_server_logs(tmp_path):
    stack = Stack(tmp_path).setup()
    simulator = None
    try:
        stack.manage("shell", "-c", SET_UP.format(token=STACK_TOKEN, password=STACK_PASSWORD))
        simulator_port, daphne_port = free_port(), free_port()
        simulator = stack.start_simulator(simulator_port, callback_port=daphne_port,
                                          options=("-v", "2", "--ring-seconds", "0.05"), LOG_LEVEL="DEBUG")
        daphne = stack.start_daphne(daphne_port, PHLO_BASE_URL=f"http://127.0.0.1:{simulator_port}/v1",
                                    PHLO_TIMEOUT="1", LOG_LEVEL="DEBUG")
        wait_for_port(simulator_port, timeout=60, process=simulator)
        texts, secrets, log_secrets = asyncio.run(
            stack_flow(daphne.url, daphne.ws_url, f"http://127.0.0.1:{simulator_port}")
        )
    finally:
        if simulator is not None:
            stop(simulator, signal.SIGINT)
        stack.stop()
    logs = [daphne.log(), (stack.workdir / "simulator.log").read_text(errors="replace")]
    assert "PHLO POST" in logs[0] and "DEBUG" in logs[0]  # the log is really at DEBUG, with the flow in it
    assert_nowhere(secrets, texts)
    assert_nowhere(secrets + log_secrets, logs)
    print(f"\nsecrets over sockets: {len(secrets) + len(log_secrets)} secrets, {len(texts)} responses, headers and "
          f"socket messages, {sum(len(log.splitlines()) for log in logs)} log lines grepped, 0 found")


async def stack_flow(url: str, ws_url: str, simulator_url: str) -> tuple[list[str], list[str], list[str]]:
    """What everyone was shown; the secrets none of it may hold; the ones no log line may hold
    (an API token or a session key is shown to its owner, in the answer or cookie that hands it out)."""
    texts: list[str] = []

    def keep(response: httpx.Response) -> httpx.Response:
        texts.extend([response.text, str(response.headers)])
        return response

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        keep(await http.post("/api/auth/token/", json={"username": "alice", "password": WRONG_PASSWORD}))
        alice = keep(await http.post("/api/auth/token/", json={"username": "alice", "password": STACK_PASSWORD}))
        sam = keep(await http.post("/api/auth/token/", json={"username": "sam", "password": STACK_PASSWORD}))
        alice_token, sam_token = alice.json()["token"], sam.json()["token"]
        as_alice = {"Authorization": f"Token {alice_token}"}

        received: list[str] = []
        ready = asyncio.Event()
        wall = asyncio.ensure_future(dashboard(ws_url, sam_token, ready, received))
        await asyncio.wait_for(ready.wait(), timeout=30)

        call = keep(await http.post("/api/calls/", json={"to": "+12025550100"}, headers=as_alice)).json()
        customer = await wait_for_customer(http, call["id"], as_alice, keep)
        hold = f"/api/calls/{call['id']}/members/{customer['id']}/hold/"
        for knobs in ({"error_rate": 1.0}, {"token_rotated": True}, {"stuck": True}):
            await http.post(f"{simulator_url}/_sim/faults/", json=knobs)
            assert keep(await http.post(hold, headers=as_alice)).status_code in (502, 504)
            await http.delete(f"{simulator_url}/_sim/faults/")

        # The operator rotates the PHLO token in the admin; the simulator picks the new one up.
        admin = httpx.AsyncClient(base_url=url, timeout=30)
        async with admin:
            login = keep(await admin.get("/admin/login/"))
            keep(await admin.post("/admin/login/", data={
                "username": "op", "password": STACK_PASSWORD, "next": "/admin/",
                "csrfmiddlewaretoken": csrf_of(login.text)}))
            change = keep(await admin.get("/admin/calls/phloapp/1/change/"))
            assert change.status_code == 200, change.text[:500]
            saved = keep(await admin.post("/admin/calls/phloapp/1/change/", data={
                "name": "Secrets", "phlo_id": "phlo-s", "node_id": "node-s", "auth_id": "MASECRETS",
                "auth_token": STACK_ROTATED, "is_default": "on", "csrfmiddlewaretoken": csrf_of(change.text)}))
            assert saved.status_code == 302, saved.text[:2000]
            for path in ("/admin/calls/phloapp/1/change/", "/admin/calls/phloapp/1/history/", "/admin/calls/action/",
                         f"/admin/calls/call/{call['id']}/change/", "/admin/auth/user/1/change/"):
                keep(await admin.get(path))
            session_key = admin.cookies.get("sessionid")
        assert keep(await http.post(hold, headers=as_alice)).status_code == 200  # the rotated token works
        for path in ("/api/me/", "/api/agents/", "/api/calls/", f"/api/calls/{call['id']}/", "/api/schema/",
                     "/api/docs/"):
            keep(await http.get(path, headers=as_alice))
        deadline = time.monotonic() + 10
        while not any('"on_hold"' in message for message in received) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        wall.cancel()
        await asyncio.gather(wall, return_exceptions=True)
    assert any('"on_hold"' in message for message in received), "the wall saw the call"
    texts.extend(received)
    return texts, [STACK_TOKEN, STACK_ROTATED, STACK_PASSWORD, WRONG_PASSWORD], [alice_token, sam_token, session_key]


async def wait_for_customer(http, call_id: int, headers: dict, keep) -> dict:
    deadline = time.monotonic() + 30
    while True:
        call = keep(await http.get(f"/api/calls/{call_id}/", headers=headers)).json()
        connected = [m for m in call["members"] if m["role"] == "customer" and m["state"] == "connected"]
        if connected and call["status"] == "active":
            return connected[0]
        assert time.monotonic() < deadline, call
        await asyncio.sleep(0.1)
