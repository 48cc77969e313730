"""What the desk does by itself once a callback's change is committed and published: offer a
waiting call to an agent (routing), start recording a call its PHLO app records, and so on.

A reaction is an async function of the PHLO app and the intake's result; it must be cheap when
it has nothing to do (it runs after every applied callback). Reactions run in a task of their
own, after the answer: Plivo gets its 200 at once, whatever a reaction waits on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.callbacks.result import IntakeResult
    from calls.models import PhloApp

logger = logging.getLogger(__name__)

Reaction = Callable[["PhloApp", "IntakeResult"], Awaitable[None]]
_reactions: list[Reaction] = []


def on_callback(reaction: Reaction) -> Reaction:
    """Register `reaction` (a decorator); registered once, however often its module is imported."""
    if reaction not in _reactions:
        _reactions.append(reaction)
    return reaction


_running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks


def after_callback(app: PhloApp, result: IntakeResult) -> None:
    """Start the reactions to one committed callback, without waiting for them."""
    if result.call_id is None or not _reactions:
        return
    task = asyncio.get_running_loop().create_task(_react(app, result))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _react(app: PhloApp, result: IntakeResult) -> None:
    for reaction in _reactions:
        try:
            await reaction(app, result)
        except Exception:
            logger.exception("reaction %s to a callback failed", reaction.__qualname__)


async def settled() -> None:
    """Wait until every reaction started so far has finished (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
