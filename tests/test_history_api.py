"""The history over the API (docs/history.md): `GET /api/calls/?status=ended` with its search,
filters and keyset cursor; bad input answered 400 with the field named, and nothing else.

Most calls here are rows written as a finished call's state would be (outcomes, times, transfers
are the state machine's to decide, tested in tests/test_state_machine.py); one history is played
through real signed callbacks from the customer's join to the end.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from calls.models import Call, Disposition
from phlo.addresses import digits_reversed
from tests.factories import AgentFactory, CallFactory, MemberFactory
from tests.support.plivo import django_callback, mpc_event, participant

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CUSTOMER = "+12025550143"


def ended_call(phlo_app, *, agent=None, customer: str = CUSTOMER, ended: datetime = NOON, **fields) -> Call:
    """A finished call of a customer and (optionally) an agent, both gone."""
    fields.setdefault("outcome", "answered")
    call = CallFactory(
        phlo_app=phlo_app, status="ended", started_at=ended - timedelta(minutes=5), ended_at=ended, **fields
    )
    MemberFactory(call=call, address=customer, address_key=customer.lstrip("+"),
                  address_digits_reversed=digits_reversed(customer), role="customer", state="left")
    if agent is not None:
        MemberFactory(call=call, address=agent.address, address_key=agent.address.lstrip("+"),
                      address_digits_reversed=digits_reversed(agent.address), agent=agent, role="agent", state="left")
    return call


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [call["id"] for call in response.json()]


def history(client, **params):
    return client.get("/api/calls/", {"status": "ended", **params})


def next_cursor(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    url = re.fullmatch(r'<([^>]+)>; rel="next"', link).group(1)
    return parse_qs(urlsplit(url).query)["cursor"][0]


# --- order and pages -------------------------------------------------------------------------------


def test_newest_first_a_page_at_a_time_and_nothing_twice(api_for, phlo_app, supervisor):
    calls = [ended_call(phlo_app, ended=NOON - timedelta(minutes=n)) for n in range(7)]
    tied = [ended_call(phlo_app, ended=NOON - timedelta(minutes=10)) for _ in range(3)]  # one end, three calls
    client = api_for(supervisor)

    seen, cursor, pages = [], None, 0
    while True:
        response = history(client, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += ids(response)
        pages += 1
        cursor = next_cursor(response)
        if cursor is None:
            break

    assert seen == [c.pk for c in calls] + [c.pk for c in reversed(tied)]  # by end, then id: both descending
    assert pages == 4


def test_the_link_keeps_the_filters_and_a_cursor_survives_newer_calls(api_for, phlo_app, supervisor):
    older = [ended_call(phlo_app, ended=NOON - timedelta(hours=n), outcome="abandoned") for n in range(1, 5)]
    ended_call(phlo_app, ended=NOON - timedelta(minutes=30))  # answered: filtered out
    client = api_for(supervisor)
    first = history(client, outcome="abandoned", limit=2)
    link = first.headers["Link"]
    assert link.startswith("<http://testserver/api/calls/?") and link.endswith('>; rel="next"')
    assert parse_qs(urlsplit(link[1:-13]).query)["outcome"] == ["abandoned"]

    ended_call(phlo_app, ended=NOON + timedelta(hours=1), outcome="abandoned")  # arrives while one reads
    second = client.get(link[1:-13])

    assert ids(first) + ids(second) == [c.pk for c in older]
    assert "Link" not in second.headers


def test_the_page_size_is_bounded(api_for, phlo_app, supervisor):
    for n in range(55):
        ended_call(phlo_app, ended=NOON - timedelta(seconds=n))
    client = api_for(supervisor)
    assert len(ids(history(client))) == 50  # the default
    assert len(ids(history(client, limit=200))) == 55
    assert len(ids(client.get("/api/calls/?status=ended"))) == 50


def test_a_history_row_carries_wait_talk_and_what_happened(api_for, phlo_app, agent):
    start = NOON - timedelta(minutes=10)
    call = ended_call(
        phlo_app, agent=agent, waiting_since=start, answered_at=start + timedelta(seconds=42),
        ended=start + timedelta(minutes=5, seconds=42), was_transferred=True, missed_offers=2,
        disposition=Disposition.objects.create(name="Resolved"), notes="Refund issued",
    )
    [row] = history(api_for(agent)).json()
    assert row["id"] == call.pk
    facts = (row["wait_seconds"], row["talk_seconds"], row["was_transferred"], row["missed_offers"])
    assert facts == (42, 300, True, 2)
    assert (row["disposition"], row["notes"], row["outcome"]) == ("Resolved", "Refund issued", "answered")
    assert {"members", "started_at", "ended_at", "version", "phlo_id"} <= set(row)


def test_a_customer_who_gave_up_waited_until_they_left(api_for, phlo_app, supervisor):
    start = NOON - timedelta(minutes=3)
    ended_call(phlo_app, waiting_since=start, ended=start + timedelta(seconds=75), outcome="abandoned")
    [row] = history(api_for(supervisor)).json()
    assert (row["wait_seconds"], row["talk_seconds"]) == (75, None)


def test_a_history_played_through_callbacks(client, api_for, phlo_app, agent):
    """Customer waits 20 s, Alice answers, they talk two minutes: the row says so."""
    times = {"join": "2026-11-30 09:00:00", "answer": "2026-11-30 09:00:20", "end": "2026-11-30 09:02:20"}
    for params in (
        mpc_event("MPCStart", "mpc-h", seq=1, EventTimestamp=times["join"]),
        participant("ParticipantJoin", "mpc-h", "c", CUSTOMER, seq=2, EventTimestamp=times["join"]),
        participant("ParticipantJoin", "mpc-h", "a", agent.address, role="Agent", direction="outbound", seq=3,
                    EventTimestamp=times["answer"]),
        mpc_event("MPCEnd", "mpc-h", seq=4, EventTimestamp=times["end"]),
    ):
        assert django_callback(client, phlo_app, params).status_code == 200

    [row] = history(api_for(agent), q="+1 202 555 0143").json()
    assert (row["outcome"], row["wait_seconds"], row["talk_seconds"]) == ("answered", 20, 120)
    assert row["ended_at"] == "2026-11-30T09:02:20Z"


# --- search and filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["+1 202 555 0143", "12025550143", "+1 (202) 555-0143", "+1202555", "1.202.555"])
def test_a_number_is_found_however_it_is_typed_and_from_its_start(api_for, phlo_app, supervisor, typed):
    wanted = ended_call(phlo_app, customer=CUSTOMER)
    ended_call(phlo_app, customer="+13125550143")  # the same last digits, another number
    assert ids(history(api_for(supervisor), q=typed)) == [wanted.pk]


@pytest.mark.parametrize("typed", ["0143", "555 0143", "555-0143", "202 555 0143", "(202) 555.0143", "2025550143"])
def test_a_number_is_found_by_its_last_digits_with_or_without_the_country_code(api_for, phlo_app, supervisor, typed):
    """Contract §11: by any 4 or more of its digits from the end, however they are typed."""
    wanted = ended_call(phlo_app, customer=CUSTOMER)
    ended_call(phlo_app, customer="+13125550199")  # neither the same start nor the same end
    assert ids(history(api_for(supervisor), q=typed)) == [wanted.pk]


def test_the_last_digits_find_every_number_that_ends_so_and_a_plus_means_the_start(api_for, phlo_app, supervisor):
    first = ended_call(phlo_app, customer=CUSTOMER, ended=NOON)
    second = ended_call(phlo_app, customer="+13125550143", ended=NOON - timedelta(hours=1))
    assert ids(history(api_for(supervisor), q="0143")) == [first.pk, second.pk]
    # Typed with its "+", it is the start of a number: "+0143…" is no number's start.
    assert ids(history(api_for(supervisor), q="+1 312")) == [second.pk]
    assert ids(history(api_for(supervisor), q="+0143")) == []


@pytest.mark.parametrize("typed", ["014", "5 5", "+1 2", "(1)"])
def test_fewer_than_four_digits_is_a_400_that_says_how_many(api_for, phlo_app, supervisor, typed):
    ended_call(phlo_app)
    response = history(api_for(supervisor), q=typed)
    assert response.status_code == 400
    assert "at least 4 digits" in response.json()["detail"]


def test_a_number_is_found_by_its_last_digits_on_calls_the_callbacks_wrote(client, api_for, phlo_app, agent):
    """The store writes the reversed digits beside the address (calls/core/store.py)."""
    for n, event in enumerate([
        mpc_event("MPCStart", "mpc-tail", seq=1),
        participant("ParticipantJoin", "mpc-tail", "c", "+12025550111", seq=2),
        participant("ParticipantJoin", "mpc-tail", "a", agent.address, role="Agent", direction="outbound", seq=3),
        mpc_event("MPCEnd", "mpc-tail", seq=4),
    ]):
        assert django_callback(client, phlo_app, event).status_code == 200, n
    for typed in ("0111", "555 0111", "202 555 0111", "+1 (202) 555-0111"):
        assert len(ids(history(api_for(agent), q=typed))) == 1, typed


def test_the_migration_fills_the_reversed_digits_of_earlier_members(phlo_app):
    from importlib import import_module

    from django.apps import apps

    earlier = ended_call(phlo_app, customer="+12025550111")
    sip = ended_call(phlo_app, customer="sip:jane@example.com")
    earlier.members.update(address_digits_reversed="")
    import_module("calls.migrations.0007_member_address_digits_reversed").fill(apps, None)
    assert earlier.members.get().address_digits_reversed == "11105552021"
    assert sip.members.get().address_digits_reversed == ""


def test_a_number_finds_calls_an_agent_was_on_too(api_for, phlo_app, supervisor, agent):
    theirs = ended_call(phlo_app, agent=agent, customer="+13125550100")
    assert ids(history(api_for(supervisor), q=agent.address)) == [theirs.pk]


def test_a_sip_address_is_found_in_any_case(api_for, phlo_app, supervisor):
    sip = ended_call(phlo_app, customer="sip:Jane@example.sip.plivo.com")
    sip.members.update(address_key="sip:jane@example.sip.plivo.com")
    assert ids(history(api_for(supervisor), q="SIP:jane@Example")) == [sip.pk]


@pytest.mark.parametrize("typed", ["alice", "ALICE AG", "lice", "alice_u"])
def test_a_name_finds_the_calls_of_the_agents_it_names(api_for, phlo_app, supervisor, typed):
    alice = AgentFactory(user__username="alice_u", name="Alice Agent", address="+14155550171")
    oscar = AgentFactory(user__username="oscar_u", name="Oscar Other", address="+14155550172")
    hers = ended_call(phlo_app, agent=alice)
    ended_call(phlo_app, agent=oscar)
    assert ids(history(api_for(supervisor), q=typed)) == [hers.pk]


def test_filter_by_agent(api_for, phlo_app, supervisor, agent, other_agent):
    mine = ended_call(phlo_app, agent=agent)
    ended_call(phlo_app, agent=other_agent)
    both = ended_call(phlo_app, agent=other_agent, ended=NOON - timedelta(hours=1))
    MemberFactory(call=both, address=agent.address, agent=agent, role="agent", state="left")
    assert ids(history(api_for(supervisor), agent=agent.pk)) == [mine.pk, both.pk]
    assert ids(history(api_for(supervisor), agent=999999)) == []


def test_filter_by_when_the_call_ended(api_for, phlo_app, supervisor):
    before = ended_call(phlo_app, ended=datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC))
    first = ended_call(phlo_app, ended=datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    last = ended_call(phlo_app, ended=datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC))
    after = ended_call(phlo_app, ended=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    client = api_for(supervisor)

    assert ids(history(client, since="2026-11-30", until="2026-11-30")) == [last.pk, first.pk]  # the whole day
    assert ids(history(client, since="2026-11-30T00:00:00Z", until="2026-12-01T00:00:00Z")) == [last.pk, first.pk]
    assert ids(history(client, until="2026-11-30T00:00:00Z")) == [before.pk]  # until is exclusive
    assert ids(history(client, since="2026-12-01T01:00:00+01:00")) == [after.pk]  # an offset: midnight UTC
    # A "+" nobody encoded arrives as a space; it still means the offset.
    response = client.get("/api/calls/?status=ended&since=2026-12-01T01:00:00+01:00")
    assert ids(response) == [after.pk]


@pytest.mark.parametrize(("outcome", "expected"), [
    ("answered", {"answered", "transferred", "missed"}), ("abandoned", {"abandoned"}), ("outbound", {"outbound"}),
    ("transferred", {"transferred"}), ("missed", {"missed"}),
])
def test_filter_by_outcome(api_for, phlo_app, supervisor, outcome, expected):
    made = {
        "answered": ended_call(phlo_app),
        "abandoned": ended_call(phlo_app, outcome="abandoned"),
        "outbound": ended_call(phlo_app, outcome="outbound"),
        "transferred": ended_call(phlo_app, was_transferred=True),
        "missed": ended_call(phlo_app, missed_offers=1),  # an agent missed it; another answered
    }
    assert set(ids(history(api_for(supervisor), outcome=outcome))) == {made[kind].pk for kind in expected}


def test_filter_by_disposition_retired_ones_too(api_for, phlo_app, supervisor):
    resolved = Disposition.objects.create(name="Resolved")
    retired = Disposition.objects.create(name="Old code", active=False)
    ok = ended_call(phlo_app, disposition=resolved)
    old = ended_call(phlo_app, disposition=retired)
    ended_call(phlo_app)
    assert ids(history(api_for(supervisor), disposition="Resolved")) == [ok.pk]
    assert ids(history(api_for(supervisor), disposition="Old code")) == [old.pk]


def test_filters_narrow_together(api_for, phlo_app, supervisor, agent):
    resolved = Disposition.objects.create(name="Resolved")
    wanted = ended_call(phlo_app, agent=agent, disposition=resolved, was_transferred=True)
    ended_call(phlo_app, agent=agent, disposition=resolved)  # not transferred
    ended_call(phlo_app, disposition=resolved, was_transferred=True)  # not Alice's
    ended_call(phlo_app, agent=agent, disposition=resolved, was_transferred=True, customer="+13125550000")
    ended_call(phlo_app, agent=agent, disposition=resolved, was_transferred=True, ended=NOON - timedelta(days=2))
    response = history(
        api_for(supervisor), q="+1 202", agent=agent.pk, outcome="transferred", disposition="Resolved",
        since="2026-11-30", until="2026-11-30",
    )
    assert ids(response) == [wanted.pk]


# --- who sees what -------------------------------------------------------------------------------------------


def test_an_agent_searches_only_their_own_calls(api_for, phlo_app, agent, other_agent):
    mine = ended_call(phlo_app, agent=agent)
    ended_call(phlo_app, agent=other_agent, customer="+13125550199")
    client = api_for(agent)
    assert ids(history(client)) == [mine.pk]
    assert ids(history(client, q="+1 312 555 0199")) == []  # their customer's number finds nothing
    assert ids(history(client, agent=other_agent.pk)) == []
    assert ids(history(client, q="Oscar")) == []


def test_without_an_agent_record_there_is_no_history(api_for, phlo_app, agent, django_user_model):
    ended_call(phlo_app, agent=agent)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("nodesk"))
    assert ids(history(client)) == []


# --- bad input ------------------------------------------------------------------------------------------------


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD = [
    ("since", "yesterday"), ("since", "2026-13-01"), ("since", "2026-11-31"), ("until", "30/11/2026"),
    ("since", "2026-11-30T25:00:00"), ("until", "9999-12-31"), ("since", "0001-01-01T00:00:00+01:00"),
    ("since", "2026-11-30T10:00:00" + "0" * 60),
    ("limit", "0"), ("limit", "201"), ("limit", "-1"), ("limit", "abc"), ("limit", "1e9"), ("limit", "9" * 40),
    ("agent", "abc"), ("agent", "0"), ("agent", "9" * 30), ("outcome", "lost"), ("disposition", "No such code"),
    ("q", "12"), ("q", "123"), ("q", "x" * 101), ("q", "a\x00b"),
    ("cursor", "not a cursor"), ("cursor", _cursor(b"[1, 2]")), ("cursor", _cursor(b'["2026-11-30T12:00:00", 5]')),
    ("cursor", _cursor(b'["2026-11-30T12:00:00Z", "5"]')), ("cursor", _cursor(b'["2026-11-30T12:00:00Z", -5]')),
    ("cursor", _cursor(b"\xff\xfe")), ("cursor", "x" * 600),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v[:24]!r}" for f, v in BAD])
def test_bad_input_is_a_400_naming_the_field(api_for, phlo_app, supervisor, field, value):
    ended_call(phlo_app)
    response = history(api_for(supervisor), **{field: value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["detail"].startswith(f"{field}:")
    assert isinstance(body[field], list) and body[field]


def test_a_range_that_ends_before_it_starts_is_a_400(api_for, supervisor):
    response = history(api_for(supervisor), since="2026-12-01", until="2026-11-30")
    assert response.status_code == 400
    assert response.json()["until"] == ["The end of the range must come after its start."]


@pytest.mark.parametrize("param", ["q", "agent", "since", "outcome", "cursor", "limit"])
def test_search_parameters_need_the_history(api_for, supervisor, param):
    response = api_for(supervisor).get("/api/calls/", {param: "1", "status": "live"})
    assert response.status_code == 400
    assert "status=ended" in response.json()["detail"]


HOSTILE = [
    "'; DROP TABLE calls_call; --", "\" OR 1=1 --", "%", "_", "%%%", "\\", "alice%", "a_b", "' OR ''='",
    "<script>alert(1)</script>", "Ωμέγα ∞ 名前", "1' UNION SELECT * FROM auth_user --", "*", "sip:%@%",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_search_text_is_only_ever_text(api_for, phlo_app, supervisor, agent, text):
    ended_call(phlo_app, agent=agent)
    ended_call(phlo_app, customer="sip:alice@example.com")
    calls_before = Call.objects.count()
    response = history(api_for(supervisor), q=text)
    assert ids(response) == []  # no name or number contains it: wildcards are letters here
    assert Call.objects.count() == calls_before


def test_a_wildcard_in_a_name_is_a_letter(api_for, phlo_app, supervisor):
    odd = AgentFactory(user__username="o_dd", name="100% Agent", address="+14155550181")
    plain = AgentFactory(user__username="oxdd", name="1000 Agent", address="+14155550182")
    theirs, _ = ended_call(phlo_app, agent=odd), ended_call(phlo_app, agent=plain)
    assert ids(history(api_for(supervisor), q="100%")) == [theirs.pk]
    assert ids(history(api_for(supervisor), q="o_d")) == [theirs.pk]


# --- cost ----------------------------------------------------------------------------------------------------------


# --- the agents' read model (calls.models.AgentCall) --------------------------------------------------------


def test_a_call_that_ends_is_filed_under_each_of_its_agents(client, phlo_app, agent, other_agent):
    from calls.models import AgentCall

    for params in (
        participant("ParticipantJoin", "mpc-f", "c", CUSTOMER, seq=1),
        participant("ParticipantJoin", "mpc-f", "a", agent.address, role="Agent", direction="outbound", seq=2),
        participant("ParticipantJoin", "mpc-f", "o", other_agent.address, role="Agent", direction="outbound", seq=3),
    ):
        assert django_callback(client, phlo_app, params).status_code == 200
    assert not AgentCall.objects.exists()  # a live call is nobody's history yet
    assert django_callback(client, phlo_app, mpc_event("MPCEnd", "mpc-f", seq=4)).status_code == 200

    call = Call.objects.get(mpc_uuid="mpc-f")
    assert sorted(AgentCall.objects.values_list("agent_id", "call_id", "ended_at")) == sorted(
        [(agent.pk, call.pk, call.ended_at), (other_agent.pk, call.pk, call.ended_at)]
    )


def test_the_migration_files_the_calls_that_ended_before_it(phlo_app, agent, other_agent):
    import importlib

    from django.db import connection as db

    from calls.models import AgentCall

    calls = [ended_call(phlo_app, agent=agent), ended_call(phlo_app, agent=other_agent), ended_call(phlo_app)]
    CallFactory(phlo_app=phlo_app, status="active")
    filed = set(AgentCall.objects.values_list("agent_id", "call_id", "ended_at"))
    AgentCall.objects.all().delete()
    with db.cursor() as cursor:
        cursor.execute(importlib.import_module("calls.migrations.0003_history_agent_calls").FILL)
    assert set(AgentCall.objects.values_list("agent_id", "call_id", "ended_at")) == filed
    assert {c for _, c, _ in filed} == {calls[0].pk, calls[1].pk}


def test_every_way_through_the_history_agrees_with_the_calls_themselves(api_for, phlo_app, supervisor):
    """An agent's own history and a supervisor's agent filter read the agents' rows; other
    searches read the calls. Both give what a plain reading of every call gives, page by page."""
    import random

    rng = random.Random(17)
    agents = [AgentFactory(user__username=f"ag{n}", name=f"Agent {n}", address=f"+1415555020{n}") for n in range(4)]
    codes = [Disposition.objects.create(name=name) for name in ("A", "B")]
    made = []
    for _ in range(45):
        on_it = rng.sample(agents, rng.choice([0, 1, 1, 2]))
        call = ended_call(
            phlo_app, agent=on_it[0] if on_it else None, customer=f"+1202555{rng.randrange(3):04d}",
            ended=NOON - timedelta(minutes=rng.randrange(30)),  # ties in the end time
            outcome=rng.choice(["answered", "abandoned"]), was_transferred=rng.random() < 0.3,
            disposition=rng.choice([None, *codes]),
        )
        for extra in on_it[1:]:
            MemberFactory(call=call, address=extra.address, agent=extra, role="agent", state="left")
        made.append((call, {a.pk for a in on_it}))

    def expected(pick) -> list[int]:
        chosen = [call for call, on_it in made if pick(call, on_it)]
        return [c.pk for c in sorted(chosen, key=lambda c: (c.ended_at, c.pk), reverse=True)]

    def paged(client, **params) -> list[int]:
        seen, cursor = [], None
        while True:
            response = history(client, limit=4, **params, **({"cursor": cursor} if cursor else {}))
            seen += ids(response)
            cursor = next_cursor(response)
            if cursor is None:
                return seen

    me, colleague = agents[0], agents[1]
    own = api_for(me)
    assert paged(own) == expected(lambda c, on: me.pk in on)
    assert paged(own, agent=colleague.pk) == expected(lambda c, on: {me.pk, colleague.pk} <= on)
    assert paged(own, outcome="transferred") == expected(lambda c, on: me.pk in on and c.was_transferred)
    boss = api_for(supervisor)
    assert paged(boss, agent=colleague.pk, disposition="A") == expected(
        lambda c, on: colleague.pk in on and c.disposition_id == codes[0].pk
    )
    assert paged(boss, q="Agent") == expected(lambda c, on: bool(on))  # a name four agents share
    assert paged(boss, q="+1 202 555 0001", outcome="abandoned") == expected(
        lambda c, on: c.members.filter(address="+12025550001").exists() and c.outcome == "abandoned"
    )


@pytest.mark.parametrize("reader", ["supervisor, through the calls", "the agent, through their own rows"])
def test_a_page_costs_the_same_queries_for_a_few_calls_or_many(api_for, phlo_app, supervisor, agent, reader):
    if reader.startswith("supervisor"):
        client, params = api_for(supervisor), {"q": "+1 202", "outcome": "answered", "disposition": "Resolved"}
    else:
        client, params = api_for(agent), {"outcome": "answered", "disposition": "Resolved"}
    resolved = Disposition.objects.create(name="Resolved")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(ids(history(client, **params))) == Call.objects.count()
        return len(captured)

    ended_call(phlo_app, agent=agent, disposition=resolved)
    few = queries()
    for n in range(30):
        ended_call(phlo_app, agent=agent, disposition=resolved, ended=NOON - timedelta(minutes=n + 1))
    assert queries() == few
