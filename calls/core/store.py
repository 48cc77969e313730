"""Between the database and the pure state machine: load a call as a snapshot, write one back.

The one writer of a call's rows (the call, its members): every change goes through
`save_call_state`, which writes what the rules decided, bumps the version once and returns the
live messages to publish after commit (the call, serialised once, and any agent whose status
followed). Callbacks, actions, the queue and wrap-ups share it, so all broadcast the same way.
The one other write is `claim_offer`'s conditional update: the claim that makes an offer safe
on any number of processes (calls/queue/routing.py) must be a single statement.
"""

from dataclasses import asdict, fields
from datetime import datetime

from django.utils.dateparse import parse_datetime

from agents import status as agent_status
from agents.models import Agent
from calls.core.offers import OfferEnd
from calls.core.serialize import call_to_dict, call_update_message
from calls.core.snapshots import CallSnap, MemberSnap, RecordingSnap
from calls.core.vocabulary import LIVE_CALL_STATUSES, OFFER_ACTION, ON_THE_LINE, CallStatus, MemberRole
from calls.models import Action, Call, Member, PhloApp
from conventions.times import iso
from fastpath.prepared import PreparedRead, PreparedUpdate
from metrics.registry import ROUTING_OFFERS
from phlo.addresses import address_key, digits_reversed

MEMBER_FIELDS = [f.name for f in fields(MemberSnap) if f.name != "key"]
# Not the call's own columns: `routing` is the PHLO app's; the offered agent's address key and how an
# offer just ended are never stored; members, recordings, wrap-ups and decliners are written apart.
# JSON lists, held as tuples in a snapshot.
JSON_LISTS = ("wrap_ups", "declined_by", "customer_history")
NOT_CALL_COLUMNS = ("members", "recordings", "routing", "offered_address_key", "offer_ended", *JSON_LISTS)
CALL_FIELDS = [f.name for f in fields(CallSnap) if f.name not in NOT_CALL_COLUMNS]
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


# The store's writes of a call or member, built once per set of columns (fastpath/prepared.py).
_CALL_WRITE = PreparedUpdate(Call)
_MEMBER_WRITE = PreparedUpdate(Member)


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
        offered_address_key=_offered_address_key(call),
        **{name: _as_tuple(getattr(call, name)) for name in JSON_LISTS},
        members=tuple(
            MemberSnap(key=member_key(m), **{name: getattr(m, name) for name in MEMBER_FIELDS}) for m in members
        ),
        recordings=tuple(_recording_snap(i, stored) for i, stored in enumerate(call.recordings or [])),
    )


def _as_tuple(stored: list | None) -> tuple | None:
    return None if stored is None else tuple(stored)


def _as_list(held: tuple | None) -> list | None:
    return None if held is None else list(held)


def _offered_address_key(call: Call) -> str:
    """The offered agent's address as the rules compare it: read only while a call is offered."""
    if call.offered_to_id is None:
        return ""
    return Agent.objects.filter(pk=call.offered_to_id).values_list("address_key", flat=True).first() or ""


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
            member.address_digits_reversed = digits_reversed(snap.address)
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
                member.address_digits_reversed = digits_reversed(snap.address)
                member.agent = _agent_for(snap)
                changed += ["address_key", "address_digits_reversed", "agent"]
            _MEMBER_WRITE.write(member, changed)
        # Status follows a person's own calls; a supervisor's monitoring leg is not one of them.
        if member.agent_id and member.role == MemberRole.AGENT:
            touched_agents.add(member.agent_id)
    call_changed = [n for n in CALL_FIELDS if getattr(after, n) != getattr(before, n)]
    for name in call_changed:
        setattr(call, name, getattr(after, name))
    if after.recordings != before.recordings:
        call.recordings = _recordings_json(after.recordings)
        call_changed.append("recordings")
    for name in JSON_LISTS:
        if getattr(after, name) != getattr(before, name):
            setattr(call, name, _as_list(getattr(after, name)))
            call_changed.append(name)
    if visible_change:
        call.version += 1
        call_changed.append("version")
    if call_changed:
        _CALL_WRITE.write(call, call_changed)
    messages = _offer_ended(call, before, after) if after.offer_ended else []
    if visible_change:
        messages.insert(0, call_update_message(call_to_dict(call, members), (m.agent_id for m in members)))
        messages.extend(agent_status.follow_calls(
            agent_ids=touched_agents, on_the_line=_on_the_line(touched_agents),
            disposed=touched_agents if call.disposition_id else set(),
        ))
    return by_key, messages


def create_call(**fields) -> Call:
    """A call the desk hears of first (a callback of an unknown MPC) or starts (a PHLO run)."""
    return Call.objects.create(**fields)


def claim_offer(call_id: int, agent_id: int, *, at: datetime) -> bool:
    """The call, if it still waits unoffered, is offered to this agent: one conditional update, so
    of two processes claiming it only one can win. The caller then dials the agent in
    (calls/core/offers.py: `make_offer`) and saves that through `save_call_state`."""
    return bool(
        Call.objects.filter(pk=call_id, status=CallStatus.WAITING, offered_to__isnull=True).update(
            offered_to_id=agent_id, offered_at=at
        )
    )


def _offer_ended(call: Call, before: CallSnap, after: CallSnap) -> list[dict]:
    """An offer ended in this step (`after.offer_ended`, decided by calls/core/offers.py): its Action
    row says how, and the offered agent follows (missed: away; withdrawn: as they chose; declined:
    as they chose; answered: busy, as their call makes them)."""
    agent_id, how = before.offered_to_id, after.offer_ended
    Action.objects.filter(call=call, action=OFFER_ACTION, request_body__agent=agent_id, upstream_outcome="").update(
        upstream_outcome=how, ok=how == OfferEnd.ANSWERED
    )
    ROUTING_OFFERS.labels(outcome=how).inc()
    if how == OfferEnd.MISSED:
        return agent_status.offer_failed(agent_id)
    if how in (OfferEnd.WITHDRAWN, OfferEnd.DECLINED):
        return agent_status.offer_withdrawn(agent_id)
    return []


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
