"""The servers under test: one Daphne (or uvicorn) process on the bench ASGI module, and redis-server."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.limits import raise_fd_limit
from devtools.serving import daphne_command
from tests.support.servers import ROOT, Stack, free_port, stop, wait_for_http

ASGI_APP = "bench.asgi_with_bare:application"
BIN = Path(sys.executable).parent


@dataclass
class Server:
    kind: str  # daphne | uvicorn
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/dashboard/"

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return self.ps.memory_info().rss

    def stop(self) -> None:
        stop(self.process)


def bench_stack(workdir: Path, database_url: str | None = None) -> Stack:
    """Production-like settings: DEBUG off (no query log kept per request), signatures verified.

    Wrap-up lasts 2 s instead of 30: at a steady rate agents return to available just as often
    either way, but with 30 s each step would carry the wrap-up endings (an `agent.updated` to
    every socket each) of the step before it, and each phase those of the phase before."""
    return Stack(
        workdir,
        database_url=database_url,
        WRAP_UP_SECONDS="2",
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production",
        DJANGO_SETTINGS_MODULE="bench.settings",
        LOG_LEVEL="WARNING",
    )


def start_server(stack: Stack, kind: str, *, cpus: str = "", **env: str) -> Server:
    """`cpus`: pin the server to these processors (taskset's list, e.g. "0"); the pid stays the server's."""
    raise_fd_limit()  # inherited by the server: thousands of sockets
    port = free_port()
    log_path = stack.workdir / f"{kind}-{port}.log"
    if kind == "daphne":
        # -v 0: no access log line per request (a proxy in front usually keeps that log)
        argv = daphne_command("127.0.0.1", port, "-v", "0", python=str(BIN / "python"), application=ASGI_APP)
    else:
        argv = [
            str(BIN / "uvicorn"),
            ASGI_APP,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
            "--ws",
            "websockets",
            # uvicorn's own fast parts (its "standard" install): without them it parses HTTP in pure Python.
            "--http",
            "httptools",
            "--loop",
            "uvloop",
        ]
    if cpus:
        argv = ["taskset", "-c", cpus, *argv]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env={**stack.env, **env}, stdout=log, stderr=subprocess.STDOUT)
    server = Server(kind, port, process, log_path)
    try:
        wait_for_http(f"{server.url}/healthz", timeout=60)
    except Exception:
        server.stop()
        raise
    return server
