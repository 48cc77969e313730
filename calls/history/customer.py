"""The caller's story (README, "Pages"): a customer's last calls, shown on the desk
while their call rings and during it.

Read once per call, when the intake first knows the customer's number (calls/intake/apply.py), and
kept on the call (`customer_history`): every later change to the call is published without
reading it again, and the story is the one the agent saw when the phone rang.
"""

from __future__ import annotations

from calls.core.queues import queue_name
from calls.core.vocabulary import CallStatus, MemberRole
from calls.models import Call, Member
from conventions.times import iso
from phlo.addresses import address_key

LAST_CALLS = 5


def customer_history(address: str, *, exclude_call_id: int | None = None) -> list[dict]:
    """The last LAST_CALLS ended calls with a customer at this address, newest first."""
    if not address:
        return []
    calls = list(
        Call.objects.filter(
            status=CallStatus.ENDED, ended_at__isnull=False,
            pk__in=Member.objects.filter(address_key=address_key(address), role=MemberRole.CUSTOMER).values("call_id"),
        )
        .exclude(pk=exclude_call_id)
        .select_related("disposition")
        .order_by("-ended_at", "-id")[:LAST_CALLS]
    )
    agents: dict[int, list[str]] = {call.pk: [] for call in calls}
    for call_id, name, username in (
        Member.objects.filter(call_id__in=agents, role=MemberRole.AGENT, agent__isnull=False)
        .order_by("created_at", "id").values_list("call_id", "agent__name", "agent__user__username")
    ):
        shown = name or username
        if shown not in agents[call_id]:
            agents[call_id].append(shown)
    return [
        {
            "id": call.pk,
            "ended_at": iso(call.ended_at),
            "outcome": call.outcome or None,
            "queue": queue_name(call.queue_id),
            "disposition": call.disposition.name if call.disposition_id else None,
            "notes": call.notes,
            "agents": agents[call.pk],
        }
        for call in calls
    ]
