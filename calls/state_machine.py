"""The call state machine: (current state, normalised event or action) → new state. Pure: no I/O.

Two rules keep it truthful whatever order Plivo delivers in:
- a call only moves forward (ringing → active → ended) and a member who left stays left
  (a caller who rejoins is a new member with a new MemberID);
- an event older than the newest one applied to the same call or member (by SequenceNumber,
  else EventTimestamp) is kept but does not roll the state back.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from agents.addresses import address_key
from calls.normalize import Event

CALL_ORDER = {"ringing": 0, "active": 1, "ended": 2}
LIVE_MEMBER_STATES = ("dialing", "ringing", "connected", "on_hold", "in_transfer")
ON_THE_LINE = ("connected", "on_hold", "in_transfer")


@dataclass(frozen=True)
class MemberSnap:
    key: str  # "db:<pk>" for a stored member, "new:<n>" for one this step creates
    address: str
    role: str = "customer"
    state: str = "dialing"
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
    status: str = "ringing"
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
        return next((m for m in self.members if m.transfer_role == "initiator" and m.live), None)

    @property
    def transfer_target(self) -> MemberSnap | None:
        return next((m for m in self.members if m.transfer_role == "target" and m.live), None)


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


FIRST_STATE = {
    "member_dialing": "dialing",
    "member_ringing": "ringing",
    "member_held": "on_hold",
    "member_left": "left",
    "member_failed": "left",
}

# --- events -------------------------------------------------------------------------------------


def apply_event(call: CallSnap, event: Event, *, new_key: str = "new:0") -> Result:
    if event.kind.startswith("call_"):
        return _apply_call_event(call, event)
    if event.kind == "informational":
        return Result(call, None, "no_change")
    return _apply_member_event(call, event, new_key)


def _apply_call_event(call: CallSnap, event: Event) -> Result:
    target_status = {"call_initialized": "ringing", "call_started": "active", "call_ended": "ended"}[event.kind]
    updated = replace(call, mpc_name=call.mpc_name or event.mpc_name)
    if event.kind in ("call_initialized", "call_started") and (
        updated.started_at is None or (event.timestamp and event.timestamp < updated.started_at)
    ):
        updated = replace(updated, started_at=event.at)
    stale = _is_older(event, call.last_sequence, call.last_event_at)
    if CALL_ORDER[target_status] > CALL_ORDER[call.status] and not (stale and target_status != "ended"):
        updated = replace(updated, status=target_status)
        if target_status == "ended":
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
        replace(m, state="left", left_at=m.left_at or at, transfer_role="") if m.live else m for m in call.members
    )
    return replace(call, status="ended", ended_at=call.ended_at or at, members=members)


def _apply_member_event(call: CallSnap, event: Event, new_key: str) -> Result:
    member = find_member(call, event)
    if member is None:
        if event.kind in ("member_left", "member_failed") and not event.member_id and not event.address:
            return Result(call, None, "unmatched")
        if not (event.member_id or event.address):
            return Result(call, None, "unmatched")
        # An event about someone we have not seen says where they are now.
        member = MemberSnap(
            key=new_key, address=event.address or event.member_id, role=event.role or "customer",
            state=FIRST_STATE.get(event.kind, "connected"),
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
    if event.kind == "member_joined" and member.joined_at is None:
        member = replace(member, joined_at=event.at)
    if member.state == "left" and member.left_at is None:
        member = replace(member, left_at=event.at)
    if not stale and call.status != "ended":
        member = _member_transition(member, event)
    elif call.status == "ended" and member.live:
        member = replace(member, state="left", left_at=event.at)
    member = _stamp(member, event)
    updated = call.with_member(member)
    if member.state != before.state or is_new:
        updated = _settle_transfer(updated, member, before)
    if call.status == "ringing" and member.state in ON_THE_LINE and not stale:
        updated = replace(updated, status="active")
    return Result(updated, member.key, _outcome(updated, call, stale, created=is_new))


def _member_transition(member: MemberSnap, event: Event) -> MemberSnap:
    if not member.live:
        return member  # left is final; a rejoin arrives as a new member
    state = member.state
    if event.kind == "member_joined" or event.kind == "member_present":
        state = "connected" if member.state in ("dialing", "ringing") else member.state
    elif event.kind == "member_ringing":
        state = "ringing" if member.state == "dialing" else member.state
    elif event.kind == "member_dialing":
        state = member.state
    elif event.kind == "member_held":
        state = "on_hold"
    elif event.kind == "member_unheld":
        state = "connected" if member.state == "on_hold" else member.state
    elif event.kind in ("member_left", "member_failed"):
        return replace(member, state="left", left_at=member.left_at or event.at, transfer_role="")
    return replace(member, state=state)


def _settle_transfer(call: CallSnap, member: MemberSnap, before: MemberSnap) -> CallSnap:
    """A warm transfer ends when the held customer is brought back, or when either agent leaves."""
    initiator = call.transfer_initiator
    if initiator is None:
        return call
    customer_back = member.role == "customer" and before.state == "on_hold" and member.state == "connected"
    agent_left = before.transfer_role in ("initiator", "target") and member.state == "left"
    if not (customer_back or agent_left):
        return call
    return _finish_transfer(call)


def _finish_transfer(call: CallSnap) -> CallSnap:
    members = []
    for m in call.members:
        if m.transfer_role or m.state == "in_transfer":
            m = replace(m, transfer_role="", state="connected" if m.state == "in_transfer" else m.state)
        members.append(m)
    return replace(call, members=tuple(members))


def _without_marks(call: CallSnap) -> CallSnap:
    members = tuple(replace(m, last_sequence=None, last_event_at=None) for m in call.members)
    return replace(call, last_sequence=None, last_event_at=None, members=members)


def _same(a: CallSnap, b: CallSnap) -> bool:
    return _without_marks(a) == _without_marks(b)


# --- actions ------------------------------------------------------------------------------------

CALL_ACTIONS = ("add-member", "warm-transfer", "cold-transfer")
MEMBER_ACTIONS = ("hold", "unhold", "hangup", "resume-call", "abort-transfer", "voicemail-drop")


class ActionRefused(Exception):
    """The action does not fit the call's current state (409)."""


