"""Running the simulator: in the current event loop (tests start and stop it in-process, as often
as they like), in a thread of its own, or until a signal (the `phlo_simulator` command)."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Callable
from datetime import UTC, tzinfo

import uvicorn

from simulator.app import SimulatorApp
from simulator.callbacks import DEFAULT_LATENCY, DEFAULT_RETRY_DELAYS, Courier
from simulator.directory import Phlo, PhloDirectory
from simulator.faults import Faults
from simulator.switchboard import Switchboard, Timing
from simulator.traffic import CustomerBehaviour, Traffic


class InProcessServer:
    """Any ASGI app, served by uvicorn in the running event loop; `port=0` picks a free port.

    Uses uvicorn's startup() and shutdown() rather than serve(): serve() would also take over
    the process's signals (pytest's, the command's) and polls for its stop every 100 ms, which a
    test suite that starts servers by the dozen pays for each time.
    """

    def __init__(
        self, app, *, host: str = "127.0.0.1", port: int = 0, access_log: bool = False, log_level: str = "warning"
    ):
        self.app, self.host, self.port = app, host, port
        self.access_log, self.log_level = access_log, log_level
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> InProcessServer:
        # Bind here rather than in uvicorn, which answers a busy port with sys.exit() inside our loop.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, log_level=self.log_level, access_log=self.access_log,
            timeout_graceful_shutdown=2,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)  # as serve() sets it up before startup()
        await server.startup(sockets=[sock])
        self._server, self._socket = server, sock
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        await server.shutdown(sockets=[self._socket])


class Simulator:
    """The PHLO simulator, its parts wired together and served over HTTP."""

    def __init__(
        self,
        *,
        load_phlos: Callable[[], list[Phlo]],
        host: str = "127.0.0.1",
        port: int = 8100,
        callback_base: str = "http://127.0.0.1:8000",
        calls_per_minute: float = 0.0,
        timing: Timing | None = None,
        behaviour: CustomerBehaviour | None = None,
        faults: Faults | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        callback_latency: tuple[float, float] = DEFAULT_LATENCY,
        callback_timeout: float = 8.0,
        seed: int | None = None,
        tz: tzinfo = UTC,
        access_log: bool = False,
        log_level: str = "warning",
    ):
        rng = random.Random(seed)
        self.faults = faults or Faults()
        self.directory = PhloDirectory(load_phlos)
        self.courier = Courier(
            callback_base=callback_base, faults=self.faults, directory=self.directory, retry_delays=retry_delays,
            latency=callback_latency, timeout=callback_timeout, rng=rng,
        )
        # `tz`: the account's time zone, the UTC offset every time Plivo writes carries.
        self.switchboard = Switchboard(courier=self.courier, timing=timing or Timing(), rng=rng, tz=tz)
        self.traffic = Traffic(
            switchboard=self.switchboard, directory=self.directory, calls_per_minute=calls_per_minute,
            behaviour=behaviour or CustomerBehaviour(), rng=rng,
        )
        self.app = SimulatorApp(
            directory=self.directory, switchboard=self.switchboard, traffic=self.traffic, faults=self.faults, rng=rng
        )
        self._http = InProcessServer(self.app, host=host, port=port, access_log=access_log, log_level=log_level)
        self._stopped = False

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def api_url(self) -> str:
        """What PHLO_BASE_URL should be for the desk to use this simulator."""
        return f"{self._http.url}/v1"

    async def start(self) -> Simulator:
        try:
            await self.directory.refresh()
            await self.courier.start()
            await self._http.start()
        except BaseException:
            await self.stop()
            raise
        # Recording URLs name the simulator itself (the port is known only now, when it is 0).
        self.switchboard.recording_base_url = f"{self.url}/_sim/recordings"
        self.switchboard.api_base_url = self.api_url
        self.traffic.start()
        return self

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.app.closing.set()
        await self.traffic.stop()
        await self._http.stop()
        self.switchboard.close()
        await self.courier.close()

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()


class SimulatorThread:
    """The simulator on an event loop in a thread of its own, for synchronous callers."""

    def __init__(self, **options):
        self._options = options
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.simulator: Simulator | None = None

    def start(self, timeout: float = 30.0) -> Simulator:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="phlo-simulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError("the PHLO simulator did not start")
        if self._error is not None:
            raise self._error
        return self.simulator

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            self.simulator = await Simulator(**self._options).start()
        except BaseException as exc:  # hand start-up failures (a busy port…) to the starting thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.simulator.stop()
