"""Agent status: what people choose, and what the system sets while they are on a call
(docs/routing.md, "Statuses").

An agent *chooses* available, away or offline (`chosen_status`). The system sets offered (a
call is ringing their phone), busy (on the line) and wrap-up (after their last call); when those
end, the agent returns to what they chose, never to available by default. Choosing during a call
sets what comes after it. The calls domain tells agents who is on the line (`follow_calls`) and
who is offered a call (`offer`, `offer_failed`, `offer_withdrawn`); agents never read calls.
Every change returns, or publishes after commit, the live message that shows it, and is written
to the agent's work log in the same transaction (agents/worklog.py: the reports' time in status).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from agents import worklog
from agents.models import SELECTABLE_STATUSES, Agent, AgentStatus
from agents.serialize import agent_to_dict
from live import messages
from live.publish import publish_on_commit

MISSED_CALL = "missed call"

# Sent once an agent's becoming available is committed (`agent_ids`): someone may route a call to them.
became_available = Signal()
# Sent once an offered agent's no is committed (`agent_id`): the call's offer ends (calls/queue/routing.py).
declined = Signal()
STATUS_FIELDS = ["status", "status_since", "status_reason", "chosen_status", "wrap_up_until", "disposition_pending"]


class StatusNotSelectable(ValueError):
    """A status only the system sets (400)."""

    def __init__(self, status: str) -> None:
        super().__init__(f"'{status}' is set by the system; choose available, away or offline.")


class StatusRefused(ValueError):
    """A status that cannot be taken now (409): available with a disposition still to save."""


def agent_update_message(agent: Agent) -> dict:
    """The directory entry of `agent`, for every dashboard."""
    return messages.update(
        frame="agent.updated", field="agent", key=f"agent:{agent.pk}", payload=agent_to_dict(agent),
        batch=("agents.updated", "agents"),
    )


def _set_status(agent: Agent, status: str, *, reason: str = "", wrap_up_until=None, at=None) -> None:
    changed = agent.status != status
    agent.status = status
    agent.status_since = at or timezone.now()
    agent.status_reason = reason
    agent.wrap_up_until = wrap_up_until
    with transaction.atomic(savepoint=False):
        agent.save(update_fields=STATUS_FIELDS)
        if changed:
            worklog.status_changed(agent.pk, status, agent.status_since)


class NotOffered(ValueError):
    """Declining when no call is offered (409)."""


def agent_set_status(*, agent: Agent, status: str) -> Agent:
    """The agent chooses a status. Off a call it applies now; on a call it is what comes after
    (shown as such); offered a call, away or offline declines it and applies now (available keeps
    the offer); in wrap-up it ends the wrap-up now ("ready"), except that available waits for a
    required disposition."""
    if status not in SELECTABLE_STATUSES:
        raise StatusNotSelectable(status)
    with transaction.atomic():
        agent = Agent.objects.select_for_update().select_related("user").get(pk=agent.pk)
        if status == AgentStatus.AVAILABLE and agent.disposition_pending:
            raise StatusRefused("Save a disposition for your last call before you become available.")
        changed = agent.chosen_status != status
        agent.chosen_status = status
        if agent.status == AgentStatus.OFFERED and status != AgentStatus.AVAILABLE:
            _set_status(agent, status)
            _announce_declined(agent.pk)
            changed = True
        elif agent.status in (AgentStatus.OFFERED, AgentStatus.BUSY):
            if changed:
                agent.save(update_fields=["chosen_status"])
        elif agent.status != status or agent.status_reason:
            _set_status(agent, status)
            changed = True
        elif changed:
            agent.save(update_fields=["chosen_status"])
        if changed:
            publish_on_commit([agent_update_message(agent)])
            if agent.status == AgentStatus.AVAILABLE:
                _announce_available([agent.pk])
    return agent


def agent_decline(*, agent: Agent) -> Agent:
    """The agent says no to the call ringing them: they keep the status they chose, the offer ends
    (calls/queue/routing.py, on `declined`) and the call goes to someone else."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().select_related("user").get(pk=agent.pk)
        if agent.status != AgentStatus.OFFERED:
            raise NotOffered("No call is ringing you: there is nothing to decline.")
        _set_status(agent, agent.chosen_status)
        publish_on_commit([agent_update_message(agent)])
        _announce_declined(agent.pk)
        if agent.status == AgentStatus.AVAILABLE:
            _announce_available([agent.pk])
    return agent


def _announce_declined(agent_id: int) -> None:
    transaction.on_commit(lambda: declined.send(sender=Agent, agent_id=agent_id))


def agent_signed_out(agent: Agent) -> None:
    """Signing out chooses offline: at once, or after the call they are on."""
    agent_set_status(agent=agent, status=AgentStatus.OFFLINE)


