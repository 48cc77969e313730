"""Wrap-up (docs/history.md): the dispositions an agent picks from, `PATCH /api/calls/{id}/wrap-up/`
and what it does to the call (every view of it hears) and to the agent's status (DISPOSITION_REQUIRED,
"Done"). Calls and statuses come from real signed callbacks through the intake.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.authtoken.models import Token

from agents.models import Agent
from agents.status import agents_finish_wrap_up
from calls.models import Action, Call, Disposition
from contactcenter.asgi import application
from tests.support.plivo import django_callback, mpc_event, participant
from tests.support.sockets import drain, until_call_updated

pytestmark = pytest.mark.django_db

CUSTOMER = "+12025550143"


@pytest.fixture
def codes(db):
    return {
        name: Disposition.objects.create(name=name, order=order, active=active)
        for name, order, active in [("Resolved", 20, True), ("Escalated", 10, True), ("Retired", 5, False)]
    }


class Calls:
    """Calls through the callback intake, as Plivo reports them."""

    def __init__(self, client, app):
        self.client, self.app, self.seq = client, app, 0

    def send(self, params) -> None:
        # Plivo's clock: one second between events (which call an agent left last is told by it).
        at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC) + timedelta(seconds=self.seq)
        params = {**params, "EventTimestamp": at.strftime("%Y-%m-%d %H:%M:%S")}
        assert django_callback(self.client, self.app, params).status_code == 200

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def start(self, mpc: str, *agents) -> Call:
        self.send(participant("ParticipantJoin", mpc, f"{mpc}-c", CUSTOMER, seq=self.next()))
        for agent in agents:
            self.send(participant("ParticipantJoin", mpc, f"{mpc}-{agent.pk}", agent.address, role="Agent",
                                  direction="outbound", seq=self.next()))
        return Call.objects.get(mpc_uuid=mpc)

    def leave(self, mpc: str, agent) -> None:
        self.send(participant("ParticipantExit", mpc, f"{mpc}-{agent.pk}", agent.address, role="Agent",
                              direction="outbound", seq=self.next()))

    def end(self, mpc: str) -> Call:
        self.send(mpc_event("MPCEnd", mpc, seq=self.next()))
        return Call.objects.get(mpc_uuid=mpc)


@pytest.fixture
def calls(client, phlo_app):
    return Calls(client, phlo_app)


def wrap_up(client, call: Call, **body):
    return client.patch(f"/api/calls/{call.pk}/wrap-up/", body, format="json")


def agent_now(agent) -> Agent:
    return Agent.objects.get(pk=agent.pk)


# --- the dispositions --------------------------------------------------------------------------------


def test_dispositions_are_the_active_ones_in_order(api_for, agent, codes):
    response = api_for(agent).get("/api/dispositions/")
    assert response.status_code == 200
    assert response.json() == [{"id": codes["Escalated"].pk, "name": "Escalated"},
                               {"id": codes["Resolved"].pk, "name": "Resolved"}]
    assert api_for(None).get("/api/dispositions/").status_code == 401


def test_the_demo_starts_with_a_set_and_keeps_what_operators_changed(db):
    from devtools.management.commands.demo import DEMO_DISPOSITIONS, _starter_dispositions

    _starter_dispositions()
    assert list(Disposition.objects.values_list("name", flat=True)) == list(DEMO_DISPOSITIONS)
    Disposition.objects.filter(name="Wrong number").update(active=False)
    Disposition.objects.filter(name="Escalated").delete()
    _starter_dispositions()  # the next `make run`
    assert Disposition.objects.count() == len(DEMO_DISPOSITIONS) - 1
    assert not Disposition.objects.get(name="Wrong number").active


@pytest.fixture
def operator(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("op", password="op-password-1"))
    return client


def test_operators_order_and_retire_dispositions_in_the_admin(operator, codes):
    listing = operator.get("/admin/calls/disposition/")
    assert listing.status_code == 200
    ordered = [codes[name].pk for name in ("Retired", "Escalated", "Resolved")]  # by order, then name
    form = {"form-TOTAL_FORMS": "3", "form-INITIAL_FORMS": "3", "_save": "Save"}
    for n, (pk, order, active) in enumerate(zip(ordered, (3, 2, 1), (False, True, False), strict=True)):
        form.update({f"form-{n}-id": str(pk), f"form-{n}-order": str(order)})
        if active:
            form[f"form-{n}-active"] = "on"
    assert operator.post("/admin/calls/disposition/", form).status_code == 302
    assert [d["name"] for d in offered_dispositions_json(operator)] == ["Escalated"]


def offered_dispositions_json(client) -> list[dict]:
    response = client.get("/api/dispositions/")
    assert response.status_code == 200
    return response.json()


def test_a_disposition_in_use_cannot_be_deleted(operator, phlo_app, codes):
    Call.objects.create(phlo_app=phlo_app, status="ended", disposition=codes["Resolved"])
    response = operator.post(f"/admin/calls/disposition/{codes['Resolved'].pk}/delete/", {"post": "yes"})
    assert response.status_code == 200  # the page explains the protected calls instead
    assert "Cannot delete" in response.content.decode() or "protected" in response.content.decode()
    assert Disposition.objects.filter(pk=codes["Resolved"].pk).exists()


# --- saving -------------------------------------------------------------------------------------------------


def test_the_calls_agent_saves_its_disposition_and_notes(api_for, calls, agent, codes):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")

    response = wrap_up(api_for(agent), call, disposition="Resolved", notes="Refund issued; call back Monday.")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["disposition"], body["notes"], body["version"]) == (
        "Resolved", "Refund issued; call back Monday.", call.version + 1
    )
    assert api_for(agent).get(f"/api/calls/{call.pk}/").json() == body
    assert api_for(agent).get("/api/calls/?status=ended").json()[0]["disposition"] == "Resolved"
    action = Action.objects.get(action="wrap-up")
    assert (action.actor, action.call_id, action.ok) == (agent.user, call.pk, True)
    assert action.request_body == {"disposition": "Resolved", "notes": "Refund issued; call back Monday."}


def test_saving_nothing_new_changes_nothing(api_for, calls, agent, codes):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    client = api_for(agent)
    first = wrap_up(client, call, disposition="Resolved", notes="n").json()
    again = wrap_up(client, call, disposition="Resolved", notes="n").json()
    assert again["version"] == first["version"]
    assert Action.objects.filter(action="wrap-up").count() == 1


@pytest.mark.parametrize(("requester", "status"), [
    ("agent", 200), ("other_agent", 403), ("supervisor", 200), (None, 401),
])
def test_who_may_save(api_for, calls, agent, other_agent, supervisor, codes, requester, status):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    who = {"agent": agent, "other_agent": other_agent, "supervisor": supervisor, None: None}[requester]

    response = wrap_up(api_for(who), call, disposition="Resolved")

    assert response.status_code == status
    assert "detail" in response.json() or status == 200
    assert Call.objects.get(pk=call.pk).disposition_id == (codes["Resolved"].pk if status == 200 else None)


def test_an_unknown_call_is_404(api_for, supervisor, codes):
    response = wrap_up(api_for(supervisor), Call(pk=999999), disposition="Resolved")
    assert response.status_code == 404
    assert "no call" in response.json()["detail"]


@pytest.mark.parametrize("name", ["Nope", "resolved", "Retired", ""])
def test_a_disposition_not_offered_is_a_400_and_changes_nothing(api_for, calls, agent, codes, name):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")

    response = wrap_up(api_for(agent), call, disposition=name, notes="kept?")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("disposition:")
    call.refresh_from_db()
    assert (call.disposition_id, call.notes) == (None, "")
    assert not Action.objects.filter(action="wrap-up").exists()


def test_a_retired_disposition_stays_on_the_call_that_has_it(api_for, calls, agent, codes):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    Call.objects.filter(pk=call.pk).update(disposition=codes["Retired"])
    response = wrap_up(api_for(agent), call, disposition="Retired", notes="more notes")
    assert response.status_code == 200
    assert response.json()["disposition"] == "Retired"


@pytest.mark.parametrize("body", [
    "{not json", "[1, 2]", '"Resolved"', '{"notes": {"a": 1}}', '{"notes": ["x"]}', '{"done": "maybe"}',
    '{"disposition": null}', '{"disposition": true}', json.dumps({"notes": "x" * 5001}),
    json.dumps({"disposition": "x" * 65}),
])
def test_a_malformed_body_is_a_400_and_changes_nothing(api_for, calls, agent, codes, body):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    response = api_for(agent).generic("PATCH", f"/api/calls/{call.pk}/wrap-up/", body,
                                      content_type="application/json")
    assert response.status_code == 400, response.content
    assert "detail" in response.json()
    assert Call.objects.get(pk=call.pk).version == call.version


def test_a_browser_needs_the_csrf_token(calls, agent, codes):
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent.user)
    path = f"/api/calls/{call.pk}/wrap-up/"
    body = json.dumps({"disposition": "Resolved"})
    refused = browser.patch(path, body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    browser.cookies["csrftoken"] = "a" * 32
    accepted = browser.patch(path, body, content_type="application/json", headers={"X-CSRFToken": "a" * 32})
    assert accepted.status_code == 200


# --- every view of the call hears ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_disposition_reaches_the_live_views_of_the_call(phlo_app, agent, other_agent, supervisor):
    def set_up():
        Disposition.objects.create(name="Resolved")
        calls = Calls(Client(), phlo_app)
        calls.start("mpc-live", agent)
        return calls.end("mpc-live")

    call = await database_sync_to_async(set_up)()
    sockets = {}
    for who in (agent, other_agent, supervisor):
        token = await database_sync_to_async(lambda w=who: Token.objects.get_or_create(user=w.user)[0].key)()
        sockets[who.pk] = WebsocketCommunicator(application, f"/ws/dashboard/?token={token}")
        assert (await sockets[who.pk].connect(timeout=20))[0]
        assert (await sockets[who.pk].receive_json_from(timeout=5))["type"] == "snapshot"
    try:
        from rest_framework.test import APIClient

        def save():
            client = APIClient()
            client.force_authenticate(agent.user)
            return wrap_up(client, call, disposition="Resolved", notes="done")

        assert (await database_sync_to_async(save)()).status_code == 200
        for who in (agent, supervisor):
            message = (await until_call_updated(sockets[who.pk], timeout=5))[-1]
            assert (message["call"]["id"], message["call"]["disposition"], message["call"]["notes"]) == (
                call.pk, "Resolved", "done"
            )
            assert message["call"]["version"] == call.version + 1
        # Others' statuses reach Oscar (Alice's wrap-up may end meanwhile); the call never does.
        assert "call.updated" not in {m["type"] for m in await drain(sockets[other_agent.pk], timeout=0.5)}
    finally:
        for ws in sockets.values():
            await ws.disconnect()


# --- the agent's status ----------------------------------------------------------------------------------


def test_done_ends_the_wrap_up_now(api_for, calls, agent, codes, settings):
    settings.WRAP_UP_SECONDS = 600
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    assert agent_now(agent).status == "wrap_up"

    assert wrap_up(api_for(agent), call, disposition="Resolved").status_code == 200
    assert agent_now(agent).status == "wrap_up"  # saved; the wrap-up runs its time
    assert wrap_up(api_for(agent), call, done=True).status_code == 200
    assert agent_now(agent).status == "available"  # what Alice had chosen


def test_a_required_disposition_holds_the_agent_in_wrap_up(api_for, calls, agent, codes, settings):
    settings.DISPOSITION_REQUIRED = True
    settings.WRAP_UP_SECONDS = 0
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    client = api_for(agent)

    agents_finish_wrap_up()
    assert agent_now(agent).status == "wrap_up"  # the time is up, the disposition is not there
    assert client.patch("/api/me/", {"status": "available"}, format="json").status_code == 409
    refused = wrap_up(client, call, notes="notes without a disposition", done=True)
    assert refused.status_code == 400
    assert refused.json()["disposition"] == ["Choose a disposition: one is required for every call."]
    assert agent_now(agent).disposition_pending

    assert wrap_up(client, call, disposition="Escalated").status_code == 200
    assert not agent_now(agent).disposition_pending
    agents_finish_wrap_up()
    assert agent_now(agent).status == "available"


def test_a_disposition_saved_during_the_call_is_not_owed_after_it(api_for, calls, agent, codes, settings):
    settings.DISPOSITION_REQUIRED = True
    call = calls.start("mpc-1", agent)
    assert wrap_up(api_for(agent), call, disposition="Resolved").status_code == 200
    assert agent_now(agent).status == "busy"
    calls.end("mpc-1")
    agent = agent_now(agent)
    assert (agent.status, agent.disposition_pending) == ("wrap_up", False)


def test_only_the_last_call_left_settles_what_is_owed(api_for, calls, agent, codes, settings):
    settings.DISPOSITION_REQUIRED = True
    calls.start("mpc-old", agent)
    old = calls.end("mpc-old")
    assert wrap_up(api_for(agent), old, disposition="Resolved", done=True).status_code == 200
    calls.start("mpc-new", agent)
    calls.end("mpc-new")
    assert agent_now(agent).disposition_pending

    # Correcting the older call's wrap-up does not stand in for the newer one's.
    assert wrap_up(api_for(agent), old, disposition="Escalated", done=True).status_code == 200
    agent = agent_now(agent)
    assert (agent.status, agent.disposition_pending) == ("wrap_up", True)


def test_a_supervisor_settles_what_the_agent_owes_but_does_not_end_their_wrap_up(
    api_for, calls, agent, supervisor, codes, settings
):
    settings.DISPOSITION_REQUIRED = True
    calls.start("mpc-1", agent)
    call = calls.end("mpc-1")
    assert wrap_up(api_for(supervisor), call, disposition="Resolved", done=True).status_code == 200
    agent = agent_now(agent)
    assert (agent.status, agent.disposition_pending) == ("wrap_up", False)


def test_an_agent_who_left_a_call_that_goes_on_wraps_it_up(api_for, calls, agent, other_agent, codes, settings):
    """A warm transfer completed: Alice left, Oscar and the customer talk on."""
    settings.DISPOSITION_REQUIRED = True
    call = calls.start("mpc-1", agent, other_agent)
    calls.leave("mpc-1", agent)
    assert agent_now(agent).disposition_pending

    assert wrap_up(api_for(agent), call, disposition="Escalated", done=True).status_code == 200

    agent = agent_now(agent)
    assert (agent.status, agent.disposition_pending) == ("available", False)
    assert agent_now(other_agent).status == "busy"
    calls.end("mpc-1")
    assert not agent_now(other_agent).disposition_pending  # the call has its disposition already


# --- each person's own wrap-up (README, "Pages") -------------------------------------------------------------


def test_a_colleagues_done_never_erases_what_another_agent_wrote(api_for, calls, agent, other_agent, codes):
    """Found by hand: in a three-way call that ended, Alice saved a disposition and notes, Bob pressed
    Done without typing, and the call's notes were empty."""
    calls.start("mpc-1", agent, other_agent)
    call = calls.end("mpc-1")
    alice = wrap_up(api_for(agent), call, disposition="Resolved", notes="Refund issued; call back Monday.")
    assert alice.status_code == 200

    bob = wrap_up(api_for(other_agent), call, notes="", done=True)  # Done without typing, as the desk sends it
    assert bob.status_code == 200
    body = bob.json()
    assert (body["disposition"], body["notes"]) == ("Resolved", "Refund issued; call back Monday.")
    assert [(w["agent"], w["disposition"], w["notes"]) for w in body["wrap_ups"]] == [
        (agent.pk, "Resolved", "Refund issued; call back Monday.")
    ]
    call.refresh_from_db()
    assert call.notes == "Refund issued; call back Monday."


