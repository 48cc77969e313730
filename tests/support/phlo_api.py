"""A mocked PHLO API (respx) and the calls the action tests act on."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import respx

from calls.models import Action, Call, Member
from phlo.http import address_segment
from tests.factories import CallFactory, MemberFactory

PHLO_BASE_URL = "http://phlo.test/v1"
VOICE_BASE_URL = "http://voice.test/v1"  # PLIVO_API_BASE_URL
CUSTOMER = "+12025550001"
# The PHLO app of tests/factories.PhloAppFactory (the `phlo_app` fixture).
AUTH_ID, AUTH_TOKEN, PHLO_ID, NODE_ID = "MATESTAUTHID", "test-auth-token-do-not-leak", "phlo-test-1", "node-test-1"
BASIC_AUTH = "Basic " + base64.b64encode(f"{AUTH_ID}:{AUTH_TOKEN}".encode()).decode()
NODE_URL = f"{PHLO_BASE_URL}/phlo/{PHLO_ID}/multi_party_call/{NODE_ID}/"
RUN_URL = f"{PHLO_BASE_URL}/account/{AUTH_ID}/phlo/{PHLO_ID}/"
API_ID = "5e0c3c9a-api-id"


def member_url(address: str) -> str:
    """Where a member action goes: the address raw in the path, as the official SDK sends it."""
    return f"{NODE_URL}members/{address_segment(address)}/"


RECORDING_ID = "rec-5e0c3c9a"
RECORDING_URL = f"https://media.plivo.test/v1/Account/{AUTH_ID}/Recording/{RECORDING_ID}.mp3"


@contextmanager
def mocked_phlo(settings) -> Iterator[respx.Router]:
    """Every request to PHLO lands on the route named "phlo" (201 by default), every request to the
    Voice API on "voice" (200, with what a recording's start answers); a test changes an answer
    with `router["phlo"].respond(...)` or `.side_effect` and reads what was sent from `.calls`."""
    settings.PHLO_BASE_URL = PHLO_BASE_URL
    settings.PLIVO_API_BASE_URL = VOICE_BASE_URL
    with respx.mock(assert_all_called=False) as router:
        router.route(host="phlo.test", name="phlo").respond(201, json={"api_id": API_ID, "error": ""})
        router.route(host="voice.test", name="voice").respond(
            200, json={"api_id": API_ID, "message": "ok", "recording_id": RECORDING_ID, "recording_url": RECORDING_URL}
        )
        yield router


def sent(phlo, route: str = "phlo") -> list[tuple[str, str, str | None, dict | None]]:
    """What reached PHLO (or, with route="voice", the Voice API): (method, URL, Authorization
    header, JSON body) per request."""
    return [
        (
            call.request.method,
            str(call.request.url),
            call.request.headers.get("authorization"),
            json.loads(call.request.content) if call.request.content else None,
        )
        for call in phlo[route].calls
    ]


@dataclass
class LiveCall:
    call: Call
    agent: Member  # the agent who is on it
    customer: Member
    target: Member | None = None  # the warm transfer's target agent, if one is under way


def live_call(phlo_app, agent, *, agent_state: str = "connected", customer_state: str = "connected") -> LiveCall:
    call = CallFactory(phlo_app=phlo_app, status="active")
    mine = MemberFactory(call=call, address=agent.address, agent=agent, role="agent", state=agent_state)
    customer = MemberFactory(call=call, address=CUSTOMER, role="customer", state=customer_state)
    return LiveCall(call, mine, customer)


def warm_transfer_call(phlo_app, agent, target_agent) -> LiveCall:
    """`agent` consults `target_agent` while the customer waits on hold."""
    live = live_call(phlo_app, agent, agent_state="in_transfer", customer_state="on_hold")
    Member.objects.filter(pk=live.agent.pk).update(transfer_role="initiator")
    live.agent.refresh_from_db()
    live.target = MemberFactory(
        call=live.call, address=target_agent.address, agent=target_agent, role="agent", state="connected",
        transfer_role="target",
    )
    return live


def call_state(call: Call) -> tuple:
    """Everything an action may change: to check that a failed one changed nothing."""
    call.refresh_from_db()
    members = tuple(call.members.order_by("pk").values_list("pk", "address", "role", "state", "transfer_role"))
    return call.status, call.version, members


def last_action() -> Action:
    return Action.objects.order_by("-pk").first()
