"""The actions Plivo's Voice API carries out (docs/voice-api.md): a supervisor listens, whispers or
barges; mute and unmute; start, pause, resume and stop recording. Each goes through
calls/actions/flow.py, the call named by its MPC UUID and a participant by its MemberID."""


from __future__ import annotations

from collections.abc import Awaitable, Callable

from calls.actions.flow import ActionDone, Attempt, Permitted, apply_attempt, attempt_action, check_attempt
from calls.core.upstream import voice_api
from calls.core.vocabulary import (
    MemberRole,
    MonitorMode,
    VoiceAction,
)
from phlo.events import RecordingInfo
from phlo.http import Reply
from phlo.voice_api import RECORDING_FORMAT

# --- through the Voice API: monitoring, mute, recording -------------------------------------------


async def monitor_run(*, user, call_id: int, mode: str) -> ActionDone:
    """A supervisor listens, whispers or barges: their own address is dialled into the call as a
    supervisor, or, when they are in it already, their participant takes the new mode."""
    mode = MonitorMode(mode)
    attempt = Attempt(user_id=user.pk, action=VoiceAction.MONITOR, request_body={"mode": mode}, call_id=call_id,
                      mode=mode)

    async def send(permitted: Permitted) -> Reply:
        api = voice_api(permitted.app, permitted.mpc_uuid)
        if permitted.own is not None:
            return await api.update_participant(permitted.own.member_id, coach_mode=mode.coach_mode, mute=mode.muted)
        address = permitted.agent.address
        return await api.add_participant(
            role=MemberRole.SUPERVISOR, from_=permitted.app.caller_id or address, to=address,
            coach_mode=mode.coach_mode, mute=mode.muted,
        )

    return await voice_attempt(attempt, send, check=lambda: check_attempt(user, attempt), to_self=True)


async def monitor_stop_run(*, user, call_id: int) -> ActionDone:
    attempt = Attempt(user_id=user.pk, action=VoiceAction.STOP_MONITOR, request_body={}, call_id=call_id)

    async def send(permitted: Permitted) -> Reply:
        return await voice_api(permitted.app, permitted.mpc_uuid).remove_participant(permitted.own.member_id)

    return await voice_attempt(attempt, send, check=lambda: check_attempt(user, attempt))


async def mute_run(*, user, call_id: int, member_id: int, action: str) -> ActionDone:
    """mute or unmute one member: an agent their own line, a supervisor anyone's."""
    action = VoiceAction(action)
    attempt = Attempt(user_id=user.pk, action=action, request_body={}, call_id=call_id, member_id=member_id)

    async def send(permitted: Permitted) -> Reply:
        api = voice_api(permitted.app, permitted.mpc_uuid)
        return await api.update_participant(permitted.member.member_id, mute=action == VoiceAction.MUTE)

    return await voice_attempt(attempt, send, check=lambda: check_attempt(user, attempt))


async def recording_run(*, user, call_id: int, action: str) -> ActionDone:
    """Start, pause, resume or stop recording the whole call."""
    attempt = Attempt(user_id=user.pk, action=VoiceAction(action), request_body={}, call_id=call_id)
    return await voice_attempt(attempt, recording_request(attempt.action), check=lambda: check_attempt(user, attempt))


def recording_request(action: VoiceAction) -> Callable[[Permitted], Awaitable[Reply]]:
    async def send(permitted: Permitted) -> Reply:
        api = voice_api(permitted.app, permitted.mpc_uuid)
        step = {
            VoiceAction.START_RECORDING: api.start_recording, VoiceAction.PAUSE_RECORDING: api.pause_recording,
            VoiceAction.RESUME_RECORDING: api.resume_recording, VoiceAction.STOP_RECORDING: api.stop_recording,
        }[action]
        return await step()

    return send


async def voice_attempt(
    attempt: Attempt, send: Callable[[Permitted], Awaitable[Reply]], *, check: Callable[[], Permitted],
    to_self: bool = False,
) -> ActionDone:
    """A Voice API action through the one flow (`_attempt`). `to_self`: a member the action dials
    is the requester (a supervisor's own leg)."""

    def finish(permitted: Permitted, reply: Reply) -> tuple[ActionDone, list]:
        return apply_attempt(
            attempt, permitted, reply, to=permitted.agent.address if to_self else "", role=MemberRole.SUPERVISOR,
            recording=_started_recording(attempt, reply),
        )

    return await attempt_action(attempt, check=check, send=send, finish=finish)


def _started_recording(attempt: Attempt, reply: Reply) -> RecordingInfo | None:
    """What Plivo's answer to a recording's start says of it: its ID and where it will be."""
    if attempt.action != VoiceAction.START_RECORDING:
        return None
    return RecordingInfo(
        recording_uuid=str(reply.data.get("recording_id") or "")[:128], url=str(reply.data.get("recording_url") or ""),
        format=RECORDING_FORMAT,
    )


