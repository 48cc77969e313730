"""`make bench`: one Daphne process under signed Plivo callbacks, measured against Daphne's own ceiling.

Phases (each server is started fresh and stopped after; all share one seeded SQLite database):
1. Daphne, in-memory layer, 200 agent + 20 supervisor sockets: a ladder of rates climbing from
   10 callbacks/s to the highest that holds p99 ≤ 100 ms, confirmed for 60 s; then the target load
   (100 callbacks/s); each step after an overloaded one waits for the server to settle;
   per-callback server CPU at 20 and at 500 sockets; the bare async view's ceiling on the same process.
2. uvicorn on the same application: the target load and a ladder.
3. Daphne with REDIS_URL (channels-redis pub/sub on a local redis-server): ladder, confirm, target load.
4. Idle sockets: Daphne's RSS with 1,000 and 5,000 connected dashboards.
5. Action overhead: hold/unhold through our API vs the same request straight to the PHLO simulator.
6. History: filtered pages of a million calls on PostgreSQL (bench/history.py).

Results: bench/results/<stamp>/results.json (git-ignored), docs/benchmarks.md, docs/benchmarks-latency.png.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.limits import raise_fd_limit
from bench.measure import Calls, ClientProcess, SocketPlan, StepResult, run_step
from bench.servers import bench_stack, start_server
from tests.support.servers import ROOT, RedisServer

PASSWORD = "bench-password-1"
PHLO_ID = "bench-phlo"
AUTH_TOKEN = "bench-auth-token"
AGENTS = 480
SUPERVISORS = 20
TARGET_RATE = 100
TARGET_AGENT_SOCKETS = 200
RATES = [10, 25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500]


@dataclass
class Durations:
    target: float
    step: float
    confirm: float
    cpu: float
    bare_confirm: float

    @classmethod
    def full(cls) -> Durations:
        return cls(target=30, step=10, confirm=60, cpu=15, bare_confirm=30)

    @classmethod
    def quick(cls) -> Durations:
        return cls(target=6, step=4, confirm=8, cpu=5, bare_confirm=5)


@dataclass
class Report:
    machine: dict = field(default_factory=dict)
    steps: dict[str, list[dict]] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, phase: str, step: StepResult) -> StepResult:
        self.steps.setdefault(phase, []).append({**step.as_dict(), "holds": step.holds, "clean": step.clean})
        lat = step.socket_latency if step.socket_latency.get("n") else step.http
        print(
            f"  [{phase}] {step.label}: {step.rate:.0f}/s → {step.achieved_rate:.0f}/s, {step.sockets} sockets, "
            f"p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f} ms "
            f"(http p99 {step.http['p99']:.1f}), lost {step.lost} dup {step.duplicated} unexpected {step.unexpected} "
            f"non-200 {step.non_200} seq-err {step.seq_errors} irregular {step.irregular_calls}, "
            f"cpu {step.cpu_per_callback_ms:.2f} ms/cb ({step.cpu_utilisation:.0%}), "
            f"send lag max {step.send_lag_max_ms:.1f} ms, conns {step.connections_opened} → "
            f"{'holds' if step.holds else 'does not hold'}",
            flush=True,
        )
        return step


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def login_all(server, usernames: list[str]) -> dict[str, str]:
    """Through the contract: `POST /api/auth/token/`, a few at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(base_url=server.url, timeout=60) as client:

        def login(name: str) -> str:
            response = client.post("/api/auth/token/", json={"username": name, "password": PASSWORD})
            response.raise_for_status()
            return response.json()["token"]

        with ThreadPoolExecutor(8) as pool:
            return dict(zip(usernames, pool.map(login, usernames), strict=True))


def settle(server, *, quiet_cpu: float = 0.15, quiet_seconds: int = 3, longest: float = 90.0) -> None:
    """Wait until the server has worked off any backlog, wrap-up endings included: `quiet_seconds`
    in a row each using under `quiet_cpu` of a core (heartbeats and housekeeping stay far below)."""
    deadline = time.monotonic() + longest
    quiet = 0
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1.0)
        quiet = quiet + 1 if server.cpu_seconds() - before < quiet_cpu else 0
        if quiet >= quiet_seconds:
            return
    log(f"server still busy after {longest:.0f}s; measuring anyway")


