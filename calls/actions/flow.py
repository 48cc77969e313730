"""How every action on a call goes (README "The HTTP API"): one flow for PHLO's and the Voice API's.

An action goes: load the call → may this person act on it → does the state allow it → the
Plivo request → in one transaction, reload under lock, apply the state the action implies,
record it → publish after commit. Each database step is a small sync function holding its
own transaction; none stays open while Plivo is awaited, so a slow Plivo never holds up the
callbacks of the same call. Every attempt, refused or failed too, leaves an Action row. The
actions themselves: calls/actions/phlo.py (PHLO's), calls/actions/voice.py (the Voice API's),
calls/actions/recording.py (the desk recording a call by itself).
"""


from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from agents.viewers import Person, viewer_for
from calls.actions.words import sentence_for
from calls.core.errors import CallError
from calls.core.reads import visible_call
from calls.core.serialize import call_to_dict
from calls.core.state_machine import (
    ActionRefused,
    CallSnap,
    apply_action,
    check_action,
    trigger_leg,
)
from calls.core.store import load_call, member_key, save_call_state, snapshot
from calls.core.visibility import may_act
from calls.core.vocabulary import (
    LIVE_CALL_STATUSES,
    MUTE_ACTIONS,
    CallAction,
    MemberAction,
    MemberRole,
    MemberState,
    TransferAction,
    VoiceAction,
)
from calls.models import Action, Call, Member, PhloApp
from fastpath.db_threads import in_db_thread
from live.publish import publish
from phlo.addresses import address_key
from phlo.events import RecordingInfo
from phlo.http import PlivoError, PlivoTimeout, Reply

logger = logging.getLogger(__name__)

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
    """One request, as its Action row records it (`user_id` None: the desk's own, no person's)."""

    user_id: int | None
    action: str
    request_body: dict
    call_id: int | None = None
    member_id: int | None = None
    mode: str = ""  # a monitor action's: listen, whisper or barge
    claim_id: int | None = None  # the Action row written ahead to claim the attempt (record_automatically)


@dataclass(frozen=True)
class Permitted:
    """An action that may go ahead (permission and state checked), with what its Plivo request needs."""

    app: PhloApp
    agent: Agent | None  # the requester (None: the desk acting by itself); their address is the `from`
    member: Member | None = None  # the member a member action is about
    own: Member | None = None  # the requester's own live leg in the call, if they have one
    trigger_source: str = ""  # the address PHLO adds a member on behalf of (calls/core/state_machine.py: trigger_leg)
    mpc_uuid: str = ""  # the call as the Voice API addresses it
    # A cold transfer hands the customers over talking: those on hold (pk, address) are taken off hold.
    held_customers: tuple[tuple[int, str], ...] = ()
    who: str = "the member"  # the person the action is about, in words for an error sentence


async def attempt_action(
    attempt: Attempt,
    *,
    check: Callable[[], Permitted],
    send: Callable[[Permitted], Awaitable[Reply]],
    finish: Callable[[Permitted, Reply], tuple[T, list]],
) -> T:
    """check (sync) → PHLO (async, no transaction open) → finish (sync, one transaction) → publish.
    Any refusal or failure is recorded and re-raised, and changes nothing else."""
    try:
        permitted = await in_db_thread(check)
        try:
            reply = await send(permitted)
        except PlivoError as exc:
            raise _upstream_failure(exc, attempt, who=permitted.who) from exc
        result, messages = await in_db_thread(finish, permitted, reply)
    except CallError as failure:
        await in_db_thread(_record_failure, attempt, failure)
        raise
    await publish(messages)
    return result


def check_attempt(user, attempt: Attempt) -> Permitted:
    viewer = viewer_for(user)
    call, members = visible_call(viewer, attempt.call_id)
    agent = acting_agent(viewer)
    member = None
    if attempt.member_id is not None:
        member = next((m for m in members if m.pk == attempt.member_id), None)
        if member is None:
            raise CallError(f"Call {call.pk} has no member {attempt.member_id}.", http_status=404)
        _check_as_seen(member, attempt.request_body.get("expected_state"))
    # An ended call is refused by its state (409) to everyone who sees it; a live one first by who acts.
    if call.status in LIVE_CALL_STATUSES and not may_act(viewer, members):
        raise CallError(
            f"You are no longer on call {call.pk}: only its live members and supervisors act on it.", http_status=403
        )
    own = _own_leg(members, agent)
    _check_permission(attempt.action, supervises=viewer.is_supervisor, agent=agent, member=member, own=own)
    before = snapshot(call, members)
    keys = _keys(attempt, members, agent)
    try:
        check_action(before, attempt.action, **keys, mode=attempt.mode)
    except ActionRefused as refused:
        raise CallError(str(refused), http_status=409) from None
    if attempt.action in VoiceAction.values:
        _check_voice_addressable(call, _participant(attempt.action, member=member, own=own))
    held = ()
    if attempt.action == CallAction.COLD_TRANSFER:
        held = tuple(
            (m.pk, m.address) for m in members if m.role == MemberRole.CUSTOMER and m.state == MemberState.ON_HOLD
        )
    who = _name_of(member.address if member else attempt.request_body.get("to", ""))
    return Permitted(
        app=call.phlo_app, agent=agent, member=member, own=own, mpc_uuid=call.mpc_uuid or "",
        trigger_source=_trigger_source(attempt, before, keys["requester_key"], agent),
        held_customers=held, who=who,
    )


