"""`make bench`: one Daphne process under signed Plivo callbacks, measured against Daphne's own ceiling.

Phases (each server is started fresh and stopped after; all but the pair share one seeded SQLite
database of 1,000 agents and 50 supervisors):
1. Daphne, in-memory layer, 200 agent + 20 supervisor sockets: a ladder of rates climbing from
   50 callbacks/s to the highest that holds p99 ≤ 100 ms, confirmed for 60 s; the target load
   (100 callbacks/s of the mix, 60 s); routing (customers calling a routing line beside the target
   load, join → PHLO `call` request on a stub PHLO); 30 callbacks/s with 20 sockets, then with
   1,000 agent + 50 supervisor sockets (latency, CPU per callback); the bare async view's ceiling.
2. Daphne with REDIS_URL (channels-redis on a local redis-server): ladder and confirmation.
3. The pair: PostgreSQL + Redis, one Daphne pinned to one core, then two, one per core.
4. Idle sockets: Daphne's RSS with 1,000 and 5,000 connected dashboards.
   (Before the Redis phase: the serving stack, the same fixed steps under Daphne and under uvicorn.)
5. Action overhead: hold/unhold through our API vs the same request straight to the PHLO simulator.
6. History: filtered pages of a million calls on PostgreSQL (bench/history.py).
7. Reports: a month of a 1,000-agent center's reports, a million calls, on PostgreSQL (bench/reports.py).
`--ab SECONDS` runs only fixed steps (50 and 100/s with 220 sockets, 30/s with 20 and 1,050) for
comparing two versions back to back; `--profile DIR` records py-spy for each step.

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
from urllib.parse import urlencode

import httpx

from bench.common import AUTH_TOKEN, PASSWORD, PHLO_ID, ROUTING_PHLO_ID, log
from bench.limits import raise_fd_limit
from bench.load import LoadSpec
from bench.measure import Calls, ClientProcess, SocketPlan, StepResult, percentiles, run_step
from bench.report import HOLDS_STEP
from bench.scenario import HOLDS_MIX, THE_MIX, Mix
from bench.servers import bench_stack, start_server
from bench.stub_phlo import read_calls
from tests.support.plivo import mpc_event, participant
from tests.support.postgres import PostgresCluster
from tests.support.servers import ROOT, RedisServer, free_port, stop, wait_for_port

AGENTS = 1000
SUPERVISORS = 50
TARGET_RATE = 100
TARGET_AGENT_SOCKETS = 200
TARGET_SUPERVISOR_SOCKETS = 20
BIG_RATE = 30  # 1,000 agent + 50 supervisor sockets at this rate
QUEUE_NUMBERS = ("+18005550100", "+18005550200", "+18005550300")  # sales, support, vip: the routing step with queues
QUEUES_SET_UP = """
from django.core.management import call_command
from agents.models import Agent, Skill
from calls.models import Queue
sales, support, vip = {numbers!r}
call_command("configure_queue", "sales", "--numbers", sales, "--phlo-id", {phlo_id!r}, "--priority", "1")
call_command("configure_queue", "vip", "--numbers", vip, "--priority", "10")
call_command("configure_queue", "support", "--numbers", support, "--overflow-to", "sales", "--overflow-after", "5")
queues = {{q.name: q for q in Queue.objects.all()}}
idle = list(Agent.objects.filter(name__in=[f"agent{{n}}" for n in range({first}, {agents})]).order_by("pk"))
skills = []
for n, agent in enumerate(idle):
    kind = n % 4
    if kind in (0, 2):
        skills.append(Skill(agent=agent, queue=queues["sales"], level=1 + n % 10))
    if kind in (1, 2):
        skills.append(Skill(agent=agent, queue=queues["support"], level=1 + n % 10))
    if n % 10 == 0:
        skills.append(Skill(agent=agent, queue=queues["vip"], level=8))
