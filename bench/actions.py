"""Action overhead: hold/unhold through our API (`POST /api/calls/{id}/members/{mid}/hold/`) against the
same PHLO request sent straight to the PHLO simulator; the difference of the medians is what the desk adds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from urllib.parse import quote

import httpx

from bench.common import AUTH_TOKEN, PHLO_ID, log
from tests.support.servers import ROOT, free_port, stop, wait_for_port

ROUNDS = 4
PER_ROUND = 10
# Between two actions: the simulator's callback for the first lands before the second is asked for
# (a late callback would otherwise correct the second action's implied state, and the next one get 409).
SETTLE_SECONDS = 0.15
CUSTOMER = "+12029990001"


def _wait_for_connected_customer(api: httpx.Client, call_id: int, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        call = api.get(f"/api/calls/{call_id}/").json()
        for member in call.get("members", []):
            if member["role"] == "customer" and member["state"] == "connected":
                return member
        time.sleep(0.1)
    raise TimeoutError(f"call {call_id} has no connected customer after {timeout}s")


def _timed(client: httpx.Client, path: str, expect: int, **kwargs) -> float:
    started = time.perf_counter()
    response = client.post(path, **kwargs)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != expect:
        raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return elapsed


def measure_actions(bench) -> dict:
    sim_port = free_port()
    server = bench.server("daphne", PHLO_BASE_URL=f"http://127.0.0.1:{sim_port}/v1")
    log_file = open(bench.workdir / "simulator.log", "ab")  # noqa: SIM115 - closed with the process
    simulator = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "phlo_simulator",
            "--port",
            str(sim_port),
            "--callback-base",
            server.url,
            "--ring-seconds",
            "0.05",
            "--callback-latency",
            "0.005",
        ],
        cwd=ROOT,
        env=bench.stack.env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    bench.cleanup.append(lambda: (stop(simulator), log_file.close()))
    try:
        wait_for_port(sim_port, process=simulator, timeout=60)
        headers = {"Authorization": f"Token {bench.tokens['agent0']}"}
        with (
            httpx.Client(base_url=server.url, headers=headers, timeout=30) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{sim_port}/v1", auth=("MABENCH", AUTH_TOKEN), timeout=30) as phlo,
        ):
            created = api.post("/api/calls/", json={"to": CUSTOMER})
            if created.status_code != 201:
                raise RuntimeError(f"POST /api/calls/: {created.status_code} {created.text[:300]}")
            call_id = created.json()["id"]
            customer = _wait_for_connected_customer(api, call_id)
            ours_path = f"/api/calls/{call_id}/members/{customer['id']}"
            direct_path = f"/phlo/{PHLO_ID}/multi_party_call/bench-node/members/{quote(customer['address'], safe='')}/"
            ours: list[float] = []
            direct: list[float] = []
            for _ in range(ROUNDS):
                for _ in range(PER_ROUND):
                    for action in ("hold", "unhold"):
                        ours.append(_timed(api, f"{ours_path}/{action}/", 200))
                        time.sleep(SETTLE_SECONDS)
                for _ in range(PER_ROUND):
                    for action in ("hold", "unhold"):
                        direct.append(_timed(phlo, direct_path, 201, json={"action": action}))
                        time.sleep(SETTLE_SECONDS)
                _wait_for_connected_customer(api, call_id)
    finally:
        stop(simulator)
        log_file.close()
        server.stop()
    figures = {
        "ours_p50": statistics.median(ours),
        "direct_p50": statistics.median(direct),
        "ours_p95": sorted(ours)[int(0.95 * len(ours))],
        "direct_p95": sorted(direct)[int(0.95 * len(direct))],
        "n": len(ours),
    }
    figures["overhead_p50"] = figures["ours_p50"] - figures["direct_p50"]
    log(
        f"actions: ours p50 {figures['ours_p50']:.2f} ms, PHLO simulator direct p50 {figures['direct_p50']:.2f} ms "
        f"→ overhead {figures['overhead_p50']:.2f} ms"
    )
    return figures