def _check_as_seen(member: Member, expected_state: str | None) -> None:
    if expected_state and member.state != expected_state:
        now, seen = MemberState(member.state).label.lower(), MemberState(expected_state).label.lower()
        raise CallError(
            f"This member is {now} now, not {seen} as shown when you clicked; nothing was changed.", http_status=409
        )


def _name_of(address: str) -> str:
    """An agent's name for their address, else the address itself."""
    agent = Agent.objects.filter(address_key=address_key(address)).select_related("user").first()
    return agent.display_name if agent else address or "the member"


def _trigger_source(attempt: Attempt, call: CallSnap, requester_key: str | None, agent: Agent) -> str:
    """The requester's own address; for an add-member by someone not on the line (a supervisor),
    the address of a member who is, since PHLO acts only on behalf of a member of the call."""
    if attempt.action != CallAction.ADD_MEMBER:
        return agent.address
    trigger = trigger_leg(call, requester_key)
    return agent.address if trigger is None or trigger.key == requester_key else trigger.address


def _check_permission(action: str, *, supervises: bool, agent: Agent, member: Member | None,
                      own: Member | None) -> None:
    """Who may act, beyond seeing the call (calls/core/visibility.py): supervisors on anything; an agent
    never on a supervisor's line (hold, unhold, hang up, mute…: docs/reliability.md), mutes only their own
    line, completes only their own transfer, and never monitors."""
    if supervises:
        return
    if action in (VoiceAction.MONITOR, VoiceAction.STOP_MONITOR):
        raise CallError("Only supervisors can monitor calls.", http_status=403)
    if member is not None and _supervisors_line(member):
        raise CallError("This is a supervisor's line: only a supervisor can act on it.", http_status=403)
    if action in MUTE_ACTIONS and member is not None and member.agent_id != agent.pk:
        raise CallError("You can mute or unmute only your own line; a supervisor can mute anyone.", http_status=403)
    if action == TransferAction.COMPLETE and member is not None and (own is None or own.pk != member.pk):
        raise CallError("Only the agent who started the transfer, or a supervisor, can complete it.",
                        http_status=403)


def _supervisors_line(member: Member) -> bool:
    """A supervisor's member: their monitoring leg (role supervisor), or the leg of someone who
    supervises on the line as an agent (a transfer to them)."""
    return member.role == MemberRole.SUPERVISOR or (member.agent is not None and member.agent.supervises)


def _participant(action: str, *, member: Member | None, own: Member | None) -> Member | None:
    """The participant a Voice API request names: the member muted or unmuted, or the supervisor's
    own leg (a mode switch, the end of monitoring); None for what is about the whole call."""
    if action in MUTE_ACTIONS:
        return member
    if action in (VoiceAction.MONITOR, VoiceAction.STOP_MONITOR):
        return own
    return None


def _check_voice_addressable(call: Call, member: Member | None) -> None:
    """The Voice API names the call by its MPC UUID and a participant by its MemberID, which the
    desk learns from Plivo's callbacks."""
    if not call.mpc_uuid:
        raise CallError("Plivo has not reported this call's multiparty call yet; try again in a moment.",
                        http_status=409)
    if member is not None and not member.member_id:
        raise CallError("Plivo has not reported this member's MemberID yet; try again in a moment.",
                        http_status=409)


def _own_leg(members: list[Member], agent: Agent | None) -> Member | None:
    """The requester's live leg in the call: the newest, should they have rejoined."""
    own = [m for m in members if agent is not None and m.agent_id == agent.pk and m.state != MemberState.LEFT]
    return own[-1] if own else None


