"""Between the database and the pure state machine: load a call as a snapshot, write one back.

Every change to a call goes through `save_call_state`, which bumps the version once and
returns the live messages to publish after commit (the call, serialised once, and any agent
whose status followed). Callbacks and actions share it, so both broadcast the same way.
"""

from dataclasses import asdict, fields
from datetime import datetime

from django.utils.dateparse import parse_datetime

from agents.models import Agent
from agents.status import follow_calls
from calls.core.serialize import call_to_dict, call_update_message
from calls.core.state_machine import CallSnap, MemberSnap, RecordingSnap
from calls.core.vocabulary import LIVE_CALL_STATUSES, ON_THE_LINE, MemberRole
from calls.models import Call, Member, PhloApp
from conventions.times import iso
from fastpath.prepared import PreparedRead
from phlo.addresses import address_key

MEMBER_FIELDS = [f.name for f in fields(MemberSnap) if f.name != "key"]
# `routing` is the PHLO app's, not the call's; members and recordings are written on their own.
CALL_FIELDS = [f.name for f in fields(CallSnap) if f.name not in ("members", "recordings", "routing")]
RECORDING_FIELDS = [f.name for f in fields(RecordingSnap) if f.name != "key"]
# Only these members are ever someone's desk: a customer calling from an agent's number is not them.
AGENT_ROLES = (MemberRole.AGENT, MemberRole.SUPERVISOR)


def member_key(member: Member) -> str:
    return f"db:{member.pk}"


def _calls(*, lock: bool):
    calls = Call.objects.select_related("phlo_app", "disposition")
    return calls.select_for_update(of=("self",)) if lock else calls


def load_call(call_id: int, *, lock: bool) -> tuple[Call, list[Member]]:
    """The call and its members; with `lock`, the call row is locked until the transaction ends
    (PostgreSQL: concurrent callbacks for one call apply one after another; SQLite's IMMEDIATE
    transactions already serialise every writer)."""
    call = _calls(lock=lock).get(pk=call_id)
    return call, load_members(call)


# The callback's reads (fastpath/prepared.py: compiled once per process). The members without their
# agents: a callback needs only `agent_id`.
_CALL_BY_MPC = {
    lock: PreparedRead(
        lambda app_id, mpc_uuid, lock=lock: (
            Call.objects.select_for_update(of=("self",)) if lock else Call.objects
        ).filter(phlo_app_id=app_id, mpc_uuid=mpc_uuid)[:1],
        stand_ins=(-7_000_001, "\x00stand-in MPC UUID"),
    )
    for lock in (False, True)
}
_MEMBERS = PreparedRead(
    lambda call_id: Member.objects.filter(call_id=call_id).order_by("created_at", "id"), stand_ins=(-7_000_002,)
)


def load_call_by_mpc(app: PhloApp, mpc_uuid: str, *, lock: bool) -> tuple[Call, list[Member]] | None:
    """As `load_call`, found by its PHLO app and MPC UUID: a callback's call in one query, not an id
    lookup and then the row. Never another app's call, whatever UUID a callback signed for this one carries."""
    found = _CALL_BY_MPC[lock].read(app.pk, mpc_uuid)
    if not found:
        return None
    call = found[0]
    call.phlo_app = app  # the app in hand (its disposition, if any, is read when shown)
    members = _MEMBERS.read(call.pk)
    for member in members:
        member.call = call
    return call, members


def load_members(call: Call) -> list[Member]:
    return list(call.members.select_related("agent").order_by("created_at", "id"))


def snapshot(call: Call, members: list[Member]) -> CallSnap:
    return CallSnap(
        **{name: getattr(call, name) for name in CALL_FIELDS},
        routing=call.phlo_app.routing,
        members=tuple(
            MemberSnap(key=member_key(m), **{name: getattr(m, name) for name in MEMBER_FIELDS}) for m in members
        ),
        recordings=tuple(_recording_snap(i, stored) for i, stored in enumerate(call.recordings or [])),
    )


def _recording_snap(index: int, stored: dict) -> RecordingSnap:
    times = {name: parse_datetime(stored[name]) if stored.get(name) else None for name in ("started_at", "ended_at")}
    return RecordingSnap(
        key=f"db:{index}", **{name: stored.get(name) for name in RECORDING_FIELDS if name not in times}, **times
    )


def _recordings_json(recordings: tuple[RecordingSnap, ...]) -> list[dict]:
    return [
        {name: iso(value) if isinstance(value, datetime) else value for name, value in asdict(r).items()
         if name != "key"}
        for r in recordings
    ]


def save_call_state(
    call: Call, members: list[Member], before: CallSnap, after: CallSnap, *, visible_change: bool, at: datetime
) -> tuple[dict[str, Member], list[dict]]:
    """Write what changed; returns members by snapshot key and the messages to publish."""
    by_key = {member_key(m): m for m in members}
    old_members = {m.key: m for m in before.members}
    touched_agents: set[int] = set()
    for snap in after.members:
        member = by_key.get(snap.key)
        if member is None:
            member = Member(call=call, created_at=at, **{name: getattr(snap, name) for name in MEMBER_FIELDS})
            member.address_key = address_key(snap.address)
            member.agent = _agent_for(snap)
            member.save()
            by_key[snap.key] = member
            members.append(member)
        else:
            changed = [n for n in MEMBER_FIELDS if getattr(snap, n) != getattr(old_members[snap.key], n)]
            if not changed:
                continue
            for name in changed:
                setattr(member, name, getattr(snap, name))
            if "address" in changed or "role" in changed:
                member.address_key = address_key(snap.address)
                member.agent = _agent_for(snap)
                changed += ["address_key", "agent"]
            member.save(update_fields=changed)
        # Status follows a person's own calls; a supervisor's monitoring leg is not one of them.
        if member.agent_id and member.role == MemberRole.AGENT:
            touched_agents.add(member.agent_id)
    call_changed = [n for n in CALL_FIELDS if getattr(after, n) != getattr(before, n)]
    for name in call_changed:
        setattr(call, name, getattr(after, name))
    if after.recordings != before.recordings:
        call.recordings = _recordings_json(after.recordings)
        call_changed.append("recordings")
    if visible_change:
        call.version += 1
        call_changed.append("version")
    if call_changed:
        call.save(update_fields=call_changed)
    messages = []
    if visible_change:
        messages.append(call_update_message(call_to_dict(call, members), (m.agent_id for m in members)))
        messages.extend(follow_calls(
            agent_ids=touched_agents, on_the_line=_on_the_line(touched_agents),
            disposed=touched_agents if call.disposition_id else set(),
        ))
    return by_key, messages


def _on_the_line(agent_ids: set[int]) -> set[int]:
    """Which of these agents are on the line, as agents, in any live call (they are busy)."""
    if not agent_ids:
        return set()
    return set(
        Member.objects.filter(
            agent_id__in=agent_ids, role=MemberRole.AGENT, state__in=ON_THE_LINE, call__status__in=LIVE_CALL_STATUSES
        ).values_list("agent_id", flat=True)
    )


def _agent_for(member: MemberSnap) -> Agent | None:
    """The agent whose desk this member is: by address, for agent and supervisor legs only."""
    if member.role not in AGENT_ROLES or not member.address:
        return None
    return Agent.objects.filter(address_key=address_key(member.address)).first()
