"""The actions PHLO carries out (README "The HTTP API"): start a call, add a member, warm and cold
transfer, and hold, unhold, hang up, resume, abort or drop a voicemail on one member; completing
a warm transfer is two of them. Each goes through calls/actions/flow.py."""


from __future__ import annotations

import logging
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from agents.viewers import viewer_for
from calls.actions.flow import (
    START_ACTION,
    ActionDone,
    Attempt,
    Permitted,
    acting_agent,
    apply_attempt,
    attempt_action,
    check_attempt,
    record_attempt,
)
from calls.core.errors import CallError
from calls.core.matching import early_run_call
from calls.core.serialize import call_to_dict
from calls.core.state_machine import (
    dial,
)
from calls.core.store import create_call, load_call, save_call_state, snapshot
from calls.core.upstream import phlo_api
from calls.core.vocabulary import (
    CallAction,
    CallDirection,
    CallOutcome,
    CallStatus,
    JoinedVia,
    MemberAction,
    MemberRole,
    MemberState,
    TransferAction,
    TransferRole,
)
from calls.models import Member, PhloApp
from fastpath.db_threads import in_db_thread
from phlo.http import PlivoError, Reply

logger = logging.getLogger(__name__)


# --- start a call -------------------------------------------------------------------------------


async def call_start(*, user, to: str) -> dict:
    """Run the default PHLO from the requester's address to `to`; the call exists from then on,
    both legs dialling, until Plivo's callbacks say more."""
    attempt = Attempt(user_id=user.pk, action=START_ACTION, request_body={"to": to})

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).run({"from": permitted.agent.address, "to": to})

    return await attempt_action(
        attempt,
        check=lambda: _check_start(user),
        send=send,
        finish=lambda permitted, reply: _create_call(attempt, permitted, reply, to=to),
    )


def _check_start(user) -> Permitted:
    agent = acting_agent(viewer_for(user))
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
        else:
            call = create_call(
                phlo_app=permitted.app, run_id=run_id, status=CallStatus.RINGING, started_at=now,
                direction=CallDirection.OUTBOUND, outcome=CallOutcome.OUTBOUND,
            )
            members = []
        before = snapshot(call, members)
        # Placed by an agent: never queued, whatever the callbacks that beat us here said.
        after = replace(before, run_id=run_id, direction=CallDirection.OUTBOUND, outcome=CallOutcome.OUTBOUND)
        for address, role in [(permitted.agent.address, MemberRole.AGENT), (to, MemberRole.CUSTOMER)]:
            after, _ = dial(
                after, to=address, role=role, at=now, via=JoinedVia.OUTBOUND, invited_by_id=permitted.agent.pk,
                new_key=f"new:{role}",
            )
        _, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
        record_attempt(attempt, call_id=call.pk, member_id=None, http_status=201, phlo=reply)
    return call_to_dict(call, members), messages


# --- act on a call or a member ------------------------------------------------------------------


async def call_action_run(*, user, call_id: int, action: str, to: str, role: str = "agent") -> ActionDone:
    """add-member, warm-transfer or cold-transfer; PHLO hears the requester's own address as trigger source."""
    action = CallAction(action)
    attempt = Attempt(user_id=user.pk, action=action, request_body={"to": to, "role": role}, call_id=call_id)

    unheld: list[int] = []

    async def send(permitted: Permitted) -> Reply:
        phlo = phlo_api(permitted.app)
        reply = await phlo.node_action(action.phlo, trigger_source=permitted.trigger_source, to=to, role=role)
        for pk, address in permitted.held_customers:
            if await _unhold_after_cold_transfer(phlo, attempt, address):
                unheld.append(pk)
        return reply

    return await attempt_action(
        attempt,
        check=lambda: check_attempt(user, attempt),
        send=send,
        finish=lambda permitted, reply: apply_attempt(
            attempt, permitted, reply, to=to, role=role, unheld=tuple(unheld)
        ),
    )


async def _unhold_after_cold_transfer(phlo, attempt: Attempt, address: str) -> bool:
    """Plivo's cold transfer leaves a held customer on hold, so the new agent would answer into
    silence: the desk takes them off hold once the transfer is accepted (and only then: a refused
    transfer leaves the call as it was). Should that fail, the transfer still happened; the
    customer stays on hold for the new agent to take off, as their desk shows."""
    try:
        await phlo.member_action(MemberAction.UNHOLD.phlo, member_address=address)
    except PlivoError as exc:
        logger.warning(
            "unhold after %s on call %s failed: %s %r", attempt.action, attempt.call_id, exc.status, exc.error
        )
        return False
    return True


async def member_action_run(
    *, user, call_id: int, member_id: int, action: str, expected_state: str | None = None
) -> ActionDone:
    """hold, unhold, hangup, resume-call, abort-transfer or voicemail-drop one member, by their address.
    `expected_state`: the member's state as the person saw it when they clicked; if it no longer
    holds (another tab or a supervisor changed the member meanwhile), the action is refused (409)."""
    action = MemberAction(action)
    body = {"expected_state": expected_state} if expected_state else {}
    attempt = Attempt(user_id=user.pk, action=action, request_body=body, call_id=call_id, member_id=member_id)

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).member_action(action.phlo, member_address=permitted.member.address)

    return await attempt_action(
        attempt,
        check=lambda: check_attempt(user, attempt),
        send=send,
        finish=lambda permitted, reply: apply_attempt(attempt, permitted, reply),
    )


# --- completing a warm transfer -----------------------------------------------------------------


async def complete_transfer_run(*, user, call_id: int) -> ActionDone:
    """The initiator hands the call over: PHLO `resume_call` brings the customer back to the
    target, then the initiator's own leg is hung up. Two requests, each recorded as an Action;
    should the second fail, the call is a three-way call and the answer says so."""
    initiator_id = await in_db_thread(_transfer_initiator_id, call_id)
    attempt = Attempt(user_id=user.pk, action=TransferAction.COMPLETE, request_body={}, call_id=call_id,
                      member_id=initiator_id)

    async def send(permitted: Permitted) -> Reply:
        return await phlo_api(permitted.app).member_action(
            MemberAction.RESUME_CALL.phlo, member_address=permitted.member.address
        )

    resumed = await attempt_action(
        attempt, check=lambda: check_attempt(user, attempt), send=send,
        finish=lambda permitted, reply: apply_attempt(attempt, permitted, reply),
    )
    try:
        left = await member_action_run(user=user, call_id=call_id, member_id=initiator_id, action=MemberAction.HANGUP)
    except CallError as failure:
        failure.detail = (
            f"The customer is back with the transfer target, but the transferring agent's line was not hung up: "
            f"{failure.detail} Hang it up to leave the call."
        )
        raise
    return replace(left, action=TransferAction.COMPLETE, api_id=resumed.api_id)


def _transfer_initiator_id(call_id: int) -> int | None:
    return (
        Member.objects.filter(call_id=call_id, transfer_role=TransferRole.INITIATOR).exclude(state=MemberState.LEFT)
        .values_list("pk", flat=True).first()
    )


