"""Store and apply one authentic Plivo callback, in one transaction (docs/callbacks.md).

Exactly once: the raw callback is stored under a unique dedupe key in the same transaction that
applies it, so a repeated delivery finds its twin and changes nothing (it is kept too, as a
duplicate), and a crash before commit leaves nothing half-done (Plivo retries it). Every
authentic callback is kept: one that changes no call says why (`outcome` and `reason`).
"""

import hashlib
import json
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.core.matching import find_call_id, known_call_id
from calls.core.queues import queue_for
from calls.core.snapshots import CallSnap
from calls.core.state_machine import apply_event
from calls.core.store import load_call, load_call_by_mpc, save_call_state, snapshot
from calls.core.vocabulary import CallDirection, CallStatus, MemberRole
from calls.history.customer import customer_history
from calls.intake.result import IntakeResult
from calls.models import Action, Call, CallEvent, PhloApp
from calls.queue.routing import claim_next_offer
from fastpath.prepared import PreparedInsert
from phlo.events import Event, Family, Kind, masked

Outcome = CallEvent.Outcome
_EVENT_INSERT = PreparedInsert(CallEvent)
REASONS = {
    Outcome.NO_CHANGE: "It changed nothing the desk shows.",
    Outcome.STALE: "Older than the state it would change (by SequenceNumber, else EventTimestamp): not rolled back.",
    Outcome.DUPLICATE: "A repeat of a callback already stored: applied once.",
}


