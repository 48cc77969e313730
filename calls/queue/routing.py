"""The queue: each waiting customer is offered to the agent who has been available the longest
(docs/routing.md).

Plivo's own pattern: the customer waits in the multiparty call (hold music) and the desk dials an
agent in with PHLO's `call` action. An offer is claimed in one transaction with conditional
updates (the agent: available → offered; the call: not offered → offered to them), so on any
number of processes one agent is offered one call at a time and one call to one agent. It ends
when that agent's leg joins (answered), when PHLO refuses, the leg leaves without joining or it
rings longer than ROUTING_RING_SECONDS (missed: the agent goes away and the call is offered to the
next agent), or when another agent joins first or the customer leaves (withdrawn).

Each process runs one `Router` per event loop: woken after a callback that may call for an offer,
or when an agent becomes available, and sweeping every half second (ring timeouts, anything a
wake-up missed, another process's router that died mid-offer).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents import status as agent_status
from agents.models import Agent, AgentStatus
from calls.core.state_machine import CallSnap, dial
from calls.core.store import load_call, member_key, save_call_state, snapshot
from calls.core.upstream import phlo_api
from calls.core.vocabulary import CallStatus, JoinedVia, MemberRole, MemberState
from calls.models import Action, Call, Member, PhloApp
from calls.queue.figures import figures
from live.publish import publish
from metrics.registry import ROUTING_OFFERS
from phlo.addresses import address_key
from phlo.http import PlivoError
from phlo.vocabulary import NodeAction

logger = logging.getLogger(__name__)

OFFER = "offer"  # the Action rows of the router (no actor: the desk itself)
SWEEP_SECONDS = 0.5
OFFERED_KEY = "new:offered"


class Outcome:
    """How an offer ended, as its Action row's `upstream_outcome` says."""

    ANSWERED = "answered"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Offer:
    call_id: int
    agent_id: int
    action_id: int
    app: PhloApp
    customer: str  # the waiting customer's address: the trigger source
    agent_address: str


class _Skip(Exception):
    """This pair cannot be offered (another process was quicker): roll back, try the next."""


# --- claiming an offer ---------------------------------------------------------------------------


def claim_next_offer() -> tuple[Offer | None, list[dict]]:
    """The oldest waiting call no one is offered, for the longest-idle available agent (not the one
    who missed it last, unless they are the only one): claimed, with the agent's leg dialing."""
    waiting = Call.objects.filter(
        status=CallStatus.WAITING, offered_to__isnull=True, phlo_app__routing=True
    ).order_by("waiting_since", "id").values_list("pk", "last_offered_to_id")[:20]
    for call_id, missed_by in waiting:
        for agent_id in _longest_idle(exclude=missed_by):
            try:
                with transaction.atomic():
                    return _claim(call_id, agent_id)
            except _Skip:
                continue
    return None, []


def _longest_idle(*, exclude: int | None) -> list[int]:
    available = list(
        Agent.objects.filter(status=AgentStatus.AVAILABLE, user__is_active=True)
        .order_by("status_since", "id").values_list("pk", flat=True)[:20]
    )
    if exclude in available and len(available) > 1:
        available.remove(exclude)  # never twice in a row to the same agent, unless they are the only one
    return available


def _claim(call_id: int, agent_id: int) -> tuple[Offer, list[dict]]:
    now = timezone.now()
    if not agent_status.offer(agent_id):
        raise _Skip  # no longer available: taken by another process, or they changed their status
    if not Call.objects.filter(pk=call_id, status=CallStatus.WAITING, offered_to__isnull=True).update(
        offered_to_id=agent_id, offered_at=now
    ):
        raise _Skip  # answered, abandoned or offered meanwhile
    call, members = load_call(call_id, lock=True)
    agent = Agent.objects.select_related("user").get(pk=agent_id)
    customer = next((m for m in members if m.role == MemberRole.CUSTOMER and m.state != MemberState.LEFT), None)
    if customer is None:
        raise _Skip
    before = snapshot(call, members)
    after, _ = dial(
        before, to=agent.address, role=MemberRole.AGENT, at=now, via=JoinedVia.ROUTED, invited_by_id=None,
        new_key=OFFERED_KEY,
    )
    by_key, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
    leg = by_key.get(OFFERED_KEY) or next(m for m in members if m.address == agent.address)
    action = Action.objects.create(
        call=call, member=leg, action=OFFER, request_body={"to": agent.address, "agent": agent_id},
        http_status=0, created_at=now,
    )
    messages.extend(agent_status.messages_for([agent_id]))
    offer = Offer(call_id, agent_id, action.pk, call.phlo_app, customer.address, agent.address)
    return offer, messages


