"""The Plivo side of one multiparty call (MPC): its members, holds, transfers, mute and coach
mode, recordings, and its end.

Pure: no network, no database, no clock of its own (the switchboard's tells the times). Each
operation changes the call and returns the events Plivo would report, in order, each numbered
with the call's next SequenceNumber, in Plivo's words (exit causes, termination causes:
phlo/vocabulary.py). The switchboard decides *when* things happen (a dialled leg answers after
ringing, a voicemail drop ends) and the courier delivers what is reported. An operation that does
not fit the call's state raises `NotAllowed` (Plivo's 400) before changing anything; one naming a
participant the call never had raises `NoSuchMember` (404).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo

from phlo.addresses import address_key
from phlo.vocabulary import ExitCause, Role, TerminationCause

AGENT, CUSTOMER, SUPERVISOR, AI_AGENT = Role.AGENT, Role.CUSTOMER, Role.SUPERVISOR, Role.AI_AGENT
AGENTS = (AGENT, AI_AGENT)  # who serves the customer: the call starts with the first, ends with the last
RINGING, CONNECTED, ON_HOLD, LEFT = "ringing", "connected", "on_hold", "left"
ON_THE_LINE = (CONNECTED, ON_HOLD)
RECORDING, PAUSED, COMPLETED = "recording", "paused", "completed"


def plivo_time(at: datetime, tz: tzinfo = UTC) -> str:
    """A time as Plivo writes it: `YYYY-MM-DD HH:mm:ss+|-hh:mm`, in the account's time zone."""
    return at.astimezone(tz).isoformat(sep=" ", timespec="seconds")


class NotAllowed(Exception):
    """The action does not fit the call's state; the message is Plivo's error text."""


class NoSuchMember(Exception):
    """No participant of the call has this MemberID (the Voice API's 404)."""


@dataclass
class Participant:
    member_id: str
    address: str
    role: str
    direction: str  # "inbound": they called in; "outbound": the PHLO dialled them
    call_from: str
    call_to: str
    call_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = RINGING
    # Plivo has reported this leg (its dial or its join), so its exit is reported too; a leg
    # cancelled while still ringing unannounced leaves no trace, as on the real platform.
    announced: bool = False
    voicemail: bool = False  # a voicemail drop is playing to them; they leave when it ends
    muted: bool = False  # heard by nobody
    coach_mode: bool = False  # a supervisor heard by the agents only, never by the customer
    hold_on_join: bool = False  # added with hold=true: held from the moment they answer
    playing: str = ""  # the audio URL played to them (Voice API `Member/{id}/Play/`)
    recording: Recording | None = None  # their own recording (`Participant/{id}/Record/`), running or paused
    joined_at: datetime | None = None
    left_at: datetime | None = None
    exit_cause: str = ""

    @property
    def on_the_line(self) -> bool:
        return self.state in ON_THE_LINE

    @property
    def live(self) -> bool:
        return self.state != LEFT

    def is_at(self, address: str) -> bool:
        return address_key(self.address) == address_key(address)

    def as_dict(self) -> dict:
        return {
            "member_id": self.member_id, "address": self.address, "role": self.role, "state": self.state,
            "direction": self.direction, "call_uuid": self.call_uuid, "voicemail": self.voicemail,
            "muted": self.muted, "coach_mode": self.coach_mode, "exit_cause": self.exit_cause, "playing": self.playing,
        }


@dataclass
class Recording:
    """One recording of the whole call; paused time is not recorded."""

    recording_id: str
    file_format: str
    url: str
    started_at: datetime
    resource_url: str = ""  # the Recording resource (RecordingResourceURL)
    callback_url: str = ""  # recording_callback_url, when the request gave one
    state: str = RECORDING
    ended_at: datetime | None = None
    recorded_seconds: float = 0.0  # before the running stretch
    running_since: datetime | None = None

    def seconds(self, now: datetime) -> int:
        running = (now - self.running_since).total_seconds() if self.running_since else 0.0
        return max(0, round(self.recorded_seconds + running))

    def params(self, now: datetime, tz: tzinfo = UTC) -> dict[str, str]:
        """What Plivo's recording events carry about it (https://www.plivo.com/docs/voice/api/
        multiparty-call/recording/start-recording/)."""
        params = {
            "RecordingUUID": self.recording_id, "RecordingURL": self.url, "RecordingResourceURL": self.resource_url,
            "RecordingFormat": self.file_format, "RecordingStartTime": plivo_time(self.started_at, tz),
            "RecordingDuration": str(self.seconds(now)),
        }
        if self.ended_at is not None:
            params["RecordingEndTime"] = plivo_time(self.ended_at, tz)
        return params

    def as_dict(self, now: datetime) -> dict:
        return {"recording_id": self.recording_id, "state": self.state, "format": self.file_format, "url": self.url,
                "duration": self.seconds(now)}


