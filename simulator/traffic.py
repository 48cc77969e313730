"""Simulated customers, as on Plivo: each calls the PHLO's number, waits alone in a multiparty call
(hold music) until the desk dials an agent in, talks a while, hangs up; or gives up waiting.

With `calls_per_minute` set, customers arrive at random (a Poisson process, so the wall sees bursts
and lulls, as in a real queue). Who answers is the desk's business (its router, docs/routing.md):
the simulator never knows the desk's agents.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from simulator.directory import Phlo, PhloDirectory
from simulator.model import AGENTS, CONNECTED, MultiPartyCall, Participant
from simulator.switchboard import Switchboard
from simulator.tasks import BackgroundTasks

logger = logging.getLogger(__name__)

FIRST_ARRIVAL_SECONDS = 1.0  # so a freshly started demo shows a call straight away
ANSWER_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CustomerBehaviour:
    talk_seconds: tuple[float, float] = (20.0, 90.0)  # from an agent joining to the customer hanging up
    patience_seconds: float = 60.0  # how long a customer waits for an agent before giving up


class Traffic:
    def __init__(
        self,
        *,
        switchboard: Switchboard,
        directory: PhloDirectory,
        calls_per_minute: float = 0.0,
        behaviour: CustomerBehaviour = CustomerBehaviour(),
        rng: random.Random | None = None,
    ):
        self.calls_per_minute = calls_per_minute
        self.behaviour = behaviour
        self._switchboard = switchboard
        self._directory = directory
        self._rng = rng or random.Random()
        self._tasks = BackgroundTasks()

    def start(self) -> None:
        if self.calls_per_minute > 0:
            self._tasks.spawn(self._arrivals())

    async def stop(self) -> None:
        await self._tasks.cancel_all()

    def call_in(
        self, phlo: Phlo, *, customer: str | None = None, dialled: str = "", talk_seconds: float | None = None,
        patience_seconds: float | None = None,
    ) -> MultiPartyCall:
        """One customer calls now (the PHLO's number, or `dialled`) and waits in a new multiparty call."""
        call, leg = self._switchboard.call_in(phlo, customer=customer or self._random_number(), dialled=dialled)
        talk = talk_seconds if talk_seconds is not None else self._rng.uniform(*self.behaviour.talk_seconds)
        patience = patience_seconds if patience_seconds is not None else self.behaviour.patience_seconds
        self._tasks.spawn(self._customer(call, leg, talk_seconds=talk, patience_seconds=patience))
        return call

    # --- inside ------------------------------------------------------------------------------

    async def _arrivals(self) -> None:
        pause = FIRST_ARRIVAL_SECONDS
        while True:
            await asyncio.sleep(pause)
            pause = self._rng.expovariate(self.calls_per_minute / 60.0)
            phlo = await self._directory.default()
            if phlo is None:
                logger.warning("no PHLO app is configured: simulated customers have nobody to call")
                continue
            self.call_in(phlo)

    async def _customer(
        self, call: MultiPartyCall, customer: Participant, *, talk_seconds: float, patience_seconds: float
    ) -> None:
        loop = asyncio.get_running_loop()
        gives_up_at = loop.time() + patience_seconds
        while not _an_agent_is_on(call):
            if not customer.live:
                return  # hung up by an agent action, or the call ended
            if loop.time() >= gives_up_at:
                logger.info("customer %s gave up waiting for an agent", customer.address)
                self._switchboard.hang_up(call, customer)
                return
            await asyncio.sleep(ANSWER_POLL_SECONDS)
        await asyncio.sleep(talk_seconds)
        if customer.live:
            self._switchboard.hang_up(call, customer)

    def _random_number(self) -> str:
        return f"+1202555{self._rng.randrange(10_000):04d}"


def _an_agent_is_on(call: MultiPartyCall) -> bool:
    return any(p.role in AGENTS and p.state == CONNECTED for p in call.participants)
