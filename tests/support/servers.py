"""Real servers for tests: redis-server and Daphne (and its database) on loopback, stopped after."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from devtools.serving import daphne_command

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(
    port: int,
    timeout: float = 20.0,
    process: subprocess.Popen | None = None,
    answers: Callable[[socket.socket], bool] | None = None,
) -> None:
    """Until something listens on the port and, given `answers`, answers on it as expected, while
    `process` still runs. RuntimeError if `process` exits first (for a server, usually: its port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                if (answers is None or answers(conn)) and (process is None or process.poll() is None):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def wait_for_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer after {timeout}s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers_pong(conn: socket.socket) -> bool:
    conn.sendall(b"PING\r\n")
    return conn.recv(16).startswith(b"+PONG")


class RedisServer:
    """A throwaway redis-server on a free loopback port, no persistence."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.started_before = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it answers PING. A free port can be handed out again before Redis
        binds it (to another server of the test, or to a client's own connection), so a start that
        loses its port tries again: on a new port the first time, on the same one (its URL is already
        out) after that."""
        for _ in range(5):
            binary = shutil.which("redis-server") or "/usr/bin/redis-server"
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                wait_for_port(self.port, process=self.process, answers=_answers_pong)
            except RuntimeError:  # it exited: the port was taken
                stop(self.process)
                if self.started_before:
                    time.sleep(0.5)
                else:
                    self.port = free_port()
                continue
            self.started_before = True
            return self
        raise RuntimeError(f"redis-server could not serve on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.process:
            stop(self.process)

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


def base_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    # PYTHONFAULTHANDLER: a server that crashes in C still leaves its Python stack in its log.
    env.update({"DEBUG": "true", "SECRET_KEY": "test-secret-key", "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING",
                "PYTHONFAULTHANDLER": "1"})
    env.update(overrides)
    return env


class Stack:
    """A database set up through the real management commands, and Daphne processes serving it.

    `Stack(tmp_path).setup()` migrates a fresh SQLite file (or `database_url`), then
    `manage(...)` runs commands against it and `start_daphne()` serves it on a free port.
    """

    def __init__(self, workdir: Path | None = None, *, database_url: str | None = None, **env: str):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="cc-stack-"))
        self.database_url = database_url or f"sqlite:///{self.workdir / 'db.sqlite3'}"
        self.env = base_env(DATABASE_URL=self.database_url, **env)
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=check,
            timeout=120,
        )

    def setup(self) -> Stack:
        self.manage("migrate", "--noinput", "-v0")
        return self

    def start_daphne(self, port: int | None = None, **env: str) -> Daphne:
        port = port or free_port()
        log = open(self.workdir / f"daphne-{port}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            daphne_command("127.0.0.1", port),
            cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        wait_for_port(port, process=process, timeout=30)
        return Daphne(port=port, process=process, log_path=self.workdir / f"daphne-{port}.log")

    def start_simulator(self, port: int, *, callback_port: int, options: tuple[str, ...] = (),
                        **env: str) -> subprocess.Popen:
        """`manage.py phlo_simulator` on `port` for this stack's PHLO apps, sending their callbacks to
        the Daphne on `callback_port`; its output goes to simulator.log. The caller stops it (with
        SIGINT, as Ctrl-C does) and may check how it ended."""
        log = open(self.workdir / "simulator.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [PYTHON, "manage.py", "phlo_simulator", "--port", str(port),
             "--callback-base", f"http://127.0.0.1:{callback_port}", *options],
            cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


class Daphne:
    def __init__(self, *, port: int, process: subprocess.Popen, log_path: Path):
        self.port, self.process, self.log_path = port, process, log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def callback_url(self, phlo_id: str) -> str:
        """Where Plivo sends this PHLO app's callbacks (docs/callbacks.md)."""
        return f"{self.url}/callbacks/plivo/{phlo_id}/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_stack(workdir: Path | None = None, **kwargs):
    stack = Stack(workdir, **kwargs).setup()
    try:
        yield stack
    finally:
        stack.stop()
