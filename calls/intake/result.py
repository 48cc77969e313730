"""What the intake made of one callback: what the view answers, publishes and reacts to
(calls/intake/apply.py makes it; calls/intake/reactions.py hands it to each reaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from calls.queue.routing import Offer


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # applied | stale | no_change | unmatched | unrecognised | duplicate
    call_id: int | None
    messages: list[dict]
    family: str = ""
    event_name: str = ""
    offer_wanted: bool = False  # the call waits for an agent and no one is offered it
    offer: Offer | None = None  # an offer claimed with this callback: PHLO is to dial the agent
