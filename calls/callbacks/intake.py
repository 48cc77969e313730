"""Store and apply one accepted Plivo callback, in one transaction (docs/callbacks.md).

Exactly once: the raw event is stored under a unique dedupe key in the same transaction that
applies it, so a repeated delivery finds its twin and changes nothing, and a crash before
commit leaves nothing half-done (Plivo retries it).
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from calls.models import Call, CallEvent, CallStatus, Member, PhloApp
from calls.state_machine import apply_event
from calls.store import load_call, load_call_by_mpc, save_call_state, snapshot
from calls.vocabulary import LIVE_CALL_STATUSES, MemberState
from phlo.addresses import address_key
from phlo.events import Event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # applied | stale | no_change | unmatched | duplicate
    call_id: int | None
    messages: list[dict]


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
    key = dedupe_key(app, params)
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _store_and_apply(app, params, event, key)
        except IntegrityError:
            # The event's unique dedupe key: a twin was stored before (a retry; the whole transaction,
            # its changes included, is rolled back), or two first callbacks of one new MPC raced (its
            # UUID). Look again, now seeing the other's row.
            if CallEvent.objects.filter(dedupe_key=key).exists():
                return IntakeResult("duplicate", None, [])
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _store_and_apply(app: PhloApp, params: dict[str, str], event: Event, key: str) -> IntakeResult:
    # No look-up of the dedupe key first: repeats are rare, and the insert of the event at the end
    # refuses one anyway (see above), so the common case saves that query.
    now = timezone.now()
    stored = CallEvent(
        phlo_app=app, event_name=event.name, params=params, sequence=event.sequence,
        event_timestamp=event.timestamp, dedupe_key=key, received_at=now,
    )
    # Most callbacks are for a call we know by its MPC UUID: find and lock it in one query.
    loaded = load_call_by_mpc(app, event.mpc_uuid, lock=True) if event.mpc_uuid else None
    created = False
    if loaded is None:
        call_id, created = _find_call_id(app, event, now)
        if call_id is None:
            stored.outcome = CallEvent.Outcome.UNMATCHED
            stored.save()
            return IntakeResult("unmatched", None, [])
        loaded = load_call(call_id, lock=True)
    call, members = loaded
    before = snapshot(call, members)
    result = apply_event(before, event)
    visible = created or result.outcome == "applied"
    if event.mpc_uuid and not call.mpc_uuid:
        call.mpc_uuid = event.mpc_uuid  # a call we started by running the PHLO meets its MPC
        call.save(update_fields=["mpc_uuid"])
    by_key, messages = save_call_state(call, members, before, result.call, visible_change=visible, at=now)
    stored.call = call
    stored.member = by_key.get(result.member_key) if result.member_key else None
    stored.outcome = "applied" if created else result.outcome
    stored.save()
    return IntakeResult(stored.outcome, call.pk, messages)


def _find_call_id(app: PhloApp, event: Event, now) -> tuple[int | None, bool]:
    """The call of an event whose MPC UUID we do not know yet (or that has none), and whether it
    was created just now."""
    if event.mpc_uuid:
        pending = _pending_run_call(app, event, now)
        if pending:
            return pending, False
        if Call.objects.filter(mpc_uuid=event.mpc_uuid).exists():
            return None, False  # another PHLO app's call (MPC UUIDs are unique): kept, applied to nothing
        call = Call.objects.create(
            phlo_app=app, mpc_uuid=event.mpc_uuid, mpc_name=event.mpc_name, run_id=event.run_id,
            started_at=event.timestamp or now, status=CallStatus.RINGING,
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


def _pending_run_call(app: PhloApp, event: Event, now) -> int | None:
    """A call we created by running the PHLO has no MPC UUID until its first callback. Claim it
    by the PHLO run ID when the callback carries one; else when the callback's participant is a
    member we dialled; else, for a call-level event, when exactly one such call is waiting."""
    pending = Call.objects.filter(
        phlo_app=app, mpc_uuid__isnull=True, status__in=LIVE_CALL_STATUSES,
        started_at__gte=now - timedelta(seconds=PENDING_RUN_SECONDS),
    )
    if event.run_id:
        return pending.filter(run_id=event.run_id).values_list("pk", flat=True).first()
    if event.address:
        wanted = address_key(event.address)
        candidates = (
            Member.objects.filter(call__in=pending).exclude(state=MemberState.LEFT)
            .order_by("-created_at").values_list("call_id", "address")
        )
        return next((call_id for call_id, address in candidates if address_key(address) == wanted), None)
    only = list(pending.values_list("pk", flat=True)[:2])
    return only[0] if len(only) == 1 else None
