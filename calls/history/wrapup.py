"""After a call: what it was about (docs/history.md, "Wrap-up").

The call's agents and supervisors each save their own disposition (a wrap-up code operators keep
in the admin) and notes; nobody's save touches a colleague's, and the call's disposition and notes
are what they add up to (`wrap_ups_summary`). The call's version grows and every view of it hears
(calls/core/store.py's path, as for any change); the agents who left this call last owe no
disposition any more (agents/status.py: `disposition_saved`), and the one who saves may end their
wrap-up now.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from agents.status import disposition_saved
from agents.viewers import Person
from calls.core.reads import visible_call
from calls.core.serialize import call_to_dict
from calls.core.snapshots import CallSnap
from calls.core.store import load_call, save_call_state, snapshot
from calls.core.vocabulary import MemberState
from calls.models import Action, Call, Disposition, Member
from conventions.times import iso
from live.publish import publish_on_commit

WRAP_UP_ACTION = "wrap-up"  # the Action rows of saved wrap-ups (the call's timeline shows them)
MAX_NOTES_LENGTH = 5000


class WrapUpRefused(ValueError):
    """A wrap-up the desk cannot save as asked (400); `field` is the part to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def offered_dispositions():
    """What an agent picks from: the active dispositions, in the operators' order."""
    return Disposition.objects.filter(active=True).order_by("order", "name")


def _disposition_named(name: str, call_disposition_id: int | None) -> Disposition:
    """An active disposition by name, or the one the call already has (retired since)."""
    found = Disposition.objects.filter(name=name).first()
    if found is None or not (found.active or found.pk == call_disposition_id):
        offered = ", ".join(offered_dispositions().values_list("name", flat=True)) or "none (ask an operator)"
        raise WrapUpRefused("disposition", f"There is no disposition {name!r}; choose one of: {offered}.")
    return found


def save_wrap_up(
    viewer: Person, call_id: int, *, disposition: str | None = None, notes: str | None = None, done: bool = False
) -> dict:
    """Save the requester's own wrap-up of the call (None: that part unchanged) and answer the
    call. Nobody else's wrap-up is touched: the call's disposition and notes are what everyone's
    add up to (`wrap_ups_summary`). `done`: the requester's wrap-up of this call is over, so they
    return to the status they chose now."""
    visible_call(viewer, call_id)  # 404 or 403 before anything else
    now = timezone.now()
    with transaction.atomic():
        call, members = load_call(call_id, lock=True)
        before = snapshot(call, members)
        after, mine = _with_own_wrap_up(before, viewer, disposition=disposition, notes=notes, at=now)
        if settings.DISPOSITION_REQUIRED and after.disposition_id is None:
            raise WrapUpRefused("disposition", "Choose a disposition: one is required for every call.")
        messages = []
        if after != before:
            _, messages = save_call_state(call, members, before, after, visible_change=True, at=now)
            Action.objects.create(
                actor_id=viewer.user_id, call=call, action=WRAP_UP_ACTION, ok=True, http_status=200,
                request_body={"disposition": mine["disposition"], "notes": mine["notes"]}, created_at=now,
            )
        for agent_id in _agents_done_with(call, members):
            messages += disposition_saved(agent_id, done=done and agent_id == viewer.agent_id)
        publish_on_commit(messages)
    return call_to_dict(call, members)


def _with_own_wrap_up(
    call: CallSnap, viewer: Person, *, disposition: str | None, notes: str | None, at
) -> tuple[CallSnap, dict]:
    """The call with the requester's own wrap-up changed as asked (nobody else's), and that wrap-up."""
    wrap_ups = [dict(entry) for entry in call.wrap_ups]
    mine = next((entry for entry in wrap_ups if entry.get("user") == viewer.user_id), None)
    if mine is None:
        mine = {"user": viewer.user_id, "agent": viewer.agent_id, "name": _name(viewer),
                "disposition": None, "disposition_id": None, "notes": ""}
        wrap_ups.append(mine)
    changed = {}
    if disposition is not None:
        chosen = _disposition_named(disposition, call.disposition_id)
        if chosen.pk != mine.get("disposition_id"):
            changed.update(disposition=chosen.name, disposition_id=chosen.pk, disposition_at=iso(at))
    if notes is not None and notes != mine.get("notes", ""):
        changed["notes"] = notes
    if not changed:
        return call, mine
    mine.update(changed, saved_at=iso(at))
    saved = tuple(entry for entry in wrap_ups if entry.get("saved_at"))
    summary = wrap_ups_summary(saved)
    return replace(call, wrap_ups=saved, disposition_id=summary["disposition_id"], notes=summary["notes"]), mine


def wrap_ups_summary(wrap_ups) -> dict:
    """What the call's wrap-ups add up to: the disposition chosen last (a note edited since does not
    make an older choice the latest), and every person's non-empty notes, in the order they first
    wrote (README, "Pages")."""
    disposed = [entry for entry in wrap_ups if entry.get("disposition_id")]
    latest = max(disposed, key=lambda entry: entry.get("disposition_at") or entry.get("saved_at") or "", default=None)
    return {
        "disposition_id": latest["disposition_id"] if latest else None,
        "notes": "\n\n".join(entry["notes"] for entry in wrap_ups if entry.get("notes")),
    }


def _name(viewer: Person) -> str:
    if viewer.agent is not None:
        return viewer.agent.display_name
    return get_user_model().objects.filter(pk=viewer.user_id).values_list("username", flat=True).first() or ""


def _agents_done_with(call: Call, members: list[Member]) -> set[int]:
    """The call's agents who have left it and left no call since: this is the call their wrap-up
    is about. (Agents still on it owe nothing until they leave: calls/core/store.py tells
    agents/status.py a call with a disposition is settled.)"""
    left_at: dict[int, object] = {}
    on_it = set()
    for member in members:
        if member.agent_id is None:
            continue
        if member.state != MemberState.LEFT:
            on_it.add(member.agent_id)
        elif member.left_at and (member.agent_id not in left_at or member.left_at > left_at[member.agent_id]):
            left_at[member.agent_id] = member.left_at
    candidates = set(left_at) - on_it
    if not candidates:
        return set()
    last_left = (
        Member.objects.filter(agent_id__in=candidates, left_at__isnull=False)
        .values("agent_id").annotate(last=Max("left_at")).values_list("agent_id", "last")
    )
    return {agent_id for agent_id, last in last_left if last == left_at[agent_id]}
