"""Reads: the live calls a person may see, and one call, as the API, the pages and the dashboards
show them. Who may see what is calls/core/visibility.py's; the history's reads are
calls/history/search.py's."""

from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse

from calls.core.errors import CallError
from calls.core.serialize import call_to_dict
from calls.core.store import load_call
from calls.core.visibility import may_see, visible_calls
from calls.core.vocabulary import LIVE_CALL_STATUSES
from calls.models import Call, CallEvent, Member
from live.audience import Viewer

LIVE_STATUS_FILTERS = ("live", "ringing", "active")


def calls_with_members() -> QuerySet[Call]:
    return Call.objects.select_related("phlo_app", "disposition").prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("created_at", "id"))
    )


def live_calls_for(viewer: Viewer, *, status: str = "live") -> list[dict]:
    """`live` (ringing, waiting and active) or one of those statuses."""
    calls = visible_calls(calls_with_members(), viewer)
    calls = calls.filter(status__in=LIVE_CALL_STATUSES if status == "live" else [status])
    return [call_to_dict(call, call.members.all()) for call in calls]


def members_of(calls: list[Call], *, with_agents: bool = False) -> dict[int, list[Member]]:
    """The members of these calls by call, in one query (half the cost of Django's prefetch, on
    the history's every page); `with_agents`: their agents and logins too, to name them."""
    members = Member.objects.filter(call_id__in=[call.pk for call in calls]).order_by("created_at", "id")
    if with_agents:
        members = members.select_related("agent__user")
    by_call: dict[int, list[Member]] = {call.pk: [] for call in calls}
    for member in members:
        by_call[member.call_id].append(member)
    return by_call


def visible_call(viewer: Viewer, call_id: int) -> tuple[Call, list[Member]]:
    """One call and its members, if `viewer` may see it: else 404 (no such call) or 403."""
    try:
        call, members = load_call(call_id, lock=False)
    except Call.DoesNotExist:
        raise CallError(f"There is no call {call_id}.", http_status=404) from None
    if not may_see(viewer, members):
        raise CallError("You are not a member of this call.", http_status=403)
    return call, members


def call_for(viewer: Viewer, call_id: int) -> dict:
    call, members = visible_call(viewer, call_id)
    return call_to_dict(call, members)


def callbacks_needing_attention(since) -> dict:
    """How many callbacks since `since` were unrecognised or matched no call (admin index)."""
    outcomes = dict(
        CallEvent.objects.filter(received_at__gte=since).values_list("outcome").annotate(n=Count("pk"))
        .values_list("outcome", "n")
    )
    return {
        "unrecognised": outcomes.get(CallEvent.Outcome.UNRECOGNISED, 0),
        "unmatched": outcomes.get(CallEvent.Outcome.UNMATCHED, 0),
        "total": sum(outcomes.values()),
        "log_url": reverse("admin:calls_callevent_changelist"),
    }
