"""kill -9 under a steady callback load: every callback answered 200 survives and is applied once;
Plivo's retries after the restart are deduplicated; a dashboard reconnects to the truth."""

import asyncio
import json
import signal
import sqlite3
import threading
import time
from urllib.parse import urlencode

import httpx
import pytest
import websockets

from tests.support.plivo import participant, signed_headers
from tests.support.servers import running_stack, wait_for_port

pytestmark = pytest.mark.slow

TOKEN = "durability-token"
EVENTS = 400
RATE = 80  # callbacks a second, steady
REPORT: dict[str, int] = {}


def callbacks():
    """Members joining one long call: one member per event, so each applied event is countable."""
    return [participant("ParticipantJoin", "mpc-durable", f"m{i}", f"+1202555{i:04d}", seq=i + 1)
            for i in range(EVENTS)]


def deliver(client: httpx.Client, url: str, params: dict) -> int | None:
    headers = signed_headers(auth_token=TOKEN, url=url, method="POST", params=params)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        return client.post(url, content=urlencode(params), headers=headers, timeout=5).status_code
    except httpx.HTTPError:
        return None


def supervisor_token(base: str) -> str:
    return httpx.post(f"{base}/api/auth/token/", json={"username": "sup", "password": "sup-password-1"}).json()["token"]


async def snapshot(ws_url: str, token: str) -> dict:
    async with websockets.connect(f"{ws_url}/ws/dashboard/?token={token}") as ws:
        return json.loads(await ws.recv())


def test_kill_9_under_load_loses_nothing_answered(tmp_path):
    with running_stack(tmp_path) as stack:
        stack.manage("configure_phlo", "--name", "Durable", "--phlo-id", "phlo-d", "--node-id", "n",
                     "--auth-id", "MA", "--auth-token", TOKEN)
        stack.manage("create_agent", "sup", "--password", "sup-password-1", "--address", "+14155550199",
                     "--supervisor")
        daphne = stack.start_daphne()
        url = daphne.callback_url("phlo-d")
        answered: dict[int, int | None] = {}
        events = callbacks()

        def steady_load():
            with httpx.Client() as client:
                for i, params in enumerate(events):
                    started = time.monotonic()
                    answered[i] = deliver(client, url, params)
                    time.sleep(max(0.0, 1 / RATE - (time.monotonic() - started)))

        sender = threading.Thread(target=steady_load)
        sender.start()
        time.sleep(2.0)
        daphne.process.send_signal(signal.SIGKILL)  # mid-stream, no goodbye
        daphne.process.wait()
        sender.join()
        ok_before_crash = [i for i, status in answered.items() if status == 200]
        failed = [i for i, status in answered.items() if status != 200]
        assert ok_before_crash and failed, "the crash must land mid-stream"

        restarted = stack.start_daphne(port=daphne.port)
        wait_for_port(restarted.port)
        # Plivo retries what it got no 200 for; it also re-sends some it did (answers lost in flight).
        with httpx.Client() as client:
            retry_statuses = [deliver(client, url, events[i]) for i in failed + ok_before_crash[-20:]]
        token = supervisor_token(restarted.url)
        snap = asyncio.run(snapshot(restarted.ws_url, token))

    db = sqlite3.connect(tmp_path / "db.sqlite3")
    stored = {row[0] for row in db.execute("select params from calls_callevent")}
    stored_members = {json.loads(p)["MemberID"] for p in stored}
    joined = {row[0] for row in db.execute("select member_id from calls_member where state = 'connected'")}
    REPORT.update(events=EVENTS, answered_before_crash=len(ok_before_crash), unanswered=len(failed),
                  retried=len(retry_statuses), stored=len(stored))
    print(f"\ncrash durability: {REPORT}")
    assert retry_statuses == [200] * len(retry_statuses)
    # Every callback answered 200 before the crash is stored and applied …
    assert {f"m{i}" for i in ok_before_crash} <= stored_members
    assert {f"m{i}" for i in ok_before_crash} <= joined
    # … and after the retries every event is there exactly once (the repeats kept as duplicates).
    assert db.execute("select count(*) from calls_callevent where outcome != 'duplicate'").fetchone() == (EVENTS,)
    assert len(joined) == EVENTS
    # The reconnected dashboard shows the truth.
    (call,) = snap["calls"]
    version = db.execute("select version from calls_call").fetchone()[0]
    assert call["version"] == version and len(call["members"]) == EVENTS
