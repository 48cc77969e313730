"""What the desk does by itself after a callback: every reaction, in one list.

Inside the callback's own transaction (calls/core/store.py), before Plivo's 200:
- the call's new state is written and its message built once for every dashboard that may see it;
- the agents on it follow (presence: busy, wrap-up; agents/status.py `follow_calls`);
- an offer the event settles ends (answered, missed or withdrawn: calls/core/offers.py decides,
  the store writes it and the offered agent follows).

After the commit and the 200, in a task of their own (`REACTIONS`, in this order): each is an async
function of the PHLO app and the intake's result, cheap when it has nothing to do, as it runs
after every callback; one that fails is logged and the others still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from calls.actions.recording import record_automatically
from calls.intake.result import IntakeResult
from calls.models import PhloApp
from calls.queue.figures import figures
from calls.queue.routing import router

logger = logging.getLogger(__name__)

Reaction = Callable[[PhloApp, IntakeResult], Awaitable[None]]


async def recount_figures(app: PhloApp, result: IntakeResult) -> None:
    """A change was applied: the queue's figures are due a recount (calls/queue/figures.py)."""
    if result.outcome == "applied":
        figures.changed()


async def offer_waiting_call(app: PhloApp, result: IntakeResult) -> None:
    """An offer claimed with the callback: PHLO dials the agent now; a customer who waits with no
    agent free: the router is woken to look again (calls/queue/routing.py)."""
    if result.offer is not None:
        await router().dial(result.offer)
    elif result.offer_wanted:
        router().wake()


async def record_every_call(app: PhloApp, result: IntakeResult) -> None:
    """An app that records every call starts recording once an agent is on the line
    (calls/actions/recording.py). Cheap when there is nothing to do: most apps do not record."""
    if app.record_calls and result.outcome == "applied":
        await record_automatically(result.call_id)


REACTIONS: tuple[Reaction, ...] = (recount_figures, offer_waiting_call, record_every_call)

_running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


def after_callback(app: PhloApp, result: IntakeResult) -> None:
    """Start the reactions to one committed callback, without waiting for them."""
    if result.call_id is None:
        return
    task = asyncio.get_running_loop().create_task(_react(app, result))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _react(app: PhloApp, result: IntakeResult) -> None:
    for reaction in REACTIONS:
        try:
            await reaction(app, result)
        except Exception:
            logger.exception("reaction %s to a callback failed", reaction.__qualname__)


async def settled() -> None:
    """Wait until every reaction started so far has finished (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
