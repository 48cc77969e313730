"""Declining an offer (README, "Pages"): `POST /api/me/decline/`, and away or offline while the phone
rings, end the offer at once; the call goes to the next agent; the decliner keeps their status and
is not offered that call again while someone else may take it."""

from __future__ import annotations

import pytest
from django.test import TestCase

from calls.models import Action, Call, Member
from tests.test_routing import customer_waits, dialled, idle_agent, route
from tests.test_routing import phlo as phlo

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(client, phlo_app, phlo):
    """Two agents available; the call is offered to the one idle the longest."""
    first = idle_agent("+14155550201", idle_for=300)
    second = idle_agent("+14155550202", idle_for=10)
    call = customer_waits(client, phlo_app, "mpc-1")
    route()
    call.refresh_from_db()
    assert call.offered_to_id == first.pk
    return call, first, second


def decline(api_for, agent):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return api_for(agent).post("/api/me/decline/")


def test_declining_ends_the_offer_and_the_next_agent_is_offered_the_call(api_for, offered, phlo):
    call, first, second = offered
    response = decline(api_for, first)
    assert response.status_code == 200
    assert response.json()["status"] == "available"  # what they had chosen
    call.refresh_from_db()
    assert call.offered_to_id is None and call.declined_by == [first.pk] and call.missed_offers == 0
    leg = Member.objects.get(call=call, address=first.address)
    assert leg.state == "left"  # their ringing leg is no longer the call's
    assert Action.objects.get(action="offer", request_body__agent=first.pk).upstream_outcome == "declined"

    route()
    assert dialled(phlo)[-1] == (second.address, "+12025550001")


def test_the_decliner_is_offered_the_call_again_only_when_nobody_else_may_take_it(api_for, offered, phlo):
    _, first, second = offered
    decline(api_for, first)
    second.status = "offline"
    second.save(update_fields=["status"])
    route()
    assert dialled(phlo)[-1] == (first.address, "+12025550001")


def test_away_while_offered_declines_and_applies_at_once(api_for, offered, phlo):
    call, first, second = offered
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_for(first).patch("/api/me/", {"status": "away"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["chosen_status"]) == ("away", "away")
    call.refresh_from_db()
    assert call.offered_to_id is None and call.declined_by == [first.pk]
    route()
    assert dialled(phlo)[-1] == (second.address, "+12025550001")


def test_available_while_offered_keeps_the_offer(api_for, offered):
    call, first, _ = offered
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api_for(first).patch("/api/me/", {"status": "available"}, format="json")
    assert response.json()["status"] == "offered"
    call.refresh_from_db()
    assert call.offered_to_id == first.pk


def test_declining_with_nothing_ringing_is_a_409(api_for, agent):
    response = api_for(agent).post("/api/me/decline/")
    assert response.status_code == 409
    assert response.json()["detail"] == "No call is ringing you: there is nothing to decline."


def test_declining_needs_a_login(api_for):
    assert api_for(None).post("/api/me/decline/").status_code == 401


def test_a_call_declined_by_everyone_still_waits_and_is_offered_again(api_for, offered, phlo):
    call, first, second = offered
    decline(api_for, first)
    route()
    decline(api_for, second)
    call.refresh_from_db()
    assert sorted(call.declined_by) == sorted([first.pk, second.pk]) and call.status == "waiting"
    route()
    assert Call.objects.get(pk=call.pk).offered_to_id in (first.pk, second.pk)
