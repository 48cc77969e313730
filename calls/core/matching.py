"""Which call an event, or a PHLO run, belongs to when the MPC UUID does not say it yet.

A call the desk started by running the PHLO has no MPC UUID until its first callback, and PHLO's
answer to the run and the run's first callbacks race: either may come first. Plivo's callbacks name
the run nowhere, so the match is by who is on the call (the members we dialled), within the last
two minutes. The intake (calls/intake/apply.py) and the start of a call (calls/actions/phlo.py)
both ask here.
"""

from datetime import timedelta

from calls.core.store import create_call
from calls.core.vocabulary import LIVE_CALL_STATUSES, MemberState
from calls.models import Call, Member, PhloApp
from phlo.addresses import address_key
from phlo.events import Event


def known_call_id(app: PhloApp, event: Event) -> int | None:
    if not event.mpc_uuid:
        return None
    return Call.objects.filter(phlo_app=app, mpc_uuid=event.mpc_uuid).values_list("pk", flat=True).first()


def find_call_id(app: PhloApp, event: Event, now) -> tuple[int | None, bool]:
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
        call = create_call(
            phlo_app=app, mpc_uuid=event.mpc_uuid, mpc_name=event.mpc_name, started_at=event.timestamp or now
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