Skill.objects.bulk_create(skills, ignore_conflicts=True)
"""
ROUTING_RATE = 4  # customers calling in per second during the routing step (beside the target load)
RATES = [10, 25, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500]


@dataclass
class Durations:
    target: float
    step: float
    confirm: float
    cpu: float
    bare_confirm: float
    routing: float
    pair_confirm: float
    ladder_start: int
    stack: float  # each fixed step of the serving stacks side by side

    @classmethod
    def full(cls) -> Durations:
        return cls(target=60, step=10, confirm=60, cpu=15, bare_confirm=20, routing=30, pair_confirm=30,
                   ladder_start=50, stack=20)

    @classmethod
    def quick(cls) -> Durations:
        return cls(target=6, step=4, confirm=8, cpu=5, bare_confirm=5, routing=9, pair_confirm=5, ladder_start=25,
                   stack=4)


@dataclass
class Report:
    machine: dict = field(default_factory=dict)
    steps: dict[str, list[dict]] = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, phase: str, step: StepResult) -> StepResult:
        self.steps.setdefault(phase, []).append(
            {**step.as_dict(), "holds": step.holds, "clean": step.clean, "load": _load()}
        )
        lat = step.socket_latency if step.socket_latency.get("n") else step.http
        print(
            f"  [{phase}] {step.label}: {step.rate:.0f}/s → {step.achieved_rate:.0f}/s, {step.sockets} sockets, "
            f"p50 {lat['p50']:.1f} p95 {lat['p95']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f} ms "
            f"(http p99 {step.http['p99']:.1f}), lost {step.lost} dup {step.duplicated} unexpected {step.unexpected} "
            f"non-200 {step.non_200} seq-err {step.seq_errors} irregular {step.irregular_calls}, "
            f"cpu {step.cpu_per_callback_ms:.2f} ms/cb ({step.cpu_utilisation:.0%}, "
            f"{step.extra.get('server_system_share', 0):.0%} kernel), "
            f"frames {step.extra.get('frames', 0)}, "
            f"load gen cpu {step.extra.get('load_generator_cpu_seconds', 0):.1f}s, "
            f"send lag max {step.send_lag_max_ms:.1f} ms, conns {step.connections_opened} → "
            f"{'holds' if step.holds else 'does not hold'}",
            flush=True,
        )
        return step


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def at_or_below(rate: float) -> int:
    """The ladder's rate nearest `rate` from below (its lowest if none)."""
    return max([r for r in RATES if r <= rate] or [RATES[0]])


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
    """Wait until the server (or servers) has worked off any backlog, wrap-up endings included:
    `quiet_seconds` in a row each using under `quiet_cpu` of a core (heartbeats and housekeeping
    stay far below)."""
    servers = list(server) if isinstance(server, (list, tuple)) else [server]
    deadline = time.monotonic() + longest
    quiet = 0
    while time.monotonic() < deadline:
        before = sum(s.cpu_seconds() for s in servers)
        time.sleep(1.0)
        quiet = quiet + 1 if sum(s.cpu_seconds() for s in servers) - before < quiet_cpu * len(servers) else 0
        if quiet >= quiet_seconds:
            return
    log(f"server still busy after {longest:.0f}s; measuring anyway")


def seed(stack, *, agents: int, supervisors: int) -> None:
    subprocess.run(
        [
            sys.executable, "-m", "bench.seed", "--agents", str(agents), "--supervisors", str(supervisors),
            "--password", PASSWORD, "--phlo-id", PHLO_ID, "--auth-token", AUTH_TOKEN,
            "--routing-phlo-id", ROUTING_PHLO_ID,
        ],
        cwd=ROOT, env=stack.env, check=True, timeout=300,
    )


