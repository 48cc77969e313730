"""What agents and supervisors ask of calls: start one, act on it (README "The HTTP API").

An action goes: load the call → may this person act on it → does the state allow it → the
PHLO request → in one transaction, reload under lock, apply the state the action implies,
record it → publish after commit. Each database step is a small sync function holding its
own transaction; none stays open while PHLO is awaited, so a slow PHLO never holds up the
callbacks of the same call. Every attempt, refused or failed too, leaves an Action row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from agents.viewers import Person, viewer_for
from calls.callbacks.intake import early_run_call
from calls.errors import CallError
from calls.models import Action, Call, Member, PhloApp
from calls.selectors import visible_call
from calls.serialize import call_to_dict
from calls.state_machine import ActionRefused, apply_action, check_action, dial
from calls.store import load_call, member_key, save_call_state, snapshot
from calls.upstream import phlo_api
from calls.visibility import may_act
from calls.vocabulary import (
    LIVE_CALL_STATUSES,
    CallAction,
    CallDirection,
    CallOutcome,
    CallStatus,
    JoinedVia,
    MemberAction,
    MemberRole,
    MemberState,
)
from live.publish import publish
from phlo.http import PlivoError, PlivoTimeout, PlivoUnreachable, Reply

START_ACTION = "start-call"
DIALLED_KEY = "new:0"  # the snapshot key of the member a call action dials

T = TypeVar("T")


@dataclass(frozen=True)
class ActionDone:
    action: str
    api_id: str
    call: dict


@dataclass(frozen=True)
class Attempt:
    """One request, as its Action row records it."""

    user_id: int
    action: str
    request_body: dict
    call_id: int | None = None
    member_id: int | None = None


@dataclass(frozen=True)
class Permitted:
    """An action that may go ahead (permission and state checked), with what its PHLO request needs."""

    app: PhloApp
    agent: Agent  # the requester: their address is the trigger source / the `from`
    member: Member | None = None  # the member a member action is about


# --- start a call -------------------------------------------------------------------------------


async def call_start(*, user, to: str) -> dict:
    """Run the default PHLO from the requester's address to `to`; the call exists from then on,
    both legs dialling, until Plivo's callbacks say more."""
    attempt = Attempt(user_id=user.pk, action=START_ACTION, request_body={"to": to})

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).run({"from": permitted.agent.address, "to": to})

    return await _attempt(
        attempt,
        check=lambda: _check_start(user),
        send=send,
        finish=lambda permitted, reply: _create_call(attempt, permitted, reply, to=to),
    )


def _check_start(user) -> Permitted:
    agent = _acting_agent(viewer_for(user))
    app = PhloApp.objects.filter(is_default=True).first()
    if app is None:
        raise CallError(
            "No default PHLO app is configured; an operator can add one with `manage.py configure_phlo --default`.",
            http_status=503,
        )
    return Permitted(app=app, agent=agent)


def _create_call(attempt: Attempt, permitted: Permitted, reply: Reply, *, to: str) -> tuple[dict, list]:
    now = timezone.now()
    with transaction.atomic():
        # PHLO calls the run's ID api_id; the call meets its MPC UUID with the first callback.
        run_id = str(reply.data.get("run_id") or reply.api_id)[:64]
        # The run's first callbacks may have beaten PHLO's answer here and created the call already.
        existing = early_run_call(permitted.app, agent_address=permitted.agent.address, now=now)
        if existing:
            call, members = load_call(existing, lock=True)
            call.run_id = run_id
            call.save(update_fields=["run_id"])
        else:
            call = Call.objects.create(
                phlo_app=permitted.app, run_id=run_id, status=CallStatus.RINGING, started_at=now,
                direction=CallDirection.OUTBOUND, outcome=CallOutcome.OUTBOUND,
            )
            members = []
        before = snapshot(call, members)
        # Placed by an agent: never queued, whatever the callbacks that beat us here said.
        after = replace(before, direction=CallDirection.OUTBOUND, outcome=CallOutcome.OUTBOUND)
        for address, role in [(permitted.agent.address, MemberRole.AGENT), (to, MemberRole.CUSTOMER)]:
            after, _ = dial(
                after, to=address, role=role, at=now, via=JoinedVia.OUTBOUND, invited_by_id=permitted.agent.pk,
                new_key=f"new:{role}",
            )
        _, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
        _record(attempt, call_id=call.pk, member_id=None, http_status=201, phlo=reply)
    return call_to_dict(call, members), messages


# --- act on a call or a member ------------------------------------------------------------------


async def call_action_run(*, user, call_id: int, action: str, to: str, role: str = "agent") -> ActionDone:
    """add-member, warm-transfer or cold-transfer; PHLO hears the requester's own address as trigger source."""
    action = CallAction(action)
    attempt = Attempt(user_id=user.pk, action=action, request_body={"to": to, "role": role}, call_id=call_id)

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).node_action(
            action.phlo, trigger_source=permitted.agent.address, to=to, role=role
        )

    return await _attempt(
        attempt,
        check=lambda: _check_action(user, attempt),
        send=send,
        finish=lambda permitted, reply: _apply(attempt, permitted, reply, to=to, role=role),
    )


async def member_action_run(*, user, call_id: int, member_id: int, action: str) -> ActionDone:
    """hold, unhold, hangup, resume-call, abort-transfer or voicemail-drop one member, by their address."""
    action = MemberAction(action)
    attempt = Attempt(user_id=user.pk, action=action, request_body={}, call_id=call_id, member_id=member_id)

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).member_action(action.phlo, member_address=permitted.member.address)

    return await _attempt(
        attempt,
        check=lambda: _check_action(user, attempt),
        send=send,
        finish=lambda permitted, reply: _apply(attempt, permitted, reply),
    )


