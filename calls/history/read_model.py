"""Keep the history's read model (`AgentCall`, docs/history.md) in step with the calls: when a
call ends, a row for each agent on it; an agent member saved on a call already over (a late leg,
a record written whole) gets theirs too. Every way a call or member is saved goes through here
(the receivers are connected in calls/apps.py), the store as much as the admin or a test's factory."""

from calls.core.vocabulary import CallStatus
from calls.models import AgentCall, Call, Member


def _over(call: Call) -> bool:
    return call.status == CallStatus.ENDED and call.ended_at is not None


def call_saved(sender, instance: Call, update_fields=None, **kwargs):
    if not _over(instance) or (update_fields is not None and "ended_at" not in update_fields):
        return
    agent_ids = set(Member.objects.filter(call=instance, agent__isnull=False).values_list("agent_id", flat=True))
    AgentCall.objects.bulk_create(
        [AgentCall(agent_id=agent_id, call=instance, ended_at=instance.ended_at) for agent_id in agent_ids],
        ignore_conflicts=True,
    )


def member_saved(sender, instance: Member, **kwargs):
    # Only with its call at hand: the intake's members of a live call cost nothing here.
    if instance.agent_id is None or not Member.call.is_cached(instance) or not _over(instance.call):
        return
    AgentCall.objects.bulk_create(
        [AgentCall(agent_id=instance.agent_id, call=instance.call, ended_at=instance.call.ended_at)],
        ignore_conflicts=True,
    )
