"""A call's story in words a supervisor understands (docs/history.md, "Timeline").

Two records meet here, in time order: what Plivo reported (the stored callbacks, `CallEvent`:
joins, holds, speech, keys pressed, dialling, recordings) and what people asked of the desk
(`Action`: transfers, holds, monitoring, wrap-up; refused or failed ones too). Each becomes one
`Entry`: who, what, to whom. Names and numbers stay apart from the words (`Party`), so the page
formats numbers as every other page does; the raw callback travels along for operators.
Repeated deliveries of one callback are shown once, as they were applied once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from agents.viewers import Person
from calls.core.offers import OfferEnd
from calls.core.reads import visible_call
from calls.core.vocabulary import OFFER_ACTION, JoinedVia, MemberRole, MonitorMode
from calls.history.search import history_facts
from calls.history.wrapup import WRAP_UP_ACTION
from calls.models import Action, Call, CallEvent, Member
from phlo.addresses import address_key
from phlo.events import masked, participant_address

SAFE_URL = re.compile(r"https?://", re.IGNORECASE)


@dataclass(frozen=True)
class Party:
    """Someone on or around the call: an agent by name, anyone else by role and address."""

    name: str = ""
    address: str = ""
    role: str = ""  # lower case: "customer", "agent", "supervisor"


@dataclass(frozen=True)
class Entry:
    """One thing that happened: `who` `text` `whom` `tail`, then a note and any text they typed."""

    at: datetime
    kind: str  # what the page marks it with: call, join, leave, hold, transfer, monitor, recording, keys, …
    text: str
    who: Party | None = None
    whom: Party | None = None
    tail: str = ""
    note: str = ""
    quote: str = ""  # words someone wrote (wrap-up notes), shown as written
    by_desk: bool = False  # asked of the desk by a person (else reported by Plivo)
    failed: bool = False
    raw: str = ""  # the callback's parameters as stored (keys pressed masked), as JSON, for operators
    confirmed: bool = False  # a request whose effect Plivo then reported: one line for both
    order: tuple = field(default=(), compare=False)
    # What the line is about, to find a request and Plivo's report of it (`_merged`): the event's or
    # action's name and the member it names.
    about: tuple[str, int | None] = field(default=("", None), compare=False)


@dataclass(frozen=True)
class Timeline:
    call: Call
    customers: list[Party]
    members: list[tuple[Member, Party, str]]  # each member, who they are, how they came
    entries: list[Entry]
    facts: dict  # calls/history/search.py: wait and talk time
    recordings: list[dict]  # the ones with a URL a page may play


def timeline_for(viewer: Person, call_id: int) -> Timeline:
    """The call's timeline, if `viewer` may see the call (CallError 404/403 otherwise)."""
    visible_call(viewer, call_id)
    call = Call.objects.select_related("phlo_app", "disposition").get(pk=call_id)
    members = list(
        call.members.select_related("agent__user", "invited_by__user").order_by("created_at", "id")
    )
    parties = {m.pk: member_party(m) for m in members}
    events = call.events.exclude(outcome=CallEvent.Outcome.DUPLICATE).order_by("received_at", "id")
    actions = call.actions.select_related("actor__agent__user", "member__agent__user").order_by("created_at", "id")
    entries = _merged(
        list(_event_entries(events, members, parties)), [_action_entry(a, members, parties) for a in actions], members
    )
    return Timeline(
        call=call,
        customers=list(dict.fromkeys(parties[m.pk] for m in members if m.role == MemberRole.CUSTOMER)),
        members=[(m, parties[m.pk], joined_words(m)) for m in members],
        entries=sorted(entries, key=lambda e: e.order),
        facts=history_facts(call),
        recordings=[r for r in call.recordings or [] if SAFE_URL.match(r.get("url") or "")],
    )


# --- who -----------------------------------------------------------------------------------------


def member_party(member: Member) -> Party:
    role = MemberRole(member.role).label.lower() if member.role in MemberRole.values else member.role
    if member.agent is not None:
        return Party(name=member.agent.display_name, role=role)
    return Party(address=member.address, role=role)


def _actor_party(action: Action) -> Party | None:
    if action.actor is None:
        return None
    agent = getattr(action.actor, "agent", None)
    return Party(name=agent.display_name if agent else action.actor.get_username())


def _party_at(address: str, members: list[Member], parties: dict[int, Party], role: str = "") -> Party:
    """Whoever was (or became) the call's member at `address`, else the address itself."""
    key = address_key(address)
    member = next((m for m in reversed(members) if m.address_key == key), None)
    return parties[member.pk] if member else Party(address=address, role=role)