def test_each_agents_notes_are_their_own_and_the_call_joins_them(api_for, calls, agent, other_agent, codes):
    calls.start("mpc-1", agent, other_agent)
    call = calls.end("mpc-1")
    wrap_up(api_for(agent), call, disposition="Resolved", notes="Alice: refund issued.")
    body = wrap_up(api_for(other_agent), call, disposition="Escalated", notes="Bob: escalated to billing.").json()
    assert body["notes"] == "Alice: refund issued.\n\nBob: escalated to billing."
    assert body["disposition"] == "Escalated"  # the latest saved
    assert {w["agent"]: (w["name"], w["disposition"], w["notes"]) for w in body["wrap_ups"]} == {
        agent.pk: (agent.display_name, "Resolved", "Alice: refund issued."),
        other_agent.pk: (other_agent.display_name, "Escalated", "Bob: escalated to billing."),
    }
    assert all(w["saved_at"] for w in body["wrap_ups"])

    # Alice corrects her own notes: Bob's stay as he wrote them.
    body = wrap_up(api_for(agent), call, notes="Alice: refund issued, 20 USD.").json()
    assert body["notes"] == "Alice: refund issued, 20 USD.\n\nBob: escalated to billing."
    call.refresh_from_db()
    assert (call.disposition.name, call.notes) == ("Escalated", body["notes"])


