"""Keep the history's read model (`AgentCall`, docs/history.md) in step with the calls: when a
call ends, a row for each agent on it; an agent member saved on a call already over (a late leg,
a record written whole) gets theirs too. Every way a call or member is saved goes through here
(the receivers are connected in calls/apps.py), the store as much as the admin or a test's factory.

When a call ends, each agent who was on the line also has it added to their work log
(agents/worklog.py; docs/reports.md, "Agents"): the call, their time on the line, and of it the
time their customer was on hold, from Plivo's hold and unhold callbacks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from agents import worklog
from calls.core.vocabulary import CallStatus, MemberRole
from calls.models import AgentCall, Call, CallEvent, Member

HOLD_EVENTS = {"ParticipantHold": True, "ParticipantUnhold": False, "ParticipantExit": False}


def _over(call: Call) -> bool:
    return call.status == CallStatus.ENDED and call.ended_at is not None


def call_saved(sender, instance: Call, update_fields=None, **kwargs):
    if not _over(instance) or (update_fields is not None and "ended_at" not in update_fields):
        return
    members = list(Member.objects.filter(call=instance).only("call_id", "agent_id", "role", "joined_at", "left_at"))
    agent_ids = {m.agent_id for m in members if m.agent_id is not None}
    new = agent_ids - set(AgentCall.objects.filter(call=instance).values_list("agent_id", flat=True))
    if not new:
        return
    AgentCall.objects.bulk_create(
        [AgentCall(agent_id=agent_id, call=instance, ended_at=instance.ended_at) for agent_id in new],
        ignore_conflicts=True,
    )
    work = agents_work(instance, members, new)
    if work:
        worklog.calls_finished(work, at=timezone.now())


def member_saved(sender, instance: Member, **kwargs):
    # Only with its call at hand: the intake's members of a live call cost nothing here.
    if instance.agent_id is None or not Member.call.is_cached(instance) or not _over(instance.call):
        return
    AgentCall.objects.bulk_create(
        [AgentCall(agent_id=instance.agent_id, call=instance.call, ended_at=instance.call.ended_at)],
        ignore_conflicts=True,
    )


def _overlap(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> timedelta:
    return max(timedelta(0), min(end, other_end) - max(start, other_start))


def customer_holds(call: Call, members: list[Member]) -> list[tuple[datetime, datetime]]:
    """When a customer of the call was on hold: from Plivo's `ParticipantHold` to their
    `ParticipantUnhold` or exit (or their leaving, or the call's end), as periods that do not overlap."""
    customers = {m.pk: m for m in members if m.role == MemberRole.CUSTOMER}
    events = CallEvent.objects.filter(call=call, member_id__in=list(customers), event_name__in=list(HOLD_EVENTS))
    events = events.exclude(outcome=CallEvent.Outcome.DUPLICATE).values_list(
        "member_id", "event_name", "event_timestamp", "received_at", "id"
    )
    held: dict[int, datetime] = {}
    holds = []
    for member_id, name, stamp, received, _ in sorted(events, key=lambda e: (e[2] or e[3], e[4])):
        at = stamp or received
        if HOLD_EVENTS[name]:
            held.setdefault(member_id, at)
        elif member_id in held:
            holds.append((held.pop(member_id), at))
    for member_id, start in held.items():
        holds.append((start, customers[member_id].left_at or call.ended_at))
    merged: list[tuple[datetime, datetime]] = []  # two customers held at once are one hold for the agent
    for start, end in sorted(holds):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def agents_work(call: Call, members: list[Member], agent_ids: set[int]) -> dict[int, worklog.CallWork]:
    """For each of these agents who was on the line (as an agent): their time on it, and of it the
    time a customer was on hold."""
    legs = [
        (m.agent_id, m.joined_at, m.left_at or call.ended_at) for m in members
        if m.agent_id in agent_ids and m.role == MemberRole.AGENT and m.joined_at is not None
    ]
    if not legs:
        return {}
    holds = customer_holds(call, members)
    on_line: dict[int, timedelta] = {}
    on_hold: dict[int, timedelta] = {}
    for agent_id, joined, left in legs:
        on_line[agent_id] = on_line.get(agent_id, timedelta(0)) + max(timedelta(0), left - joined)
        held = sum((_overlap(joined, left, start, end) for start, end in holds), timedelta(0))
        on_hold[agent_id] = on_hold.get(agent_id, timedelta(0)) + held
    return {
        agent_id: worklog.CallWork(talk=on_line[agent_id] - on_hold[agent_id], hold=on_hold[agent_id])
        for agent_id in on_line
    }