def joined_words(member: Member) -> str:
    """How a member came to be on the call: "warm transfer from Alice Moreno"."""
    via = member.joined_via
    if not via:
        return ""
    by = member.invited_by.display_name if member.invited_by else ""
    if via in (JoinedVia.WARM_TRANSFER, JoinedVia.COLD_TRANSFER) and by:
        return f"{JoinedVia(via).label.lower()} from {by}"
    if via == JoinedVia.ADDED and by:
        return f"added by {by}"
    return JoinedVia(via).label.lower() if via in JoinedVia.values else via


# --- what Plivo reported -----------------------------------------------------------------------------

# event name → (kind, words); a member's event reads "<member> <words>", a call's "<words>".
CALL_EVENTS = {
    "MPCInitialized": ("call", "The call was set up"),
    "MPCStart": ("call", "The call started"),
    "MPCEnd": ("call", "The call ended"),
    "MPCRecordingInitiated": ("recording", "The recording started"),
    "MPCRecordingPaused": ("recording", "The recording was paused"),
    "MPCRecordingResumed": ("recording", "The recording resumed"),
    "MPCRecordingCompleted": ("recording", "The recording is complete"),
    "MPCRecordingFailed": ("recording", "The recording failed"),
}
MEMBER_EVENTS = {
    "ParticipantJoin": ("join", "joined"),
    "ParticipantExit": ("leave", "left"),
    "ParticipantHold": ("hold", "was put on hold"),
    "ParticipantUnhold": ("hold", "was taken off hold"),
    "ParticipantMute": ("mute", "was muted"),
    "ParticipantUnmute": ("mute", "was unmuted"),
    "ParticipantCoachModeStart": ("monitor", "is heard by the agents only (whisper)"),
    "ParticipantCoachModeStop": ("monitor", "is heard by everyone again"),
    "ParticipantSpeakStart": ("speech", "started speaking"),
    "ParticipantSpeakStop": ("speech", "stopped speaking"),
    "ParticipantDigitInput": ("keys", "pressed keys"),
}
# Plivo's call and dial status values (CallStatus:…, DialStatus:…) about one leg.
LEG_STATUS = {
    "ringing": ("dial", "is ringing"),
    "early-media": ("dial", "is ringing"),
    "in-progress": ("join", "answered"),
    "answered": ("join", "answered"),
    "answer": ("join", "answered"),
    "completed": ("leave", "hung up"),
    "hangup": ("leave", "hung up"),
    "busy": ("leave", "was busy"),
    "no-answer": ("leave", "did not answer"),
    "timeout": ("leave", "did not answer in time"),
    "failed": ("leave", "could not be reached"),
    "failure": ("leave", "could not be reached"),
    "error": ("leave", "could not be reached"),
    "rejected": ("leave", "rejected the call"),
    "cancel": ("leave", "was not called after all (cancelled)"),
    "canceled": ("leave", "was not called after all (cancelled)"),
    "cancelled": ("leave", "was not called after all (cancelled)"),
}
LATE = "Plivo's report arrived after a newer one; it did not change the call."
DIGIT_PARAMS = ("DigitInput", "Digits", "DTMFDigits")


def _event_entries(events, members: list[Member], parties: dict[int, Party]):
    by_pk = {m.pk: m for m in members}
    announced: set[int] = set()  # members whose first join has said how they came
    for event in events:
        params = masked(event.params if isinstance(event.params, dict) else {})
        entry = _event_words(event, params, members, parties)
        if entry is None:
            continue
        at = event.event_timestamp or event.received_at
        note = entry.get("note", "")
        if entry["kind"] == "join" and event.member_id in by_pk and event.member_id not in announced:
            announced.add(event.member_id)
            note = note or joined_words(by_pk[event.member_id])
        if event.outcome == CallEvent.Outcome.STALE:
            note = f"{note} {LATE}".strip()
        yield Entry(
            at=at, raw=json.dumps(params, indent=1, ensure_ascii=False), order=(at, event.sequence or 0, 0, event.pk),
            about=(event.event_name, event.member_id), **{**entry, "note": note},
        )


def _event_words(event: CallEvent, params: dict, members: list[Member], parties: dict[int, Party]) -> dict | None:
    name = event.event_name
    who = parties.get(event.member_id) if event.member_id else None
    if who is None and params:
        address = participant_address(params)
        who = _party_at(address, members, parties) if address else None
    if event.outcome == CallEvent.Outcome.UNRECOGNISED:
        return {"kind": "plivo", "text": "Plivo sent a callback the desk does not understand", "note": event.reason}
    if name in CALL_EVENTS:
        kind, words = CALL_EVENTS[name]
        return {"kind": kind, "text": words, "note": _call_event_note(name, params)}
    if name in MEMBER_EVENTS:
        kind, words = MEMBER_EVENTS[name]
        note = ""
        if kind == "keys":
            note = " ".join(params[p] for p in DIGIT_PARAMS if params.get(p))
        return {"kind": kind, "who": who, "text": words, "note": note}
    if name.startswith("AddParticipantByAPIAction"):
        target = params.get("MemberAddress") or params.get("ParticipantCallTo") or params.get("To", "")
        outcome = params.get("AddParticipantAPIRequestOutcome", "")
        started = name.endswith("Initiated")
        return {
            "kind": "dial", "text": "Plivo started dialling" if started else "Plivo finished dialling",
            "whom": _party_at(target, members, parties) if target else None,
            "note": f"Outcome: {outcome}." if outcome and not started else "",
        }
    family, _, status = name.partition(":")
    if family in ("CallStatus", "DialStatus") and status in LEG_STATUS:
        kind, words = LEG_STATUS[status]
        return {"kind": kind, "who": who, "text": words}
    # Understood but ours to only mention (wait music, a participant's own recording).
    return {"kind": "plivo", "who": who, "text": f"Plivo reported: {_spaced(name)}"}