class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.durations = Durations.quick() if args.quick else Durations.full()
        self.report = Report()
        self.workdir = Path(tempfile.mkdtemp(prefix="cc-bench-"))
        self.stack = bench_stack(self.workdir)
        self.calls = Calls(secrets.token_hex(3))
        self.tokens: dict[str, str] = {}
        self.cleanup: list = []

    # --- set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        log(f"database in {self.workdir}: migrate and seed {AGENTS} agents + {SUPERVISORS} supervisors")
        self.stack.setup()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.seed",
                "--agents",
                str(AGENTS),
                "--supervisors",
                str(SUPERVISORS),
                "--password",
                PASSWORD,
                "--phlo-id",
                PHLO_ID,
                "--auth-token",
                AUTH_TOKEN,
            ],
            cwd=ROOT,
            env=self.stack.env,
            check=True,
            timeout=300,
        )

    def server(self, kind: str = "daphne", **env: str):
        server = start_server(self.stack, kind, **env)
        self.cleanup.append(server.stop)
        if not self.tokens:
            names = [f"super{n}" for n in range(SUPERVISORS)] + [f"agent{n}" for n in range(AGENTS)]
            started = time.monotonic()
            self.tokens = login_all(server, names)
            log(f"{len(self.tokens)} tokens from POST /api/auth/token/ in {time.monotonic() - started:.1f}s")
        return server

    def clients(self) -> ClientProcess:
        clients = ClientProcess()
        self.cleanup.append(clients.stop)
        return clients

    def connect(self, clients: ClientProcess, server, *, supervisors: int, agents: int, plan: SocketPlan) -> None:
        tokens = [self.tokens[f"super{n}"] for n in range(supervisors)]
        tokens += [self.tokens[f"agent{n}"] for n in range(agents)]
        outcome = clients.call("connect", (server.ws_url, tokens))
        if outcome["failed"]:
            raise RuntimeError(f"sockets failed to connect: {outcome}")
        plan.agent_of_socket += [None] * supervisors + list(range(agents))
        log(f"connected {outcome['connected']} sockets in {outcome['seconds']:.1f}s (now {outcome['total']})")

    def step(self, phase: str, server, **how) -> StepResult:
        """Run one step and add it to the report under `phase`."""
        return self.report.add(phase, self.measure(server, **how))

    def measure(
        self,
        server,
        *,
        label: str,
        rate: float,
        duration: float,
        agents: int,
        clients=None,
        plan=None,
        bare=False,
    ) -> StepResult:
        """One step of signed callbacks (or bare requests) against `server`, against this bench's app."""
        return run_step(
            label=label,
            server=server,
            phlo_id=PHLO_ID,
            auth_token=AUTH_TOKEN,
            rate=rate,
            duration=duration,
            agents=agents,
            calls=self.calls,
            clients=clients,
            plan=plan,
            bare=bare,
        )

    def ladder(
        self,
        phase: str,
        server,
        *,
        start: float,
        clients=None,
        plan=None,
        bare=False,
        confirm: float | None = None,
        agents: int = TARGET_AGENT_SOCKETS,
    ) -> float:
        """Find the highest rate of RATES that holds: up from `start` while steps hold, or down from it
        while they do not; then confirm the best for `confirm` seconds (one rate lower if that fails).
        Returns the highest rate held (0 if none).

        Every step after one that did not hold first waits for the server to settle, so the backlog
        of an overloaded step is not billed to the next one."""
        rates = RATES
        i = rates.index(start)

        overloaded = False

        def attempt(rate: float, duration: float, label: str) -> bool:
            nonlocal overloaded
            if overloaded:
                settle(server)
            holds = self.step(
                phase,
                server,
                label=label,
                rate=rate,
                duration=duration,
                agents=agents,
                clients=clients,
                plan=plan,
                bare=bare,
            ).holds
            overloaded = not holds
            return holds

        best_i = None
        if attempt(rates[i], self.durations.step, "ladder"):
            best_i = i
            while best_i + 1 < len(rates) and attempt(rates[best_i + 1], self.durations.step, "ladder"):
                best_i += 1
        else:
            for j in range(i - 1, -1, -1):
                if attempt(rates[j], self.durations.step, "ladder"):
                    best_i = j
                    break
        if best_i is None:
            return 0.0
        if not confirm:
            return rates[best_i]
        for j in (best_i, best_i - 1):
            if j >= 0 and attempt(rates[j], confirm, f"sustained {confirm:.0f}s"):
                return rates[j]
        return 0.0

    def warm_up(self, server, clients, plan) -> None:
        """A few seconds of traffic that is not reported: the first requests of a fresh process pay
        for imports, URL resolution and query compilation, and one slow callback reaches every socket,
        which is enough to decide a step's p99."""
        self.measure(
            server, label="warm-up", rate=RATES[0], duration=5, agents=TARGET_AGENT_SOCKETS, clients=clients, plan=plan
        )
        settle(server)

    # --- phases -------------------------------------------------------------------------------

    def phase_daphne(self, phase: str, *, redis_url: str | None = None) -> None:
        env = {"REDIS_URL": redis_url} if redis_url else {}
        log(f"{phase}: starting Daphne {'with REDIS_URL' if redis_url else '(in-memory layer)'}")
        server = self.server("daphne", **env)
        clients = self.clients()
        plan = SocketPlan()
        self.connect(clients, server, supervisors=SUPERVISORS, agents=TARGET_AGENT_SOCKETS, plan=plan)
        self.warm_up(server, clients, plan)
        # Climb from the lowest rate before anything has overloaded the server; the target load after.
        sustained = self.ladder(
            phase, server, start=RATES[0], clients=clients, plan=plan, confirm=self.durations.confirm
        )
        self.report.figures[f"{phase}.sustained"] = sustained
        log(f"{phase}: sustained {sustained:.0f} callbacks/s")
        settle(server)
        target = self.step(
            phase,
            server,
            label="target",
            rate=TARGET_RATE,
            duration=self.durations.target,
            agents=TARGET_AGENT_SOCKETS,
            clients=clients,
            plan=plan,
        )
        self.report.figures[f"{phase}.target"] = target.as_dict()
        settle(server)
        if not redis_url:
            # Well inside what the process holds, so a backlog does not inflate the CPU measured.
            self.phase_cpu(server, clients, rate=max(10.0, min(float(TARGET_RATE), sustained / 2)))
            clients.call("close")
            time.sleep(0.5)
            bare = self.ladder("bare", server, start=200, bare=True, confirm=self.durations.bare_confirm)
            self.report.figures["bare.sustained"] = bare
            log(f"bare async view on the same Daphne: {bare:.0f} requests/s")
        clients.stop()
        server.stop()

    def phase_cpu(self, server, clients, *, rate: float) -> None:
        """Same callbacks (calls spread over all 480 agents), 20 then 500 listening sockets."""
        self.report.figures["cpu.rate"] = rate
        clients.call("close")
        time.sleep(0.5)
        plan20 = SocketPlan()
        self.connect(clients, server, supervisors=SUPERVISORS, agents=0, plan=plan20)
        small = self.step(
            "cpu",
            server,
            label="20 sockets",
            rate=rate,
            duration=self.durations.cpu,
            agents=AGENTS,
            clients=clients,
            plan=plan20,
        )
        plan500 = SocketPlan(list(plan20.agent_of_socket))
        self.connect(clients, server, supervisors=0, agents=AGENTS, plan=plan500)
        big = self.step(
            "cpu",
            server,
            label="500 sockets",
            rate=rate,
            duration=self.durations.cpu,
            agents=AGENTS,
            clients=clients,
            plan=plan500,
        )
        self.report.figures["cpu.20"] = small.cpu_per_callback_ms
        self.report.figures["cpu.500"] = big.cpu_per_callback_ms
        clients.call("close")

    def phase_uvicorn(self) -> None:
        log("uvicorn: the same application")
        server = self.server("uvicorn")
        clients = self.clients()
        plan = SocketPlan()
        self.connect(clients, server, supervisors=SUPERVISORS, agents=TARGET_AGENT_SOCKETS, plan=plan)
        self.warm_up(server, clients, plan)
        self.report.figures["uvicorn.sustained_short"] = self.ladder(
            "uvicorn", server, start=RATES[0], clients=clients, plan=plan
        )
        settle(server)
        target = self.step(
            "uvicorn",
            server,
            label="target",
            rate=TARGET_RATE,
            duration=self.durations.target / 2,
            agents=TARGET_AGENT_SOCKETS,
            clients=clients,
            plan=plan,
        )
        self.report.figures["uvicorn.target"] = target.as_dict()
        clients.stop()
        server.stop()

    def phase_idle_sockets(self) -> None:
        """On a database of its own with a small directory: every connect sends a snapshot (the whole
        agent directory), and here it is the socket that stays, not the snapshot, that is measured."""
        log("idle sockets: RSS of one Daphne with 1,000 and 5,000 dashboards")
        small = bench_stack(self.workdir / "idle")
        (self.workdir / "idle").mkdir(exist_ok=True)
        small.setup()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.seed",
                "--agents",
                "10",
                "--supervisors",
                "10",
                "--password",
                PASSWORD,
                "--phlo-id",
                PHLO_ID,
                "--auth-token",
                AUTH_TOKEN,
            ],
            cwd=ROOT,
            env=small.env,
            check=True,
            timeout=300,
        )
        server = start_server(small, "daphne")
        self.cleanup.append(server.stop)
        tokens = login_all(server, [f"agent{n}" for n in range(10)] + [f"super{n}" for n in range(10)])
        clients = self.clients()
        time.sleep(1.0)
        # A few warm-up sockets first: the hub, the layer and the first snapshot allocate once per process.
        clients.call("connect", (server.ws_url, [tokens[f"super{n}"] for n in range(10)]))
        time.sleep(1.0)
        base = server.rss()
        figures = {"base_rss": base}
        names = [f"agent{n}" for n in range(10)]
        connected = 0
        for total in (1000, 5000):
            batch = [tokens[names[i % len(names)]] for i in range(connected, total)]
            outcome = clients.call("connect", (server.ws_url, batch))
            if outcome["failed"]:
                raise RuntimeError(f"sockets failed to connect: {outcome}")
            connected = total
            time.sleep(2.0)
            rss = server.rss()
            figures[f"rss_{total}"] = rss
            figures[f"per_socket_{total}"] = (rss - base) / total
            figures[f"cpu_seconds_{total}"] = server.cpu_seconds()
            figures[f"connect_seconds_{total}"] = outcome["seconds"]
            log(
                f"{total} idle sockets: RSS {rss / 2**20:.0f} MiB, {(rss - base) / total / 1024:.1f} KiB per socket "
                f"(connected in {outcome['seconds']:.1f}s)"
            )
        self.report.figures["idle"] = figures
        clients.stop()
        server.stop()

    def run(self) -> Report:
        from bench.machine import describe

        self.report.machine = describe()
        self.setup()
        self.phase_daphne("daphne")
        if not self.args.skip_uvicorn:
            self.phase_uvicorn()
        if not self.args.skip_redis:
            redis = RedisServer().start()
            self.cleanup.append(redis.stop)
            self.phase_daphne("redis", redis_url=redis.url)
            redis.stop()
        if not self.args.skip_idle:
            self.phase_idle_sockets()
        if not self.args.skip_actions:
            from bench.actions import measure_actions

            self.report.figures["actions"] = measure_actions(self)
        if not self.args.skip_history:
            self.report.figures["history"] = self.phase_history()
        return self.report

    def phase_history(self) -> dict:
        """bench/history.py: a page of a million-call history on PostgreSQL, each kind timed. In a
        process of its own (its own Django settings and database); it writes its own section of
        docs/benchmarks.md."""
        log("history: a million calls on PostgreSQL, every kind of page")
        out = self.workdir / "history.json"
        command = [sys.executable, "-m", "bench.history", "--json", str(out)]
        subprocess.run(command + (["--no-docs"] if self.args.no_docs else []), cwd=ROOT, timeout=3600, check=False)
        return json.loads(out.read_text()) if out.exists() else {}

    def close(self) -> None:
        for stop in reversed(self.cleanup):
            try:
                stop()
            except Exception as exc:
                print(f"cleanup: {exc!r}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps: check the harness, not the product")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--skip-uvicorn", action="store_true")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-actions", action="store_true")
    parser.add_argument("--skip-history", action="store_true", help="leave out the million-call history pages")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md and the plot")
    args = parser.parse_args(argv)
    raise_fd_limit()
    os.chdir(ROOT)
    started = time.monotonic()
    bench = Bench(args)
    try:
        report = bench.run()
    finally:
        bench.close()
    report.figures["elapsed_seconds"] = time.monotonic() - started
    report.figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "bench" / "results" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report.__dict__, indent=1, default=str))
    from bench.report import render

    text = render(
        report.__dict__,
        command="make bench" + (" (bench.run --quick)" if args.quick else ""),
        docs=not args.no_docs,
        out=out,
    )
    print(text)
    log(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