def follow_calls(*, agent_ids: set[int], on_the_line: set[int], disposed: set[int] = frozenset()) -> list[dict]:
    """Busy while on the line in a live call (whatever they had chosen: an offline agent who
    answers a transfer is on a call); wrap-up when the last one is over.

    The calls domain calls this inside the transaction that changed its calls, with the agents it
    touched, those of them still on the line, and those whose call already has its disposition
    (saved during the call: none is owed after it); returns the agent changes to publish.
    """
    if not agent_ids:
        return []
    changed = []
    for agent in Agent.objects.select_related("user").filter(pk__in=agent_ids):
        if agent.pk in on_the_line and agent.status != AgentStatus.BUSY:
            _set_status(agent, AgentStatus.BUSY)
        elif agent.pk not in on_the_line and agent.status == AgentStatus.BUSY:
            agent.disposition_pending = settings.DISPOSITION_REQUIRED and agent.pk not in disposed
            _set_status(
                agent, AgentStatus.WRAP_UP, wrap_up_until=timezone.now() + timedelta(seconds=settings.WRAP_UP_SECONDS)
            )
        else:
            continue
        changed.append(agent_update_message(agent))
    return changed


class NotWrappingUp(ValueError):
    """Extending a wrap-up that is not running (409)."""


def wrap_up_extend(*, agent: Agent) -> Agent:
    """More time to finish typing: WRAP_UP_SECONDS more, counted from when the wrap-up would have
    ended (or from now, should the sweep not have come by yet)."""
    with transaction.atomic():
        agent = Agent.objects.select_for_update().select_related("user").get(pk=agent.pk)
        if agent.status != AgentStatus.WRAP_UP:
            raise NotWrappingUp("You are not in wrap-up: there is nothing to extend.")
        now = timezone.now()
        agent.wrap_up_until = max(agent.wrap_up_until or now, now) + timedelta(seconds=settings.WRAP_UP_SECONDS)
        agent.save(update_fields=["wrap_up_until"])
        publish_on_commit([agent_update_message(agent)])
    return agent


def agents_finish_wrap_up() -> list[dict]:
    """Wrap-up over: back to the status each agent chose (a required disposition still missing
    keeps them in wrap-up). Safe on several processes at once (conditional update)."""
    now = timezone.now()
    due = Agent.objects.filter(status=AgentStatus.WRAP_UP, wrap_up_until__lte=now, disposition_pending=False)
    return _return_to_chosen(due.values_list("pk", flat=True), expected=AgentStatus.WRAP_UP)


def disposition_saved(agent_id: int, *, done: bool) -> list[dict]:
    """The agent saved the disposition of their last call: it is no longer pending; with `done`,
    their wrap-up ends now."""
    Agent.objects.filter(pk=agent_id).update(disposition_pending=False)
    return _return_to_chosen([agent_id], expected=AgentStatus.WRAP_UP) if done else []


def offer(agent_id: int) -> bool:
    """Claim an available agent for one call: only one claim can win (a conditional update), on
    any number of processes. Returns whether this one did."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        claimed = bool(
            Agent.objects.filter(pk=agent_id, status=AgentStatus.AVAILABLE).update(
                status=AgentStatus.OFFERED, status_since=now, status_reason="", wrap_up_until=None
            )
        )
        if claimed:
            worklog.status_changed(agent_id, AgentStatus.OFFERED, now)
    return claimed


def offer_failed(agent_id: int) -> list[dict]:
    """The agent did not take the call offered to them: away, with the reason on their desk; they
    choose available again themselves."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        updated = Agent.objects.filter(pk=agent_id, status=AgentStatus.OFFERED).update(
            status=AgentStatus.AWAY, chosen_status=AgentStatus.AWAY, status_since=now, status_reason=MISSED_CALL
        )
        if updated:
            worklog.status_changed(agent_id, AgentStatus.AWAY, now)
    return messages_for([agent_id]) if updated else []


def offer_withdrawn(agent_id: int) -> list[dict]:
    """Someone else took the call first: the offered agent is as they were (available, as chosen)."""
    return _return_to_chosen([agent_id], expected=AgentStatus.OFFERED)


def _return_to_chosen(agent_ids, *, expected: str) -> list[dict]:
    returned, available = [], []
    now = timezone.now()
    for pk, chosen in Agent.objects.filter(pk__in=list(agent_ids), status=expected).values_list("pk", "chosen_status"):
        with transaction.atomic(savepoint=False):
            if not Agent.objects.filter(pk=pk, status=expected).update(
                status=chosen, status_since=now, status_reason="", wrap_up_until=None
            ):
                continue
            worklog.status_changed(pk, chosen, now)
            returned.append(pk)
            if chosen == AgentStatus.AVAILABLE:
                available.append(pk)
    _announce_available(available)
    return messages_for(returned)


def _announce_available(agent_ids: list[int]) -> None:
    if agent_ids:
        transaction.on_commit(lambda: became_available.send(sender=Agent, agent_ids=agent_ids))


def messages_for(agent_ids) -> list[dict]:
    return [agent_update_message(agent) for agent in Agent.objects.select_related("user").filter(pk__in=agent_ids)]