def dedupe_key(app: PhloApp, params: dict[str, str]) -> str:
    """A multiparty-call event is identified by its call, member, name and sequence (or time);
    anything else by its whole parameter set."""
    ordered = params.get("SequenceNumber") or params.get("EventTimestamp")
    if params.get("MPCUUID") and params.get("EventName") and ordered:
        identity = [params["MPCUUID"], params.get("MemberID", ""), params["EventName"],
                    params.get("SequenceNumber", ""), params.get("EventTimestamp", "")]
    else:
        identity = sorted(params.items())
    raw = json.dumps([app.phlo_id, identity], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def callback_store_and_apply(*, app: PhloApp, params: dict[str, str], event: Event) -> IntakeResult:
    params = masked(params)  # keys pressed (card numbers, PINs) are never stored
    key = dedupe_key(app, params)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _store_and_apply(app, params, event, key)
        except IntegrityError:
            # The event's unique dedupe key: a twin was stored before (a retry; the whole transaction,
            # its changes included, is rolled back), or two first callbacks of one new MPC raced (its
            # UUID). Look again, now seeing the other's row.
            twin = CallEvent.objects.filter(dedupe_key=key).values_list("call_id", flat=True).first()
            if twin is not None or CallEvent.objects.filter(dedupe_key=key).exists():
                return _store_duplicate(app, params, event, call_id=twin)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _new_event(app: PhloApp, params: dict[str, str], event: Event, **fields) -> CallEvent:
    return CallEvent(
        phlo_app=app, event_name=event.name, family=event.family, params=params, sequence=event.sequence,
        event_timestamp=event.timestamp, **fields,
    )


def _store_duplicate(app: PhloApp, params: dict[str, str], event: Event, *, call_id: int | None) -> IntakeResult:
    _new_event(
        app, params, event, call_id=call_id, dedupe_key=None, outcome=Outcome.DUPLICATE,
        reason=REASONS[Outcome.DUPLICATE], received_at=timezone.now(),
    ).save()
    return IntakeResult(Outcome.DUPLICATE, call_id, [], event.family, event.name)


def _store_and_apply(app: PhloApp, params: dict[str, str], event: Event, key: str) -> IntakeResult:
    # No look-up of the dedupe key first: repeats are rare, and the insert of the event at the end
    # refuses one anyway (see above), so the common case saves that query.
    now = timezone.now()
    stored = _new_event(app, params, event, dedupe_key=key, received_at=now)
    if event.kind == Kind.UNRECOGNISED:
        return _keep(stored, Outcome.UNRECOGNISED, event.reason, call_id=known_call_id(app, event))
    # Most callbacks are for a call we know by its MPC UUID: find and lock it in one query.
    loaded = load_call_by_mpc(app, event.mpc_uuid, lock=True) if event.mpc_uuid else None
    created = False
    if loaded is None:
        call_id, created = find_call_id(app, event, now)
        if call_id is None:
            return _keep(stored, Outcome.UNMATCHED, _unmatched_reason(event))
        loaded = load_call(call_id, lock=True)
    call, members = loaded
    before = snapshot(call, members)
    result = apply_event(before, event)
    after = result.call
    if event.mpc_uuid and not after.mpc_uuid:
        after = replace(after, mpc_uuid=event.mpc_uuid)  # a call we started by running the PHLO meets its MPC
    after = _with_queue_and_story(app, call.pk, after)
    visible = created or result.outcome == Outcome.APPLIED
    by_key, messages = save_call_state(call, members, before, after, visible_change=visible, at=now)
    if event.family == Family.ADD_PARTICIPANT and event.request_outcome:
        _note_request_outcome(call, event)
    outcome = Outcome.APPLIED if created else result.outcome
    stored.call = call
    stored.member = by_key.get(result.member_key) if result.member_key else None
    stored.outcome = outcome
    stored.reason = _unmatched_reason(event) if outcome == Outcome.UNMATCHED else REASONS.get(outcome, "")
    _EVENT_INSERT.insert(stored)  # a plain INSERT, built once: no receiver listens for callbacks stored
    waits = call.status == CallStatus.WAITING and call.offered_to_id is None and call.phlo_app.routing
    offer = None
    if waits and settings.ROUTER_ENABLED:
        # The customer waits: the offer is claimed in this very transaction, so the agent's phone
        # rings as soon as Plivo has its 200 (calls/intake/reactions.py), not a routing pass later.
        # The rules are the router's own: the most urgent call goes first, whichever it is. (A
        # process that does not route by itself, ROUTER_ENABLED off, leaves it to its passes.)
        offer, offer_messages = claim_next_offer()
        messages.extend(offer_messages)
    return IntakeResult(
        outcome, call.pk, messages, event.family, event.name, offer_wanted=waits and offer is None, offer=offer
    )


def _with_queue_and_story(app: PhloApp, call_id: int, call: CallSnap) -> CallSnap:
    """What the call's first customer event tells beyond its state: the queue the number they
    dialled reaches (calls/core/queues.py), and their last calls (calls/history/customer.py), each
    read once."""
    if call.queue_id is None and call.direction == CallDirection.INBOUND:
        queue_id = queue_for(app_id=app.pk, called=call.called_number)
        if queue_id is not None:
            call = replace(call, queue_id=queue_id)
    if call.customer_history is None:
        customer = next((m for m in call.members if m.role == MemberRole.CUSTOMER and m.address), None)
        if customer is not None:
            call = replace(call, customer_history=tuple(customer_history(customer.address, exclude_call_id=call_id)))
    return call


def _keep(stored: CallEvent, outcome: str, reason: str, *, call_id: int | None = None) -> IntakeResult:
    stored.outcome, stored.reason, stored.call_id = outcome, reason[:255], call_id
    stored.save()
    return IntakeResult(outcome, call_id, [], stored.family, stored.event_name)


def _unmatched_reason(event: Event) -> str:
    if event.mpc_uuid:
        return f"MPC {event.mpc_uuid[:64]} belongs to another PHLO app, or the event names no member of it."
    return "No call has a member with this call UUID."


def _note_request_outcome(call: Call, event: Event) -> None:
    """An add-participant result answers one of our requests: record Plivo's outcome on its Action
    (by the request's ID where the callback carries it, else the newest dial of that address)."""
    actions = Action.objects.filter(call=call, upstream_outcome="")
    if event.request_id:
        actions = actions.filter(api_id=event.request_id)
    elif event.address:
        actions = actions.filter(request_body__to=event.address)
    else:
        return
    newest = actions.order_by("-created_at", "-id").values_list("pk", flat=True).first()
    if newest:
        Action.objects.filter(pk=newest).update(upstream_outcome=event.request_outcome)
