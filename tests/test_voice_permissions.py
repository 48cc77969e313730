"""Who may monitor, mute, record and complete a transfer: anonymous / the agent on the call / another
agent / a supervisor / a user without an agent record / a member whose login was switched off, by
token and by browser session with its CSRF token. The same requesters as tests/test_call_permissions.py."""

import pytest
from rest_framework.test import APIClient

from calls.models import Action, Member
from tests.factories import AgentFactory, MemberFactory
from tests.support.phlo_api import live_call, mocked_phlo, warm_transfer_call
from tests.test_call_permissions import client_as  # noqa: F401 - the requesters, as a fixture

# endpoint → (path under the call, body, the scene it needs)
ENDPOINTS = {
    "monitor": ("monitor/", {"mode": "listen"}, "live"),
    "monitor-stop": ("monitor/stop/", None, "monitored"),
    "mute own line": ("members/{agent}/mute/", None, "live"),
    "mute the customer": ("members/{customer}/mute/", None, "live"),
    "unmute own line": ("members/{agent}/unmute/", None, "muted"),
    "recording-start": ("recording/start/", None, "live"),
    "recording-pause": ("recording/pause/", None, "recording"),
    "recording-resume": ("recording/resume/", None, "paused"),
    "recording-stop": ("recording/stop/", None, "recording"),
    "complete-transfer": ("complete-transfer/", None, "transfer"),
}
ALL = list(ENDPOINTS)
MONITORING = ["monitor", "monitor-stop"]
EXPECTED = {
    "anonymous": dict.fromkeys(ALL, 401),
    "member": {**dict.fromkeys(ALL, 200), **dict.fromkeys(MONITORING, 403), "mute the customer": 403},
    "other agent": dict.fromkeys(ALL, 403),
    "supervisor": dict.fromkeys(ALL, 200),
    "no agent record": dict.fromkeys(ALL, 403),
    "inactive member": dict.fromkeys(ALL, 401),
}


@pytest.fixture
def plivo(settings):
    with mocked_phlo(settings) as router:
        yield router


def make_scene(scene: str, phlo_app, agent, supervisor):
    if scene == "transfer":
        return warm_transfer_call(phlo_app, agent, AgentFactory(address="+14155550177"))
    live = live_call(phlo_app, agent)
    if scene == "monitored":
        MemberFactory(call=live.call, address=supervisor.address, agent=supervisor, role="supervisor",
                      coach_mode=True, muted=True)
    elif scene == "muted":
        Member.objects.filter(pk=live.agent.pk).update(muted=True)
    elif scene in ("recording", "paused"):
        live.call.recording = scene
        live.call.recordings = [{"recording_uuid": "r0", "state": scene, "url": "", "duration": None, "format": "mp3",
                                 "started_at": None, "ended_at": None}]
        live.call.save()
    return live


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("requester", EXPECTED)
def test_the_permission_matrix(plivo, client_as, phlo_app, agent, supervisor, requester, endpoint,  # noqa: F811
                               auth):
    path, body, scene = ENDPOINTS[endpoint]
    live = make_scene(scene, phlo_app, agent, supervisor)
    client: APIClient = client_as(requester, auth)

    response = client.post(
        f"/api/calls/{live.call.pk}/{path.format(agent=live.agent.pk, customer=live.customer.pk)}", body,
        format="json",
    )

    expected = EXPECTED[requester][endpoint]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()) == {"detail"}
    assert (plivo["voice"].called or plivo["phlo"].called) == (expected == 200)
    if expected == 401:
        assert not Action.objects.exists()  # nobody to record it against
    else:
        assert Action.objects.order_by("pk").first().http_status == expected


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_browser_session_needs_the_csrf_token(plivo, phlo_app, agent, supervisor, endpoint):
    path, body, scene = ENDPOINTS[endpoint]
    live = make_scene(scene, phlo_app, agent, supervisor)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(supervisor.user)
    response = browser.post(
        f"/api/calls/{live.call.pk}/{path.format(agent=live.agent.pk, customer=live.customer.pk)}", body,
        format="json",
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert not (plivo["voice"].called or plivo["phlo"].called) and not Action.objects.exists()