# --- how an offer ends -----------------------------------------------------------------------------


def settle_offer(call: Call, after: CallSnap) -> list[dict] | None:
    """Inside the transaction that applies a callback to `call`, before it is saved: whether the
    state `after` ends the call's offer. None when it does not; else the agent changes to publish
    (the call's own fields are updated here, so its message shows the offer gone)."""
    agent_id = call.offered_to_id
    if agent_id is None:
        return None
    wanted = Agent.objects.filter(pk=agent_id).values_list("address_key", flat=True).first()
    agents = [m for m in after.members if m.role == MemberRole.AGENT]
    leg = next((m for m in reversed(agents) if address_key(m.address) == wanted), None)
    if after.status == CallStatus.ENDED:
        return _end_offer(call, agent_id, Outcome.WITHDRAWN)  # the customer left: nobody missed anything
    if leg is not None and leg.on_the_line:
        return _end_offer(call, agent_id, Outcome.ANSWERED)
    if any(m.on_the_line for m in agents if m is not leg):
        return _end_offer(call, agent_id, Outcome.WITHDRAWN)  # someone else took it first
    if leg is None or not leg.live:
        return _end_offer(call, agent_id, Outcome.MISSED)  # their leg left (or failed) without joining
    return None


def _end_offer(call: Call, agent_id: int, outcome: str) -> list[dict]:
    """Clear the call's offer and note how it ended; the agent follows: answered → busy (their call
    does that), missed → away, withdrawn → as they had chosen."""
    fields = {"offered_to": None, "offered_at": None}
    if outcome == Outcome.MISSED:
        fields.update(last_offered_to_id=agent_id, missed_offers=call.missed_offers + 1)
    Call.objects.filter(pk=call.pk).update(**fields)
    for name, value in fields.items():
        setattr(call, name, value)
    Action.objects.filter(call=call, action=OFFER, request_body__agent=agent_id, upstream_outcome="").update(
        upstream_outcome=outcome, ok=outcome == Outcome.ANSWERED
    )
    ROUTING_OFFERS.labels(outcome=outcome).inc()
    if outcome == Outcome.MISSED:
        return agent_status.offer_failed(agent_id)
    if outcome == Outcome.WITHDRAWN:
        return agent_status.offer_withdrawn(agent_id)
    return []


def offer_refused(offer: Offer, reason: str) -> list[dict]:
    """PHLO did not dial the agent: the offer is missed at once, and their leg never rings."""
    with transaction.atomic():
        call, members = load_call(offer.call_id, lock=True)
        Action.objects.filter(pk=offer.action_id).update(error=reason[:2000])
        return _drop_leg(call, members, offer.agent_id) + _end_offer(call, offer.agent_id, Outcome.MISSED)


def expire_offers() -> list[tuple[Offer, list[dict]]]:
    """Offers ringing longer than ROUTING_RING_SECONDS are missed: from any process, whoever made
    them (a router that died mid-offer leaves nothing stuck)."""
    deadline = timezone.now() - timedelta(seconds=settings.ROUTING_RING_SECONDS)
    expired = []
    for call_id, agent_id, offered_at in Call.objects.filter(
        offered_to__isnull=False, offered_at__lte=deadline
    ).values_list("pk", "offered_to_id", "offered_at"):
        with transaction.atomic():
            if not Call.objects.filter(pk=call_id, offered_to_id=agent_id, offered_at=offered_at).exists():
                continue
            call, members = load_call(call_id, lock=True)
            if call.offered_to_id != agent_id or call.offered_at != offered_at:
                continue  # settled by another process meanwhile
            leg = next((m for m in reversed(members) if m.agent_id == agent_id and m.state != MemberState.LEFT), None)
            messages = _drop_leg(call, members, agent_id) + _end_offer(call, agent_id, Outcome.MISSED)
            agent_address = leg.address if leg else ""
            expired.append((Offer(call_id, agent_id, 0, call.phlo_app, "", agent_address), messages))
    return expired


