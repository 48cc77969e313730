"""The queue: who is offered which waiting call, and the router that makes the offers
(docs/routing.md).

Plivo's own pattern: the customer waits in the multiparty call (hold music) and the desk dials an
agent in with PHLO's `call` action. An offer is claimed in one transaction with two conditional
updates (the agent: available → offered, agents/status.py; the call: not offered → offered to
them, calls/core/store.py `claim_offer`), so on any number of processes one agent is offered one
call at a time and one call to one agent. What an offer does to the call, and how it ends, is
calls/core/offers.py's; the event that ends one is applied like any other (calls/core/state_machine.py).
The desk itself ends an offer here when PHLO refuses to dial, when the agent's phone rings longer
than ROUTING_RING_SECONDS (missed), or when the agent declines it.

Each process runs one `Router` per event loop: woken after a callback that may call for an offer,
or when an agent becomes available or declines, and sweeping every half second (ring timeouts,
anything a wake-up missed, another process's router that died mid-offer).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents import status as agent_status
from agents.models import Agent
from calls.core.offers import OFFERED_KEY, OfferEnd, drop_offer, make_offer
from calls.core.store import claim_offer, load_call, save_call_state, snapshot
from calls.core.upstream import phlo_api
from calls.core.vocabulary import OFFER_ACTION, CallStatus, MemberRole, MemberState
from calls.models import Action, Call, PhloApp
from calls.queue.eligibility import Candidates
from calls.queue.figures import figures
from fastpath.db_threads import Lane
from live.publish import publish, publish_on_commit
from phlo.http import PlivoError
from phlo.vocabulary import NodeAction

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 0.5


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

WAITING_LOOKED_AT = 50  # the most urgent waiting calls a walk considers


def claim_next_offer() -> tuple[Offer | None, list[dict]]:
    """The most urgent waiting call that an available agent may take (its queue's priority, then
    the oldest), for the best of those agents (the highest level in the call's queue, then the
    longest available; not the one who missed it last, nor one who declined it, unless nobody else
    may take it): claimed, with the agent's leg dialing. docs/routing.md, "Who gets what"."""
    # The waiting calls first: the router sweeps twice a second, and mostly nobody waits (while a
    # center's available agents, read next, may be hundreds).
    waiting = list(
        Call.objects.filter(status=CallStatus.WAITING, offered_to__isnull=True, phlo_app__routing=True)
        .annotate(priority=Coalesce("queue__priority", 0))
        .order_by("-priority", "waiting_since", "id")
        .values_list("pk", "queue_id", "waiting_since", "last_offered_to_id", "declined_by")[:WAITING_LOOKED_AT]
    )
    candidates = Candidates() if waiting else None
    if candidates is None or not candidates.any:
        return None, []
    now = timezone.now()
    for call_id, queue_id, waiting_since, missed_by, declined_by in waiting:
        waited = (now - waiting_since).total_seconds() if waiting_since else 0.0
        eligible = candidates.best_first(queue_id, waited=waited)
        passed_over = {missed_by, *(declined_by or ())}
        for agent_id in [a for a in eligible if a not in passed_over] or eligible:
            try:
                with transaction.atomic():
                    return _claim(call_id, agent_id)
            except _Skip:
                continue
    return None, []


def _claim(call_id: int, agent_id: int) -> tuple[Offer, list[dict]]:
    now = timezone.now()
    if not agent_status.offer(agent_id):
        raise _Skip  # no longer available: taken by another process, or they changed their status
    if not claim_offer(call_id, agent_id, at=now):
        raise _Skip  # answered, abandoned or offered meanwhile
    call, members = load_call(call_id, lock=True)
    agent = Agent.objects.select_related("user").get(pk=agent_id)
    customer = next((m for m in members if m.role == MemberRole.CUSTOMER and m.state != MemberState.LEFT), None)
    if customer is None:
        raise _Skip
    before = snapshot(call, members)
    after = make_offer(before, agent_id=agent_id, agent_address=agent.address, at=now)
    by_key, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
    leg = by_key.get(OFFERED_KEY) or next(m for m in members if m.address == agent.address)
    action = Action.objects.create(
        call=call, member=leg, action=OFFER_ACTION, request_body={"to": agent.address, "agent": agent_id},
        http_status=0, created_at=now,
    )
    messages.extend(agent_status.messages_for([agent_id]))
    offer = Offer(call_id, agent_id, action.pk, call.phlo_app, customer.address, agent.address)
    return offer, messages


# --- the desk ends an offer ----------------------------------------------------------------------


def _end_offer(call_id: int, agent_id: int, how: OfferEnd, *, offered_at=None) -> tuple[Offer, list[dict]] | None:
    """End this call's offer to this agent (still theirs: else None), dropping their ringing leg.
    Inside the caller's transaction."""
    call, members = load_call(call_id, lock=True)
    if call.offered_to_id != agent_id or (offered_at is not None and call.offered_at != offered_at):
        return None  # settled by another process meanwhile
    before = snapshot(call, members)
    leg = next((m for m in reversed(members) if m.agent_id == agent_id and m.state != MemberState.LEFT), None)
    _, messages = save_call_state(
        call, members, before, drop_offer(before, how, at=timezone.now()), visible_change=True, at=timezone.now()
    )
    return Offer(call_id, agent_id, 0, call.phlo_app, "", leg.address if leg else ""), messages