class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.durations = Durations.quick() if args.quick else Durations.full()
        self.report = Report()
        self.workdir = Path(tempfile.mkdtemp(prefix="cc-bench-"))
        self.stack = bench_stack(self.workdir)
        self.calls = Calls(secrets.token_hex(3))
        self.tokens: dict[str, str] = {}  # the main (SQLite) database's
        self.cleanup: list = []
        self.stub_port = free_port()
        self.stub_out = self.workdir / "phlo-calls.txt"

    # --- set-up -------------------------------------------------------------------------------

    def setup(self) -> None:
        log(f"database in {self.workdir}: migrate and seed {AGENTS} agents + {SUPERVISORS} supervisors")
        self.stack.setup()
        seed(self.stack, agents=AGENTS, supervisors=SUPERVISORS)
        log_file = open(self.workdir / "stub-phlo.log", "ab")  # noqa: SIM115 - closed with the process
        stub = subprocess.Popen(
            [sys.executable, "-m", "bench.stub_phlo", "--port", str(self.stub_port), "--out", str(self.stub_out)],
            cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
        )
        self.cleanup.append(lambda: (stop(stub), log_file.close()))
        wait_for_port(self.stub_port, process=stub, timeout=30)

    def server(self, kind: str = "daphne", *, stack=None, cpus: str = "", **env: str):
        """A server on `stack` (the main one by default); on the main one, everyone is logged in
        through the API the first time."""
        env = {"PHLO_BASE_URL": f"http://127.0.0.1:{self.stub_port}/v1", **env}
        server = start_server(stack or self.stack, kind, cpus=cpus, **env)
        self.cleanup.append(server.stop)
        tokens = self.tokens
        if stack is None and not tokens:
            names = [f"super{n}" for n in range(SUPERVISORS)] + [f"agent{n}" for n in range(AGENTS)]
            started = time.monotonic()
            tokens.update(login_all(server, names))
            log(f"{len(tokens)} tokens from POST /api/auth/token/ in {time.monotonic() - started:.1f}s")
        return server

    def clients(self) -> ClientProcess:
        clients = ClientProcess()
        self.cleanup.append(clients.stop)
        return clients

    def connect(
        self, clients: ClientProcess, server, *, supervisors: range, agents: range, plan: SocketPlan,
        tokens: dict | None = None,
    ) -> None:
        tokens = self.tokens if tokens is None else tokens
        batch = [tokens[f"super{n}"] for n in supervisors] + [tokens[f"agent{n}"] for n in agents]
        outcome = clients.call("connect", (server.ws_url, batch))
        if outcome["failed"]:
            raise RuntimeError(f"sockets failed to connect: {outcome}")
        plan.agent_of_socket += [None] * len(supervisors) + list(agents)
        log(f"connected {outcome['connected']} sockets in {outcome['seconds']:.1f}s (now {outcome['total']})")

    def target_sockets(self, server) -> tuple[ClientProcess, SocketPlan]:
        """A client process with the target's 200 agent + 20 supervisor sockets on `server`, warmed up."""
        clients = self.clients()
        plan = SocketPlan()
        self.connect(
            clients, server, supervisors=range(TARGET_SUPERVISOR_SOCKETS), agents=range(TARGET_AGENT_SOCKETS),
            plan=plan,
        )
        self.warm_up(server, clients, plan)
        return clients, plan

    def step(self, phase: str, server, **how) -> StepResult:
        """Run one step and add it to the report under `phase` (with --profile: py-spy on the server too)."""
        profiler = self.profile(phase, how["label"], server, how["duration"])
        step = self.measure(server, **how)
        if profiler is not None:
            profiler.wait(60)
        return self.report.add(phase, step)

    def profile(self, phase: str, label: str, server, duration: float) -> subprocess.Popen | None:
        """py-spy sampling the (first) server for the step, as folded stacks (`--profile DIR`)."""
        if not self.args.profile or label in ("warm-up", "ladder"):
            return None
        first = server[0] if isinstance(server, (list, tuple)) else server
        out = Path(self.args.profile) / f"{phase}-{label}".replace(" ", "_").replace("/", "_").replace(",", "")
        out.parent.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--nonblocking", "--rate", "250",
             "--format", "raw", "--pid", str(first.process.pid),
             "--duration", str(int(duration) + 1), "--output", f"{out}.txt"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def measure(
        self, server, *, label: str, rate: float, duration: float, agents: int, clients=None, plan=None,
        bare=False, side_load=None, mix: Mix = THE_MIX,
    ) -> StepResult:
        """One step of signed callbacks (or bare requests) against `server`, against this bench's app."""
        return run_step(
            label=label, server=server, phlo_id=PHLO_ID, auth_token=AUTH_TOKEN, rate=rate, duration=duration,
            agents=agents, calls=self.calls, clients=clients, plan=plan, bare=bare, side_load=side_load, mix=mix,
        )

    def ladder(
        self, phase: str, server, *, start: float, clients=None, plan=None, bare=False,
        confirm: float | None = None, agents: int = TARGET_AGENT_SOCKETS,
    ) -> float:
        """Find the highest rate of RATES that holds: up from `start` while steps hold, or down from it
        while they do not; then confirm the best for `confirm` seconds (one rate lower if that fails).
        Returns the highest rate held (0 if none).

        Every step after one that did not hold first waits for the server to settle, so the backlog
        of an overloaded step is not billed to the next one."""
        rates = RATES
        i = rates.index(at_or_below(start))
        overloaded = False

        def attempt(rate: float, duration: float, label: str) -> bool:
            nonlocal overloaded
            if overloaded:
                settle(server)
            holds = self.step(
                phase, server, label=label, rate=rate, duration=duration, agents=agents, clients=clients,
                plan=plan, bare=bare,
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
            server, label="warm-up", rate=RATES[0] * 2, duration=5, agents=TARGET_AGENT_SOCKETS, clients=clients,
            plan=plan,
        )
        settle(server)

    # --- phases -------------------------------------------------------------------------------

    def phase_daphne(self) -> None:
        """In-memory layer: the ladder, the target load, routing, 1,000 + 50 sockets, the bare view."""
        log("daphne: starting Daphne (in-memory layer)")
        server = self.server("daphne")
        clients, plan = self.target_sockets(server)
        sustained = self.ladder(
            "daphne", server, start=self.durations.ladder_start, clients=clients, plan=plan,
            confirm=self.durations.confirm,
        )
        self.report.figures["daphne.sustained"] = sustained
        log(f"daphne: sustained {sustained:.0f} callbacks/s")
        settle(server)
        target = self.step(
            "daphne", server, label=f"target {self.durations.target:.0f}s", rate=TARGET_RATE,
            duration=self.durations.target, agents=TARGET_AGENT_SOCKETS, clients=clients, plan=plan,
        )
        self.report.figures["daphne.target"] = target.as_dict()
        settle(server)
        holds = self.step(
            "daphne", server, label=f"{HOLDS_STEP} {self.durations.target:.0f}s", rate=TARGET_RATE,
            duration=self.durations.target, agents=TARGET_AGENT_SOCKETS, clients=clients, plan=plan, mix=HOLDS_MIX,
        )
        self.report.figures["daphne.holds"] = holds.as_dict()
        settle(server)
        if sustained:
            # What routing itself costs, on a process that keeps up; then at the target load.
            self.phase_routing(server, clients, plan, background=sustained, key="routing.sustained")
            settle(server)
            # The same with the center in lines of business: three queues, skills, an overflow.
            self.configure_queues()
            self.phase_routing(server, clients, plan, background=sustained, key="routing.queues", called=QUEUE_NUMBERS)
            settle(server)
        self.phase_routing(server, clients, plan, background=TARGET_RATE, key="routing")
        settle(server)
        self.phase_big(server, clients)
        clients.stop()
        time.sleep(0.5)
        bare = self.ladder("bare", server, start=250, bare=True, confirm=self.durations.bare_confirm)
        self.report.figures["bare.sustained"] = bare
        log(f"bare async view on the same Daphne: {bare:.0f} requests/s")
        server.stop()

    def configure_queues(self) -> None:
        """Three queues on the routing line (the customers of the next routing step dial their
        numbers in turn), and skills for the idle agents: a third take sales, a third support, the
        rest both or none; support overflows to sales after 5 s. Queues reach the server's memory
        within calls/core/queues.py's KEPT_SECONDS."""
        log("routing: three queues, skills for the idle agents")
        self.stack.manage("shell", "-c", QUEUES_SET_UP.format(
            phlo_id=ROUTING_PHLO_ID, numbers=QUEUE_NUMBERS, first=TARGET_AGENT_SOCKETS, agents=AGENTS,
        ))
        time.sleep(6)

    def phase_routing(self, server, clients, plan, *, background: float, key: str, called: tuple[str, ...] = ()
                      ) -> None:
        """Customers call a routing line at ROUTING_RATE beside `background` callbacks/s of the mix; the
        latency from each customer's join callback to the PHLO `call` request that offers the call to
        an agent (the stub PHLO notes when each arrives). The idle agents (not on the scripted calls)
        are the ones offered. Reported as figures[key]."""
        duration = self.durations.routing
        n = max(3, int(ROUTING_RATE * duration / 3))  # joins in the first third, leaving in the rest
        tag = secrets.token_hex(3)
        customers = [f"+1203{k:07d}" for k in range(n)]
        joins = [
            participant("ParticipantJoin", f"route-{tag}-{k}", f"rc{k}", customers[k], seq=1,
                        **({"other": called[k % len(called)]} if called else {}))
            for k in range(n)
        ]
        ends = []
        for k in range(n):
            ends.append(participant("ParticipantExit", f"route-{tag}-{k}", f"rc{k}", customers[k], seq=2))
            ends.append(mpc_event("MPCEnd", f"route-{tag}-{k}", seq=3))
        spec = LoadSpec(
            host="127.0.0.1", ports=(server.port,), path=f"/callbacks/plivo/{ROUTING_PHLO_ID}/",
            auth_token=AUTH_TOKEN, rate=3 * n / duration, connections=4,
        )
        self.stub_out.write_text("")  # emptied, not removed: the stub keeps it open for appending
        label = f"{background:.0f}/s + {spec.rate / 3:.1f} customers/s" + (" in queues" if called else "")
        step = self.step(
            "routing", server, label=label, rate=background, duration=duration, agents=TARGET_AGENT_SOCKETS,
            clients=clients, plan=plan,
            side_load=(spec, [urlencode(p) for p in joins + ends]),
        )
        sent, _info = step.extra.pop("side_load")
        self.report.steps["routing"][-1]["extra"].pop("side_load", None)
        time.sleep(0.5)
        arrived = read_calls(str(self.stub_out))
        latencies, unanswered = [], 0
        for k, (scheduled, _sent, _answered, status, _outcome) in enumerate(sent[:n]):
            if customers[k] in arrived and status == 200:
                latencies.append((arrived[customers[k]] - scheduled) * 1000)
            else:
                unanswered += 1
        figures = {**percentiles(latencies), "calls": n, "not_offered": unanswered, "background_rate": background,
                   "customers_per_second": spec.rate / 3}
        self.report.figures[key] = figures
        log(f"routing beside {background:.0f}/s: join → PHLO call p50 {figures['p50']:.1f} "
            f"p99 {figures['p99']:.1f} ms over {len(latencies)} calls ({unanswered} not offered)")

    def phase_big(self, server, clients) -> None:
        """The same callbacks (calls spread over all 1,000 agents) at BIG_RATE with 20 supervisor
        sockets, then with 1,000 agent + 50 supervisor sockets: the latency there and the CPU per
        callback against 20."""
        rate = BIG_RATE
        self.report.figures["big.rate"] = rate
        clients.call("close")
        time.sleep(0.5)
        plan20 = SocketPlan()
        self.connect(clients, server, supervisors=range(20), agents=range(0), plan=plan20)
        small = self.step(
            "1,000 sockets", server, label="20 sockets", rate=rate, duration=self.durations.cpu, agents=AGENTS,
            clients=clients, plan=plan20,
        )
        settle(server)
        big_plan = SocketPlan(list(plan20.agent_of_socket))
        self.connect(clients, server, supervisors=range(20, SUPERVISORS), agents=range(AGENTS), plan=big_plan)
        settle(server)
        big = self.step(
            "1,000 sockets", server, label=f"{AGENTS} + {SUPERVISORS} sockets", rate=rate,
            duration=self.durations.cpu, agents=AGENTS, clients=clients, plan=big_plan,
        )
        self.report.figures["cpu.20"] = small.cpu_per_callback_ms
        self.report.figures["cpu.big"] = big.cpu_per_callback_ms
        self.report.figures["big"] = big.as_dict()
        clients.call("close")

    def phase_redis(self, redis_url: str) -> None:
        log("redis: Daphne with REDIS_URL")
        server = self.server("daphne", REDIS_URL=redis_url)
        clients, plan = self.target_sockets(server)
        start = self.report.figures.get("daphne.sustained") or self.durations.ladder_start
        sustained = self.ladder("redis", server, start=start, clients=clients, plan=plan,
                                confirm=self.durations.confirm)
        self.report.figures["redis.sustained"] = sustained
        log(f"redis: sustained {sustained:.0f} callbacks/s")
        clients.stop()
        server.stop()

    def phase_pair(self) -> None:
        """PostgreSQL + Redis: one Daphne pinned to one core, then two, one per core, sharing the
        sockets and the callbacks (each connection of the sender to one of them, in turn). The
        database, Redis and the load generator share the same two cores: their cost is reported."""
        log("pair: a throwaway PostgreSQL and Redis; one Daphne, then two")
        cluster = PostgresCluster().start()
        self.cleanup.append(cluster.stop)
        redis = RedisServer().start()
        self.cleanup.append(redis.stop)
        (self.workdir / "pg").mkdir(exist_ok=True)
        stack = bench_stack(self.workdir / "pg", database_url=cluster.create_database("bench"))
        stack.setup()
        seed(stack, agents=TARGET_AGENT_SOCKETS, supervisors=TARGET_SUPERVISOR_SOCKETS)
        tokens: dict[str, str] = {}
        names = [f"super{n}" for n in range(TARGET_SUPERVISOR_SOCKETS)] + [
            f"agent{n}" for n in range(TARGET_AGENT_SOCKETS)
        ]
        figures: dict = {}
        for count in (1, 2):
            servers = [
                self.server("daphne", stack=stack, cpus=str(core), REDIS_URL=redis.url)
                for core in range(count)
            ]
            if not tokens:
                tokens.update(login_all(servers[0], names))
            clients = self.clients()
            plan = SocketPlan()
            half_s, half_a = TARGET_SUPERVISOR_SOCKETS // count, TARGET_AGENT_SOCKETS // count
            for i, server in enumerate(servers):
                self.connect(
                    clients, server, supervisors=range(i * half_s, (i + 1) * half_s),
                    agents=range(i * half_a, (i + 1) * half_a), plan=plan, tokens=tokens,
                )
            self.warm_up(servers, clients, plan)
            start = figures.get("one", self.durations.ladder_start)
            held = self.ladder(f"pair: {count} process{'es' if count > 1 else ''}", servers, start=start,
                               clients=clients, plan=plan, confirm=self.durations.pair_confirm)
            figures["one" if count == 1 else "two"] = held
            log(f"pair: {count} Daphne process(es) on PostgreSQL + Redis: sustained {held:.0f} callbacks/s")
            clients.stop()
            for server in servers:
                server.stop()
        self.report.figures["pair"] = figures
        redis.stop()
        cluster.stop()

    def phase_stack(self) -> None:
        """The serving stack side by side: the same application, the same fixed steps (50 and 100
        callbacks/s with 220 sockets, 30/s with 1,050), under Daphne and under uvicorn (httptools,
        uvloop; Channels runs on any ASGI server). Daphne's direct frames (fastpath/frames.py) apply
        only under Daphne; uvicorn's sockets go through the websockets library."""
        figures = {}
        for kind in ("daphne", "uvicorn"):
            log(f"stack: {kind}")
            server = self.server(kind)
            clients, plan = self.target_sockets(server)
            steps = {}
            for rate in (50, TARGET_RATE):
                steps[f"{rate}/s"] = self.step(
                    f"stack: {kind}", server, label=f"{rate}/s", rate=rate, duration=self.durations.stack,
                    agents=TARGET_AGENT_SOCKETS, clients=clients, plan=plan,
                ).as_dict()
                settle(server)
            clients.call("close")
            time.sleep(0.5)
            big = SocketPlan()
            self.connect(clients, server, supervisors=range(SUPERVISORS), agents=range(AGENTS), plan=big)
            settle(server)
            steps["1,050 sockets"] = self.step(
                f"stack: {kind}", server, label=f"{BIG_RATE}/s, {AGENTS} + {SUPERVISORS} sockets", rate=BIG_RATE,
                duration=self.durations.stack, agents=AGENTS, clients=clients, plan=big,
            ).as_dict()
            clients.stop()
            server.stop()
            figures[kind] = steps
        self.report.figures["stack"] = figures

    def phase_idle_sockets(self) -> None:
        """On a database of its own with a small directory: every connect sends a snapshot (the whole
        agent directory), and here it is the socket that stays, not the snapshot, that is measured."""
        log("idle sockets: RSS of one Daphne with 1,000 and 5,000 dashboards")
        (self.workdir / "idle").mkdir(exist_ok=True)
        small = bench_stack(self.workdir / "idle")
        small.setup()
        seed(small, agents=10, supervisors=10)
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

    def wants(self, phase: str) -> bool:
        if self.args.only:
            return phase in self.args.only.split(",")
        return not getattr(self.args, f"skip_{phase}", False)

    def run(self) -> Report:
        from bench.machine import describe

        self.report.machine = describe()
        self.setup()
        if self.args.ab:
            self.phase_ab()
            return self.report
        if self.wants("daphne"):
            self.phase_daphne()
        if self.wants("stack"):
            self.phase_stack()
        if self.wants("redis"):
            redis = RedisServer().start()
            self.cleanup.append(redis.stop)
            self.phase_redis(redis.url)
            redis.stop()
        if self.wants("pair"):
            self.phase_pair()
        if self.wants("idle"):
            self.phase_idle_sockets()
        if self.wants("actions"):
            from bench.actions import measure_actions

            self.report.figures["actions"] = measure_actions(self)
        if self.wants("history"):
            self.report.figures["history"] = self.phase_history()
        if self.wants("reports"):
            self.report.figures["reports"] = self.phase_reports()
        return self.report

    def phase_ab(self) -> None:
        """Fixed steps for comparing two versions of the product back to back (`--ab`): 50 and 100
        callbacks/s with 220 sockets, then 30/s with 20 and with 1,050 sockets; no ladder."""
        server = self.server("daphne")
        clients, plan = self.target_sockets(server)
        for rate in (50, TARGET_RATE):
            self.step("ab", server, label=f"{rate}/s", rate=rate, duration=self.args.ab, agents=TARGET_AGENT_SOCKETS,
                      clients=clients, plan=plan)
            settle(server)
        self.step("ab", server, label=f"{TARGET_RATE}/s hold/unhold", rate=TARGET_RATE, duration=self.args.ab,
                  agents=TARGET_AGENT_SOCKETS, clients=clients, plan=plan, mix=HOLDS_MIX)
        settle(server)
        self.durations.cpu = self.args.ab / 2
        self.phase_big(server, clients)
        clients.stop()
        server.stop()

    def phase_history(self) -> dict:
        """bench/history.py: a page of a million-call history on PostgreSQL, each kind timed. In a
        process of its own (its own Django settings and database); it writes its own section of
        docs/benchmarks.md."""
        log("history: a million calls on PostgreSQL, every kind of page")
        out = self.workdir / "history.json"
        command = [sys.executable, "-m", "bench.history", "--json", str(out)]
        subprocess.run(command + (["--no-docs"] if self.args.no_docs else []), cwd=ROOT, timeout=3600, check=False)
        return json.loads(out.read_text()) if out.exists() else {}

    def phase_reports(self) -> dict:
        """bench/reports.py: a month's reports of a million calls on PostgreSQL, each kind timed; in a
        process of its own, as the history's."""
        log("reports: a month of a million calls on PostgreSQL, every kind of report")
        out = self.workdir / "reports.json"
        command = [sys.executable, "-m", "bench.reports", "--json", str(out)]
        subprocess.run(command + (["--no-docs"] if self.args.no_docs else []), cwd=ROOT, timeout=3600, check=False)
        return json.loads(out.read_text()) if out.exists() else {}

    def close(self) -> None:
        for stop_one in reversed(self.cleanup):
            try:
                stop_one()
            except Exception as exc:
                print(f"cleanup: {exc!r}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short steps: check the harness, not the product")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--skip-pair", action="store_true", help="leave out two processes on PostgreSQL + Redis")
    parser.add_argument("--skip-stack", action="store_true", help="leave out Daphne vs uvicorn at the same load")
    parser.add_argument("--skip-idle", action="store_true")
    parser.add_argument("--skip-actions", action="store_true")
    parser.add_argument("--skip-history", action="store_true", help="leave out the million-call history pages")
    parser.add_argument("--skip-reports", action="store_true", help="leave out the million-call month's reports")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md and the plot")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each reported step's server into DIR (folded stacks)")
    parser.add_argument("--ab", type=float, metavar="SECONDS", help="only the fixed A/B steps, each this long")
    parser.add_argument(
        "--only", help="only these phases, comma-separated: daphne,redis,pair,idle,actions,history,reports"
    )
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