async def _attempt(
    attempt: Attempt,
    *,
    check: Callable[[], Permitted],
    send: Callable[[Permitted], Awaitable[Reply]],
    finish: Callable[[Permitted, Reply], tuple[T, list]],
) -> T:
    """check (sync) → PHLO (async, no transaction open) → finish (sync, one transaction) → publish.
    Any refusal or failure is recorded and re-raised, and changes nothing else."""
    try:
        permitted = await sync_to_async(check)()
        try:
            reply = await send(permitted)
        except PlivoError as exc:
            raise _upstream_failure(exc) from exc
        result, messages = await sync_to_async(finish)(permitted, reply)
    except CallError as failure:
        await sync_to_async(_record_failure)(attempt, failure)
        raise
    await publish(messages)
    return result


def _check_action(user, attempt: Attempt) -> Permitted:
    viewer = viewer_for(user)
    call, members = visible_call(viewer, attempt.call_id)
    agent = _acting_agent(viewer)
    member = None
    if attempt.member_id is not None:
        member = next((m for m in members if m.pk == attempt.member_id), None)
        if member is None:
            raise CallError(f"Call {call.pk} has no member {attempt.member_id}.", http_status=404)
    # An ended call is refused by its state (409) to everyone who sees it; a live one first by who acts.
    if call.status in LIVE_CALL_STATUSES and not may_act(viewer, members):
        raise CallError(
            f"You are no longer on call {call.pk}: only its live members and supervisors act on it.", http_status=403
        )
    try:
        check_action(snapshot(call, members), attempt.action, **_keys(attempt, members, agent))
    except ActionRefused as refused:
        raise CallError(str(refused), http_status=409) from None
    return Permitted(app=call.phlo_app, agent=agent, member=member)


def _keys(attempt: Attempt, members: list[Member], agent: Agent) -> dict[str, str | None]:
    """The snapshot keys the state rules name: the member acted on, and the requester's own live leg."""
    acted_on = next((m for m in members if m.pk == attempt.member_id), None)
    own = [m for m in members if m.agent_id == agent.pk and m.state != MemberState.LEFT]
    return {
        "member_key": member_key(acted_on) if acted_on else None,
        "requester_key": member_key(own[-1]) if own else None,  # the newest, should they have rejoined
    }


def _apply(
    attempt: Attempt, permitted: Permitted, reply: Reply, *, to: str = "", role: str = MemberRole.AGENT
) -> tuple[ActionDone, list]:
    now = timezone.now()
    with transaction.atomic():
        call, members = load_call(attempt.call_id, lock=True)
        before = snapshot(call, members)
        keys = _keys(attempt, members, permitted.agent)
        try:
            # A callback may have changed the call while PHLO was asked; then PHLO's next
            # callbacks tell what the action did, and we do not guess over the newer state.
            check_action(before, attempt.action, **keys)
        except ActionRefused:
            after = before
        else:
            after = apply_action(
                before, attempt.action, at=now, to=to, role=role, new_key=DIALLED_KEY, actor_id=permitted.agent.pk,
                **keys,
            )
        by_key, messages = save_call_state(call, members, before, after, visible_change=after != before, at=now)
        dialled = by_key.get(DIALLED_KEY)
        _record(
            attempt, call_id=call.pk, member_id=dialled.pk if dialled else attempt.member_id, http_status=200,
            phlo=reply,
        )
    return ActionDone(action=attempt.action, api_id=reply.api_id, call=call_to_dict(call, members)), messages


def _acting_agent(viewer: Person) -> Agent:
    if viewer.agent is None:
        raise CallError(
            "This user has no agent record, so there is no address to act from; an operator can add one.",
            http_status=403,
        )
    return viewer.agent


def _upstream_failure(exc: PlivoError) -> CallError:
    if isinstance(exc, PlivoTimeout):
        return CallError(f"{exc}; the action may or may not have happened.", http_status=504, upstream=exc)
    if isinstance(exc, PlivoUnreachable):
        return CallError(f"{exc}; nothing was changed.", http_status=502, upstream=exc)
    reason = exc.error or "no reason given"
    return CallError(
        f"{exc.upstream} answered HTTP {exc.status}: {reason}; nothing was changed.", http_status=502, upstream=exc
    )


# --- the record ---------------------------------------------------------------------------------


def _record(
    attempt: Attempt, *, call_id: int | None, member_id: int | None, http_status: int,
    phlo: Reply | PlivoError | None, error: str = "",
) -> Action:
    """`phlo` is PHLO's answer or failure, when it was asked."""
    return Action.objects.create(
        actor_id=attempt.user_id, call_id=call_id, member_id=member_id, action=attempt.action,
        request_body=attempt.request_body, ok=http_status < 400, http_status=http_status,
        upstream_status=phlo.status if phlo else None, api_id=phlo.api_id[:64] if phlo else "", error=error,
        duration_ms=phlo.duration_ms if phlo else 0.0,
    )


def _record_failure(attempt: Attempt, failure: CallError) -> None:
    # The ids come from the request: keep them only when they name rows that exist (404s).
    call_id = Call.objects.filter(pk=attempt.call_id).values_list("pk", flat=True).first() if attempt.call_id else None
    member_id = (
        Member.objects.filter(pk=attempt.member_id, call_id=call_id).values_list("pk", flat=True).first()
        if call_id and attempt.member_id else None
    )
    _record(
        attempt, call_id=call_id, member_id=member_id, http_status=failure.http_status, phlo=failure.upstream,
        error=failure.detail,
    )

