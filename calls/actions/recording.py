"""Recording every call of a PHLO app that asks for it ("record every call" in the admin):
recording starts when an agent is on the line (docs/voice-api.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from calls.actions.flow import record_automatically

if TYPE_CHECKING:
    from calls.intake.result import IntakeResult
    from calls.models import PhloApp


async def record_every_call(app: PhloApp, result: IntakeResult) -> None:
    # Cheap when there is nothing to do: most apps do not record, and most callbacks change nothing
    # that could start a recording.
    if not app.record_calls or result.outcome != "applied":
        return
    await record_automatically(result.call_id)