def _keys(attempt: Attempt, members: list[Member], agent: Agent | None) -> dict[str, str | None]:
    """The snapshot keys the state rules name: the member acted on, and the requester's own live leg."""
    acted_on = next((m for m in members if m.pk == attempt.member_id), None)
    own = _own_leg(members, agent)
    return {
        "member_key": member_key(acted_on) if acted_on else None,
        "requester_key": member_key(own) if own else None,
    }


def apply_attempt(
    attempt: Attempt, permitted: Permitted, reply: Reply, *, to: str = "", role: str = MemberRole.AGENT,
    unheld: tuple[int, ...] = (), recording: RecordingInfo | None = None,
) -> tuple[ActionDone, list]:
    """`unheld`: members PHLO also took off hold as part of this action (a cold transfer's customers)."""
    now = timezone.now()
    with transaction.atomic():
        call, members = load_call(attempt.call_id, lock=True)
        before = snapshot(call, members)
        keys = _keys(attempt, members, permitted.agent)
        try:
            # A callback may have changed the call while Plivo was asked; then Plivo's next
            # callbacks tell what the action did, and we do not guess over the newer state.
            check_action(before, attempt.action, **keys, mode=attempt.mode)
        except ActionRefused:
            after = before
        else:
            after = apply_action(
                before, attempt.action, at=now, to=to, role=role, new_key=DIALLED_KEY,
                actor_id=permitted.agent.pk if permitted.agent else None, mode=attempt.mode, recording=recording,
                **keys,
            )
            for pk in unheld:
                if after.member(f"db:{pk}").state == MemberState.ON_HOLD:
                    after = apply_action(
                        after, MemberAction.UNHOLD, at=now, member_key=f"db:{pk}", actor_id=permitted.agent.pk
                    )
        by_key, messages = save_call_state(call, members, before, after, visible_change=after != before, at=now)
        dialled = by_key.get(DIALLED_KEY)
        record_attempt(
            attempt, call_id=call.pk, member_id=dialled.pk if dialled else attempt.member_id, http_status=200,
            phlo=reply,
        )
    return ActionDone(action=attempt.action, api_id=reply.api_id, call=call_to_dict(call, members)), messages


def acting_agent(viewer: Person) -> Agent:
    if viewer.agent is None:
        raise CallError(
            "This user has no agent record, so there is no address to act from; an operator can add one.",
            http_status=403,
        )
    return viewer.agent


def _upstream_failure(exc: PlivoError, attempt: Attempt, *, who: str) -> CallError:
    """A sentence for the person (calls/actions/words.py); Plivo's own words go to the log, the
    response's `error` and the Action row."""
    logger.warning(
        "%s refused %s on call %s: status %s, %r", exc.upstream, attempt.action, attempt.call_id, exc.status, exc.error
    )
    status = 504 if isinstance(exc, PlivoTimeout) else 502
    return CallError(sentence_for(exc, who=who), http_status=status, upstream=exc)


# --- the record ---------------------------------------------------------------------------------


def record_attempt(
    attempt: Attempt, *, call_id: int | None, member_id: int | None, http_status: int,
    phlo: Reply | PlivoError | None, error: str = "",
) -> None:
    """`phlo` is Plivo's answer or failure, when it was asked. A claimed attempt fills in its claim."""
    fields = dict(
        actor_id=attempt.user_id, call_id=call_id, member_id=member_id, action=attempt.action,
        request_body=attempt.request_body, ok=http_status < 400, http_status=http_status,
        upstream_status=phlo.status if phlo else None, api_id=phlo.api_id[:64] if phlo else "", error=error,
        duration_ms=phlo.duration_ms if phlo else 0.0,
    )
    if attempt.claim_id is not None:
        Action.objects.filter(pk=attempt.claim_id).update(**fields)
    else:
        Action.objects.create(**fields)


def _record_failure(attempt: Attempt, failure: CallError) -> None:
    # The ids come from the request: keep them only when they name rows that exist (404s).
    call_id = Call.objects.filter(pk=attempt.call_id).values_list("pk", flat=True).first() if attempt.call_id else None
    member_id = (
        Member.objects.filter(pk=attempt.member_id, call_id=call_id).values_list("pk", flat=True).first()
        if call_id and attempt.member_id else None
    )
    raw = failure.upstream.error if failure.upstream is not None else ""
    record_attempt(
        attempt, call_id=call_id, member_id=member_id, http_status=failure.http_status, phlo=failure.upstream,
        error=f"{failure.detail} [Plivo said: {raw}]" if raw else failure.detail,
    )

