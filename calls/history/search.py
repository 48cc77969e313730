"""The history of finished calls (docs/history.md): what a search may ask, where a page ends (an
opaque keyset cursor), and the facts of a finished call beyond its live shape (wait and talk time).

`history` is the query (an agent's history through the `AgentCall` read model, kept by
calls/history/read_model.py); the API reads its parameters into a `HistorySearch`
(calls/api/search_params.py).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from agents.selectors import agents_named
from calls.core.reads import members_of
from calls.core.serialize import call_to_dict
from calls.core.visibility import visible_calls
from calls.core.vocabulary import CallOutcome, CallStatus, HistoryOutcome
from calls.models import AgentCall, Call, Member
from live.audience import Viewer
from phlo.addresses import address_key

# What a person types to find a number: digits, with the spaces, dashes, dots, brackets and +
# the pages show numbers with ("+1 415 555 0143").
NUMBER_TYPED = re.compile(r"[+\d\s().\-/]+")
MIN_NUMBER_DIGITS = 4  # a number by 4 or more digits from its start or end (README, "The HTTP API")
MAX_SEARCH_LENGTH = 100
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


class SearchRefused(ValueError):
    """A search the history cannot answer as asked; the text says what to change."""


@dataclass(frozen=True)
class HistorySearch:
    """A narrowing of the history; an empty one is every call the viewer may see."""

    number: str = ""  # digits of a member's number (from its start or its end), or the start of a SIP URI
    from_start_only: bool = False  # typed with its "+": the number's start, never its end
    name: str = ""  # part of an agent's name or username
    agent_id: int | None = None
    since: datetime | None = None  # ended at or after
    until: datetime | None = None  # ended before
    outcome: str = ""  # a calls.core.vocabulary.HistoryOutcome
    disposition_id: int | None = None
    queue_id: int | None = None
    # The customer started waiting at or after / before (a report's interval: docs/reports.md).
    waited_since: datetime | None = None
    waited_until: datetime | None = None


EVERYTHING = HistorySearch()


def search_terms(text: str) -> dict[str, str]:
    """The `q` of a search: a number (any 4 or more of its digits from its start or its end, as people
    type them: `0111`, `555 0111`, `+1 (202) 555-0111`), a SIP URI, or part of an agent's name."""
    text = " ".join(text.split())
    if not text:
        return {}
    if len(text) > MAX_SEARCH_LENGTH:
        raise SearchRefused(f"Search for at most {MAX_SEARCH_LENGTH} characters.")
    if NUMBER_TYPED.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < MIN_NUMBER_DIGITS:
            raise SearchRefused(
                f"Type at least {MIN_NUMBER_DIGITS} digits of a number (its first or last digits), or part of a name."
            )
        return {"number": digits, "from_start_only": text.startswith("+")}
    if text.lower().startswith("sip:"):
        return {"number": address_key(text.lower())}
    return {"name": text}


@dataclass(frozen=True)
class Cursor:
    """Where a page of the history ended: the last call's end and id (the list's order)."""

    ended_at: datetime
    call_id: int

    @classmethod
    def after(cls, call: Call) -> Cursor:
        return cls(call.ended_at, call.pk)

    def encode(self) -> str:
        raw = json.dumps([self.ended_at.isoformat(), self.call_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """A cursor this API gave out; anything else is refused (SearchRefused)."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            ended, call_id = json.loads(raw)
            at = parse_datetime(ended) if isinstance(ended, str) else None
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            at, call_id = None, None
        if at is None or at.tzinfo is None or type(call_id) is not int or not 0 < call_id < 2**63:
            raise SearchRefused("This cursor is not one the history gave out; start again without it.")
        return cls(at, call_id)


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return max(0, round((end - start).total_seconds())) if start and end else None


def history_facts(call: Call) -> dict:
    """What the history shows of a finished call beyond its live shape. The customer waited from
    joining the queue until an agent answered (or until they gave up); the talk is from the
    answer to the end."""
    return {
        "wait_seconds": _seconds(call.waiting_since, call.answered_at or call.ended_at),
        "talk_seconds": _seconds(call.answered_at, call.ended_at),
        "was_transferred": call.was_transferred,
        "missed_offers": call.missed_offers,
    }


# --- the query -------------------------------------------------------------------------------------


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
        had.append(Member.objects.filter(_number_matches(search)))
    if agents.driver is None:
        found = calls.filter(_narrowing(search, after, had, via=CALL))
        return found.order_by("-ended_at", "-id")[:limit]
    rows = AgentCall.objects.filter(agent_id=agents.driver).filter(_narrowing(search, after, had, via=AGENT_CALL))
    page = rows.order_by("-ended_at", "-call_id").values("call_id")[:limit]
    return calls.filter(pk__in=page).order_by("-ended_at", "-id")


def _number_matches(search: HistorySearch) -> Q:
    """A member whose address starts with the number typed (`address_key`), or, for digits, ends
    with them: the start of the reversed digits (`address_digits_reversed`). Both are prefix
    searches, each served by its column's pattern index on PostgreSQL (docs/history.md, "Indexes")."""
    starts = Q(address_key__startswith=search.number)
    if search.from_start_only or not search.number.isdigit():
        return starts
    return starts | Q(address_digits_reversed__startswith=search.number[::-1])


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
    """The dates, outcome, disposition, queue and cursor of a search, and the rows (`had`: members,
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
    if search.queue_id is not None:
        found &= Q(**{f"{via.call}queue_id": search.queue_id})
    if search.waited_since:
        found &= Q(**{f"{via.call}waiting_since__gte": search.waited_since})
    if search.waited_until:
        found &= Q(**{f"{via.call}waiting_since__lt": search.waited_until})
    if after is not None:
        found &= Q(ended_at__lte=after.ended_at) & ~Q(ended_at=after.ended_at, **{f"{via.call_id}__gte": after.call_id})
    return found


def history_page(
    viewer: Viewer, search: HistorySearch = EVERYTHING, *, after: Cursor | None = None, limit: int = HISTORY_PAGE
) -> HistoryPage:
    """One page: the calls with their facts (this module), and where the next page starts."""
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