def offer_refused(offer: Offer, reason: str) -> list[dict]:
    """PHLO did not dial the agent: the offer is missed at once, and their leg never rings."""
    with transaction.atomic():
        Action.objects.filter(pk=offer.action_id).update(error=reason[:2000])
        ended = _end_offer(offer.call_id, offer.agent_id, OfferEnd.MISSED)
    return ended[1] if ended else []


def expire_offers() -> list[tuple[Offer, list[dict]]]:
    """Offers ringing longer than ROUTING_RING_SECONDS are missed: from any process, whoever made
    them (a router that died mid-offer leaves nothing stuck)."""
    deadline = timezone.now() - timedelta(seconds=settings.ROUTING_RING_SECONDS)
    expired = []
    for call_id, agent_id, offered_at in Call.objects.filter(
        offered_to__isnull=False, offered_at__lte=deadline
    ).values_list("pk", "offered_to_id", "offered_at"):
        with transaction.atomic():
            ended = _end_offer(call_id, agent_id, OfferEnd.MISSED, offered_at=offered_at)
        if ended:
            expired.append(ended)
    return expired


def decline_offer(agent_id: int) -> Offer | None:
    """The agent said no to the call ringing them (`POST /api/me/decline/`, or away/offline while
    offered): the offer ends as declined and the call goes to the next agent; their phone stops
    ringing (`hang_up_declined`). From sync code; publishes on commit."""
    with transaction.atomic():
        call_id = Call.objects.filter(offered_to_id=agent_id).values_list("pk", flat=True).first()
        ended = _end_offer(call_id, agent_id, OfferEnd.DECLINED) if call_id else None
        if ended is None:
            return None
        publish_on_commit(ended[1])
    return ended[0]


class Router:
    """One per event loop: offers calls as long as there are waiting calls and available agents.

    `lane`: the thread its database steps run on (the process's router has a lane of its own, so
    routing never waits behind other background work); without one, Django's thread-sensitive
    worker, as a test driving passes by hand inside its transaction needs."""

    def __init__(self, loop: asyncio.AbstractEventLoop, lane: Lane | None = None) -> None:
        self.loop = loop
        self.lane = lane
        self.woken = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.passes = 0

    async def _step(self, step, *args):
        return await (self.lane.run(step, *args) if self.lane else sync_to_async(step)(*args))

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
        for offer, messages in await self._step(expire_offers):
            await publish(messages)
            logger.info("offer of call %s to agent %s missed: no answer in %.0f s", offer.call_id, offer.agent_id,
                        settings.ROUTING_RING_SECONDS)
            figures.changed()
            await _hang_up(offer)
        while True:
            offer, messages = await self._step(claim_next_offer)
            if offer is None:
                return
            await publish(messages)
            await self.dial(offer)

    async def dial(self, offer: Offer) -> None:
        """PHLO's `call` action for a claimed offer: the agent's phone rings, or the offer is missed."""
        try:
            reply = await phlo_api(offer.app).node_action(
                NodeAction.CALL, trigger_source=offer.customer, to=offer.agent_address, role=MemberRole.AGENT
            )
        except PlivoError as exc:
            logger.warning("offer of call %s to agent %s refused by %s: %s", offer.call_id, offer.agent_id,
                           exc.upstream, exc.error or exc)
            await publish(await self._step(offer_refused, offer, str(exc)))
            figures.changed()
            self.wake()  # the next agent at once
            return
        await self._step(_note_dialled, offer, reply.status, reply.api_id, reply.duration_ms)


def _note_dialled(offer: Offer, status: int, api_id: str, duration_ms: float) -> None:
    Action.objects.filter(pk=offer.action_id).update(
        upstream_status=status, api_id=api_id[:64], duration_ms=duration_ms
    )


async def _hang_up(offer: Offer) -> None:
    """Stop the agent's phone ringing for a call they no longer have (best effort: the offer is over
    whatever PHLO says)."""
    if not offer.agent_address:
        return
    try:
        await phlo_api(offer.app).member_action("hangup", member_address=offer.agent_address)
    except PlivoError as exc:
        logger.info("hanging up the missed leg of call %s: %s", offer.call_id, exc)


ROUTING_LANE = Lane("routing")
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
            # A process whose router is off (tests driving passes inside their transaction) keeps its
            # steps on Django's thread-sensitive worker, where that transaction is.
            found = _routers[loop] = Router(loop, ROUTING_LANE if settings.ROUTER_ENABLED else None)
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


def offer_declined(sender, agent_id, **kwargs) -> None:
    """`agents.status.declined`, sent from sync code once an offered agent's no is committed: end
    the offer, then, on the router's loop, stop their phone ringing and offer the call again."""
    offer = decline_offer(agent_id)
    loop = _main_loop
    if offer is None or loop is None or loop.is_closed():
        return  # no router here: the leg's ring timeout and the next sweep do the rest
    found = _routers.get(loop)
    loop.call_soon_threadsafe(lambda: _hang_up_then_wake(offer, found))


def _hang_up_then_wake(offer: Offer, found: Router | None) -> None:
    figures.changed()
    task = asyncio.get_running_loop().create_task(_hang_up(offer))
    _running.add(task)
    task.add_done_callback(_running.discard)
    if found is not None:
        found.wake()


_running: set[asyncio.Task] = set()  # the loop keeps only weak references to tasks

