"""Who may see a call and who may act on it, in one place.

Seeing: supervisors every call; an agent the calls they are or were a member of. The live
transport gets it as each call message's audience; the database reads get it as a filter; both
come from here.

Acting (hold, transfer, add a member, mute, record…): supervisors on every call; an agent only on
a call they are on now, with a member that has not left. An agent who handed the call on (a cold
transfer) still sees it, but no longer steers the customer they left. Saving a call's wrap-up is
about its history, so it follows seeing, not acting.
"""

from django.db.models import QuerySet

from calls.core.vocabulary import MemberState
from calls.models import Call, Member
from live.audience import Audience, Viewer


def call_audience(member_agent_ids) -> Audience:
    """Everyone entitled to a call whose members include these agents."""
    return Audience.supervisors_and(agent_id for agent_id in member_agent_ids if agent_id)


def may_see(viewer: Viewer, members) -> bool:
    return call_audience(m.agent_id for m in members).admits(viewer)


def may_act(viewer: Viewer, members) -> bool:
    if viewer.is_supervisor:
        return True
    return viewer.agent_id is not None and any(
        m.agent_id == viewer.agent_id and m.state != MemberState.LEFT for m in members
    )


def visible_calls(calls: QuerySet[Call], viewer: Viewer) -> QuerySet[Call]:
    """`calls` narrowed to those `viewer` may see (the same rule as `call_audience`, as a query)."""
    if viewer.is_supervisor:
        return calls
    if viewer.agent_id is None:
        return calls.none()
    return calls.filter(pk__in=Member.objects.filter(agent_id=viewer.agent_id).values("call_id"))