def test_a_complete_transfers_target_does_not_erase_the_initiators_notes(api_for, calls, agent, other_agent, codes):
    """Alice handed the call to Bob and wrapped up; Bob's own Done, later, keeps her text."""
    calls.start("mpc-1", agent, other_agent)
    calls.leave("mpc-1", agent)
    call = Call.objects.get(mpc_uuid="mpc-1")
    wrap_up(api_for(agent), call, disposition="Escalated", notes="Handed over to Bob.", done=True)
    call = calls.end("mpc-1")
    body = wrap_up(api_for(other_agent), call, notes="", done=True).json()
    assert body["notes"] == "Handed over to Bob." and body["disposition"] == "Escalated"


def test_a_wrap_up_saved_before_wrap_ups_were_each_persons_own_is_kept(api_for, calls, agent, other_agent, codes):
    """Migration 0004 made the older single wrap-up into its saver's: a new one adds to it."""
    import importlib

    from django.apps import apps

    calls.start("mpc-1", agent, other_agent)
    call = calls.end("mpc-1")
    Call.objects.filter(pk=call.pk).update(notes="Written before.", disposition=codes["Resolved"], wrap_ups=[])
    Action.objects.create(actor=agent.user, call=call, action="wrap-up", ok=True, http_status=200)
    importlib.import_module("calls.migrations.0004_call_wrap_ups").earlier_wrap_ups(apps, None)

    body = wrap_up(api_for(other_agent), call, notes="Bob's part.").json()
    assert body["notes"] == "Written before.\n\nBob's part."
    assert [w["agent"] for w in body["wrap_ups"]] == [agent.pk, other_agent.pk]