@dataclass(frozen=True)
class Report:
    """One event to report: its name, its place in the call's order, and who it is about."""

    event_name: str
    sequence: int
    participant: Participant | None = None  # a copy, as the participant was at that moment
    extra: tuple[tuple[str, str], ...] = ()
    callback_url: str = ""  # where it goes, when not where the call's others go (recording_callback_url)


@dataclass
class WarmTransfer:
    initiator: str  # member IDs
    target: str
    held: list[str]  # the customers this transfer put on hold, brought back when it ends


class MultiPartyCall:
    def __init__(
        self, *, phlo_id: str, node_id: str, name: str, caller_id: str, run_id: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), tz: tzinfo = UTC,
    ):
        self.mpc_uuid = str(uuid.uuid4())
        self.phlo_id, self.node_id, self.name = phlo_id, node_id, name
        self.caller_id = caller_id  # the number the PHLO dials out from, and inbound callers dial
        self.run_id = run_id
        self.participants: list[Participant] = []
        self.transfer: WarmTransfer | None = None
        self.recordings: list[Recording] = []
        self._clock = clock
        self.tz = tz  # the account's time zone, which Plivo's times are written in
        self.started = False
        self.ended = False
        self.created_at = clock()
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.termination_cause: TerminationCause | None = None
        self._sequence = itertools.count(1)
        self._member_ids = itertools.count(1)
        self._reports: list[Report] = []

    # --- reading ------------------------------------------------------------------------------

    def live_member_at(self, address: str) -> Participant | None:
        return next((p for p in reversed(self.participants) if p.live and p.is_at(address)), None)

    def member(self, member_id: str) -> Participant:
        return next(p for p in self.participants if p.member_id == member_id)

    def find_member(self, member_id: str) -> Participant:
        """A participant the Voice API names; NoSuchMember if the call never had them."""
        found = next((p for p in self.participants if p.member_id == member_id), None)
        if found is None:
            raise NoSuchMember(f"participant {member_id} not found in this multiparty call")
        return found

    def voice_members(self, member_ids: list[str] | None) -> list[Participant]:
        """The participants a Voice API path names: `all` (None) is everyone on the line; else each
        of the IDs (`7`, `7,9`), who must all be live; nothing changes if one is not."""
        self._require_live()
        if member_ids is None:
            return [p for p in self.participants if p.on_the_line]
        return [self._voice_member(member_id) for member_id in dict.fromkeys(member_ids)]

    @property
    def recording(self) -> Recording | None:
        """The recording running or paused, if any."""
        return next((r for r in self.recordings if r.state in (RECORDING, PAUSED)), None)

    @property
    def status(self) -> str:
        """As the Voice API's MultiPartyCall object says it."""
        return "Ended" if self.ended else "Active" if self.started else "Initialized"

    def as_dict(self) -> dict:
        return {
            "mpc_uuid": self.mpc_uuid, "name": self.name, "phlo_id": self.phlo_id, "node_id": self.node_id,
            "run_id": self.run_id, "started": self.started, "ended": self.ended,
            "transfer": None if self.transfer is None else {
                "initiator": self.transfer.initiator, "target": self.transfer.target, "held": list(self.transfer.held),
            },
            "members": [p.as_dict() for p in self.participants],
            "recordings": [r.as_dict(self._clock()) for r in self.recordings],
        }

    # --- the call's life ----------------------------------------------------------------------

    def initialize(self) -> list[Report]:
        self._report("MPCInitialized")
        return self._flush()

    def dial(self, address: str, role: str, *, announce: bool) -> tuple[Participant, list[Report]]:
        """Dial someone into the call; they ring until `answer`. `announce`: the dial was asked for
        through the API, which Plivo reports (AddParticipantByAPIActionInitiated)."""
        participant = self._dial(address, role, announce=announce)
        return participant, self._flush()

    def join_inbound(self, address: str, role: str, *, dialled: str = "") -> tuple[Participant, list[Report]]:
        """Someone who called the PHLO's number (or `dialled`, another number of its: a line of business)
        enters the call at once (and waits for an agent)."""
        self._require_live()
        participant = self._add(
            address, role, direction="inbound", call_from=address, call_to=dialled or self.caller_id
        )
        self._connect(participant)
        return participant, self._flush()

    def answer(self, member_id: str) -> list[Report]:
        """A ringing leg answers. Nothing happens if it stopped ringing meanwhile (hung up, call over)."""
        participant = self.member(member_id)
        if not self.ended and participant.state == RINGING:
            self._connect(participant)
        return self._flush()

    def leave(self, member_id: str, cause: ExitCause = ExitCause.HANGUP) -> list[Report]:
        """A member leaves by themselves (hangs up, a voicemail drop ends); never refused."""
        participant = self.member(member_id)
        if not self.ended:
            self._leave(participant, cause)
        return self._flush()

    # --- member actions (PHLO `members/{member_address}`) ------------------------------------

    def hold(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        if participant.state != CONNECTED:
            raise NotAllowed(f"member {address} is {_words(participant.state)}; only a connected member can be held")
        participant.state = ON_HOLD
        self._report("ParticipantHold", participant)
        return self._flush()

    def unhold(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        if participant.state != ON_HOLD:
            raise NotAllowed(f"member {address} is not on hold")
        self._unhold(participant)
        return self._flush()

    def mute(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        if not participant.on_the_line or participant.muted:
            raise NotAllowed(f"member {address} is {'already muted' if participant.muted else 'not on the line'}")
        self._update(participant, mute=True, hold=None, coach_mode=None)
        return self._flush()

    def unmute(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        if not participant.muted:
            raise NotAllowed(f"member {address} is not muted")
        self._update(participant, mute=False, hold=None, coach_mode=None)
        return self._flush()

    def hangup(self, address: str) -> list[Report]:
        participant = self._live_member(address)
        self._leave(participant, ExitCause.KICKED_OUT)
        return self._flush()

    def voicemail_drop(self, address: str) -> Participant:
        """The member starts hearing the message; the switchboard makes them leave when it ends."""
        participant = self._acting_member(address)
        if participant.state not in ON_THE_LINE:
            raise NotAllowed(f"member {address} has not answered; there is nothing to drop a voicemail on")
        participant.voicemail = True
        return participant

    def resume_call(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        transfer = self._require_transfer()
        if participant.member_id not in (transfer.initiator, transfer.target):
            raise NotAllowed("only the initiator or the target of the warm transfer can resume the call")
        self._finish_transfer()
        return self._flush()

    def abort_transfer(self, address: str) -> list[Report]:
        participant = self._acting_member(address)
        transfer = self._require_transfer()
        if participant.member_id != transfer.initiator:
            raise NotAllowed("only the member who initiated the warm transfer can abort it")
        # The target leaving ends the transfer, which brings the held customers back.
        self._leave(self.member(transfer.target), ExitCause.KICKED_OUT)
        return self._flush()

    # --- call actions (PHLO `multi_party_call/{node_id}`) ------------------------------------

    def add_member(self, trigger_source: str, to: str, role: str) -> tuple[Participant, list[Report]]:
        # Any member on the line may trigger a dial: a waiting customer is how the desk's router
        # brings an agent in (docs/routing.md).
        self._trigger(trigger_source, roles=(AGENT, CUSTOMER))
        return self.dial(to, role, announce=True)

    def warm_transfer(self, trigger_source: str, to: str, role: str) -> tuple[Participant, list[Report]]:
        initiator = self._transfer_trigger(trigger_source, to)
        held = [p for p in self.participants if p.role == CUSTOMER and p.state == CONNECTED]
        for customer in held:
            customer.state = ON_HOLD
            self._report("ParticipantHold", customer)
        target = self._dial(to, role, announce=True)
        self.transfer = WarmTransfer(initiator.member_id, target.member_id, [p.member_id for p in held])
        return target, self._flush()

    def cold_transfer(self, trigger_source: str, to: str, role: str) -> tuple[Participant, list[Report]]:
        initiator = self._transfer_trigger(trigger_source, to)
        target = self._dial(to, role, announce=True)
        self._leave(initiator, ExitCause.TRANSFERRED)
        return target, self._flush()

    # --- the Voice API (Account/{auth_id}/MultiPartyCall/uuid_{mpc_uuid}/…) -------------------

    def add_participant(
        self, role: str, from_: str, to: str, *, coach_mode: bool, mute: bool, hold: bool = False
    ) -> tuple[Participant, list[Report]]:
        """Dial `to` into the call (`Participant/`), muted, coached or held from the start."""
        participant = self._dial(to, role, announce=True, call_from=from_)
        participant.muted = mute
        participant.coach_mode = coach_mode and role == SUPERVISOR  # coach mode is a supervisor's
        participant.hold_on_join = hold
        return participant, self._flush()

    def take_over(self, leg: Participant, role: str) -> tuple[Participant, list[Report]]:
        """A call already up elsewhere is moved into this one (`Participant/` with `call_uuid`)."""
        self._require_live()
        self._require_absent(leg.address)
        participant = self._add(leg.address, role, direction=leg.direction, call_from=leg.call_from,
                                call_to=leg.call_to)
        participant.call_uuid = leg.call_uuid
        self._connect(participant)
        return participant, self._flush()

    def update_participants(
        self, member_ids: list[str] | None, *, mute: bool | None, hold: bool | None, coach_mode: bool | None
    ) -> list[Report]:
        """`Participant/{member_id|id,id|all}/`: each flag given that changes is reported."""
        if member_ids is None and coach_mode is not None:
            raise NotAllowed("cannot specify coach_mode when updating all participants")
        participants = self.voice_members(member_ids)
        for participant in participants:
            if not participant.on_the_line:
                raise NotAllowed(f"participant {participant.member_id} has not joined the multiparty call yet")
            if coach_mode is not None and participant.role != SUPERVISOR:
                raise NotAllowed("coach_mode can be updated only for a participant with the supervisor role")
        for participant in participants:
            self._update(participant, mute=mute, hold=hold, coach_mode=coach_mode)
        return self._flush()

    def remove_participants(self, member_ids: list[str] | None) -> list[Report]:
        """`DELETE Participant/{member_id|id,id|all}/`: they are kicked out."""
        for participant in self.voice_members(member_ids):
            self._leave(participant, ExitCause.KICKED_OUT)
        return self._flush()

    def play(self, member_ids: list[str] | None, url: str) -> list[Participant]:
        """`Member/{member_id|id,id|all}/Play/`: they hear `url` (no callback reports it)."""
        participants = self.voice_members(member_ids)
        for participant in participants:
            participant.playing = url
        return participants

    def stop_playing(self, member_ids: list[str] | None) -> None:
        for participant in self.voice_members(member_ids):
            participant.playing = ""

    def activate(self) -> list[Report]:
        """`POST MultiPartyCall/{id}/` `status=active`: a call still initialized starts now."""
        self._require_live()
        if self.started:
            raise NotAllowed("the multiparty call is already active")
        self._start()
        return self._flush()

    def end(self) -> list[Report]:
        """`DELETE MultiPartyCall/{id}/`: everyone is disconnected, the call ends."""
        self._require_live()
        self._end(TerminationCause.HANGUP_API_TRIGGERED)
        return self._flush()

    def start_recording(
        self, *, recording_id: str, file_format: str, url: str, member_id: str | None = None, resource_url: str = "",
        callback_url: str = "",
    ) -> tuple[Recording, list[Report]]:
        """`Record/` (the whole call) or `Participant/{member_id}/Record/` (one participant's
        voice), into a new file at `url`."""
        self._require_live()
        owner = None if member_id is None else self._voice_member(member_id)
        if owner is None and not self.started:
            raise NotAllowed("the multiparty call has not started yet; there is nothing to record")
        if owner is not None and not owner.on_the_line:
            raise NotAllowed(f"participant {member_id} has not joined the multiparty call yet")
        if (self.recording if owner is None else owner.recording) is not None:
            raise NotAllowed(f"{'the multiparty call' if owner is None else f'participant {member_id}'} "
                             "is already being recorded")
        now = self._clock()
        recording = Recording(recording_id, file_format, url, started_at=now, running_since=now,
                              resource_url=resource_url, callback_url=callback_url)
        if owner is None:
            self.recordings.append(recording)
        else:
            owner.recording = recording
        self._report_recording("Initiated", recording, owner)
        return recording, self._flush()

    def pause_recording(self, member_id: str | None = None) -> list[Report]:
        recording, owner = self._live_recording(member_id)
        if recording.state != RECORDING:
            raise NotAllowed("the recording is already paused")
        now = self._clock()
        recording.recorded_seconds += (now - recording.running_since).total_seconds()
        recording.state, recording.running_since = PAUSED, None
        self._report_recording("Paused", recording, owner)
        return self._flush()

    def resume_recording(self, member_id: str | None = None) -> list[Report]:
        recording, owner = self._live_recording(member_id)
        if recording.state != PAUSED:
            raise NotAllowed("the recording is not paused")
        recording.state, recording.running_since = RECORDING, self._clock()
        self._report_recording("Resumed", recording, owner)
        return self._flush()

    def stop_recording(self, member_id: str | None = None) -> list[Report]:
        self._finish_recording(*self._live_recording(member_id))
        return self._flush()

    # --- rules --------------------------------------------------------------------------------

    def _trigger(self, address: str, *, roles: tuple[str, ...] = (AGENT,)) -> Participant:
        self._require_live()
        participant = self.live_member_at(address)
        if participant is None or participant.role not in roles:
            who = "an agent" if roles == (AGENT,) else "a member"
            raise NotAllowed(f"trigger_source {address} is not {who} on this multiparty call")
        if participant.state not in ON_THE_LINE:
            raise NotAllowed(f"trigger_source {address} has not answered yet")
        return participant

    def _transfer_trigger(self, trigger_source: str, to: str) -> Participant:
        initiator = self._trigger(trigger_source)
        if self.transfer is not None:
            raise NotAllowed("a warm transfer is already in progress on this multiparty call")
        if not any(p.live and p is not initiator for p in self.participants):
            raise NotAllowed("there is no other member on the call to transfer")
        self._require_absent(to)
        return initiator

    def _require_live(self) -> None:
        if self.ended:
            raise NotAllowed("the multiparty call has ended")

    def _require_absent(self, address: str) -> None:
        if self.live_member_at(address) is not None:
            raise NotAllowed(f"{address} is already a member of this multiparty call")

    def _require_transfer(self) -> WarmTransfer:
        if self.transfer is None:
            raise NotAllowed("no warm transfer is in progress on this multiparty call")
        return self.transfer

    def _voice_member(self, member_id: str) -> Participant:
        self._require_live()
        participant = self.find_member(member_id)
        if not participant.live:
            raise NotAllowed(f"participant {member_id} has already left the multiparty call")
        return participant

    def _live_recording(self, member_id: str | None) -> tuple[Recording, Participant | None]:
        """The recording running or paused: the call's, or (`member_id`) that participant's."""
        self._require_live()
        owner = None if member_id is None else self._voice_member(member_id)
        recording = self.recording if owner is None else owner.recording
        if recording is None:
            raise NotAllowed(f"{'the multiparty call' if owner is None else f'participant {member_id}'} "
                             "is not being recorded")
        return recording, owner

    def _live_member(self, address: str) -> Participant:
        self._require_live()
        participant = self.live_member_at(address)
        if participant is None:
            raise NotAllowed(f"{address} is not a member of this multiparty call")
        return participant

    def _acting_member(self, address: str) -> Participant:
        """A member an action other than hangup is about: not one who is leaving after a voicemail."""
        participant = self._live_member(address)
        if participant.voicemail:
            raise NotAllowed(f"member {address} is hearing a voicemail drop and will leave")
        return participant

    # --- changes ------------------------------------------------------------------------------

    def _dial(self, address: str, role: str, *, announce: bool, call_from: str = "") -> Participant:
        self._require_live()
        self._require_absent(address)
        participant = self._add(
            address, role, direction="outbound", call_from=call_from or self.caller_id, call_to=address
        )
        if announce:
            participant.announced = True
            self._report("AddParticipantByAPIActionInitiated", participant)
        return participant

    def _add(self, address: str, role: str, **leg: str) -> Participant:
        participant = Participant(member_id=str(next(self._member_ids)), address=address, role=role, **leg)
        self.participants.append(participant)
        return participant

    def _connect(self, participant: Participant) -> None:
        participant.state = CONNECTED
        participant.announced = True
        participant.joined_at = self._clock()
        if participant.role in AGENTS and not self.started:
            self._start()  # the conference starts when its first agent enters
        self._report("ParticipantJoin", participant)
        if participant.hold_on_join:
            participant.state = ON_HOLD
            self._report("ParticipantHold", participant)

    def _start(self) -> None:
        self.started, self.started_at = True, self._clock()
        self._report("MPCStart")

    def _update(self, participant: Participant, *, mute: bool | None, hold: bool | None,
                coach_mode: bool | None) -> None:
        if mute is not None and mute != participant.muted:
            participant.muted = mute
            self._report("ParticipantMute" if mute else "ParticipantUnmute", participant)
        if coach_mode is not None and coach_mode != participant.coach_mode:
            participant.coach_mode = coach_mode
            self._report("ParticipantCoachModeStart" if coach_mode else "ParticipantCoachModeStop", participant,
                         ParticipantCoachMode=str(coach_mode).lower())
        if hold is True and participant.state == CONNECTED:
            participant.state = ON_HOLD
            self._report("ParticipantHold", participant)
        elif hold is False and participant.state == ON_HOLD:
            self._unhold(participant)

    def _unhold(self, participant: Participant) -> None:
        participant.state = CONNECTED
        if self.transfer is not None and participant.member_id in self.transfer.held:
            self.transfer.held.remove(participant.member_id)
        self._report("ParticipantUnhold", participant)

    def _finish_transfer(self) -> None:
        held = self.transfer.held if self.transfer else []
        for customer in [self.member(member_id) for member_id in held]:
            if customer.state == ON_HOLD:
                self._unhold(customer)
        self.transfer = None

    def _leave(self, participant: Participant, cause: ExitCause) -> None:
        if not participant.live:
            return
        was_on_the_line = participant.on_the_line
        self._gone(participant, cause)
        live = [p for p in self.participants if p.live]
        # The call ends with its last customer, or with its last agent once one had been on it: a
        # customer waits on alone while the phones of agents dialled in ring and fail.
        agent_gone = was_on_the_line and participant.role in AGENTS and not any(p.role in AGENTS for p in live)
        if agent_gone or not any(p.role == CUSTOMER for p in live):
            self._end(TerminationCause.STAY_ALONE_NOT_PERMITTED if live else TerminationCause.NO_ACTIVE_PARTICIPANTS)
        elif self.transfer and participant.member_id in (self.transfer.initiator, self.transfer.target):
            self._finish_transfer()

    def _gone(self, participant: Participant, cause: ExitCause) -> None:
        """The participant is off the call: their own recording is closed, their exit reported."""
        if participant.recording is not None:
            self._finish_recording(participant.recording, participant)
        participant.state, participant.left_at, participant.exit_cause = LEFT, self._clock(), cause
        participant.voicemail, participant.playing = False, ""
        if participant.announced:
            self._report("ParticipantExit", participant, ParticipantExitCause=cause)

    def _finish_recording(self, recording: Recording, owner: Participant | None = None) -> None:
        now = self._clock()
        if recording.running_since is not None:
            recording.recorded_seconds += (now - recording.running_since).total_seconds()
        recording.state, recording.running_since, recording.ended_at = COMPLETED, None, now
        if owner is not None:
            owner.recording = None
        self._report_recording("Completed", recording, owner)

    def _end(self, cause: TerminationCause) -> None:
        if self.recording is not None:
            self._finish_recording(self.recording)  # the file is closed when the call ends
        self.transfer = None
        self.ended, self.ended_at, self.termination_cause = True, self._clock(), cause
        for participant in self.participants:
            if participant.live:
                self._gone(participant, ExitCause.CALL_ENDED)
        self._report("MPCEnd", MPCTerminationCause=cause, MPCTerminationCauseCode=str(cause.code))

    def _report(self, event_name: str, participant: Participant | None = None, *, callback_url: str = "",
                **extra: str) -> None:
        copy = replace(participant) if participant is not None else None
        self._reports.append(Report(event_name, next(self._sequence), copy, tuple(extra.items()), callback_url))

    def _report_recording(self, stage: str, recording: Recording, owner: Participant | None = None) -> None:
        """MPCRecording{stage} for the call's recording, ParticipantRecording{stage} for a participant's."""
        event_name = f"{'MPC' if owner is None else 'Participant'}Recording{stage}"
        self._report(event_name, owner, callback_url=recording.callback_url,
                     **recording.params(self._clock(), self.tz))

    def _flush(self) -> list[Report]:
        reports, self._reports = self._reports, []
        return reports


def _words(state: str) -> str:
    return state.replace("_", " ")
