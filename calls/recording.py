"""Recording every call of a PHLO app that asks for it ("record every call" in the admin):
recording starts when an agent is on the line (docs/voice-api.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from calls.actions import record_automatically
from calls.reactions import on_callback

if TYPE_CHECKING:
    from calls.callbacks.result import IntakeResult
    from calls.models import PhloApp


@on_callback
async def record_every_call(app: PhloApp, result: IntakeResult) -> None:
    # Cheap when there is nothing to do: most apps do not record, and most callbacks change nothing
    # that could start a recording.
    if not app.record_calls or result.outcome != "applied":
        return
    await record_automatically(result.call_id)