def test_an_agent_extends_their_wrap_up(api_for, calls, agent, codes, settings):
    settings.WRAP_UP_SECONDS = 30
    calls.start("mpc-1", agent)
    calls.end("mpc-1")
    until = agent_now(agent).wrap_up_until
    response = api_for(agent).post("/api/me/wrap-up/extend/")
    assert response.status_code == 200
    extended = agent_now(agent).wrap_up_until
    assert extended - until == timedelta(seconds=30)
    assert response.json()["wrap_up_until"] == extended.isoformat().replace("+00:00", "Z")
    assert response.json()["status"] == "wrap_up"


def test_extending_when_not_in_wrap_up_is_a_409(api_for, agent):
    response = api_for(agent).post("/api/me/wrap-up/extend/")
    assert response.status_code == 409 and "not in wrap-up" in response.json()["detail"]
    assert agent_now(agent).wrap_up_until is None


def test_an_extended_wrap_up_outlasts_the_sweep(api_for, calls, agent, codes, settings):
    settings.WRAP_UP_SECONDS = 0
    calls.start("mpc-1", agent)
    calls.end("mpc-1")
    settings.WRAP_UP_SECONDS = 60
    api_for(agent).post("/api/me/wrap-up/extend/")
    agents_finish_wrap_up()
    assert agent_now(agent).status == "wrap_up"