def _call_event_note(name: str, params: dict) -> str:
    if name == "MPCEnd" and params.get("MPCTerminationCause"):
        return f"Reason: {params['MPCTerminationCause']}."
    if name == "MPCRecordingCompleted" and (params.get("RecordingDuration") or "").isdigit():
        minutes, seconds = divmod(int(params["RecordingDuration"]), 60)
        return f"Length {minutes}:{seconds:02d}."
    return ""


def _spaced(name: str) -> str:
    """"MPCWaitStart" → "MPC wait start"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace(":", ": ").capitalize().replace("Mpc", "MPC")


# --- what people asked of the desk ------------------------------------------------------------------------

# action → (done, asked): "Alice <done> <whom> <tail>", or when refused "Alice could not <asked> …".
ACTION_WORDS = {
    "start-call": ("called", "call", ""),
    "add-member": ("added", "add", "to the call"),
    "warm-transfer": ("started a warm transfer to", "start a warm transfer to", ""),
    "cold-transfer": ("transferred the call to", "transfer the call to", "(cold transfer: they left at once)"),
    "complete-transfer": ("completed the warm transfer", "complete the warm transfer", ""),
    "resume-call": ("completed the warm transfer; everyone stays on the call", "complete the warm transfer", ""),
    "abort-transfer": ("aborted the warm transfer", "abort the warm transfer", ""),
    "hold": ("put", "put", "on hold"),
    "unhold": ("took", "take", "off hold"),
    "hangup": ("hung up on", "hang up on", ""),
    "voicemail-drop": ("left a voicemail message for", "leave a voicemail message for", ""),
    "mute": ("muted", "mute", ""),
    "unmute": ("unmuted", "unmute", ""),
    "monitor": ("started monitoring the call", "monitor the call", ""),
    "monitor-stop": ("stopped monitoring the call", "stop monitoring the call", ""),
    "recording-start": ("started recording the call", "start recording the call", ""),
    "recording-pause": ("paused the recording", "pause the recording", ""),
    "recording-resume": ("resumed the recording", "resume the recording", ""),
    "recording-stop": ("stopped the recording", "stop the recording", ""),
    WRAP_UP_ACTION: ("saved the wrap-up", "save the wrap-up", ""),
}
ACTION_KINDS = {
    "warm-transfer": "transfer", "cold-transfer": "transfer", "complete-transfer": "transfer",
    "resume-call": "transfer", "abort-transfer": "transfer", "hold": "hold", "unhold": "hold",
    "hangup": "leave", "mute": "mute", "unmute": "mute", "monitor": "monitor", "monitor-stop": "monitor",
    WRAP_UP_ACTION: "wrap-up", "add-member": "join", "start-call": "call", "recording-start": "recording",
    "recording-pause": "recording", "recording-resume": "recording", "recording-stop": "recording",
}
# Actions about the call as a whole, not one member (the member row they name is the requester's).
WHOLE_CALL = {"complete-transfer", "resume-call", "abort-transfer", "monitor", "monitor-stop", "recording-start",
              "recording-pause", "recording-resume", "recording-stop"}
# How the desk's own offer of a waiting call (calls/queue/routing.py) ended, after "… offered the call to Bob".
OFFER_ENDINGS = {
    OfferEnd.ANSWERED: "(answered)",
    OfferEnd.MISSED: "(not answered; they were set to away)",
    OfferEnd.WITHDRAWN: "(withdrawn: the customer left or another agent answered first)",
    OfferEnd.DECLINED: "(declined)",
    "": "(ringing)",
}


def _action_entry(action: Action, members: list[Member], parties: dict[int, Party]) -> Entry:
    name = action.action
    if name == OFFER_ACTION:
        return _offer_entry(action, members, parties)
    words = f"asked for {_spaced(name).lower()}"  # an action this page has no words for yet
    done, asked, tail = ACTION_WORDS.get(name, (words, words, ""))
    body = action.request_body if isinstance(action.request_body, dict) else {}
    whom = None
    if body.get("to") and name not in WHOLE_CALL:
        whom = _party_at(str(body["to"]), members, parties, role=str(body.get("role", "")))
    elif action.member_id and name not in WHOLE_CALL:
        whom = parties.get(action.member_id)
    own_leg = action.member is not None and action.member.agent is not None and (
        action.actor_id == action.member.agent.user_id
    )
    if name == "hangup" and own_leg:
        done, asked, whom = "left the call", "leave the call", None
    note, quote = "", ""
    if name == "monitor" and body.get("mode") in MonitorMode.values:
        note = f"Mode: {MonitorMode(body['mode']).label.lower()}."
    if name == WRAP_UP_ACTION:
        note = f"Disposition: {body['disposition']}." if body.get("disposition") else "No disposition."
        quote = str(body.get("notes") or "")
    if not action.ok:
        note = _refusal(action)
    # Recorded when PHLO had answered, by which time its callbacks may be here: the request was made
    # its round trip earlier.
    at = action.created_at - timedelta(milliseconds=action.duration_ms or 0)
    return Entry(
        at=at, kind=ACTION_KINDS.get(name, "desk") if action.ok else "refused",
        who=_actor_party(action), text=done if action.ok else f"could not {asked}", whom=whom, tail=tail,
        note=note, quote=quote, by_desk=True, failed=not action.ok,
        order=(at, 0, 1, action.pk), about=(name if action.ok else "", action.member_id),
    )


# --- a request and Plivo's report of it, as one line ----------------------------------------------------

# What Plivo reports when a request did what it asked: the request's member's own event, or (a warm
# transfer's hold, its end's release) any customer's.
CONFIRMED_BY = {
    "hold": ("ParticipantHold", False),
    "unhold": ("ParticipantUnhold", False),
    "hangup": ("ParticipantExit", False),
    "mute": ("ParticipantMute", False),
    "unmute": ("ParticipantUnmute", False),
    "warm-transfer": ("ParticipantHold", True),
    "resume-call": ("ParticipantUnhold", True),
    "complete-transfer": ("ParticipantUnhold", True),
    "abort-transfer": ("ParticipantUnhold", True),
    "recording-start": ("MPCRecordingInitiated", None),
    "recording-pause": ("MPCRecordingPaused", None),
    "recording-resume": ("MPCRecordingResumed", None),
}
# Plivo's report comes after the request, within a PHLO round trip and a callback's delivery; a few
# seconds before it cover two clocks that disagree (ours for the request, Plivo's for the event).
REPORT_AFTER = timedelta(seconds=60)
REPORT_BEFORE = timedelta(seconds=5)


def _merged(reports: list[Entry], requests: list[Entry], members: list[Member]) -> list[Entry]:
    """Each request a person made and the report of Plivo that it happened, as one line at the request's
    time ("Alice put the customer on hold", asked of the desk, confirmed by Plivo), so the story says
    every action once and in the order it happened; the report's raw callback stays with the line."""
    customers = {m.pk for m in members if m.role == MemberRole.CUSTOMER}
    used: set[int] = set()
    merged = []
    for request in sorted(requests, key=lambda e: e.order):
        action, member_pk = request.about
        wanted, any_customer = CONFIRMED_BY.get(action, ("", None))
        match = None
        for index, report in enumerate(reports):
            name, about_pk = report.about
            in_time = request.at - REPORT_BEFORE <= report.at <= request.at + REPORT_AFTER
            if index in used or name != wanted or not in_time:
                continue
            if any_customer is None or (about_pk in customers if any_customer else about_pk == member_pk):
                match = index
                break
        if match is None:
            merged.append(request)
            continue
        used.add(match)
        report = reports[match]
        note = " ".join(part for part in (request.note, report.note) if part)
        merged.append(replace(request, confirmed=True, note=note, raw=report.raw))
    return merged + [report for index, report in enumerate(reports) if index not in used]


def _offer_entry(action: Action, members: list[Member], parties: dict[int, Party]) -> Entry:
    """The router's offer: no person asked for it (the desk did), and a missed one is no refusal."""
    body = action.request_body if isinstance(action.request_body, dict) else {}
    whom = _party_at(str(body.get("to", "")), members, parties, role="agent")
    missed = action.upstream_outcome == OfferEnd.MISSED
    return Entry(
        at=action.created_at, kind="offer", who=None, text="the desk offered the call to", whom=whom,
        tail=OFFER_ENDINGS.get(action.upstream_outcome, ""), note=action.error if missed else "", by_desk=True,
        failed=missed, order=(action.created_at, 0, 1, action.pk),
    )


def _refusal(action: Action) -> str:
    """The sentence the requester read (calls/actions/flow.py records it), else the bare status."""
    return action.error or f"Refused with HTTP {action.http_status}."
