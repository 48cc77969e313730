"""Reads: the calls a person may see, as the API, the pages and the dashboards show them."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from agents.selectors import agent_directory, agents_named
from calls.errors import CallError
from calls.history import EVERYTHING, Cursor, HistorySearch, history_facts
from calls.models import Call, CallStatus, Member
from calls.serialize import call_key, call_to_dict
from calls.store import load_call
from calls.visibility import call_audience, may_see, visible_calls
from calls.vocabulary import LIVE_CALL_STATUSES, CallOutcome, HistoryOutcome
from live.audience import Viewer, admits
from live.sources import Snapshot

STATUS_FILTERS = ("live", "ringing", "active", "ended")
HISTORY_PAGE = 50  # calls per page of the history unless asked otherwise
HISTORY_PAGE_MAX = 200
EXPORT_CHUNK = 500  # calls read at a time for the CSV export
OUTCOME_FILTERS = {
    HistoryOutcome.ANSWERED: Q(outcome=CallOutcome.ANSWERED),
    HistoryOutcome.ABANDONED: Q(outcome=CallOutcome.ABANDONED),
    HistoryOutcome.OUTBOUND: Q(outcome=CallOutcome.OUTBOUND),
    HistoryOutcome.MISSED: Q(missed_offers__gt=0),
    HistoryOutcome.TRANSFERRED: Q(was_transferred=True),
}


def calls_with_members(*, with_agents: bool = False) -> QuerySet[Call]:
    """`with_agents`: each member's agent and login too (to name them, as the CSV export does)."""
    members = Member.objects.order_by("created_at", "id")
    if with_agents:
        members = members.select_related("agent__user")
    return Call.objects.select_related("phlo_app", "disposition").prefetch_related(
        Prefetch("members", queryset=members)
    )


def calls_for(viewer: Viewer, *, status: str = "live") -> list[dict]:
    """`live` (ringing and active), one call status, or `ended`: the newest page of the history."""
    if status == CallStatus.ENDED:
        return history_page(viewer).calls
    calls = visible_calls(calls_with_members(), viewer)
    calls = calls.filter(status__in=LIVE_CALL_STATUSES if status == "live" else [status])
    return [call_to_dict(call, call.members.all()) for call in calls]


# --- the history (docs/history.md) ----------------------------------------------------------------


@dataclass(frozen=True)
class HistoryPage:
    calls: list[dict]
    next: Cursor | None  # where the next page starts; None on the last page


def history(
    viewer: Viewer, search: HistorySearch = EVERYTHING, after: Cursor | None = None, *, with_agents: bool = False
) -> QuerySet[Call]:
    """The ended calls `viewer` may see that match `search`, newest first (by their end, then id:
    the `call_history` index), from just after `after`."""
    calls = visible_calls(calls_with_members(with_agents=with_agents), viewer)
    calls = calls.filter(status=CallStatus.ENDED, ended_at__isnull=False)
    members = []
    if search.number:
        members.append(Q(address_key__startswith=search.number))
    if search.name:
        members.append(Q(agent__in=agents_named(search.name)))
    if search.agent_id is not None:
        members.append(Q(agent_id=search.agent_id))
    for who in members:  # each on a member of its own: an agent and a customer's number are two members
        calls = calls.filter(pk__in=Member.objects.filter(who).values("call_id"))
    if search.since:
        calls = calls.filter(ended_at__gte=search.since)
    if search.until:
        calls = calls.filter(ended_at__lt=search.until)
    if search.outcome:
        calls = calls.filter(OUTCOME_FILTERS[search.outcome])
    if search.disposition_id is not None:
        calls = calls.filter(disposition_id=search.disposition_id)
    if after is not None:
        calls = calls.filter(ended_at__lte=after.ended_at).exclude(ended_at=after.ended_at, pk__gte=after.call_id)
    return calls.order_by("-ended_at", "-id")


def history_page(
    viewer: Viewer, search: HistorySearch = EVERYTHING, *, after: Cursor | None = None, limit: int = HISTORY_PAGE
) -> HistoryPage:
    """One page: the calls with their facts (calls/history.py), and where the next page starts."""
    calls = list(history(viewer, search, after)[: limit + 1])
    more = len(calls) > limit
    calls = calls[:limit]
    return HistoryPage(
        calls=[call_to_dict(call, call.members.all()) | history_facts(call) for call in calls],
        next=Cursor.after(calls[-1]) if more else None,
    )


def history_in_chunks(viewer: Viewer, search: HistorySearch) -> Iterator[list[Call]]:
    """Every call of the history `search` selects, a chunk at a time (members and their agents
    loaded), so an export of any length never holds more than one chunk."""
    after, size = None, EXPORT_CHUNK
    while True:
        chunk = list(history(viewer, search, after, with_agents=True)[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        after = Cursor.after(chunk[-1])


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


def _snapshot(calls: list[dict], agents: list[dict]) -> Snapshot:
    return Snapshot(
        body={"calls": calls, "agents": agents}, versions={call_key(call["id"]): call["version"] for call in calls}
    )


def snapshot_for(viewer: Viewer) -> Snapshot:
    """What a dashboard shows on (re)connecting: the live calls it may see and the directory."""
    return _snapshot(calls_for(viewer), agent_directory())


@dataclass(frozen=True)
class LiveWorld:
    """Every live call with its audience, and the directory: what each dashboard's snapshot is cut
    from. Read once when a process resyncs all its dashboards (Redis came back), instead of once
    per dashboard."""

    calls: list[tuple[dict, dict]]  # (call, its audience as a message carries it)
    agents: list[dict]

    def snapshot_for(self, viewer: Viewer) -> Snapshot:
        """The same as `snapshot_for(viewer)` would read now."""
        return _snapshot([call for call, audience in self.calls if admits(audience, viewer)], self.agents)


def live_world() -> LiveWorld:
    calls = calls_with_members().filter(status__in=LIVE_CALL_STATUSES)
    return LiveWorld(
        calls=[
            (call_to_dict(c, c.members.all()), call_audience(m.agent_id for m in c.members.all()).as_dict())
            for c in calls
        ],
        agents=agent_directory(),
    )