def check_action(call: CallSnap, action: str, *, member_key: str | None, requester_key: str | None) -> None:
    """Raise ActionRefused with a sentence a person can act on, or return when the action fits."""
    if call.status == "ended":
        raise ActionRefused("The call has ended.")
    if action in CALL_ACTIONS:
        if action in ("warm-transfer", "cold-transfer"):
            requester = call.member(requester_key) if requester_key else None
            if requester is None or requester.state not in ON_THE_LINE:
                raise ActionRefused("Only an agent on this call can transfer it.")
            if call.transfer_initiator is not None:
                raise ActionRefused("A warm transfer is already in progress; complete or abort it first.")
            if not any(m.live and m.key != requester.key for m in call.members):
                raise ActionRefused("There is nobody on the call to transfer.")
        return
    member = call.member(member_key)
    if action == "hold":
        if member.state != "connected":
            raise ActionRefused(f"Only a connected member can be put on hold; this member is {_words(member)}.")
    elif action == "unhold":
        if member.state != "on_hold":
            raise ActionRefused(f"This member is not on hold; they are {_words(member)}.")
    elif action in ("hangup", "voicemail-drop"):
        if member.state == "left":
            raise ActionRefused("This member has already left the call.")
    elif action in ("resume-call", "abort-transfer"):
        initiator, target = call.transfer_initiator, call.transfer_target
        if initiator is None:
            raise ActionRefused("No warm transfer is in progress.")
        if action == "abort-transfer" and member.key != initiator.key:
            raise ActionRefused("Only the agent who started the transfer can abort it.")
        if action == "resume-call" and member.key not in {initiator.key, target.key if target else None}:
            raise ActionRefused("Only the transferring agent or the transfer target can complete the transfer.")


def _words(member: MemberSnap) -> str:
    return member.state.replace("_", " ")


def apply_action(
    call: CallSnap,
    action: str,
    *,
    at: datetime,
    member_key: str | None = None,
    requester_key: str | None = None,
    to: str = "",
    role: str = "agent",
    new_key: str = "new:0",
) -> CallSnap:
    """The state an accepted action implies at once; Plivo's callbacks confirm or correct it."""
    if action in CALL_ACTIONS:
        # Plivo's callbacks can beat PHLO's answer: then the dialled member is already here (PHLO
        # refuses to dial someone who is on the call, so a live member at `to` is this dial).
        already_here = next(
            (m for m in reversed(call.members) if m.live and address_key(m.address) == address_key(to)), None
        )
        dialled = already_here or MemberSnap(key=new_key, address=to, role=role, state="dialing")
        if action == "add-member":
            return call.with_member(dialled)
        requester = call.member(requester_key)
        if action == "cold-transfer":
            call = call.with_member(replace(requester, state="left", left_at=at, transfer_role=""))
            return call.with_member(dialled)
        # warm transfer: the customers wait on hold while the two agents consult
        members = tuple(
            replace(m, state="on_hold") if m.role == "customer" and m.state == "connected" else m
            for m in call.members
        )
        call = replace(call, members=members)
        call = call.with_member(replace(requester, state="in_transfer", transfer_role="initiator"))
        return call.with_member(replace(dialled, transfer_role="target"))
    member = call.member(member_key)
    if action == "hold":
        return call.with_member(replace(member, state="on_hold"))
    if action == "unhold":
        return call.with_member(replace(member, state="connected"))
    if action in ("hangup", "voicemail-drop"):
        call = call.with_member(replace(member, state="left", left_at=at, transfer_role=""))
        return _settle_transfer(call, call.member(member.key), member)
    if action == "resume-call":
        members = tuple(
            replace(m, state="connected") if m.role == "customer" and m.state == "on_hold" else m
            for m in call.members
        )
        return _finish_transfer(replace(call, members=members))
    if action == "abort-transfer":
        target = call.transfer_target
        if target is not None:
            call = call.with_member(replace(target, state="left", left_at=at, transfer_role=""))
        members = tuple(
            replace(m, state="connected") if m.role == "customer" and m.state == "on_hold" else m
            for m in call.members
        )
        return _finish_transfer(replace(call, members=members))
    raise ValueError(f"unknown action {action!r}")
