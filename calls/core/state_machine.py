"""The call state machine: (current state, event or action) → new state. Pure: no I/O.

Two rules keep it truthful whatever order Plivo delivers in:
- a call only moves forward (ringing or waiting → active → ended) and a member who left stays
  left (a caller who rejoins is a new member with a new MemberID);
- an event older than the newest one applied to the same call or member (by SequenceNumber,
  else EventTimestamp) is kept but does not roll the state back.

And the queue's (docs/routing.md): with routing on, a customer who called in and is alone (no
agent on the call) is *waiting*; the first agent on the line answers the call; a customer who
leaves while waiting abandons it; and the change may end the call's offer (calls/core/offers.py:
answered, missed or withdrawn), decided here with every other change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from calls.core.offers import settle_offer
from calls.core.snapshots import CallSnap, MemberSnap, RecordingSnap, Result, dial
from calls.core.vocabulary import (
    CALL_ORDER,
    CallAction,
    CallDirection,
    CallOutcome,
    CallStatus,
    JoinedVia,
    MemberAction,
    MemberRole,
    MemberState,
    MonitorMode,
    RecordingState,
    TransferAction,
    TransferRole,
    VoiceAction,
)
from phlo.addresses import address_key
from phlo.events import Event, Kind, RecordingInfo

DIALING, RINGING, CONNECTED, ON_HOLD, IN_TRANSFER, LEFT = (
    MemberState.DIALING, MemberState.RINGING, MemberState.CONNECTED, MemberState.ON_HOLD, MemberState.IN_TRANSFER,
    MemberState.LEFT,
)
INITIATOR, TARGET = TransferRole.INITIATOR, TransferRole.TARGET
AGENT, CUSTOMER, SUPERVISOR = MemberRole.AGENT, MemberRole.CUSTOMER, MemberRole.SUPERVISOR


def _is_older(event: Event, last_sequence: int | None, last_event_at: datetime | None) -> bool:
    if event.sequence is not None and last_sequence is not None:
        return event.sequence < last_sequence
    if event.sequence is None and event.timestamp is not None and last_event_at is not None:
        return event.timestamp < last_event_at
    return False


def _stamp(snap, event: Event):
    """Remember the newest event applied (never move the marks backwards)."""
    changes = {}
    if event.sequence is not None and (snap.last_sequence is None or event.sequence > snap.last_sequence):
        changes["last_sequence"] = event.sequence
    if event.timestamp is not None and (snap.last_event_at is None or event.timestamp > snap.last_event_at):
        changes["last_event_at"] = event.timestamp
    return replace(snap, **changes) if changes else snap


def find_member(call: CallSnap, event: Event) -> MemberSnap | None:
    """By MemberID; else by call UUID; else a member we dialled who has no MemberID yet, by address."""
    if event.member_id:
        found = next((m for m in call.members if m.member_id == event.member_id), None)
        if found:
            return found
    if event.call_uuid:
        found = next((m for m in reversed(call.members) if m.call_uuid == event.call_uuid), None)
        if found and (not event.member_id or not found.member_id):
            return found
    if event.address:
        key = address_key(event.address)
        return next(
            (
                m for m in reversed(call.members)
                if address_key(m.address) == key and m.live and not (event.member_id and m.member_id)
            ),
            None,
        )
    return None


# Where a member we had not seen is, by the first event about them.
FIRST_STATE = {
    Kind.MEMBER_DIALING: DIALING,
    Kind.MEMBER_RINGING: RINGING,
    Kind.MEMBER_HELD: ON_HOLD,
    Kind.MEMBER_LEFT: LEFT,
    Kind.MEMBER_FAILED: LEFT,
}
LEAVING = (Kind.MEMBER_LEFT, Kind.MEMBER_FAILED)
CALL_STATUS_OF = {
    Kind.CALL_INITIALIZED: CallStatus.RINGING, Kind.CALL_STARTED: CallStatus.ACTIVE, Kind.CALL_ENDED: CallStatus.ENDED,
}
FLAGS_OF = {  # member flags the events set
    Kind.MEMBER_MUTED: ("muted", True),
    Kind.MEMBER_UNMUTED: ("muted", False),
    Kind.MEMBER_COACHED: ("coach_mode", True),
    Kind.MEMBER_UNCOACHED: ("coach_mode", False),
}
RECORDING_STATE_OF = {
    Kind.RECORDING_STARTED: RecordingState.RECORDING,
    Kind.RECORDING_PAUSED: RecordingState.PAUSED,
    Kind.RECORDING_RESUMED: RecordingState.RECORDING,
    Kind.RECORDING_COMPLETED: RecordingState.COMPLETED,
    Kind.RECORDING_FAILED: RecordingState.FAILED,
}

# --- events -------------------------------------------------------------------------------------


def apply_event(call: CallSnap, event: Event, *, new_key: str = "new:0") -> Result:
    """The call after `event`, with any offer the new state ends ended (calls/core/offers.py)."""
    result = _apply_event(call, event, new_key)
    settled = settle_offer(result.call)
    if settled is result.call:
        return result
    return Result(settled, result.member_key, "applied")


def _apply_event(call: CallSnap, event: Event, new_key: str) -> Result:
    if event.kind == Kind.UNRECOGNISED:
        return Result(call, None, "unrecognised")
    if event.kind.about_call:
        return _apply_call_event(call, event)
    if event.kind.about_recording:
        return _apply_recording_event(call, event)
    if event.kind == Kind.INFORMATIONAL:
        return Result(call, None, "no_change")
    return _apply_member_event(call, event, new_key)


def _apply_call_event(call: CallSnap, event: Event) -> Result:
    target_status = CALL_STATUS_OF[event.kind]
    updated = replace(call, mpc_name=call.mpc_name or event.mpc_name)
    if event.kind in (Kind.CALL_INITIALIZED, Kind.CALL_STARTED) and (
        updated.started_at is None or (event.timestamp and event.timestamp < updated.started_at)
    ):
        updated = replace(updated, started_at=event.at)
    if event.termination_cause or event.termination_cause_code:
        updated = replace(
            updated, termination_cause=updated.termination_cause or event.termination_cause,
            termination_cause_code=updated.termination_cause_code or event.termination_cause_code,
        )
    if target_status == CallStatus.ACTIVE and _queueing(call):
        # A multiparty call starts when its first participant enters (Plivo's startMpcOnEnter), so
        # MPCStart can come with a customer alone; whether a routed call is active is its agents' to say.
        target_status = call.status
    stale = _is_older(event, call.last_sequence, call.last_event_at)
    if CALL_ORDER[target_status] > CALL_ORDER[call.status] and not (stale and target_status != CallStatus.ENDED):
        updated = _end_call(updated, event.at) if target_status == CallStatus.ENDED else replace(
            updated, status=target_status
        )
    updated = _stamp(updated, event)
    return Result(updated, None, _outcome(updated, call, stale))


def _outcome(updated: CallSnap, call: CallSnap, stale: bool, *, created: bool = False) -> str:
    """`applied` when something a dashboard shows changed (the call's version then grows)."""
    if created or not _same(updated, call):
        return "applied"
    return "stale" if stale else "no_change"


def _end_call(call: CallSnap, at: datetime) -> CallSnap:
    members = tuple(_left(m, at) if m.live else m for m in call.members)
    return replace(
        call, status=CallStatus.ENDED, ended_at=call.ended_at or at, members=members, recording="",
        outcome=call.outcome or _final_outcome(call),
    )


def _final_outcome(call: CallSnap) -> str:
    """Decided at the end for a call that never had one: a customer who called in and was never
    answered abandoned it."""
    if call.answered_at is not None:
        return CallOutcome.ANSWERED
    if call.direction == CallDirection.INBOUND:
        return CallOutcome.ABANDONED
    return ""


def _apply_recording_event(call: CallSnap, event: Event) -> Result:
    """A recording of the call started, paused, resumed, completed or failed (MPCRecording…)."""
    info = event.recording
    state = RECORDING_STATE_OF[event.kind]
    known = _known_recording(call, info, starting=event.kind == Kind.RECORDING_STARTED)
    recording = known or RecordingSnap(key="new:rec", started_at=event.at)
    if info is not None:
        recording = replace(
            recording,
            recording_uuid=recording.recording_uuid or info.recording_uuid,
            url=info.url or recording.url,
            duration=info.duration if info.duration is not None else recording.duration,
            format=info.format or recording.format,
            started_at=info.started_at or recording.started_at,
            ended_at=info.ended_at or recording.ended_at,
        )
    finished = state in (RecordingState.COMPLETED, RecordingState.FAILED)
    # A finished recording stays finished; one the desk started (and may have paused already) is
    # only confirmed by the start event that follows.
    settled = known is not None and (
        known.state in (RecordingState.COMPLETED, RecordingState.FAILED)
        or (event.kind == Kind.RECORDING_STARTED and known.state in LIVE_RECORDING)
    )
    if not settled:
        recording = replace(recording, state=state, ended_at=recording.ended_at or (event.at if finished else None))
    updated = call.with_recording(recording)
    if call.status != CallStatus.ENDED:
        live = [r for r in updated.recordings if r.state in LIVE_RECORDING]
        updated = replace(updated, recording=live[-1].state if live else "")
    return Result(updated, None, _outcome(updated, call, stale=False))


def _known_recording(call: CallSnap, info: RecordingInfo | None, *, starting: bool) -> RecordingSnap | None:
    """The recording an event is about: by RecordingUUID; else the one running or paused; else,
    for an event after the start, the newest one Plivo has not named yet (one the desk started
    and stopped itself before any event about it arrived)."""
    if info is not None and info.recording_uuid:
        named = next((r for r in call.recordings if r.recording_uuid == info.recording_uuid), None)
        if named is not None:
            return named
    live = next((r for r in reversed(call.recordings) if r.state in LIVE_RECORDING), None)
    if live is not None or starting:
        return live
    return next((r for r in reversed(call.recordings) if not r.recording_uuid), None)


def _apply_member_event(call: CallSnap, event: Event, new_key: str) -> Result:
    member = find_member(call, event)
    if member is None:
        if not (event.member_id or event.address):
            return Result(call, None, "unmatched")
        # An event about someone we have not seen says where they are now.
        member = MemberSnap(
            key=new_key, address=event.address, role=event.role or CUSTOMER,
            state=FIRST_STATE.get(event.kind, CONNECTED), state_since=event.at,
            joined_via=_first_joined_via(event),
        )
        is_new = True
    else:
        is_new = False
    before = member
    # Identity facts are filled in whatever the order: they never roll anything back.
    member = replace(
        member,
        member_id=member.member_id or event.member_id,
        call_uuid=member.call_uuid or event.call_uuid,
        role=event.role or member.role,
        address=member.address or event.address,
    )
    stale = _is_older(event, member.last_sequence, member.last_event_at)
    if event.kind == Kind.MEMBER_JOINED and member.joined_at is None:
        member = replace(member, joined_at=event.at)
    if member.state == LEFT and member.left_at is None:
        member = replace(member, left_at=event.at)
    if not stale and call.status != CallStatus.ENDED:
        member = _member_transition(member, event)
    elif call.status == CallStatus.ENDED and member.live:
        member = _left(member, event.at)
    if member.state != before.state and not is_new:
        # Plivo moved them: whoever's click it was, this is the state now, from the event's time.
        member = replace(member, state_since=event.at, state_changed_by_id=None)
    member = _stamp(member, event)
    updated = call.with_member(member)
    if member.state != before.state or is_new:
        updated = _settle_transfer(updated, member, before)
    if not stale:
        updated = _follow_queue(updated, member, event)
    return Result(updated, member.key, _outcome(updated, call, stale, created=is_new))


def _first_joined_via(event: Event) -> str:
    if event.direction == "inbound":
        return JoinedVia.INBOUND
    return JoinedVia.UNKNOWN


def _member_transition(member: MemberSnap, event: Event) -> MemberSnap:
    if not member.live:
        return member  # left is final; a rejoin arrives as a new member
    state = member.state
    if event.kind in (Kind.MEMBER_JOINED, Kind.MEMBER_PRESENT) or event.kind in FLAGS_OF:
        state = CONNECTED if member.state in (DIALING, RINGING) else member.state
    elif event.kind == Kind.MEMBER_RINGING:
        state = RINGING if member.state == DIALING else member.state
    elif event.kind == Kind.MEMBER_HELD:
        state = ON_HOLD
    elif event.kind == Kind.MEMBER_UNHELD:
        state = CONNECTED if member.state == ON_HOLD else member.state
    elif event.kind in LEAVING:
        return _left(member, event.at)
    member = replace(member, state=state)
    if event.kind in FLAGS_OF:
        flag, value = FLAGS_OF[event.kind]
        member = replace(member, **{flag: value})
    return member


def _left(member: MemberSnap, at: datetime) -> MemberSnap:
    return replace(
        member, state=LEFT, left_at=member.left_at or at, transfer_role="", state_since=at,
    )


def _follow_queue(call: CallSnap, member: MemberSnap, event: Event) -> CallSnap:
    """What a member's change means for the call as a whole: it becomes active (and answered)
    when an agent is on the line, waiting when a customer who called in is alone, abandoned
    when that customer leaves."""
    if call.status == CallStatus.ENDED:
        return call
    if call.direction == "" and member.role == CUSTOMER and event.direction in CallDirection.values:
        call = replace(call, direction=event.direction)
    if not call.called_number and member.role == CUSTOMER and event.called:
        call = replace(call, called_number=event.called)  # the number that reached us: the call's queue
    queueing = _queueing(call)
    if call.answered_at is None and call.has_on_the_line(AGENT) and call.has_on_the_line(CUSTOMER):
        call = replace(call, answered_at=event.at)
        if call.direction != CallDirection.OUTBOUND:
            call = replace(call, outcome=CallOutcome.ANSWERED)
    if call.status in (CallStatus.RINGING, CallStatus.WAITING):
        if call.has_on_the_line(AGENT) or (not queueing and member.on_the_line):
            return replace(call, status=CallStatus.ACTIVE)
        if queueing and member.role == CUSTOMER and member.on_the_line and not call.has_live(AGENT):
            return replace(call, status=CallStatus.WAITING, waiting_since=call.waiting_since or event.at)
        if call.status == CallStatus.WAITING and member.role == CUSTOMER and not call.has_live(CUSTOMER):
            return _end_call(replace(call, outcome=CallOutcome.ABANDONED), event.at)
    return call


def _queueing(call: CallSnap) -> bool:
    """Whether the call may wait for an agent: its app routes, and no agent placed it."""
    return call.routing and call.direction != CallDirection.OUTBOUND


def _settle_transfer(call: CallSnap, member: MemberSnap, before: MemberSnap) -> CallSnap:
    """A warm transfer ends when the held customer is brought back, or when either agent leaves.
    The call was transferred if the target is still on it."""
    initiator = call.transfer_initiator
    if initiator is None:
        return call
    customer_back = member.role == CUSTOMER and before.state == ON_HOLD and member.state == CONNECTED
    agent_left = before.transfer_role in (INITIATOR, TARGET) and member.state == LEFT
    if not (customer_back or agent_left):
        return call
    target = call.transfer_target
    return _finish_transfer(call, completed=target is not None and target.on_the_line)


def _finish_transfer(call: CallSnap, *, completed: bool) -> CallSnap:
    members = []
    for m in call.members:
        if m.transfer_role or m.state == IN_TRANSFER:
            m = replace(m, transfer_role="", state=CONNECTED if m.state == IN_TRANSFER else m.state)
        members.append(m)
    return replace(call, members=tuple(members), was_transferred=call.was_transferred or completed)


def _without_marks(call: CallSnap) -> CallSnap:
    members = tuple(replace(m, last_sequence=None, last_event_at=None) for m in call.members)
    return replace(call, last_sequence=None, last_event_at=None, members=members)


def _same(a: CallSnap, b: CallSnap) -> bool:
    return _without_marks(a) == _without_marks(b)


# --- actions ------------------------------------------------------------------------------------


class ActionRefused(Exception):
    """The action does not fit the call's current state (409)."""


def check_action(
    call: CallSnap, action: str, *, member_key: str | None, requester_key: str | None, mode: str = ""
) -> None:
    """Raise ActionRefused with a sentence a person can act on, or return when the action fits.
    `mode` is a monitor action's (listen, whisper or barge)."""
    if call.status == CallStatus.ENDED:
        raise ActionRefused("The call has ended.")
    if action in VoiceAction.values:
        return _check_voice_action(call, action, member_key=member_key, requester_key=requester_key, mode=mode)
    if action == TransferAction.COMPLETE:
        return _check_complete_transfer(call, member_key)
    if action == CallAction.ADD_MEMBER and trigger_leg(call, requester_key) is None:
        raise ActionRefused("Nobody is on the line in this call for PHLO to add a member through.")
    if action in CallAction.values:
        if action in (CallAction.WARM_TRANSFER, CallAction.COLD_TRANSFER):
            requester = call.member(requester_key) if requester_key else None
            if requester is None or not requester.on_the_line:
                raise ActionRefused("Only an agent on this call can transfer it.")
            if call.transfer_initiator is not None:
                raise ActionRefused("A warm transfer is already in progress; complete or abort it first.")
            if not any(m.live and m.key != requester.key for m in call.members):
                raise ActionRefused("There is nobody on the call to transfer.")
        return
    member = call.member(member_key)
    if not member.address:
        # PHLO names a member by their address in its path; Plivo's callbacks have not given one yet.
        raise ActionRefused("Plivo has not reported this member's number yet; try again in a moment.")
    if action == MemberAction.HOLD:
        if member.state != CONNECTED:
            raise ActionRefused(f"Only a connected member can be put on hold; this member is {_words(member)}.")
    elif action == MemberAction.UNHOLD:
        if member.state != ON_HOLD:
            raise ActionRefused(f"This member is not on hold; they are {_words(member)}.")
    elif action == MemberAction.HANGUP:
        if member.state == LEFT:
            raise ActionRefused("This member has already left the call.")
    elif action == MemberAction.VOICEMAIL_DROP:
        # A voicemail is dropped on a machine that answered: the leg must be connected.
        if not member.on_the_line:
            raise ActionRefused(
                f"A voicemail can only be dropped on a member who answered; this one is {_words(member)}."
            )
    elif action in (MemberAction.RESUME_CALL, MemberAction.ABORT_TRANSFER):
        initiator, target = call.transfer_initiator, call.transfer_target
        if initiator is None:
            raise ActionRefused("No warm transfer is in progress.")
        if action == MemberAction.ABORT_TRANSFER and member.key != initiator.key:
            raise ActionRefused("Only the agent who started the transfer can abort it.")
        if action == MemberAction.RESUME_CALL and member.key not in {initiator.key, target.key if target else None}:
            raise ActionRefused("Only the transferring agent or the transfer target can complete the transfer.")


def _words(member: MemberSnap) -> str:
    return MemberState(member.state).label.lower()


def _customers(call: CallSnap, from_state: str, to_state: str, at: datetime, *, by: int | None) -> CallSnap:
    """Every customer in `from_state` moves to `to_state` (a warm transfer holds them; its end brings them
    back), by whoever asked (`by`): never left to name whoever held or released them before."""
    members = tuple(
        replace(m, state=to_state, state_since=at, state_changed_by_id=by)
        if m.role == CUSTOMER and m.state == from_state else m
        for m in call.members
    )
    return replace(call, members=members)


JOINED_VIA_ACTION = {
    CallAction.ADD_MEMBER: JoinedVia.ADDED,
    CallAction.WARM_TRANSFER: JoinedVia.WARM_TRANSFER,
    CallAction.COLD_TRANSFER: JoinedVia.COLD_TRANSFER,
}


def apply_action(
    call: CallSnap,
    action: str,
    *,
    at: datetime,
    member_key: str | None = None,
    requester_key: str | None = None,
    actor_id: int | None = None,
    to: str = "",
    role: str = AGENT,
    new_key: str = "new:0",
    mode: str = "",
    recording: RecordingInfo | None = None,
) -> CallSnap:
    """The state an accepted action implies at once; Plivo's callbacks confirm or correct it.
    `actor_id` is the agent who asked (the desk says "Held by …"); `mode` a monitor action's;
    `recording` what Plivo answered a recording's start with."""
    if action in VoiceAction.values:
        return _apply_voice_action(
            call, action, at=at, member_key=member_key, requester_key=requester_key, actor_id=actor_id, to=to,
            new_key=new_key, mode=mode, recording=recording,
        )
    if action == TransferAction.COMPLETE:
        action = MemberAction.RESUME_CALL  # the call's side of it; the initiator's hang-up is an action of its own
    if action in CallAction.values:
        call, dialled = dial(
            call, to=to, role=role, at=at, via=JOINED_VIA_ACTION[action], invited_by_id=actor_id, new_key=new_key
        )
        if action == CallAction.ADD_MEMBER:
            return call
        requester = call.member(requester_key)
        if action == CallAction.COLD_TRANSFER:
            call = call.with_member(_left(requester, at))
            return replace(call, was_transferred=True)
        # warm transfer: the customers wait on hold while the two agents consult
        call = _customers(call, CONNECTED, ON_HOLD, at, by=actor_id)
        call = call.with_member(
            replace(requester, state=IN_TRANSFER, transfer_role=INITIATOR, state_since=at, state_changed_by_id=actor_id)
        )
        return call.with_member(replace(call.member(dialled.key), transfer_role=TARGET))
    member = call.member(member_key)
    if action == MemberAction.HOLD:
        return call.with_member(replace(member, state=ON_HOLD, state_since=at, state_changed_by_id=actor_id))
    if action == MemberAction.UNHOLD:
        return call.with_member(replace(member, state=CONNECTED, state_since=at, state_changed_by_id=actor_id))
    if action == MemberAction.HANGUP:
        call = call.with_member(replace(_left(member, at), state_changed_by_id=actor_id))
        return _settle_transfer(call, call.member(member.key), member)
    if action == MemberAction.VOICEMAIL_DROP:
        return call  # the member hears the message and leaves when it ends: Plivo's callbacks say when
    if action == MemberAction.RESUME_CALL:
        return _finish_transfer(_customers(call, ON_HOLD, CONNECTED, at, by=actor_id), completed=True)
    if action == MemberAction.ABORT_TRANSFER:
        target = call.transfer_target
        if target is not None:
            call = call.with_member(_left(target, at))
        return _finish_transfer(_customers(call, ON_HOLD, CONNECTED, at, by=actor_id), completed=False)
    raise ValueError(f"unknown action {action!r}")


# --- who PHLO acts through ----------------------------------------------------------------------


def trigger_leg(call: CallSnap, requester_key: str | None) -> MemberSnap | None:
    """The member PHLO adds a member on behalf of (`trigger_source`), who must be on the call:
    the requester's own agent leg; for someone not on the line (a supervisor), the agent who
    joined last; with no agent, the customer (as the router does, docs/routing.md)."""
    own = call.member(requester_key) if requester_key else None
    if own is not None and own.role == AGENT and own.on_the_line:
        return own
    for role in (AGENT, CUSTOMER):
        leg = next((m for m in reversed(call.members) if m.role == role and m.on_the_line), None)
        if leg is not None:
            return leg
    return None


def _check_complete_transfer(call: CallSnap, initiator_key: str | None) -> None:
    """The initiator hands over: there must be a transfer, and a target on the line to take it."""
    initiator, target = call.transfer_initiator, call.transfer_target
    if initiator is None:
        raise ActionRefused("No warm transfer is in progress.")
    if initiator_key != initiator.key:
        raise ActionRefused("Only the agent who started the transfer can complete it.")
    if target is None or not target.on_the_line:
        raise ActionRefused("The transfer target has not answered yet; wait for them, or abort the transfer.")


# --- the Voice API's actions: monitoring, mute, recording ----------------------------------------

LIVE_RECORDING = (RecordingState.RECORDING, RecordingState.PAUSED)
# Where a recording action may start from, and the call's `recording` it leaves.
RECORDING_STEPS = {
    VoiceAction.START_RECORDING: (("",), RecordingState.RECORDING),
    VoiceAction.PAUSE_RECORDING: ((RecordingState.RECORDING,), RecordingState.PAUSED),
    VoiceAction.RESUME_RECORDING: ((RecordingState.PAUSED,), RecordingState.RECORDING),
    VoiceAction.STOP_RECORDING: (LIVE_RECORDING, ""),
}
RECORDING_REFUSALS = {
    VoiceAction.START_RECORDING: "The call is already being recorded.",
    VoiceAction.PAUSE_RECORDING: "The recording is not running.",
    VoiceAction.RESUME_RECORDING: "The recording is not paused.",
    VoiceAction.STOP_RECORDING: "The call is not being recorded.",
}


def records_by_itself(call: CallSnap) -> bool:
    """Whether a call of an app that records every call is to be recorded now: it is active with an
    agent on the line, and nothing has been recorded of it (a recording someone stopped stays stopped)."""
    return (
        call.status == CallStatus.ACTIVE and call.has_on_the_line(AGENT) and call.recording == ""
        and all(r.state == RecordingState.FAILED for r in call.recordings)
    )


def monitor_mode(member: MemberSnap) -> MonitorMode:
    return MonitorMode.of(coach_mode=member.coach_mode, muted=member.muted)


def _check_voice_action(
    call: CallSnap, action: str, *, member_key: str | None, requester_key: str | None, mode: str
) -> None:
    own = call.member(requester_key) if requester_key else None
    if action == VoiceAction.MONITOR:
        if own is None:
            return  # the supervisor is dialled in
        if own.role != SUPERVISOR:
            raise ActionRefused(
                f"You are on this call as {MemberRole(own.role).label.lower()}; hang up first to monitor it."
            )
        if not own.on_the_line:
            raise ActionRefused("Your line into this call has not answered yet; change the mode once it has.")
        if monitor_mode(own) == mode:
            raise ActionRefused(f"You are already {MonitorMode(mode).label.lower()} on this call.")
    elif action == VoiceAction.STOP_MONITOR:
        if own is None or own.role != SUPERVISOR:
            raise ActionRefused("You are not monitoring this call.")
    elif action in (VoiceAction.MUTE, VoiceAction.UNMUTE):
        member = call.member(member_key)
        if not member.on_the_line:
            raise ActionRefused(f"Only a member on the line can be muted or unmuted; this one is {_words(member)}.")
        if member.muted == (action == VoiceAction.MUTE):
            raise ActionRefused("This member is already muted." if member.muted else "This member is not muted.")
    else:
        allowed_from, _ = RECORDING_STEPS[action]
        if call.recording not in allowed_from:
            raise ActionRefused(RECORDING_REFUSALS[action])
        if action == VoiceAction.START_RECORDING and call.status != CallStatus.ACTIVE:
            raise ActionRefused("A call can be recorded once it is active.")


def _apply_voice_action(
    call: CallSnap, action: str, *, at: datetime, member_key: str | None, requester_key: str | None,
    actor_id: int | None, to: str, new_key: str, mode: str, recording: RecordingInfo | None,
) -> CallSnap:
    if action == VoiceAction.MONITOR:
        chosen = MonitorMode(mode)
        if requester_key is None:
            call, supervisor = dial(
                call, to=to, role=SUPERVISOR, at=at, via=JoinedVia.MONITOR, invited_by_id=actor_id, new_key=new_key
            )
        else:
            supervisor = call.member(requester_key)
        return call.with_member(replace(supervisor, coach_mode=chosen.coach_mode, muted=chosen.muted))
    if action == VoiceAction.STOP_MONITOR:
        return call.with_member(replace(_left(call.member(requester_key), at), state_changed_by_id=actor_id))
    if action in (VoiceAction.MUTE, VoiceAction.UNMUTE):
        return call.with_member(replace(call.member(member_key), muted=action == VoiceAction.MUTE))
    return _step_recording(call, action, at=at, recording=recording)


def _step_recording(call: CallSnap, action: str, *, at: datetime, recording: RecordingInfo | None) -> CallSnap:
    """The call's recording mark, and the recording itself: a new one on start (with what Plivo
    answered: its ID and URL), the live one paused, resumed or finished."""
    _, call_recording = RECORDING_STEPS[action]
    if action == VoiceAction.START_RECORDING:
        info = recording or RecordingInfo()
        started = RecordingSnap(
            key="new:rec", recording_uuid=info.recording_uuid, url=info.url, format=info.format,
            state=RecordingState.RECORDING, started_at=at,
        )
        return replace(call.with_recording(started), recording=call_recording)
    live = next((r for r in reversed(call.recordings) if r.state in LIVE_RECORDING), None)
    if live is not None:
        if action == VoiceAction.STOP_RECORDING:
            live = replace(live, state=RecordingState.COMPLETED, ended_at=live.ended_at or at)
        else:
            live = replace(live, state=call_recording)
        call = call.with_recording(live)
    return replace(call, recording=call_recording)
