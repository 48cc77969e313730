"""`make run` ends in `manage.py demo`: on a fresh database it serves the desk, brings the wall to
life with simulated customers, prints the logins, and one Ctrl-C stops everything."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest
import websockets

from tests.support.servers import PYTHON, ROOT, base_env, free_port, wait_for_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class Output:
    """A child's output, read line by line in the background so its pipe never fills up."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text, re.MULTILINE)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never appeared in:\n{self.text}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _answer(url: str) -> tuple[int, str]:
    """Status and Location of one request, redirects not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
            return response.status, response.headers.get("Location", "")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", "")


@pytest.fixture
def demo(tmp_path):
    """`manage.py demo` on free ports and a fresh database, as `make run` starts it (DEBUG on, no secret)."""
    port, simulator_port = free_port(), free_port()
    env = base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    del env["SECRET_KEY"]
    process = subprocess.Popen(
        [PYTHON, "manage.py", "demo", "--port", str(port), "--simulator-port", str(simulator_port),
         "--calls-per-minute", "60"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output = Output(process.stdout)
    children: list[int] = []
    try:
        pids = output.wait_for(r"PHLO simulator pid (\d+), Daphne pid (\d+)", timeout=120)
        children.extend(int(pid) for pid in pids.groups())
        yield process, output, port, simulator_port, children
    finally:
        if process.poll() is None:  # the test failed before stopping it: stop it the polite way first
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_demo_serves_the_desk_and_one_ctrl_c_stops_it(demo):
    process, output, port, simulator_port, children = demo
    desk = f"http://127.0.0.1:{port}"

    assert _answer(f"{desk}/") == (302, "/login/")
    assert _answer(f"{desk}/healthz")[0] == 200
    password = output.wait_for(r"^\s*supervisor\s+supervisor\s+(\S+)\s+\+\d+\s", timeout=5).group(1)
    for agent in ("alice", "bob", "carol", "dave"):
        assert re.search(rf"^\s*agent\s+{agent}\s+\S+\s+\+\d+\s+(available|offline)$", output.text, re.MULTILINE)
    assert f"http://127.0.0.1:{simulator_port}/v1/" in output.text

    call = asyncio.run(_first_simulated_call(desk, password))
    assert {m["role"] for m in call["members"]} >= {"customer"}

    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0, output.text
    assert "Demo stopped." in output.text
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in children), "the simulator and Daphne stop with the demo"
    with pytest.raises(TimeoutError):
        wait_for_port(port, timeout=0.5)


async def _first_simulated_call(desk: str, password: str) -> dict:
    """The first call a simulated customer made, as the supervisor's wall shows it."""
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{desk}/api/auth/token/", json={"username": "supervisor", "password": password})
        assert response.status_code == 200, response.text
        token = response.json()["token"]
    ws_url = desk.replace("http://", "ws://") + f"/ws/dashboard/?token={token}"
    async with websockets.connect(ws_url) as ws:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
            for call in message.get("calls", []) + ([message["call"]] if "call" in message else []):
                if any(m["role"] == "customer" for m in call["members"]):
                    return call
    raise AssertionError("no simulated call reached the wall")
