"""What agents and supervisors ask of calls (CONTRACT §4): start one, act on it, read it.

An action goes: load the call → may this person act on it → does the state allow it → the
PHLO request → in one transaction, reload under lock, apply the state the action implies,
record it → publish after commit. Each database step is a small sync function holding its
own transaction; none stays open while PHLO is awaited, so a slow PHLO never holds up the
callbacks of the same call. Every attempt, refused or failed too, leaves an Action row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from agents.addresses import address_key
from agents.models import Agent
from calls import phlo_client
from calls.call_state import load_call, member_key, save_call_state, snapshot
from calls.live import publish
from calls.models import Action, Call, CallStatus, Member, MemberRole, MemberState, PhloApp
from calls.selectors import LIVE_STATUSES, Viewer, calls_visible_to, viewer_for
from calls.serialize import call_to_dict
from calls.state_machine import (
    CALL_ACTIONS,
    MEMBER_ACTIONS,
    ActionRefused,
    MemberSnap,
    apply_action,
    check_action,
)

# Our action names (the API's) → PHLO's.
PHLO_CALL_ACTIONS = {"add-member": "call", "warm-transfer": "warm_transfer", "cold-transfer": "cold_transfer"}
PHLO_MEMBER_ACTIONS = {action: action.replace("-", "_") for action in MEMBER_ACTIONS}
START_ACTION = "start-call"
DIALLED_KEY = "new:0"  # the snapshot key of the member a call action dials
HISTORY_LIMIT = 100

T = TypeVar("T")


class CallError(Exception):
    """A request about a call we answer with an error. `http_status` is that answer; `upstream` is
    PHLO's failure when there was one (its status and error text go to the requester)."""

    def __init__(self, detail: str, *, http_status: int, upstream: phlo_client.PhloError | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.http_status = http_status
        self.upstream = upstream

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": self.detail}
        if self.upstream is not None:
            body.update(
                upstream_status=self.upstream.status, error=self.upstream.error, api_id=self.upstream.api_id
            )
        return body


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
class Checked:
    """What the PHLO request needs, once permission and state have been checked."""

    app: PhloApp
    agent: Agent  # the requester: their address is the trigger source / the `from`
    member: Member | None = None  # the member a member action is about

    @property
    def credentials(self) -> phlo_client.PhloCredentials:
        return phlo_client.PhloCredentials(auth_id=self.app.auth_id, auth_token=self.app.auth_token)


# --- reads --------------------------------------------------------------------------------------


def calls_for_user(*, user, status: str = "live") -> list[dict]:
    """`live` (ringing and active), one call status, or `ended`: the newest history, bounded."""
    calls = calls_visible_to(viewer_for(user))
    if status == CallStatus.ENDED:
        calls = calls.filter(status=CallStatus.ENDED).order_by("-ended_at", "-id")[:HISTORY_LIMIT]
    else:
        calls = calls.filter(status__in=LIVE_STATUSES if status == "live" else [status])
    return [call_to_dict(call, call.members.all()) for call in calls]


def call_for_user(*, user, call_id: int) -> dict:
    call, members = _visible_call(viewer_for(user), call_id)
    return call_to_dict(call, members)


def _visible_call(viewer: Viewer, call_id: int) -> tuple[Call, list[Member]]:
    """The one rule for seeing and acting: supervisors any call, agents the calls they are or were on."""
    try:
        call, members = load_call(call_id, lock=False)
    except Call.DoesNotExist:
        raise CallError(f"There is no call {call_id}.", http_status=404) from None
    if not (viewer.is_supervisor or (viewer.agent_id and any(m.agent_id == viewer.agent_id for m in members))):
        raise CallError("You are not a member of this call.", http_status=403)
    return call, members


# --- start a call -------------------------------------------------------------------------------


async def call_start(*, user, to: str) -> dict:
    """Run the default PHLO from the requester's address to `to`; the call exists from then on,
    both legs dialling, until Plivo's callbacks say more."""
    attempt = Attempt(user_id=user.pk, action=START_ACTION, request_body={"to": to})

    async def send(checked: Checked) -> phlo_client.PhloReply:
        payload = {"from": checked.agent.address, "to": to}
        return await phlo_client.run_phlo(checked.credentials, phlo_id=checked.app.phlo_id, payload=payload)

    return await _attempt(
        attempt,
        check=lambda: _check_start(user),
        send=send,
        finish=lambda checked, reply: _create_call(attempt, checked, reply, to=to),
    )


def _check_start(user) -> Checked:
    agent = _acting_agent(viewer_for(user))
    app = PhloApp.objects.filter(is_default=True).first()
    if app is None:
        raise CallError(
            "No default PHLO app is configured; an operator can add one with `manage.py configure_phlo --default`.",
            http_status=503,
        )
    return Checked(app=app, agent=agent)


def _create_call(attempt: Attempt, checked: Checked, reply: phlo_client.PhloReply, *, to: str) -> tuple[dict, list]:
    now = timezone.now()
    with transaction.atomic():
        # PHLO calls the run's ID api_id; the call meets its MPC UUID with the first callback.
        run_id = str(reply.data.get("run_id") or reply.api_id)[:64]
        # The run's first callback may have beaten PHLO's answer here and created the call already.
        existing = Call.objects.filter(phlo_app=checked.app, run_id=run_id).values_list("pk", flat=True).first()
        if existing:
            call, members = load_call(existing, lock=True)
        else:
            call = Call.objects.create(phlo_app=checked.app, run_id=run_id, status=CallStatus.RINGING, started_at=now)
            members = []
        before = after = snapshot(call, members)
        dialled = [(checked.agent.address, MemberRole.AGENT), (to, MemberRole.CUSTOMER)]
        for address, role in dialled:
            if not any(m.live and address_key(m.address) == address_key(address) for m in after.members):
                after = after.with_member(
                    MemberSnap(key=f"new:{role}", address=address, role=role, state=MemberState.DIALING)
                )
        _, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
        _record(attempt, call_id=call.pk, member_id=None, http_status=201, phlo=reply)
    return call_to_dict(call, members), messages


# --- act on a call or a member ------------------------------------------------------------------


async def call_action_run(*, user, call_id: int, action: str, to: str, role: str = "agent") -> ActionDone:
    """add-member, warm-transfer or cold-transfer; PHLO hears the requester's own address as trigger source."""
    if action not in CALL_ACTIONS:
        raise ValueError(f"unknown call action {action!r}")
    attempt = Attempt(user_id=user.pk, action=action, request_body={"to": to, "role": role}, call_id=call_id)

    async def send(checked: Checked) -> phlo_client.PhloReply:
        return await phlo_client.multi_party_call_action(
            checked.credentials, phlo_id=checked.app.phlo_id, node_id=checked.app.node_id,
            action=PHLO_CALL_ACTIONS[action], trigger_source=checked.agent.address, to=to, role=role,
        )

    return await _attempt(
        attempt,
        check=lambda: _check_action(user, attempt),
        send=send,
        finish=lambda checked, reply: _apply(attempt, checked, reply, to=to, role=role),
    )


async def member_action_run(*, user, call_id: int, member_id: int, action: str) -> ActionDone:
    """hold, unhold, hangup, resume-call, abort-transfer or voicemail-drop one member, by their address."""
    if action not in MEMBER_ACTIONS:
        raise ValueError(f"unknown member action {action!r}")
    attempt = Attempt(user_id=user.pk, action=action, request_body={}, call_id=call_id, member_id=member_id)

    async def send(checked: Checked) -> phlo_client.PhloReply:
        return await phlo_client.member_action(
            checked.credentials, phlo_id=checked.app.phlo_id, node_id=checked.app.node_id,
            member_address=checked.member.address, action=PHLO_MEMBER_ACTIONS[action],
        )

    return await _attempt(
        attempt,
        check=lambda: _check_action(user, attempt),
        send=send,
        finish=lambda checked, reply: _apply(attempt, checked, reply),
    )


async def _attempt(
    attempt: Attempt,
    *,
    check: Callable[[], Checked],
    send: Callable[[Checked], Awaitable[phlo_client.PhloReply]],
    finish: Callable[[Checked, phlo_client.PhloReply], tuple[T, list]],
) -> T:
    """check (sync) → PHLO (async, no transaction open) → finish (sync, one transaction) → publish.
    Any refusal or failure is recorded and re-raised, and changes nothing else."""
    try:
        checked = await sync_to_async(check)()
        try:
            reply = await send(checked)
        except phlo_client.PhloError as exc:
            raise _upstream_failure(exc) from exc
        result, messages = await sync_to_async(finish)(checked, reply)
    except CallError as failure:
        await sync_to_async(_record_failure)(attempt, failure)
        raise
    await publish(messages)
    return result


def _check_action(user, attempt: Attempt) -> Checked:
    viewer = viewer_for(user)
    call, members = _visible_call(viewer, attempt.call_id)
    agent = _acting_agent(viewer)
    member = None
    if attempt.member_id is not None:
        member = next((m for m in members if m.pk == attempt.member_id), None)
        if member is None:
            raise CallError(f"Call {call.pk} has no member {attempt.member_id}.", http_status=404)
    try:
        check_action(snapshot(call, members), attempt.action, **_keys(attempt, members, agent))
    except ActionRefused as refused:
        raise CallError(str(refused), http_status=409) from None
    return Checked(app=call.phlo_app, agent=agent, member=member)


def _keys(attempt: Attempt, members: list[Member], agent: Agent) -> dict[str, str | None]:
    """The snapshot keys the state rules name: the member acted on, and the requester's own live leg."""
    acted_on = next((m for m in members if m.pk == attempt.member_id), None)
    own = [m for m in members if m.agent_id == agent.pk and m.state != MemberState.LEFT]
    return {
        "member_key": member_key(acted_on) if acted_on else None,
        "requester_key": member_key(own[-1]) if own else None,  # the newest, should they have rejoined
    }


def _apply(
    attempt: Attempt, checked: Checked, reply: phlo_client.PhloReply, *, to: str = "", role: str = "agent"
) -> tuple[ActionDone, list]:
    now = timezone.now()
    with transaction.atomic():
        call, members = load_call(attempt.call_id, lock=True)
        before = snapshot(call, members)
        keys = _keys(attempt, members, checked.agent)
        try:
            # A callback may have changed the call while PHLO was asked; then PHLO's next
            # callbacks tell what the action did, and we do not guess over the newer state.
            check_action(before, attempt.action, **keys)
        except ActionRefused:
            after = before
        else:
            after = apply_action(before, attempt.action, at=now, to=to, role=role, new_key=DIALLED_KEY, **keys)
        by_key, messages = save_call_state(call, members, before, after, visible_change=after != before, at=now)
        dialled = by_key.get(DIALLED_KEY)
        _record(
            attempt, call_id=call.pk, member_id=dialled.pk if dialled else attempt.member_id, http_status=200,
            phlo=reply,
        )
    return ActionDone(action=attempt.action, api_id=reply.api_id, call=call_to_dict(call, members)), messages


def _acting_agent(viewer: Viewer) -> Agent:
    if viewer.agent is None:
        raise CallError(
            "This user has no agent record, so there is no address to act from; an operator can add one.",
            http_status=403,
        )
    return viewer.agent


def _upstream_failure(exc: phlo_client.PhloError) -> CallError:
    if isinstance(exc, phlo_client.PhloTimeout):
        return CallError(f"{exc}; the action may or may not have happened.", http_status=504, upstream=exc)
    if isinstance(exc, phlo_client.PhloUnreachable):
        return CallError(f"{exc}; nothing was changed.", http_status=502, upstream=exc)
    reason = exc.error or "no reason given"
    return CallError(f"PHLO answered HTTP {exc.status}: {reason}; nothing was changed.", http_status=502, upstream=exc)


# --- the record ---------------------------------------------------------------------------------


def _record(
    attempt: Attempt, *, call_id: int | None, member_id: int | None, http_status: int,
    phlo: phlo_client.PhloReply | phlo_client.PhloError | None, error: str = "",
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

