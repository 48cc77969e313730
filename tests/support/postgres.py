"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, served on a free loopback port.

`PostgresCluster().start()` → `create_database(name)` gives a `postgres://` URL → `stop()` shuts the
server down and removes the directory. PostgreSQL refuses to run as root, so under root the
server runs as the `postgres` system user (or `nobody`), in a directory that user owns.

The cluster is built for speed, not durability (no fsync): it lives for one test session.
If the test process dies without cleaning up, the server gets SIGQUIT from the kernel (parent
death signal) and the next start removes the orphaned directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.servers import free_port

DIR_PREFIX = "cc-pg-"
OWNER_FILE = "owner.pid"
SUPERUSER = "postgres"
# Durability off: a test cluster is thrown away, and fsync is most of PostgreSQL's write cost.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "log_min_messages": "warning",
    "track_activity_query_size": "8192",  # tests read whole waiting queries from pg_stat_activity
}
_PR_SET_PDEATHSIG = 1


def postgres_bindir() -> Path:
    """PG_BINDIR, else the newest Debian server under /usr/lib/postgresql, else initdb on PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(part) for part in Path(p).parts[-3].split(".") if part.isdigit()],
    )
    if debian:
        return Path(debian[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found; run scripts/install-system-deps.sh (or set PG_BINDIR)")


def _server_user() -> pwd.struct_passwd | None:
    """Who runs the server: ourselves, unless we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGQUIT)


def _base_dir() -> str:
    """Where clusters live: under root, /tmp (TMPDIR may be a directory the server user cannot enter)."""
    return "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else tempfile.gettempdir()


def remove_orphans() -> None:
    """Remove cluster directories whose owning test process is gone (it was killed, not stopped)."""
    for path in glob.glob(os.path.join(_base_dir(), DIR_PREFIX + "*")):
        try:
            owner = int(Path(path, OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


class PostgresCluster:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.bindir = postgres_bindir()
        self.user = _server_user()
        self.root: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def _run_as_server_user(self, args: list[str], **kwargs) -> subprocess.Popen:
        if self.user is not None:
            kwargs.update(user=self.user.pw_uid, group=self.user.pw_gid, extra_groups=[])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.root), "LC_ALL": "C", "TZ": "UTC"}
        return subprocess.Popen(args, env=env, cwd=self.root, preexec_fn=_die_with_parent, **kwargs)

    def start(self, timeout: float = 60.0) -> PostgresCluster:
        remove_orphans()
        self.root = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=_base_dir()))
        (self.root / OWNER_FILE).write_text(str(os.getpid()))
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        try:
            self._initdb()
            self._serve(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _initdb(self) -> None:
        initdb = self._run_as_server_user(
            [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--no-locale", "--no-sync"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        output, _ = initdb.communicate(timeout=120)
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{output}")

    def _serve(self, timeout: float) -> None:
        settings = {**SERVER_SETTINGS, "port": str(self.port), "unix_socket_directories": str(self.root)}
        args = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            args += ["-c", f"{name}={value}"]
        with open(self.log_path, "ab") as log:
            self.process = self._run_as_server_user(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}:\n{self.log()}")
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"postgres did not accept connections in {timeout}s:\n{self.log()}") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, close connections), then remove everything."""
        if self.process is not None and self.process.poll() is None:
            for sig, wait in ((signal.SIGINT, 20), (signal.SIGQUIT, 5), (signal.SIGKILL, 5)):
                self.process.send_signal(sig)
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


@contextmanager
def postgres_database(name: str = "contactcenter"):
    """A running throwaway cluster with one database; yields (cluster, url)."""
    cluster = PostgresCluster().start()
    try:
        yield cluster, cluster.create_database(name)
    finally:
        cluster.stop()
