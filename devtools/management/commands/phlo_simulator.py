import argparse
import asyncio
import re
import signal
from datetime import timedelta, timezone

from django.core.management.base import BaseCommand, CommandError

from devtools.simulator_sources import load_phlos_from_database
from simulator.callbacks import DEFAULT_LATENCY, DEFAULT_RETRY_DELAYS
from simulator.faults import Faults
from simulator.server import Simulator
from simulator.switchboard import Timing
from simulator.traffic import CustomerBehaviour


def seconds_range(text: str) -> tuple[float, float]:
    """`0.3-1.0` (a random duration between) or `2` (always that long)."""
    low, _, high = text.partition("-")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SECONDS or MIN-MAX, not {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, not {text!r}")
    return bounds


def seconds_list(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated seconds, not {text!r}") from None
    if any(delay < 0 for delay in delays):
        raise argparse.ArgumentTypeError("retry delays must not be negative")
    return delays


def utc_offset(text: str) -> timezone:
    """`+05:30`, `-05:00`, `+00:00`: the offset the simulated account's times are written with."""
    match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if not match or int(match[2]) > 23 or int(match[3]) > 59:
        raise argparse.ArgumentTypeError(f"expected an offset like +05:30 or -05:00, not {text!r}")
    offset = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(-offset if match[1] == "-" else offset)


def share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, not {text!r}")
    return value


class Command(BaseCommand):
    help = (
        "Run the PHLO simulator: the PHLO API under /v1/ for the PHLO apps configured in the database, "
        "with signed callbacks to {callback-base}/callbacks/plivo/{phlo_id}/. See docs/simulator.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--callback-base", default="http://127.0.0.1:8000",
                            help="Origin of the desk that receives the callbacks")
        parser.add_argument("--calls-per-minute", type=float, default=0.0,
                            help="Simulated inbound customers per minute (0: none)")
        timing = parser.add_argument_group("timing")
        timing.add_argument("--ring-seconds", type=seconds_range, default=Timing.ring_seconds,
                            help="How long a dialled leg rings before it answers, e.g. 0.3-1.0")
        timing.add_argument("--voicemail-seconds", type=float, default=Timing.voicemail_seconds,
                            help="How long a dropped voicemail plays before the member leaves")
        timing.add_argument("--no-answer-seconds", type=float, default=Timing.no_answer_seconds,
                            help="How long a phone set to never answer rings before its leg fails")
        timing.add_argument("--talk-seconds", type=seconds_range, default=CustomerBehaviour.talk_seconds,
                            help="How long a simulated customer talks before hanging up, e.g. 20-90")
        timing.add_argument("--patience-seconds", type=float, default=CustomerBehaviour.patience_seconds,
                            help="How long a simulated customer waits for an agent before hanging up")
        timing.add_argument("--callback-latency", type=seconds_range, default=DEFAULT_LATENCY,
                            help="Delay from an event to its callback being sent, e.g. 0.02-0.1")
        timing.add_argument("--retry-delays", type=seconds_list, default=DEFAULT_RETRY_DELAYS,
                            help="Pauses before retrying a failed callback, e.g. 1,2,4")
        timing.add_argument("--seed", type=int, default=None, help="Random seed, for a reproducible run")
        parser.add_argument("--utc-offset", type=utc_offset, default=utc_offset("+00:00"),
                            help="The account's time zone: times in callbacks and objects carry it, e.g. -05:00")
        faults = parser.add_argument_group("faults (also settable at runtime: POST /_sim/faults)")
        faults.add_argument("--latency", type=float, default=0.0, help="Seconds added to every PHLO API answer")
        faults.add_argument("--error-rate", type=share, default=0.0, help="Share of PHLO API requests answered 500")
        faults.add_argument("--stuck", action="store_true", help="Never answer PHLO API requests")
        faults.add_argument("--token-rotated", action="store_true", help="Answer every PHLO API request 401")
        faults.add_argument("--duplicate-rate", type=share, default=0.0, help="Share of callbacks delivered twice")
        faults.add_argument("--reorder", action="store_true", help="Deliver each call's callbacks in random order")

    def handle(self, *args, **options):
        simulator = Simulator(
            load_phlos=load_phlos_from_database,
            host=options["host"],
            port=options["port"],
            callback_base=options["callback_base"],
            calls_per_minute=options["calls_per_minute"],
            timing=Timing(
                ring_seconds=options["ring_seconds"], voicemail_seconds=options["voicemail_seconds"],
                no_answer_seconds=options["no_answer_seconds"],
            ),
            behaviour=CustomerBehaviour(
                talk_seconds=options["talk_seconds"], patience_seconds=options["patience_seconds"]
            ),
            faults=Faults(
                latency=options["latency"], error_rate=options["error_rate"], stuck=options["stuck"],
                token_rotated=options["token_rotated"], duplicate_rate=options["duplicate_rate"],
                reorder=options["reorder"],
            ),
            retry_delays=options["retry_delays"],
            callback_latency=options["callback_latency"],
            seed=options["seed"],
            tz=options["utc_offset"],
            access_log=options["verbosity"] >= 2,
            log_level="info" if options["verbosity"] >= 2 else "warning",
        )
        try:
            asyncio.run(self._serve(simulator))
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from None

    async def _serve(self, simulator: Simulator) -> None:
        """Serve until SIGINT or SIGTERM, then stop cleanly (pending callbacks get a short grace)."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await simulator.start()
        self._announce(simulator)
        try:
            await stop.wait()
        finally:
            await simulator.stop()
        self.stdout.write("PHLO simulator stopped.")

    def _announce(self, simulator: Simulator) -> None:
        phlos = simulator.directory.known()
        self.stdout.write(f"PHLO simulator serving {simulator.api_url}/ (set PHLO_BASE_URL={simulator.api_url})")
        self.stdout.write(f"Callbacks to {simulator.courier.url_for('<phlo_id>')}")
        for phlo in phlos:
            self.stdout.write(f"  PHLO app {phlo.name}: phlo_id={phlo.phlo_id} node_id={phlo.node_id}")
        if not phlos:
            self.stdout.write("  No PHLO app configured yet (manage.py configure_phlo); it is read when first asked.")
        if simulator.traffic.calls_per_minute:
            self.stdout.write(f"Simulated customers: {simulator.traffic.calls_per_minute:g} calls per minute")
        controls = ", ".join(f"{simulator.url}/_sim/{name}/" for name in ("faults", "calls", "inbound", "phones"))
        self.stdout.write(f"Controls: {controls}")
        self.stdout.flush()
