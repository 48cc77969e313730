"""The state rules for actions (calls/core/state_machine.py check_action / apply_action), by table."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from calls.core.state_machine import ActionRefused, CallSnap, MemberSnap, apply_action, check_action
from calls.core.vocabulary import CallAction, MemberAction

CALL_ACTIONS = tuple(CallAction.values)
MEMBER_ACTIONS = tuple(MemberAction.values)

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MEMBER_STATES = ("dialing", "ringing", "connected", "on_hold", "in_transfer", "left")

AGENT = MemberSnap(key="db:1", address="+14155550101", role="agent", state="connected")
CUSTOMER = MemberSnap(key="db:2", address="+12025550001", role="customer", state="connected")
TARGET = MemberSnap(key="db:3", address="+14155550102", role="agent", state="connected", transfer_role="target")


def a_call(*members: MemberSnap, status: str = "active") -> CallSnap:
    return CallSnap(status=status, members=members or (AGENT, CUSTOMER))


def in_warm_transfer() -> CallSnap:
    """The agent consults the target while the customer waits on hold."""
    return a_call(
        replace(AGENT, state="in_transfer", transfer_role="initiator"), replace(CUSTOMER, state="on_hold"), TARGET
    )


def allowed(call: CallSnap, action: str, *, member_key: str | None = None, requester_key: str | None = "db:1") -> bool:
    try:
        check_action(call, action, member_key=member_key, requester_key=requester_key)
    except ActionRefused as refused:
        assert str(refused).endswith(".")  # a sentence a person can act on
        return False
    return True


# Which member states each member action accepts, outside a warm transfer.
MEMBER_RULES = {
    "hold": {"connected"},
    "unhold": {"on_hold"},
    "hangup": {"dialing", "ringing", "connected", "on_hold", "in_transfer"},
    "voicemail-drop": {"connected", "on_hold", "in_transfer"},  # a leg that answered (a machine)
    "resume-call": set(),  # no transfer under way
    "abort-transfer": set(),
}


@pytest.mark.parametrize("state", MEMBER_STATES)
@pytest.mark.parametrize("action", MEMBER_ACTIONS)
def test_member_actions_by_member_state(action, state):
    call = a_call(AGENT, replace(CUSTOMER, state=state))
    assert allowed(call, action, member_key=CUSTOMER.key) == (state in MEMBER_RULES[action])


def test_the_table_covers_every_member_action():
    assert set(MEMBER_RULES) == set(MEMBER_ACTIONS)


@pytest.mark.parametrize(
    ("action", "member", "expected"),
    [
        ("resume-call", "initiator", True),
        ("resume-call", "target", True),
        ("resume-call", "customer", False),
        ("abort-transfer", "initiator", True),
        ("abort-transfer", "target", False),
        ("abort-transfer", "customer", False),
        ("hold", "target", True),
        ("unhold", "customer", True),
        ("hangup", "target", True),
    ],
)
def test_during_a_warm_transfer(action, member, expected):
    keys = {"initiator": AGENT.key, "target": TARGET.key, "customer": CUSTOMER.key}
    assert allowed(in_warm_transfer(), action, member_key=keys[member]) == expected


@pytest.mark.parametrize("action", ["resume-call", "abort-transfer"])
def test_a_transfer_whose_target_has_left_is_over(action):
    call = in_warm_transfer().with_member(replace(TARGET, state="left", transfer_role=""))
    call = call.with_member(replace(call.member(AGENT.key), transfer_role=""))
    assert not allowed(call, action, member_key=AGENT.key)


@pytest.mark.parametrize("action", CALL_ACTIONS + MEMBER_ACTIONS)
def test_nothing_is_done_on_an_ended_call(action):
    call = a_call(replace(AGENT, state="left"), replace(CUSTOMER, state="left"), status="ended")
    with pytest.raises(ActionRefused, match=r"^The call has ended\.$"):
        check_action(call, action, member_key=CUSTOMER.key, requester_key=None)


@pytest.mark.parametrize("state", MEMBER_STATES)
@pytest.mark.parametrize("action", ["warm-transfer", "cold-transfer"])
def test_only_an_agent_on_the_line_transfers(action, state):
    call = a_call(replace(AGENT, state=state), CUSTOMER)
    requester = None if state == "left" else AGENT.key  # a requester who left has no live leg
    assert allowed(call, action, requester_key=requester) == (state in ("connected", "on_hold", "in_transfer"))


@pytest.mark.parametrize("action", ["warm-transfer", "cold-transfer"])
def test_transfers_need_someone_to_transfer_and_no_transfer_under_way(action):
    assert not allowed(a_call(AGENT, replace(CUSTOMER, state="left")), action)
    assert not allowed(in_warm_transfer(), action)
    assert not allowed(a_call(), action, requester_key=None)  # a supervisor who is not on the call


@pytest.mark.parametrize("requester", [None, "db:1"])
def test_anyone_allowed_on_the_call_may_add_a_member(requester):
    assert allowed(a_call(), "add-member", requester_key=requester)
    assert allowed(in_warm_transfer(), "add-member", requester_key=requester)


# --- what an accepted action implies ------------------------------------------------------------


def states(call: CallSnap) -> dict[str, tuple[str, str]]:
    return {m.address: (m.state, m.transfer_role) for m in call.members}


@pytest.mark.parametrize(
    ("action", "before", "member", "after"),
    [
        ("hold", a_call(), CUSTOMER.key, {CUSTOMER.address: ("on_hold", "")}),
        ("unhold", a_call(AGENT, replace(CUSTOMER, state="on_hold")), CUSTOMER.key,
         {CUSTOMER.address: ("connected", "")}),
        ("hangup", a_call(), CUSTOMER.key, {CUSTOMER.address: ("left", "")}),
        ("voicemail-drop", a_call(), CUSTOMER.key, {CUSTOMER.address: ("connected", "")}),
        ("resume-call", in_warm_transfer(), TARGET.key,
         {AGENT.address: ("connected", ""), CUSTOMER.address: ("connected", ""), TARGET.address: ("connected", "")}),
        ("abort-transfer", in_warm_transfer(), AGENT.key,
         {AGENT.address: ("connected", ""), CUSTOMER.address: ("connected", ""), TARGET.address: ("left", "")}),
        ("hangup", in_warm_transfer(), TARGET.key,  # the target hanging up ends the consultation
         {AGENT.address: ("connected", ""), CUSTOMER.address: ("on_hold", ""), TARGET.address: ("left", "")}),
    ],
)
def test_member_actions_imply(action, before, member, after):
    result = apply_action(before, action, at=AT, member_key=member, requester_key=AGENT.key)
    assert {address: states(result)[address] for address in after} == after
    left = [m for m in result.members if m.state == "left" and m.key == member]
    assert all(m.left_at == AT for m in left)


@pytest.mark.parametrize(
    ("action", "role", "after"),
    [
        ("add-member", "customer",
         {AGENT.address: ("connected", ""), CUSTOMER.address: ("connected", ""), "+19995550000": ("dialing", "")}),
        ("warm-transfer", "agent",
         {AGENT.address: ("in_transfer", "initiator"), CUSTOMER.address: ("on_hold", ""),
          "+19995550000": ("dialing", "target")}),
        ("cold-transfer", "agent",
         {AGENT.address: ("left", ""), CUSTOMER.address: ("connected", ""), "+19995550000": ("dialing", "")}),
    ],
)
def test_call_actions_imply(action, role, after):
    result = apply_action(
        a_call(), action, at=AT, requester_key=AGENT.key, to="+19995550000", role=role, new_key="new:0"
    )
    assert states(result) == after
    assert result.member("new:0").role == role


SUPERVISOR_ID, ALICE_ID = 99, 1


@pytest.mark.parametrize("ending", ["resume-call", "abort-transfer"])
def test_a_warm_transfer_holds_and_releases_the_customer_in_the_requesters_name(ending):
    """Found by hand (issue 25, 5): a supervisor once held and released the customer; Alice's own warm
    transfer then showed "held by your supervisor" on both desks, as the hold kept the old name."""
    released = apply_action(
        apply_action(a_call(), "hold", at=AT, member_key=CUSTOMER.key, actor_id=SUPERVISOR_ID),
        "unhold", at=AT, member_key=CUSTOMER.key, actor_id=SUPERVISOR_ID,
    )
    assert released.member(CUSTOMER.key).state_changed_by_id == SUPERVISOR_ID
    consulting = apply_action(
        released, "warm-transfer", at=AT, requester_key=AGENT.key, actor_id=ALICE_ID, to="+14155550102", new_key="new:1"
    )
    held = consulting.member(CUSTOMER.key)
    assert (held.state, held.state_changed_by_id) == ("on_hold", ALICE_ID)
    back = apply_action(consulting, ending, at=AT, member_key=AGENT.key, actor_id=ALICE_ID).member(CUSTOMER.key)
    assert (back.state, back.state_changed_by_id) == ("connected", ALICE_ID)


def test_a_member_plivo_gave_no_address_yet_cannot_be_acted_on_through_phlo():
    """PHLO addresses a member by their address in its path (`members/{address}/`): with none, the
    request would name nobody (a participant's first callback may carry no address fields)."""
    from calls.core.snapshots import CallSnap, MemberSnap
    from calls.core.state_machine import ActionRefused, check_action

    call = CallSnap(status="active", members=(MemberSnap(key="db:1", address="", state="connected", member_id="355"),))
    with pytest.raises(ActionRefused, match="number yet"):
        check_action(call, "hold", member_key="db:1", requester_key=None)
