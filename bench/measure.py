"""One load step: callbacks at a fixed rate from a sender process, dashboards listening in another;
then every delivered `call.updated` is matched to the callback that caused it."""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.load import LoadSpec, worker
from bench.scenario import THE_MIX, Mix, slots_for, traffic, version_after

CTX = mp.get_context("spawn")
P99_LIMIT_MS = 100.0


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "max": math.nan, "n": 0}
    ordered = sorted(values_ms)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1], "n": len(ordered)}


@dataclass
class SocketPlan:
    """Who listens: socket index → the agent number it belongs to (None: a supervisor's wall)."""

    agent_of_socket: list[int | None] = field(default_factory=list)

    @property
    def supervisors(self) -> list[int]:
        return [i for i, a in enumerate(self.agent_of_socket) if a is None]

    def sockets_of_agent(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for i, a in enumerate(self.agent_of_socket):
            if a is not None:
                out[a].append(i)
        return out


@dataclass
class StepResult:
    label: str
    rate: float
    sockets: int
    callbacks: int
    duration: float
    achieved_rate: float
    http: dict[str, float]
    socket_latency: dict[str, float]
    non_200: int
    outcomes: dict[str, int]
    lost: int
    duplicated: int
    unexpected: int
    seq_errors: int
    irregular_calls: int
    deliveries: int
    cpu_seconds: float
    cpu_per_callback_ms: float
    cpu_utilisation: float
    send_lag_max_ms: float
    connections_opened: int
    extra: dict = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return (
            self.non_200 == 0
            and self.lost == 0
            and self.duplicated == 0
            and self.unexpected == 0
            and self.seq_errors == 0
            and self.irregular_calls == 0
        )

    @property
    def holds(self) -> bool:
        """Held the rate: every callback answered 200 and delivered exactly once, p99 ≤ 100 ms, on schedule."""
        latency = self.socket_latency if self.socket_latency.get("n") else self.http
        return self.clean and latency["p99"] <= P99_LIMIT_MS and self.achieved_rate >= 0.97 * self.rate

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


class Calls:
    """Call numbers are never reused within a bench run (each call is a new MPC)."""

    def __init__(self, tag: str):
        self.tag = tag
        self.next = 0

    def take(self, n: int) -> int:
        first, self.next = self.next, self.next + n
        return first


def run_step(
    *,
    label: str,
    server,
    phlo_id: str,
    auth_token: str,
    rate: float,
    duration: float,
    agents: int,
    calls: Calls,
    clients=None,
    plan: SocketPlan | None = None,
    bare: bool = False,
    drain: float = 1.0,
    side_load: tuple[LoadSpec, list[str]] | None = None,
    mix: Mix = THE_MIX,
) -> StepResult:
    """`server`: one server, or several sharing the load (connections spread over them in turn).
    `side_load`: another sender started at the same instant (the routing step's customers); its
    raw results are in `extra["side_load"]`."""
    n_calls = max(1, round(rate * duration / mix.events_per_call))
    first = calls.take(n_calls)
    callbacks = traffic(first_call=first, calls=n_calls, slots=slots_for(rate, agents), agents=agents, tag=calls.tag,
                        mix=mix)
    path = f"/bench/bare/{phlo_id}/" if bare else f"/callbacks/plivo/{phlo_id}/"
    servers = list(server) if isinstance(server, (list, tuple)) else [server]
    spec = LoadSpec(
        host="127.0.0.1",
        ports=tuple(s.port for s in servers),
        path=path,
        auth_token=auth_token,
        rate=rate,
        connections=min(64, max(8, int(rate / 20))),
    )
    senders = [Sender(spec, [cb.body for cb in callbacks])]
    if side_load is not None:
        senders.append(Sender(*side_load))
    try:
        for sender in senders:
            sender.wait_ready()
        if clients is not None:
            clients.call("start")
        cpu_before, wall_before = sum(s.cpu_seconds() for s in servers), time.monotonic()
        sys_before = sum(s.ps.cpu_times().system for s in servers)
        clients_before = clients.cpu_seconds() if clients is not None else 0.0
        for sender in senders:
            sender.go()
        sent, info = senders[0].result()
        side = senders[1].result() if side_load is not None else None
        cpu_after, wall_after = sum(s.cpu_seconds() for s in servers), time.monotonic()
        sys_seconds = sum(s.ps.cpu_times().system for s in servers) - sys_before
        clients_cpu = (clients.cpu_seconds() - clients_before) if clients is not None else 0.0
        totals = clients.call("stop", drain) if clients is not None else None
    finally:
        for sender in senders:
            sender.stop()
    step = analyse(
        label=label,
        rate=rate,
        callbacks=callbacks,
        sent=sent,
        info=info,
        totals=totals,
        plan=plan,
        cpu_seconds=cpu_after - cpu_before,
        wall=wall_after - wall_before,
        bare=bare,
    )
    # What the load generator itself used: the sender and the dashboards' process (same machine).
    step.extra["load_generator_cpu_seconds"] = info.get("cpu_seconds", 0.0) + clients_cpu
    step.extra["server_system_share"] = sys_seconds / max(1e-9, cpu_after - cpu_before)  # the kernel's part
    if side is not None:
        step.extra["side_load"] = side
    return step


class Sender:
    """One sender process (bench.load.worker): ready, go, its results."""

    def __init__(self, spec: LoadSpec, bodies: list[str]) -> None:
        self.conn, child = CTX.Pipe()
        self.process = CTX.Process(target=worker, args=(child, spec, bodies), daemon=True)
        self.process.start()

    def wait_ready(self) -> None:
        if not self.conn.poll(120):
            raise RuntimeError("the sender did not get ready")
        self.conn.recv()

    def go(self) -> None:
        self.conn.send("go")

    def result(self):
        return self.conn.recv()

    def stop(self) -> None:
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


def analyse(*, label, rate, callbacks, sent, info, totals, plan, cpu_seconds, wall, bare) -> StepResult:
    scheduled = {}
    outcomes: Counter[str] = Counter()
    irregular: set[int] = set()
    non_200 = 0
    http_ms = []
    for cb, (sched, _sent, answered, status, outcome) in zip(callbacks, sent, strict=True):
        http_ms.append((answered - sched) * 1000)
        outcomes[outcome or str(status)] += 1
        if status != 200:
            non_200 += 1
        if not bare and outcome != "applied":
            irregular.add(cb.call_number)
        scheduled[(cb.call_number, version_after(cb.event_index))] = (sched, cb)
    first_sched = sent[0][0]
    last_answer = max(s[2] for s in sent)
    elapsed = max(1e-9, sent[-1][0] - first_sched)
    achieved = (len(sent) - 1) / elapsed if len(sent) > 1 else rate
    lost = duplicated = unexpected = 0
    socket_ms: list[float] = []
    seq_errors = 0
    if totals is not None and plan is not None and not bare:
        seq_errors = totals.seq_errors
        arrivals: dict[tuple[int, int, int], list[float]] = defaultdict(list)
        for socket, number, version, arrived in totals.records:
            if number not in irregular:
                arrivals[(socket, number, version)].append(arrived)
        by_agent = plan.sockets_of_agent()
        supervisors = plan.supervisors
        expected = set()
        for (number, version), (sched, cb) in scheduled.items():
            if number in irregular:
                continue
            watchers = list(supervisors)
            for agent in cb.agents_watching():
                watchers += by_agent.get(agent, [])
            for socket in watchers:
                key = (socket, number, version)
                expected.add(key)
                got = arrivals.get(key)
                if not got:
                    lost += 1
                    continue
                socket_ms.append((got[0] - sched) * 1000)
                duplicated += len(got) - 1
        unexpected = sum(1 for key in arrivals if key not in expected)
    return StepResult(
        label=label,
        rate=rate,
        sockets=len(plan.agent_of_socket) if plan else 0,
        callbacks=len(sent),
        duration=last_answer - first_sched,
        achieved_rate=achieved,
        http=percentiles(http_ms),
        socket_latency=percentiles(socket_ms),
        non_200=non_200,
        outcomes=dict(outcomes),
        lost=lost,
        duplicated=duplicated,
        unexpected=unexpected,
        seq_errors=seq_errors,
        irregular_calls=len(irregular),
        deliveries=len(socket_ms),
        cpu_seconds=cpu_seconds,
        cpu_per_callback_ms=cpu_seconds / len(sent) * 1000,
        cpu_utilisation=cpu_seconds / max(wall, 1e-9),
        send_lag_max_ms=info["send_lag_max"] * 1000,
        connections_opened=info["connections_opened"],
        extra={
            "errors": info["errors"],
            "agent_updates": totals.agent_updates if totals else 0,
            "agent_frames": totals.agent_frames if totals else 0,
            "frames": totals.messages if totals else 0,
        },
    )


class ClientProcess:
    """The dashboards' process (bench.sockets.serve), driven over a pipe."""

    def __init__(self) -> None:
        from bench.sockets import serve

        self.conn, child = CTX.Pipe()
        self.process = CTX.Process(target=serve, args=(child,), daemon=True)
        self.process.start()

    def call(self, command: str, args=None, timeout: float = 600):
        self.conn.send((command, args))
        if not self.conn.poll(timeout):
            raise TimeoutError(f"dashboard clients did not answer {command!r}")
        return self.conn.recv()

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(Exception):
                self.call("exit", timeout=30)
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
