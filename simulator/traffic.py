"""Simulated customers: they call in, ring the next available agent, talk a while, hang up.

With `calls_per_minute` set, customers arrive at random (a Poisson process, so the wall sees
bursts and lulls, as in a real queue). Each one waits in its own multiparty call while agents
are rung round robin among those whose status is `available` in our database and who are not
already on a simulated call; with nobody free it retries for a while, then gives up.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from phlo.addresses import address_key
from simulator.directory import Phlo, PhloDirectory
from simulator.model import RINGING, MultiPartyCall, NotAllowed, Participant
from simulator.switchboard import Switchboard
from simulator.tasks import BackgroundTasks

logger = logging.getLogger(__name__)

FIRST_ARRIVAL_SECONDS = 1.0  # so a freshly started demo shows a call straight away
ANSWER_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class CustomerBehaviour:
    talk_seconds: tuple[float, float] = (20.0, 90.0)  # from the agent answering to the customer hanging up
    patience_seconds: float = 30.0  # how long a customer waits for a free agent before giving up
    retry_seconds: float = 2.0  # how often a waiting customer's call looks for a free agent again


class Traffic:
    def __init__(
        self,
        *,
        switchboard: Switchboard,
        directory: PhloDirectory,
        calls_per_minute: float = 0.0,
        behaviour: CustomerBehaviour = CustomerBehaviour(),
        rng: random.Random | None = None,
        find_available_agents: Callable[[], list[str]] = list,
    ):
        self.calls_per_minute = calls_per_minute
        self.behaviour = behaviour
        self._switchboard = switchboard
        self._directory = directory
        self._rng = rng or random.Random()
        self._find_available_agents = find_available_agents
        self._last_rung: str | None = None  # round robin: the next agent is the one after this address
        self._tasks = BackgroundTasks()

    def start(self) -> None:
        if self.calls_per_minute > 0:
            self._tasks.spawn(self._arrivals())

    async def stop(self) -> None:
        await self._tasks.cancel_all()

    def call_in(
        self, phlo: Phlo, *, customer: str | None = None, agent: str | None = None, talk_seconds: float | None = None
    ) -> MultiPartyCall:
        """One customer calls now; `agent` rings that address instead of the next available agent."""
        customer = customer or self._random_number()
        call, leg = self._switchboard.call_in(phlo, customer=customer)
        talk = talk_seconds if talk_seconds is not None else self._rng.uniform(*self.behaviour.talk_seconds)
        self._tasks.spawn(self._customer(phlo, call, leg, agent=agent, talk_seconds=talk))
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
        self, phlo: Phlo, call: MultiPartyCall, customer: Participant, *, agent: str | None, talk_seconds: float
    ) -> None:
        loop = asyncio.get_running_loop()
        gives_up_at = loop.time() + self.behaviour.patience_seconds
        agent_leg = None
        while agent_leg is None:
            if not customer.live:
                return  # hung up by an agent action, or the call ended
            agent_leg = await self._ring_someone(phlo, call, agent)
            if agent_leg is None:
                if loop.time() >= gives_up_at:
                    logger.info("customer %s gave up waiting for an agent", customer.address)
                    self._switchboard.hang_up(call, customer, cause="NoAgentAvailable")
                    return
                await asyncio.sleep(self.behaviour.retry_seconds)
        while agent_leg.state == RINGING and customer.live:
            await asyncio.sleep(ANSWER_POLL_SECONDS)
        await asyncio.sleep(talk_seconds)
        if customer.live:
            self._switchboard.hang_up(call, customer)

    async def _ring_someone(self, phlo: Phlo, call: MultiPartyCall, agent: str | None) -> Participant | None:
        address = agent or await self._next_free_agent(phlo)
        if address is None:
            return None
        try:
            return self._switchboard.ring_agent(call, address)
        except NotAllowed:
            return None  # busy after all, or the call ended meanwhile

    async def _next_free_agent(self, phlo: Phlo) -> str | None:
        available = await asyncio.to_thread(self._find_available_agents)  # in a fixed order (by agent id)
        busy = self._switchboard.busy_agents(phlo)
        start = available.index(self._last_rung) + 1 if self._last_rung in available else 0
        for address in available[start:] + available[:start]:
            if address_key(address) not in busy:
                self._last_rung = address
                return address
        return None

    def _random_number(self) -> str:
        return f"+1202555{self._rng.randrange(10_000):04d}"
