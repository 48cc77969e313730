"""Reads: the calls a person may see, as the API, the pages and the dashboards show them."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from agents.selectors import agent_directory, agents_named
from calls.errors import CallError
from calls.history import EVERYTHING, Cursor, HistorySearch, history_facts
from calls.models import AgentCall, Call, CallEvent, CallStatus, Member
from calls.serialize import call_key, call_to_dict
from calls.stats import figures
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


def calls_with_members() -> QuerySet[Call]:
    return Call.objects.select_related("phlo_app", "disposition").prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("created_at", "id"))
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
    viewer: Viewer, search: HistorySearch = EVERYTHING, after: Cursor | None = None, *, limit: int
) -> QuerySet[Call]:
    """The first `limit` ended calls `viewer` may see that match `search`, newest first (by their
    end, then id), from just after `after`.

    A search about an agent (an agent's own history; a supervisor's `agent` filter; a name one
    agent has) reads that agent's page of `AgentCall` (calls/models.py), a few index rows, instead
    of going through every call for theirs; any other reads the calls in order (`call_history`)
    with the filters. Who may see a call is `visible_calls`' to say either way."""
    calls = visible_calls(Call.objects.select_related("phlo_app", "disposition"), viewer)
    calls = calls.filter(status=CallStatus.ENDED, ended_at__isnull=False)
    agents = _agents_asked(viewer, search)
    if agents is None:  # a name nobody has
        return calls.none()
    # The calls also had to have: each other agent asked for, a member with the number.
    had = [AgentCall.objects.filter(agent_id__in=ids) for ids in agents.also]
    if search.number:
        had.append(Member.objects.filter(address_key__startswith=search.number))
    if agents.driver is None:
        found = calls.filter(_narrowing(search, after, had, via=CALL))
        return found.order_by("-ended_at", "-id")[:limit]
    rows = AgentCall.objects.filter(agent_id=agents.driver).filter(_narrowing(search, after, had, via=AGENT_CALL))
    page = rows.order_by("-ended_at", "-call_id").values("call_id")[:limit]
    return calls.filter(pk__in=page).order_by("-ended_at", "-id")


@dataclass(frozen=True)
class _Agents:
    """The agents a search is about: the one whose rows drive the read, and the others a call must
    also have had (each: one agent, or any of the agents a name fits)."""

    driver: int | None
    also: list[tuple[int, ...]]


def _agents_asked(viewer: Viewer, search: HistorySearch) -> _Agents | None:
    """None when the search names an agent nobody is."""
    asked: list[tuple[int, ...]] = []
    if not viewer.is_supervisor and viewer.agent_id is not None:
        asked.append((viewer.agent_id,))  # their own history: theirs to read first
    if search.agent_id is not None:
        asked.append((search.agent_id,))
    if search.name:
        named = tuple(agents_named(search.name).values_list("pk", flat=True))
        if not named:
            return None
        asked.append(named)
    asked = list(dict.fromkeys(asked))
    driver = next((ids for ids in asked if len(ids) == 1), None)
    return _Agents(driver=driver[0] if driver else None, also=[ids for ids in asked if ids != driver])


@dataclass(frozen=True)
class _Columns:
    """Where a history filter reads: on the call itself, or on an agent's `AgentCall` rows."""

    call_id: str
    call: str  # the prefix of the call's own columns


CALL = _Columns(call_id="pk", call="")
AGENT_CALL = _Columns(call_id="call_id", call="call__")


def _narrowing(search: HistorySearch, after: Cursor | None, had: list[QuerySet], *, via: _Columns) -> Q:
    """The dates, outcome, disposition and cursor of a search, and the rows (`had`: members,
    agents' calls) it needs the call in, read `via` the call or an agent's rows (both carry the
    call's end as `ended_at`)."""
    found = Q()
    for rows in had:  # each a row of its own: an agent and a customer's number are two members
        found &= Q(**{f"{via.call_id}__in": rows.values("call_id")})
    if search.since:
        found &= Q(ended_at__gte=search.since)
    if search.until:
        found &= Q(ended_at__lt=search.until)
    if search.outcome:
        [(lookup, value)] = OUTCOME_FILTERS[search.outcome].children
        found &= Q(**{f"{via.call}{lookup}": value})
    if search.disposition_id is not None:
        found &= Q(**{f"{via.call}disposition_id": search.disposition_id})
    if after is not None:
        found &= Q(ended_at__lte=after.ended_at) & ~Q(ended_at=after.ended_at, **{f"{via.call_id}__gte": after.call_id})
    return found


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


def history_page(
    viewer: Viewer, search: HistorySearch = EVERYTHING, *, after: Cursor | None = None, limit: int = HISTORY_PAGE
) -> HistoryPage:
    """One page: the calls with their facts (calls/history.py), and where the next page starts."""
    calls = list(history(viewer, search, after, limit=limit + 1))
    more = len(calls) > limit
    calls = calls[:limit]
    members = members_of(calls)
    return HistoryPage(
        calls=[call_to_dict(call, members[call.pk]) | history_facts(call) for call in calls],
        next=Cursor.after(calls[-1]) if more else None,
    )


def history_in_chunks(viewer: Viewer, search: HistorySearch) -> Iterator[list[tuple[Call, list[Member]]]]:
    """Every call of the history `search` selects with its members (and their agents), a chunk at
    a time, so an export of any length never holds more than one chunk."""
    after, size = None, EXPORT_CHUNK
    while True:
        chunk = list(history(viewer, search, after, limit=size))
        members = members_of(chunk, with_agents=True)
        if chunk:
            yield [(call, members[call.pk]) for call in chunk]
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


def _snapshot(viewer: Viewer, calls: list[dict], agents: list[dict], stats: dict) -> Snapshot:
    body = {"calls": calls, "agents": agents}
    if viewer.is_supervisor:
        body["stats"] = stats
    else:
        body["queue"] = {key: stats[key] for key in ("waiting", "longest_wait_seconds")}
    return Snapshot(body=body, versions={call_key(call["id"]): call["version"] for call in calls})


def snapshot_for(viewer: Viewer) -> Snapshot:
    """What a dashboard shows on (re)connecting: the live calls it may see, the directory, and the
    queue (its figures for supervisors, the number waiting for agents)."""
    return _snapshot(viewer, calls_for(viewer), agent_directory(), figures.current())


@dataclass(frozen=True)
class LiveWorld:
    """Every live call with its audience, and the directory: what each dashboard's snapshot is cut
    from. Read once when a process resyncs all its dashboards (Redis came back), instead of once
    per dashboard."""

    calls: list[tuple[dict, dict]]  # (call, its audience as a message carries it)
    agents: list[dict]
    stats: dict

    def snapshot_for(self, viewer: Viewer) -> Snapshot:
        """The same as `snapshot_for(viewer)` would read now."""
        calls = [call for call, audience in self.calls if admits(audience, viewer)]
        return _snapshot(viewer, calls, self.agents, self.stats)


def live_world() -> LiveWorld:
    calls = calls_with_members().filter(status__in=LIVE_CALL_STATUSES)
    return LiveWorld(
        calls=[
            (call_to_dict(c, c.members.all()), call_audience(m.agent_id for m in c.members.all()).as_dict())
            for c in calls
        ],
        agents=agent_directory(),
        stats=figures.current(),
    )


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