def _drop_leg(call: Call, members: list[Member], agent_id: int) -> list[dict]:
    """The offered agent's leg is no longer wanted: it leaves the call's picture (Plivo's callbacks
    say the same once it is hung up)."""
    before = snapshot(call, members)
    after = before
    for m in before.members:
        if m.role == MemberRole.AGENT and m.live and m.state in (MemberState.DIALING, MemberState.RINGING):
            stored = next(s for s in members if member_key(s) == m.key)
            if stored.agent_id == agent_id:
                after = after.with_member(replace(m, state=MemberState.LEFT, left_at=timezone.now()))
    if after == before:
        return []
    _, messages = save_call_state(call, members, before, after, visible_change=True, at=timezone.now())
    return messages


# --- the router ----------------------------------------------------------------------------------


class Router:
    """One per event loop: offers calls as long as there are waiting calls and available agents."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.woken = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.passes = 0

    def start(self) -> None:
        if settings.ROUTER_ENABLED and (self.task is None or self.task.done()):
            self.task = self.loop.create_task(self._run())

    def wake(self) -> None:
        self.start()
        self.woken.set()

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(SWEEP_SECONDS):
                    await self.woken.wait()
            except TimeoutError:
                pass
            self.woken.clear()
            try:
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("routing pass failed")

    async def run_pass(self) -> None:
        """Ring timeouts first (they free agents and calls), then every offer there is to make."""
        self.passes += 1
        for offer, messages in await sync_to_async(expire_offers)():
            await publish(messages)
            logger.info("offer of call %s to agent %s missed: no answer in %.0f s", offer.call_id, offer.agent_id,
                        settings.ROUTING_RING_SECONDS)
            figures.changed()
            if offer.agent_address:
                await _hang_up(offer)
        while True:
            offer, messages = await sync_to_async(claim_next_offer)()
            if offer is None:
                return
            await publish(messages)
            await self._dial(offer)

    async def _dial(self, offer: Offer) -> None:
        try:
            reply = await phlo_api(offer.app).node_action(
                NodeAction.CALL, trigger_source=offer.customer, to=offer.agent_address, role=MemberRole.AGENT
            )
        except PlivoError as exc:
            logger.warning("offer of call %s to agent %s refused by %s: %s", offer.call_id, offer.agent_id,
                           exc.upstream, exc.error or exc)
            await publish(await sync_to_async(offer_refused)(offer, str(exc)))
            figures.changed()
            return
        await sync_to_async(_note_dialled)(offer, reply.status, reply.api_id, reply.duration_ms)


def _note_dialled(offer: Offer, status: int, api_id: str, duration_ms: float) -> None:
    Action.objects.filter(pk=offer.action_id).update(
        upstream_status=status, api_id=api_id[:64], duration_ms=duration_ms
    )


async def _hang_up(offer: Offer) -> None:
    """Stop the agent's phone ringing for a call they no longer have (best effort: the offer is over
    whatever PHLO says)."""
    try:
        await phlo_api(offer.app).member_action("hangup", member_address=offer.agent_address)
    except PlivoError as exc:
        logger.info("hanging up the missed leg of call %s: %s", offer.call_id, exc)


_routers: dict[asyncio.AbstractEventLoop, Router] = {}
_main_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def router() -> Router:
    """The running loop's router, started."""
    global _main_loop
    loop = asyncio.get_running_loop()
    with _lock:
        for stale in [other for other in _routers if other.is_closed()]:
            del _routers[stale]
        found = _routers.get(loop)
        if found is None:
            found = _routers[loop] = Router(loop)
        _main_loop = loop
    found.start()
    return found


def wake_on_available(sender, agent_ids, **kwargs) -> None:
    """`agents.status.became_available`, sent from sync code: wake the router of the process's loop."""
    loop = _main_loop
    if loop is None or loop.is_closed():
        return  # no router here yet: the first request starts one, and its sweep finds the agent
    found = _routers.get(loop)
    if found is not None:
        loop.call_soon_threadsafe(found.wake)


async def offer_after_callback(app: PhloApp, result) -> None:
    """A reaction (calls/intake/reactions.py): the callback left a customer waiting, unoffered."""
    if result.offer_wanted:
        router().wake()
