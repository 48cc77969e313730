"""Store and apply one authentic Plivo callback, in one transaction (docs/callbacks.md).

Exactly once: the raw callback is stored under a unique dedupe key in the same transaction that
applies it, so a repeated delivery finds its twin and changes nothing (it is kept too, as a
duplicate), and a crash before commit leaves nothing half-done (Plivo retries it). Every
authentic callback is kept: one that changes no call says why (`outcome` and `reason`).
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.callbacks.result import IntakeResult
from calls.models import Action, Call, CallEvent, Member, PhloApp
from calls.routing import settle_offer
from calls.state_machine import apply_event
from calls.store import load_call, load_call_by_mpc, save_call_state, snapshot
from calls.vocabulary import LIVE_CALL_STATUSES, CallStatus, MemberState
from phlo.addresses import address_key
from phlo.events import Event, Family, Kind, masked

Outcome = CallEvent.Outcome
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
        return _keep(stored, Outcome.UNRECOGNISED, event.reason, call_id=_known_call_id(app, event))
    # Most callbacks are for a call we know by its MPC UUID: find and lock it in one query.
    loaded = load_call_by_mpc(app, event.mpc_uuid, lock=True) if event.mpc_uuid else None
    created = False
    if loaded is None:
        call_id, created = _find_call_id(app, event, now)
        if call_id is None:
            return _keep(stored, Outcome.UNMATCHED, _unmatched_reason(event))
        loaded = load_call(call_id, lock=True)
    call, members = loaded
    before = snapshot(call, members)
    result = apply_event(before, event)
    offer_ended = settle_offer(call, result.call)
    visible = created or result.outcome == Outcome.APPLIED or offer_ended is not None
    if event.mpc_uuid and not call.mpc_uuid:
        call.mpc_uuid = event.mpc_uuid  # a call we started by running the PHLO meets its MPC
        call.save(update_fields=["mpc_uuid"])
    by_key, messages = save_call_state(call, members, before, result.call, visible_change=visible, at=now)
    messages.extend(offer_ended or [])
    if event.family == Family.ADD_PARTICIPANT and event.request_outcome:
        _note_request_outcome(call, event)
    outcome = Outcome.APPLIED if created else result.outcome
    stored.call = call
    stored.member = by_key.get(result.member_key) if result.member_key else None
    stored.outcome = outcome
    stored.reason = _unmatched_reason(event) if outcome == Outcome.UNMATCHED else REASONS.get(outcome, "")
    stored.save()
    offer_wanted = call.status == CallStatus.WAITING and call.offered_to_id is None and call.phlo_app.routing
    return IntakeResult(outcome, call.pk, messages, event.family, event.name, offer_wanted=offer_wanted)


def _keep(stored: CallEvent, outcome: str, reason: str, *, call_id: int | None = None) -> IntakeResult:
    stored.outcome, stored.reason, stored.call_id = outcome, reason[:255], call_id
    stored.save()
    return IntakeResult(outcome, call_id, [], stored.family, stored.event_name)


def _known_call_id(app: PhloApp, event: Event) -> int | None:
    if not event.mpc_uuid:
        return None
    return Call.objects.filter(phlo_app=app, mpc_uuid=event.mpc_uuid).values_list("pk", flat=True).first()


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


def _find_call_id(app: PhloApp, event: Event, now) -> tuple[int | None, bool]:
    """The call of an event whose MPC UUID we do not know yet (or that has none), and whether it
    was created just now."""
    if event.mpc_uuid:
        pending = _pending_run_call(app, event, now)
        if pending:
            return pending, False
        existing = Call.objects.filter(mpc_uuid=event.mpc_uuid).values_list("pk", "phlo_app_id").first()
        if existing is not None:
            call_id, app_id = existing
            if app_id == app.pk:
                return call_id, False  # committed by another process since we looked: ours after all
            return None, False  # another PHLO app's call (MPC UUIDs are unique): kept, applied to nothing
        call = Call.objects.create(
            phlo_app=app, mpc_uuid=event.mpc_uuid, mpc_name=event.mpc_name,
            started_at=event.timestamp or now,
        )
        return call.pk, True
    if event.call_uuid:
        found = (
            Member.objects.filter(call_uuid=event.call_uuid, call__phlo_app=app)
            .order_by("-created_at").values_list("call_id", flat=True).first()
        )
        return found, False
    return None, False


PENDING_RUN_SECONDS = 120


def _recent(app: PhloApp, now):
    return Call.objects.filter(
        phlo_app=app, status__in=LIVE_CALL_STATUSES, created_at__gte=now - timedelta(seconds=PENDING_RUN_SECONDS)
    )


def early_run_call(app: PhloApp, *, agent_address: str, now) -> int | None:
    """The other way round: PHLO's answer to a run reaches us after the run's first callbacks made
    its call. The run dials the agent first, so it is the unclaimed call with their live leg; or,
    if its only callback so far named nobody (MPCInitialized), the one unclaimed call without members."""
    unclaimed = _recent(app, now).filter(run_id="", direction="")
    wanted = address_key(agent_address)
    with_agent = (
        Member.objects.filter(call__in=unclaimed, address_key=wanted).exclude(state=MemberState.LEFT)
        .order_by("-created_at").values_list("call_id", flat=True).first()
    )
    if with_agent:
        return with_agent
    empty = list(unclaimed.filter(members__isnull=True).values_list("pk", flat=True)[:2])
    return empty[0] if len(empty) == 1 else None


def _pending_run_call(app: PhloApp, event: Event, now) -> int | None:
    """A call we created by running the PHLO has no MPC UUID until its first callback: claim it
    when the callback's participant is a member we dialled in it (Plivo's callbacks name the run
    nowhere), else, for a call-level event, when exactly one such call is waiting, within the
    last two minutes."""
    pending = _recent(app, now).filter(mpc_uuid__isnull=True)
    if event.address:
        wanted = address_key(event.address)
        candidates = (
            Member.objects.filter(call__in=pending).exclude(state=MemberState.LEFT)
            .order_by("-created_at").values_list("call_id", "address")
        )
        return next((call_id for call_id, address in candidates if address_key(address) == wanted), None)
    only = list(pending.values_list("pk", flat=True)[:2])
    return only[0] if len(only) == 1 else None
