"""Acting on a call needs being on it now (or being a supervisor); seeing it keeps "is or was"
(calls/core/visibility.py: may_act, may_see). The probe's case: after a cold transfer the agent who
handed the call on could still hold the new agent's customer and add members to the call."""

import pytest

from calls.models import Action, Member
from tests.factories import AgentFactory, MemberFactory
from tests.support.phlo_api import last_action, live_call, mocked_phlo, warm_transfer_call

pytestmark = pytest.mark.django_db

OUTSIDER = "+19995550000"


@pytest.fixture
def phlo(settings):
    with mocked_phlo(settings) as router:
        yield router


@pytest.fixture
def handed_on(phlo, api_for, phlo_app, agent, other_agent):
    """`agent` cold-transferred their customer to `other_agent` through the API."""
    live = live_call(phlo_app, agent)
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/cold-transfer/", {"to": other_agent.address},
                                   format="json")
    assert response.status_code == 200, response.content
    live.agent.refresh_from_db()
    assert live.agent.state == "left"
    new_leg = Member.objects.get(call=live.call, address=other_agent.address)
    assert new_leg.agent_id == other_agent.pk and new_leg.state != "left"
    phlo["phlo"].reset()
    return live


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("members/{customer}/hold/", None),
        ("members/{customer}/hangup/", None),
        ("add-member/", {"to": OUTSIDER}),
        ("warm-transfer/", {"to": OUTSIDER}),
    ],
)
def test_the_agent_who_handed_the_call_on_no_longer_acts_on_it(phlo, api_for, handed_on, agent, path, body):
    live = handed_on
    url = f"/api/calls/{live.call.pk}/" + path.format(customer=live.customer.pk)
    response = api_for(agent).post(url, body, format="json")
    assert response.status_code == 403
    assert "no longer on call" in response.json()["detail"]
    assert not phlo["phlo"].called
    live.customer.refresh_from_db()
    assert live.customer.state == "connected"
    assert Action.objects.order_by("-pk").first().http_status == 403


def test_they_still_see_it(api_for, handed_on, agent):
    live = handed_on
    assert api_for(agent).get(f"/api/calls/{live.call.pk}/").status_code == 200
    assert [c["id"] for c in api_for(agent).get("/api/calls/").json()] == [live.call.pk]


def test_the_agent_now_on_it_and_a_supervisor_do_act(phlo, api_for, handed_on, other_agent, supervisor):
    live = handed_on
    hold = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/"
    assert api_for(other_agent).post(hold).status_code == 200
    unhold = f"/api/calls/{live.call.pk}/members/{live.customer.pk}/unhold/"
    assert api_for(supervisor).post(unhold).status_code == 200
    assert phlo["phlo"].call_count == 2


def test_an_ended_call_is_still_a_409_for_those_who_were_on_it(phlo, api_for, phlo_app, agent):
    live = live_call(phlo_app, agent, agent_state="left", customer_state="left")
    live.call.status = "ended"
    live.call.save()
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/")
    assert response.status_code == 409


# --- a supervisor's line (docs/reliability.md: only supervisors act on a supervisor's member) ----------------------

SUPERVISORS_LINE_ACTIONS = ["hold", "unhold", "hangup", "mute", "unmute", "voicemail-drop"]


@pytest.fixture
def monitored(phlo_app, agent, supervisor):
    """`supervisor` listens in on `agent`'s call: their own leg, role supervisor (the third probe's case)."""
    live = live_call(phlo_app, agent)
    live.call.mpc_uuid = "mpc-monitored"
    live.call.save()
    leg = MemberFactory(call=live.call, address=supervisor.address, agent=supervisor, role="supervisor",
                        coach_mode=True, muted=True, member_id="sup-member")
    return live, leg


def _ready_for(leg: Member, action: str) -> None:
    """The supervisor's leg in a state the action fits, so only the permission can refuse it."""
    Member.objects.filter(pk=leg.pk).update(
        state="on_hold" if action == "unhold" else "connected", muted=action == "unmute"
    )


@pytest.mark.parametrize("action", SUPERVISORS_LINE_ACTIONS)
def test_an_agent_never_acts_on_the_supervisors_line(phlo, api_for, monitored, agent, action):
    """Before: the agent's hang-up (or hold) of the supervisor's monitoring leg was a 200 and the leg was gone."""
    live, leg = monitored
    _ready_for(leg, action)
    before = Member.objects.filter(pk=leg.pk).values("state", "muted").get()
    response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{leg.pk}/{action}/")
    assert response.status_code == 403, response.content
    assert "supervisor" in response.json()["detail"]
    assert not phlo["phlo"].called and not phlo["voice"].called
    assert Member.objects.filter(pk=leg.pk).values("state", "muted").get() == before
    assert last_action().http_status == 403


def test_nor_on_a_supervisor_who_joined_as_an_agent(phlo, api_for, phlo_app, agent, supervisor):
    """A supervisor the agent warm-transferred to is on the line as an agent, and still a supervisor."""
    live = warm_transfer_call(phlo_app, agent, supervisor)
    for action in ("hold", "hangup"):
        response = api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.target.pk}/{action}/")
        assert response.status_code == 403, response.content
    assert not phlo["phlo"].called
    # Their own side of the transfer is still theirs to steer.
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.agent.pk}/abort-transfer/").status_code == 200


@pytest.mark.parametrize("action", SUPERVISORS_LINE_ACTIONS)
def test_a_supervisor_does(phlo, api_for, monitored, other_supervisor, action):
    live, leg = monitored
    _ready_for(leg, action)
    response = api_for(other_supervisor).post(f"/api/calls/{live.call.pk}/members/{leg.pk}/{action}/")
    assert response.status_code == 200, response.content


@pytest.fixture
def other_supervisor(db):
    return AgentFactory(user__username="sue", address="+14155550198", is_supervisor=True)


def test_the_agent_still_acts_on_the_customer_while_a_supervisor_listens(phlo, api_for, monitored, agent):
    live, _ = monitored
    assert api_for(agent).post(f"/api/calls/{live.call.pk}/members/{live.customer.pk}/hold/").status_code == 200
