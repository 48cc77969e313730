"""Recording every call of a PHLO app that asks for it ("record every call" in the admin):
recording starts when an agent is on the line (docs/voice-api.md), once, whatever the number of
processes. Called after callbacks (calls/intake/reactions.py: `record_every_call`)."""


from __future__ import annotations

import logging

from django.db import transaction

from calls.actions.flow import ActionDone, Attempt, Permitted
from calls.actions.voice import recording_request, voice_attempt
from calls.core.errors import CallError
from calls.core.state_machine import (
    records_by_itself,
)
from calls.core.store import load_call, snapshot
from calls.core.vocabulary import (
    VoiceAction,
)
from calls.models import Action
from fastpath.db_threads import in_db_thread

logger = logging.getLogger(__name__)


async def record_automatically(call_id: int) -> ActionDone | None:
    """Start recording a call its PHLO app records, once: the first process to claim the start
    sends it; any other finds the claim and does nothing. None when there is nothing to do."""
    claim = await in_db_thread(_claim_recording, call_id)
    if claim is None:
        return None
    attempt, permitted = claim
    try:
        return await voice_attempt(attempt, recording_request(attempt.action), check=lambda: permitted)
    except CallError as failure:
        logger.warning("could not start recording call %s by itself: %s", call_id, failure.detail)
        return None


def _claim_recording(call_id: int) -> tuple[Attempt, Permitted] | None:
    started = Action.objects.filter(call_id=call_id, action=VoiceAction.START_RECORDING)
    if started.exists():
        return None  # started before (and perhaps stopped by someone since), or being started now
    with transaction.atomic():
        call, members = load_call(call_id, lock=True)  # one claim at a time, whatever the process
        if not (call.phlo_app.record_calls and call.mpc_uuid and records_by_itself(snapshot(call, members))):
            return None
        if started.exists():
            return None  # claimed by another process while this one waited for the lock
        claim = Action.objects.create(
            call=call, action=VoiceAction.START_RECORDING, request_body={"automatic": True}, http_status=202,
        )
    attempt = Attempt(user_id=None, action=VoiceAction.START_RECORDING, request_body={"automatic": True},
                      call_id=call_id, claim_id=claim.pk)
    return attempt, Permitted(app=call.phlo_app, agent=None, mpc_uuid=call.mpc_uuid)



