"""The pure state machine, by table: (state, event) → state. No database, no I/O."""

from dataclasses import replace
from datetime import UTC, datetime
from itertools import permutations
from random import Random

import pytest

from calls.core.state_machine import CallSnap, MemberSnap, apply_event
from phlo.events import Event

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def member(state="connected", **kw):
    defaults = {"key": "db:1", "address": "+12025550001", "role": "customer", "member_id": "m1", "joined_at": T0}
    if state == "left":
        defaults["left_at"] = T0
    return MemberSnap(state=state, **{**defaults, **kw})


def call_with(*members, status="active"):
    return CallSnap(status=status, started_at=T0, members=tuple(members))


def event(kind, seq=None, **kw):
    defaults = {"name": kind, "mpc_uuid": "mpc-1", "member_id": "m1", "address": "+12025550001"}
    if kind.startswith("call_"):
        defaults = {"name": kind, "mpc_uuid": "mpc-1"}
    return Event(kind=kind, sequence=seq, timestamp=T0, **{**defaults, **kw})


MEMBER_TABLE = [
    # (member state before, event kind, member state after)
    ("dialing", "member_ringing", "ringing"),
    ("dialing", "member_joined", "connected"),
    ("ringing", "member_joined", "connected"),
    ("connected", "member_joined", "connected"),
    ("connected", "member_held", "on_hold"),
    ("on_hold", "member_held", "on_hold"),
    ("on_hold", "member_unheld", "connected"),
    ("connected", "member_unheld", "connected"),
    ("in_transfer", "member_unheld", "in_transfer"),
    ("connected", "member_left", "left"),
    ("on_hold", "member_left", "left"),
    ("dialing", "member_failed", "left"),
    ("ringing", "member_failed", "left"),
    ("connected", "member_present", "connected"),
    ("ringing", "member_present", "connected"),
    ("left", "member_joined", "left"),
    ("left", "member_held", "left"),
    ("left", "member_unheld", "left"),
    ("left", "member_ringing", "left"),
    ("connected", "member_ringing", "connected"),
]


@pytest.mark.parametrize(("before", "kind", "after"), MEMBER_TABLE)
def test_member_transitions(before, kind, after):
    result = apply_event(call_with(member(before)), event(kind))
    assert result.call.member("db:1").state == after
    assert result.outcome == ("applied" if before != after else "no_change")


CALL_TABLE = [
    ("ringing", "call_initialized", "ringing"),
    ("ringing", "call_started", "active"),
    ("active", "call_initialized", "active"),
    ("active", "call_started", "active"),
    ("active", "call_ended", "ended"),
    ("ringing", "call_ended", "ended"),
    ("ended", "call_started", "ended"),
    ("ended", "call_initialized", "ended"),
]


@pytest.mark.parametrize(("before", "kind", "after"), CALL_TABLE)
def test_call_transitions_only_move_forward(before, kind, after):
    result = apply_event(call_with(status=before), event(kind))
    assert result.call.status == after


def test_call_end_makes_every_live_member_leave():
    call = call_with(member("connected"), member("on_hold", key="db:2", member_id="m2", address="+12025550002"))
    ended = apply_event(call, event("call_ended", seq=9)).call
    assert ended.status == "ended" and ended.ended_at == T0
    assert {m.state for m in ended.members} == {"left"}


def test_an_older_event_does_not_roll_a_member_back():
    held = apply_event(call_with(member("connected")), event("member_held", seq=5)).call
    result = apply_event(held, event("member_unheld", seq=3))
    assert result.call.member("db:1").state == "on_hold"
    assert result.outcome == "stale"


def test_timestamps_order_events_without_sequence_numbers():
    later, earlier = T0.replace(minute=5), T0.replace(minute=1)
    held = apply_event(call_with(member("connected")), replace(event("member_held"), timestamp=later)).call
    result = apply_event(held, replace(event("member_unheld"), timestamp=earlier))
    assert result.call.member("db:1").state == "on_hold"


def test_a_duplicate_changes_nothing():
    once = apply_event(call_with(member("connected")), event("member_held", seq=4)).call
    twice = apply_event(once, event("member_held", seq=4))
    assert twice.outcome == "no_change" and twice.call == once


def test_an_unknown_member_is_created_by_its_event():
    joined = event("member_joined", member_id="m9", address="+12025550009", role="agent")
    result = apply_event(call_with(), joined)
    created = result.call.member("new:0")
    assert (created.state, created.role, created.member_id) == ("connected", "agent", "m9")
    assert result.outcome == "applied"


def test_a_member_we_dialled_is_matched_by_address_until_plivo_names_it():
    dialled = MemberSnap(key="db:7", address="+12025550007", role="agent", state="dialing")
    result = apply_event(call_with(dialled), event("member_joined", member_id="m7", address="12025550007"))
    assert [m.key for m in result.call.members] == ["db:7"]
    assert result.call.member("db:7").member_id == "m7"
    assert result.call.member("db:7").state == "connected"


def test_a_joining_member_makes_a_ringing_call_active():
    result = apply_event(call_with(member("ringing"), status="ringing"), event("member_joined"))
    assert result.call.status == "active"


def test_unholding_the_customer_completes_a_warm_transfer():
    call = call_with(
        member("on_hold"),
        member("in_transfer", key="db:2", member_id="a1", address="+14155550101", role="agent",
               transfer_role="initiator"),
        member("connected", key="db:3", member_id="a2", address="+14155550102", role="agent", transfer_role="target"),
    )
    done = apply_event(call, event("member_unheld")).call
    assert [(m.state, m.transfer_role) for m in done.members] == [
        ("connected", ""), ("connected", ""), ("connected", ""),
    ]


def test_the_target_leaving_aborts_a_warm_transfer():
    call = call_with(
        member("on_hold"),
        member("in_transfer", key="db:2", member_id="a1", address="+14155550101", role="agent",
               transfer_role="initiator"),
        member("connected", key="db:3", member_id="a2", address="+14155550102", role="agent", transfer_role="target"),
    )
    after = apply_event(call, event("member_left", member_id="a2", address="+14155550102")).call
    assert after.member("db:2").state == "connected" and after.member("db:2").transfer_role == ""
    assert after.member("db:3").state == "left"
    assert after.member("db:1").state == "on_hold"  # Plivo's unhold event brings the customer back


INBOUND_STORY = [
    event("call_initialized", seq=1),
    event("member_joined", seq=2),
    event("call_started", seq=3),
    event("member_joined", seq=4, member_id="a1", address="+14155550101", role="agent"),
    event("member_held", seq=5),
    event("member_unheld", seq=6),
    event("member_left", seq=7),
    event("call_ended", seq=8),
]


def _final(events):
    call = CallSnap(status="ringing", started_at=T0)
    for i, e in enumerate(events):
        call = apply_event(call, e, new_key=f"new:{i}").call
    return call.status, tuple(sorted((m.member_id, m.state) for m in call.members))


@pytest.mark.parametrize("seed", range(12))
def test_shuffled_delivery_reaches_the_same_final_state(seed):
    shuffled = INBOUND_STORY[:]
    Random(seed).shuffle(shuffled)
    assert _final(shuffled) == _final(INBOUND_STORY) == ("ended", (("a1", "left"), ("m1", "left")))


def test_every_order_of_hold_and_unhold_ends_in_the_newest_state():
    story = [event("member_joined", seq=1), event("member_held", seq=2), event("member_unheld", seq=3)]
    finals = {_final(list(order)) for order in permutations(story)}
    assert finals == {("active", (("m1", "connected"),))}
