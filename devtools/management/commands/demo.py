"""`make run`: the whole product live on one machine (README "Quick start").

Migrates, loads the demo data (idempotent: run it as often as you like), then runs the PHLO
simulator and Daphne as two child processes until Ctrl-C or SIGTERM, which stops both.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from io import StringIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from agents.accounts import agent_create_or_update
from agents.models import Agent, AgentStatus
from calls.core.state_machine import apply_event
from calls.core.store import load_call, save_call_state, snapshot
from calls.core.vocabulary import LIVE_CALL_STATUSES
from calls.models import Call, Disposition, PhloApp
from devtools.serving import daphne_command
from phlo.events import Event, Kind

DEMO_PHLO = {"name": "Demo support line", "phlo_id": "demo-support-line", "node_id": "demo-mpc-node",
             "auth_id": "MADEMO0000000000000X"}


@dataclass(frozen=True)
class DemoPerson:
    username: str
    name: str
    address: str
    status: str  # set on every start, so each demo begins the same way
    is_supervisor: bool = False


DEMO_PEOPLE = (
    DemoPerson("supervisor", "Sam Supervisor", "+14155550100", AgentStatus.OFFLINE, is_supervisor=True),
    # Yours to log in as: offline until you set yourself available on the desk.
    DemoPerson("alice", "Alice Agent", "+14155550101", AgentStatus.OFFLINE),
    DemoPerson("bob", "Bob Agent", "+14155550102", AgentStatus.OFFLINE),
    # Simulated colleagues: available, so the router offers them the simulated customers' calls (their
    # simulated phones answer) and the wall has life.
    DemoPerson("carol", "Carol Agent", "+14155550103", AgentStatus.AVAILABLE),
    DemoPerson("dave", "Dave Agent", "+14155550104", AgentStatus.AVAILABLE),
)
# Wrap-up codes to start with (docs/history.md); operators keep their own in the admin.
DEMO_DISPOSITIONS = (
    "Resolved", "Follow-up needed", "Escalated", "Billing question", "Sales opportunity", "Wrong number",
    "Voicemail left",
)
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


class Command(BaseCommand):
    help = "Run the desk with demo data, the PHLO simulator and Daphne (what `make run` ends in). Ctrl-C stops all."
    _stop_signal: int | None = None  # set by SIGINT or SIGTERM

    def add_arguments(self, parser):
        # DEMO_-prefixed, so a PORT or HOST meant for something else never moves the demo off 8000.
        parser.add_argument("--host", default=os.environ.get("DEMO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", "8000")), help="The desk")
        parser.add_argument("--simulator-port", type=int, default=int(os.environ.get("DEMO_SIMULATOR_PORT", "8100")))
        parser.add_argument(
            "--calls-per-minute", type=float, default=float(os.environ.get("DEMO_CALLS_PER_MINUTE", "4")),
            help="Simulated inbound customers per minute (0: none)",
        )

    def handle(self, *args, host, port, simulator_port, calls_per_minute, **options):
        for label, taken in (("--port", port), ("--simulator-port", simulator_port)):
            if _listening(host, taken):
                raise CommandError(f"Port {taken} ({label}) is already in use; pick another one.")
        call_command("migrate", interactive=False, verbosity=0)
        logins = self._load_demo_data()
        desk_url, simulator_url = _loopback_url(host, port), _loopback_url(host, simulator_port)
        env = {**os.environ, "DEBUG": "true", "PHLO_BASE_URL": f"{simulator_url}/v1",
               "PLIVO_API_BASE_URL": f"{simulator_url}/v1", "PYTHONUNBUFFERED": "1"}
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        # The simulator first and last: it delivers its pending callbacks while Daphne still listens.
        children = [
            ("PHLO simulator", simulator_port, subprocess.Popen(
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "phlo_simulator", "--host", host,
                 "--port", str(simulator_port), "--callback-base", desk_url,
                 "--calls-per-minute", str(calls_per_minute)],
                env=env, cwd=settings.BASE_DIR,
            )),
            ("Daphne", port, subprocess.Popen(
                # -v 0: no access log, so the terminal is not flooded by the simulator's callbacks.
                daphne_command(host, port, "-v", "0"),
                env=env, cwd=settings.BASE_DIR,
            )),
        ]
        try:
            for label, child_port, process in children:
                self._wait_until_listening(label, host, child_port, process)
            self._announce(desk_url, simulator_url, logins, calls_per_minute, children)
            self._supervise(children)
        finally:
            for _, _, process in children:
                _stop(process)
        self.stdout.write("Demo stopped.")
        self.stdout.flush()

    # --- demo data ----------------------------------------------------------------------------

    def _load_demo_data(self) -> list[tuple[DemoPerson, str]]:
        """The demo PHLO app (keeping its token), and the demo people with fresh passwords."""
        existing = PhloApp.objects.filter(phlo_id=DEMO_PHLO["phlo_id"]).first()
        # hex: a token starting with "-" would read as an option when handed to configure_phlo
        token = existing.auth_token if existing else secrets.token_hex(24)
        call_command("configure_phlo", **DEMO_PHLO, auth_token=token, default=True, routing=True, stdout=StringIO())
        _end_calls_left_live(PhloApp.objects.get(phlo_id=DEMO_PHLO["phlo_id"]))
        _starter_dispositions()
        logins = []
        for person in DEMO_PEOPLE:
            password = secrets.token_urlsafe(9)
            try:
                agent, _ = agent_create_or_update(
                    username=person.username, password=password, address=person.address, name=person.name,
                    is_supervisor=person.is_supervisor,
                )
            except ValidationError as exc:
                self.stderr.write(f"Skipped demo login {person.username}: {'; '.join(exc.messages)}")
                continue
            if person.is_supervisor:
                # The demo's supervisor also opens the Django admin (PHLO apps, agents, call history).
                agent.user.is_staff = agent.user.is_superuser = True
                agent.user.save(update_fields=["is_staff", "is_superuser"])
            # Each demo begins the same way, whatever an earlier one left (an offer, a call, a wrap-up).
            Agent.objects.filter(pk=agent.pk).update(
                status=person.status, chosen_status=person.status, status_since=timezone.now(), status_reason="",
                wrap_up_until=None, disposition_pending=False,
            )
            logins.append((person, password))
        return logins

    # --- the two servers ----------------------------------------------------------------------

    def _request_stop(self, signum, frame) -> None:
        self._stop_signal = signum

    def _wait_until_listening(self, label: str, host: str, port: int, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _listening(host, port):
            if self._stop_signal is not None:
                raise CommandError(f"Stopped while {label} was starting.")
            if process.poll() is not None:
                raise CommandError(f"{label} exited with status {process.returncode} before listening on port {port}.")
            if time.monotonic() > deadline:
                raise CommandError(f"{label} did not listen on port {port} within {START_TIMEOUT_SECONDS:g}s.")
            time.sleep(0.1)

    def _supervise(self, children) -> None:
        while self._stop_signal is None:
            for label, _, process in children:
                if process.poll() is not None:
                    raise CommandError(f"{label} exited with status {process.returncode}; stopping the demo.")
            time.sleep(0.2)
        self.stdout.write(f"\n{signal.Signals(self._stop_signal).name} received: stopping…")

    def _announce(self, desk_url, simulator_url, logins, calls_per_minute, children) -> None:
        write = self.stdout.write
        write("")
        write("=" * 72)
        write(f"  Contact-center desk:   {desk_url}/")
        write(f"    agent desk:          {desk_url}/agent/")
        write(f"    supervisor wall:     {desk_url}/supervisor/")
        write(f"    admin:               {desk_url}/admin/   API docs: {desk_url}/api/docs/")
        write(f"  PHLO simulator:        {simulator_url}/v1/   controls: {simulator_url}/_sim/faults/")
        write("")
        write("  Logins (new passwords on every start):")
        write(f"    {'role':<12}{'username':<14}{'password':<16}{'address':<15}status")
        for person, password in logins:
            role = "supervisor" if person.is_supervisor else "agent"
            write(f"    {role:<12}{person.username:<14}{password:<16}{person.address:<15}{person.status}")
        write("")
        if calls_per_minute:
            write(f"  Simulated customers call {calls_per_minute:g} times a minute and wait; the desk offers each")
            write("  to the longest-idle available agent, whose (simulated) phone answers.")
            write("  Set yourself available on the desk to take some too.")
        pids = ", ".join(f"{label} pid {process.pid}" for label, _, process in children)
        write(f"  Running ({pids}). Press Ctrl-C to stop.")
        write("=" * 72)
        self.stdout.flush()


def _starter_dispositions() -> None:
    """Only into an empty list: what an operator has changed since stays as they left it."""
    if not Disposition.objects.exists():
        Disposition.objects.bulk_create(
            Disposition(name=name, order=10 * (n + 1)) for n, name in enumerate(DEMO_DISPOSITIONS)
        )


def _end_calls_left_live(app: PhloApp) -> None:
    """A call an earlier demo left live can never end by itself (the simulator holding it is gone),
    and would keep its agents busy: end it, as an MPCEnd would (an offer it had ends with it)."""
    live = Call.objects.filter(phlo_app=app, status__in=LIVE_CALL_STATUSES)
    for call_id in live.values_list("pk", flat=True):
        with transaction.atomic():
            call, members = load_call(call_id, lock=True)
            before = snapshot(call, members)
            after = apply_event(before, Event(kind=Kind.CALL_ENDED, name="DemoRestart")).call
            save_call_state(call, members, before, after, visible_change=True, at=timezone.now())


def _reachable(host: str) -> str:
    """The address to reach a server bound to `host`: loopback when it is bound to all interfaces."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _loopback_url(host: str, port: int) -> str:
    return f"http://{_reachable(host)}:{port}"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_reachable(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
