"""The call state machine: (current state, normalised event or action) → new state. Pure: no I/O.

Two rules keep it truthful whatever order Plivo delivers in:
- a call only moves forward (ringing → active → ended) and a member who left stays left
  (a caller who rejoins is a new member with a new MemberID);
- an event older than the newest one applied to the same call or member (by SequenceNumber,
  else EventTimestamp) is kept but does not roll the state back.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from calls.vocabulary import (
    CALL_ORDER,
    LIVE_MEMBER_STATES,
    ON_THE_LINE,
    CallAction,
    CallStatus,
    MemberAction,
    MemberRole,
    MemberState,
    TransferRole,
)
from phlo.addresses import address_key, same_address
from phlo.events import Event, Kind

DIALING, RINGING, CONNECTED, ON_HOLD, IN_TRANSFER, LEFT = (
    MemberState.DIALING, MemberState.RINGING, MemberState.CONNECTED, MemberState.ON_HOLD, MemberState.IN_TRANSFER,
    MemberState.LEFT,
)
INITIATOR, TARGET = TransferRole.INITIATOR, TransferRole.TARGET


@dataclass(frozen=True)
class MemberSnap:
    key: str  # "db:<pk>" for a stored member, "new:<n>" for one this step creates
    address: str
    role: str = MemberRole.CUSTOMER
    state: str = DIALING
    member_id: str = ""
    call_uuid: str = ""
    transfer_role: str = ""
    joined_at: datetime | None = None
    left_at: datetime | None = None
    last_sequence: int | None = None
    last_event_at: datetime | None = None

    @property
    def live(self) -> bool:
        return self.state in LIVE_MEMBER_STATES


@dataclass(frozen=True)
class CallSnap:
    status: str = CallStatus.RINGING
    started_at: datetime | None = None
    ended_at: datetime | None = None
    mpc_name: str = ""
    last_sequence: int | None = None
    last_event_at: datetime | None = None
    members: tuple[MemberSnap, ...] = field(default_factory=tuple)

    def member(self, key: str) -> MemberSnap:
        return next(m for m in self.members if m.key == key)

    def with_member(self, member: MemberSnap) -> "CallSnap":
        if any(m.key == member.key for m in self.members):
            return replace(self, members=tuple(member if m.key == member.key else m for m in self.members))
        return replace(self, members=(*self.members, member))

    @property
    def transfer_initiator(self) -> MemberSnap | None:
        return next((m for m in self.members if m.transfer_role == INITIATOR and m.live), None)

    @property
    def transfer_target(self) -> MemberSnap | None:
        return next((m for m in self.members if m.transfer_role == TARGET and m.live), None)


@dataclass(frozen=True)
class Result:
    call: CallSnap
    member_key: str | None
    outcome: str  # applied | stale | no_change | unmatched


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

# --- events -------------------------------------------------------------------------------------


def apply_event(call: CallSnap, event: Event, *, new_key: str = "new:0") -> Result:
    if event.kind.about_call:
        return _apply_call_event(call, event)
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
    stale = _is_older(event, call.last_sequence, call.last_event_at)
    if CALL_ORDER[target_status] > CALL_ORDER[call.status] and not (stale and target_status != CallStatus.ENDED):
        updated = replace(updated, status=target_status)
        if target_status == CallStatus.ENDED:
            updated = _end_call(updated, event.at)
    updated = _stamp(updated, event)
    return Result(updated, None, _outcome(updated, call, stale))


def _outcome(updated: CallSnap, call: CallSnap, stale: bool, *, created: bool = False) -> str:
    """`applied` when something a dashboard shows changed (the call's version then grows)."""
    if created or not _same(updated, call):
        return "applied"
    return "stale" if stale else "no_change"


def _end_call(call: CallSnap, at: datetime) -> CallSnap:
    members = tuple(
        replace(m, state=LEFT, left_at=m.left_at or at, transfer_role="") if m.live else m for m in call.members
    )
    return replace(call, status=CallStatus.ENDED, ended_at=call.ended_at or at, members=members)


def _apply_member_event(call: CallSnap, event: Event, new_key: str) -> Result:
    member = find_member(call, event)
    if member is None:
        if not (event.member_id or event.address):
            return Result(call, None, "unmatched")
        # An event about someone we have not seen says where they are now.
        member = MemberSnap(
            key=new_key, address=event.address or event.member_id, role=event.role or MemberRole.CUSTOMER,
            state=FIRST_STATE.get(event.kind, CONNECTED),
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
        member = replace(member, state=LEFT, left_at=event.at)
    member = _stamp(member, event)
    updated = call.with_member(member)
    if member.state != before.state or is_new:
        updated = _settle_transfer(updated, member, before)
    if call.status == CallStatus.RINGING and member.state in ON_THE_LINE and not stale:
        updated = replace(updated, status=CallStatus.ACTIVE)
    return Result(updated, member.key, _outcome(updated, call, stale, created=is_new))


def _member_transition(member: MemberSnap, event: Event) -> MemberSnap:
    if not member.live:
        return member  # left is final; a rejoin arrives as a new member
    state = member.state
    if event.kind in (Kind.MEMBER_JOINED, Kind.MEMBER_PRESENT):
        state = CONNECTED if member.state in (DIALING, RINGING) else member.state
    elif event.kind == Kind.MEMBER_RINGING:
        state = RINGING if member.state == DIALING else member.state
    elif event.kind == Kind.MEMBER_HELD:
        state = ON_HOLD
    elif event.kind == Kind.MEMBER_UNHELD:
        state = CONNECTED if member.state == ON_HOLD else member.state
    elif event.kind in LEAVING:
        return _left(member, event.at)
    return replace(member, state=state)


def _left(member: MemberSnap, at: datetime) -> MemberSnap:
    return replace(member, state=LEFT, left_at=member.left_at or at, transfer_role="")


def _settle_transfer(call: CallSnap, member: MemberSnap, before: MemberSnap) -> CallSnap:
    """A warm transfer ends when the held customer is brought back, or when either agent leaves."""
    initiator = call.transfer_initiator
    if initiator is None:
        return call
    customer_back = member.role == MemberRole.CUSTOMER and before.state == ON_HOLD and member.state == CONNECTED
    agent_left = before.transfer_role in (INITIATOR, TARGET) and member.state == LEFT
    if not (customer_back or agent_left):
        return call
    return _finish_transfer(call)


def _finish_transfer(call: CallSnap) -> CallSnap:
    members = []
    for m in call.members:
        if m.transfer_role or m.state == IN_TRANSFER:
            m = replace(m, transfer_role="", state=CONNECTED if m.state == IN_TRANSFER else m.state)
        members.append(m)
    return replace(call, members=tuple(members))


def _without_marks(call: CallSnap) -> CallSnap:
    members = tuple(replace(m, last_sequence=None, last_event_at=None) for m in call.members)
    return replace(call, last_sequence=None, last_event_at=None, members=members)


def _same(a: CallSnap, b: CallSnap) -> bool:
    return _without_marks(a) == _without_marks(b)


# --- actions ------------------------------------------------------------------------------------

class ActionRefused(Exception):
    """The action does not fit the call's current state (409)."""


def check_action(call: CallSnap, action: str, *, member_key: str | None, requester_key: str | None) -> None:
    """Raise ActionRefused with a sentence a person can act on, or return when the action fits."""
    if call.status == CallStatus.ENDED:
        raise ActionRefused("The call has ended.")
    if action in CallAction.values:
        if action in (CallAction.WARM_TRANSFER, CallAction.COLD_TRANSFER):
            requester = call.member(requester_key) if requester_key else None
            if requester is None or requester.state not in ON_THE_LINE:
                raise ActionRefused("Only an agent on this call can transfer it.")
            if call.transfer_initiator is not None:
                raise ActionRefused("A warm transfer is already in progress; complete or abort it first.")
            if not any(m.live and m.key != requester.key for m in call.members):
                raise ActionRefused("There is nobody on the call to transfer.")
        return
    member = call.member(member_key)
    if action == MemberAction.HOLD:
        if member.state != CONNECTED:
            raise ActionRefused(f"Only a connected member can be put on hold; this member is {_words(member)}.")
    elif action == MemberAction.UNHOLD:
        if member.state != ON_HOLD:
            raise ActionRefused(f"This member is not on hold; they are {_words(member)}.")
    elif action in (MemberAction.HANGUP, MemberAction.VOICEMAIL_DROP):
        if member.state == LEFT:
            raise ActionRefused("This member has already left the call.")
    elif action in (MemberAction.RESUME_CALL, MemberAction.ABORT_TRANSFER):
        initiator, target = call.transfer_initiator, call.transfer_target
        if initiator is None:
            raise ActionRefused("No warm transfer is in progress.")
        if action == MemberAction.ABORT_TRANSFER and member.key != initiator.key:
            raise ActionRefused("Only the agent who started the transfer can abort it.")
        if action == MemberAction.RESUME_CALL and member.key not in {initiator.key, target.key if target else None}:
            raise ActionRefused("Only the transferring agent or the transfer target can complete the transfer.")


def _customers(call: CallSnap, from_state: str, to_state: str) -> CallSnap:
    """Every customer in `from_state` moves to `to_state` (a warm transfer holds them; its end brings them back)."""
    members = tuple(
        replace(m, state=to_state) if m.role == MemberRole.CUSTOMER and m.state == from_state else m
        for m in call.members
    )
    return replace(call, members=members)


def _words(member: MemberSnap) -> str:
    return MemberState(member.state).label.lower()


def apply_action(
    call: CallSnap,
    action: str,
    *,
    at: datetime,
    member_key: str | None = None,
    requester_key: str | None = None,
    to: str = "",
    role: str = MemberRole.AGENT,
    new_key: str = "new:0",
) -> CallSnap:
    """The state an accepted action implies at once; Plivo's callbacks confirm or correct it."""
    if action in CallAction.values:
        # Plivo's callbacks can beat PHLO's answer: then the dialled member is already here (PHLO
        # refuses to dial someone who is on the call, so a live member at `to` is this dial).
        already_here = next((m for m in reversed(call.members) if m.live and same_address(m.address, to)), None)
        dialled = already_here or MemberSnap(key=new_key, address=to, role=role, state=DIALING)
        if action == CallAction.ADD_MEMBER:
            return call.with_member(dialled)
        requester = call.member(requester_key)
        if action == CallAction.COLD_TRANSFER:
            call = call.with_member(_left(requester, at))
            return call.with_member(dialled)
        # warm transfer: the customers wait on hold while the two agents consult
        call = _customers(call, CONNECTED, ON_HOLD)
        call = call.with_member(replace(requester, state=IN_TRANSFER, transfer_role=INITIATOR))
        return call.with_member(replace(dialled, transfer_role=TARGET))
    member = call.member(member_key)
    if action == MemberAction.HOLD:
        return call.with_member(replace(member, state=ON_HOLD))
    if action == MemberAction.UNHOLD:
        return call.with_member(replace(member, state=CONNECTED))
    if action in (MemberAction.HANGUP, MemberAction.VOICEMAIL_DROP):
        call = call.with_member(_left(member, at))
        return _settle_transfer(call, call.member(member.key), member)
    if action == MemberAction.RESUME_CALL:
        return _finish_transfer(_customers(call, ON_HOLD, CONNECTED))
    if action == MemberAction.ABORT_TRANSFER:
        target = call.transfer_target
        if target is not None:
            call = call.with_member(_left(target, at))
        return _finish_transfer(_customers(call, ON_HOLD, CONNECTED))
    raise ValueError(f"unknown action {action!r}")
