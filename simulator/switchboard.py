"""The simulated PHLO runner: every live multiparty call, the runs that started them, and time.

The HTTP app asks it to run a PHLO or to act on a call; traffic asks it to put customers
through. It finds the call a PHLO action is about the way PHLO does (by the agent's or member's
address: an agent is in at most one live call of a node), and a Voice API request's by its MPC
UUID or friendly name (`uuid_…`, `name_…`); applies the action to the pure model, schedules what
happens later (a dialled leg answers after ringing, a voicemail drop ends), and hands every
reported event, timestamped, to the courier.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from phlo.vocabulary import ExitCause
from simulator.callbacks import Courier
from simulator.directory import Phlo
from simulator.events import callback_params
from simulator.model import AGENT, CUSTOMER, RINGING, MultiPartyCall, NotAllowed, Participant, Recording, Report
from simulator.phones import Answer, Phones

DEFAULT_CALLER_ID = "+18005550100"  # the PHLO's own number: what it dials out from, what customers call
RUNS_KEPT = 10_000
ENDED_CALLS_KEPT = 200
RECORDINGS_KEPT = 1_000


class NotFound(Exception):
    """No such call, member or run (the PHLO API's 404)."""


@dataclass(frozen=True)
class Timing:
    ring_seconds: tuple[float, float] = (0.3, 1.0)  # how long a dialled leg rings before answering
    voicemail_seconds: float = 1.5  # how long a dropped voicemail plays before the member leaves
    no_answer_seconds: float = 45.0  # how long Plivo lets a phone ring that nobody answers (ring_timeout)
    reject_seconds: float = 0.2  # how soon a phone that rejects the call does


@dataclass
class Run:
    run_id: str
    phlo_id: str
    call: MultiPartyCall

    @property
    def call_uuids(self) -> list[str]:
        return [p.call_uuid for p in self.call.participants]


class Switchboard:
    def __init__(
        self,
        *,
        courier: Courier,
        timing: Timing = Timing(),
        rng: random.Random | None = None,
        caller_id: str = DEFAULT_CALLER_ID,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tz: tzinfo = UTC,
    ):
        self.timing = timing
        self.tz = tz  # the account's time zone: Plivo writes every time with its UTC offset
        self.phones = Phones()
        self.caller_id = caller_id
        self._courier = courier
        self._rng = rng or random.Random()
        self._clock = clock
        self._live: dict[str, MultiPartyCall] = {}  # by MPC UUID, oldest first
        self._phlo_of: dict[str, Phlo] = {}
        self._ended: deque[MultiPartyCall] = deque(maxlen=ENDED_CALLS_KEPT)
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._timers: dict[str, set[asyncio.TimerHandle]] = {}
        self._numbering = itertools.count(1)
        self.recordings: OrderedDict[str, Recording] = OrderedDict()  # by recording ID, what /_sim/recordings serves
        # Where the recordings are served, and the Voice API (the simulator's own origin, known once it listens).
        self.recording_base_url = "http://127.0.0.1/_sim/recordings"
        self.api_base_url = "http://127.0.0.1/v1"
        self.recording_owners: dict[str, tuple[str, str]] = {}  # recording ID → (auth ID, call UUID)

    # --- what the PHLO API does ---------------------------------------------------------------

    def run_phlo(self, phlo: Phlo, *, agent: str, customer: str) -> Run:
        """The multiparty PHLO's outbound flow: dial the agent (`from`); once they answer, dial the
        customer (`to`) into the same call."""
        self._require_free(phlo, agent)
        run_id = str(uuid.uuid4())
        call = self._open(phlo, run_id=run_id)
        run = self._runs[run_id] = Run(run_id, phlo.phlo_id, call)
        while len(self._runs) > RUNS_KEPT:
            self._runs.popitem(last=False)
        agent_leg, reports = call.dial(agent, AGENT, announce=False)
        self._report(call, reports)
        self._ring(call, agent_leg, then=lambda: self._dial_customer(call, customer))
        return run

    def find_run(self, phlo: Phlo, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None or run.phlo_id != phlo.phlo_id:
            raise NotFound(f"PHLO run {run_id} not found")
        return run

    def call_action(self, phlo: Phlo, action: str, *, trigger_source: str, to: str, role: str) -> Participant:
        """`call` (add a member), `warm_transfer` or `cold_transfer`, on the trigger's call."""
        call, _ = self._call_with_member(phlo, trigger_source)
        if role == AGENT:
            self._require_free(phlo, to, besides=call)
        operation = {"call": call.add_member, "warm_transfer": call.warm_transfer,
                     "cold_transfer": call.cold_transfer}[action]
        dialled, reports = operation(trigger_source, to, role)
        self._report(call, reports)
        self._ring(call, dialled)
        return dialled

    def member_action(self, phlo: Phlo, action: str, *, member_address: str) -> None:
        call, _ = self._call_with_member(phlo, member_address)
        if action == "voicemail_drop":
            member = call.voicemail_drop(member_address)
            self._later(call, self.timing.voicemail_seconds, lambda: self.hang_up(call, member))
            return
        operation = {"hold": call.hold, "unhold": call.unhold, "hangup": call.hangup, "resume_call": call.resume_call,
                     "abort_transfer": call.abort_transfer, "mute": call.mute, "unmute": call.unmute}[action]
        self._report(call, operation(member_address))

    # --- what the Voice API does --------------------------------------------------------------

    def find_call(self, phlo_owner: Callable[[Phlo], bool], mpc_id: str, *, ended_too: bool = False) -> MultiPartyCall:
        """A call by `uuid_{MPC UUID}` or `name_{friendly name}`, if it belongs to a PHLO of the
        account asking; a live one unless `ended_too` (reading)."""
        kind, _, wanted = mpc_id.partition("_")
        calls = [*self._live.values(), *(reversed(self._ended) if ended_too else ())]
        if kind == "uuid":
            call = next((c for c in calls if c.mpc_uuid == wanted), None)
        elif kind == "name":
            call = next((c for c in calls if c.name == wanted), None)
        else:
            call = None
        if call is None or not phlo_owner(self.phlo_of(call)):
            raise NotFound(f"multiparty call {mpc_id} not found")
        return call

    def calls_of(self, phlo_owner: Callable[[Phlo], bool]) -> list[MultiPartyCall]:
        """The account's calls, live and ended (as far as the simulator keeps them), newest first."""
        calls = [*self._ended, *self._live.values()]
        calls.sort(key=lambda call: call.created_at, reverse=True)
        return [call for call in calls if phlo_owner(self.phlo_of(call))]

    def phlo_of(self, call: MultiPartyCall) -> Phlo:
        return self._phlo_of[call.mpc_uuid]

    def open_call(self, phlo: Phlo, name: str) -> MultiPartyCall:
        """A new multiparty call by friendly name (the Voice API's `name_…` of no live call)."""
        return self._open(phlo, name=name)

    def add_participant(
        self, call: MultiPartyCall, *, role: str, from_: str, to: list[str], coach_mode: bool, mute: bool,
        hold: bool = False,
    ) -> tuple[Participant, list[dict]]:
        """Dial `to` into the call; with several destinations (agents only), they ring together and
        the first to answer joins: the simulator picks it at once (the first whose phone answers)
        and the others' legs are dropped unreported. Returns the participant and the `calls` of
        Plivo's answer, one per destination."""
        phones = [self.phones.get(address) for address in to]
        winner = next((a for a, phone in zip(to, phones, strict=True)
                       if phone.answer not in (Answer.REJECT, Answer.NEVER)), to[0])
        if role == AGENT:
            self._require_free(self.phlo_of(call), winner, besides=call)
        dialled, reports = call.add_participant(role, from_, winner, coach_mode=coach_mode, mute=mute, hold=hold)
        self._report(call, reports)
        self._ring(call, dialled)
        legs = [{"to": address, "from": from_, "call_uuid": dialled.call_uuid if address == winner else
                 str(uuid.uuid4())} for address in to]
        return dialled, legs

    def take_over(self, call: MultiPartyCall, call_uuid: str, *, role: str) -> Participant:
        """Move a call that is up in another multiparty call of the account into this one."""
        owner = self.phlo_of(call).owned_by
        for other in list(self._live.values()):
            leg = next((p for p in other.participants if p.call_uuid == call_uuid and p.on_the_line), None)
            if other is not call and leg is not None and owner(self.phlo_of(other).auth_id):
                moved, reports = call.take_over(leg, role)  # refused before the leg leaves its call
                self._report(other, other.leave(leg.member_id, ExitCause.TRANSFERRED))
                self._report(call, reports)
                return moved
        raise NotFound(f"call {call_uuid} not found")

    def update_participants(self, call: MultiPartyCall, member_ids: list[str] | None, **flags: bool | None) -> None:
        self._report(call, call.update_participants(member_ids, **flags))

    def remove_participants(self, call: MultiPartyCall, member_ids: list[str] | None) -> None:
        self._report(call, call.remove_participants(member_ids))

    def activate(self, call: MultiPartyCall) -> None:
        self._report(call, call.activate())

    def end(self, call: MultiPartyCall) -> None:
        self._report(call, call.end())

    def start_recording(
        self, call: MultiPartyCall, *, file_format: str, member_id: str | None = None, callback_url: str = ""
    ) -> Recording:
        """The call's recording, or (`member_id`) one participant's."""
        recording_id = str(uuid.uuid4())
        auth_id = self.phlo_of(call).auth_id
        recording, reports = call.start_recording(
            recording_id=recording_id, file_format=file_format, member_id=member_id, callback_url=callback_url,
            url=f"{self.recording_base_url}/{recording_id}.{file_format}",
            resource_url=f"{self.api_base_url}/Account/{auth_id}/Recording/{recording_id}/",
        )
        self.recordings[recording_id] = recording
        self.recording_owners[recording_id] = (auth_id, call.mpc_uuid)
        while len(self.recordings) > RECORDINGS_KEPT:
            forgotten, _ = self.recordings.popitem(last=False)
            self.recording_owners.pop(forgotten, None)
        self._report(call, reports)
        return recording

    def recording_step(self, call: MultiPartyCall, step: str, member_id: str | None = None) -> None:
        """pause, resume or stop the call's recording, or (`member_id`) a participant's."""
        operation = {"pause": call.pause_recording, "resume": call.resume_recording, "stop": call.stop_recording}
        self._report(call, operation[step](member_id))

    # --- what simulated customers do ----------------------------------------------------------

    def call_in(self, phlo: Phlo, *, customer: str, dialled: str = "") -> tuple[MultiPartyCall, Participant]:
        """A customer calls the PHLO's number (or `dialled`) and waits in a new call for an agent."""
        call = self._open(phlo)
        participant, reports = call.join_inbound(customer, CUSTOMER, dialled=dialled)
        self._report(call, reports)
        return call, participant

    def hang_up(self, call: MultiPartyCall, participant: Participant) -> None:
        """They hang up their phone (or it never answered, or a voicemail drop ended)."""
        self._report(call, call.leave(participant.member_id))

    # --- looking -----------------------------------------------------------------------------

    def calls_as_dicts(self) -> dict:
        return {
            "live": [call.as_dict() for call in self._live.values()],
            "ended": [call.as_dict() for call in self._ended],
        }

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        for handles in self._timers.values():
            for handle in handles:
                handle.cancel()
        self._timers.clear()

    # --- inside ------------------------------------------------------------------------------

    def _open(self, phlo: Phlo, *, run_id: str = "", name: str = "") -> MultiPartyCall:
        call = MultiPartyCall(
            phlo_id=phlo.phlo_id, node_id=phlo.node_id, name=name or f"{phlo.name} call {next(self._numbering)}",
            caller_id=self.caller_id, run_id=run_id, clock=self._clock, tz=self.tz,
        )
        self._live[call.mpc_uuid] = call
        self._phlo_of[call.mpc_uuid] = phlo
        self._report(call, call.initialize())
        return call

    def _calls_of(self, phlo: Phlo) -> list[MultiPartyCall]:
        return [c for c in self._live.values() if c.phlo_id == phlo.phlo_id and c.node_id == phlo.node_id]

    def _call_with_member(self, phlo: Phlo, address: str) -> tuple[MultiPartyCall, Participant]:
        for call in reversed(self._calls_of(phlo)):
            member = call.live_member_at(address)
            if member is not None:
                return call, member
        raise NotFound(f"member {address} not found in any live multiparty call of this node")

    def _require_free(self, phlo: Phlo, agent: str, *, besides: MultiPartyCall | None = None) -> None:
        """An agent is in at most one live call of a node: that is how PHLO finds their call."""
        for call in self._calls_of(phlo):
            if call is not besides and call.live_member_at(agent) is not None:
                raise NotAllowed(f"{agent} is busy in another multiparty call of this node")

    def _dial_customer(self, call: MultiPartyCall, customer: str) -> None:
        if call.ended:
            return
        try:
            leg, reports = call.dial(customer, CUSTOMER, announce=False)
        except NotAllowed:
            return  # the agent added them by hand meanwhile
        self._report(call, reports)
        self._ring(call, leg)

    def _ring(self, call: MultiPartyCall, leg: Participant, then: Callable[[], None] | None = None) -> None:
        """The dialled phone rings, then answers, or not, as `phones` says for its address."""
        phone = self.phones.get(leg.address)

        def answer() -> None:
            self._report(call, call.answer(leg.member_id))
            if then is not None and leg.live:
                then()

        def fail() -> None:
            if leg.state == RINGING:
                self.hang_up(call, leg)

        if phone.answer == Answer.REJECT:
            self._later(call, phone.after if phone.after is not None else self.timing.reject_seconds, fail)
        elif phone.answer == Answer.NEVER:
            self._later(call, phone.after if phone.after is not None else self.timing.no_answer_seconds, fail)
        elif phone.answer == Answer.LATE and phone.after is not None:
            self._later(call, phone.after, answer)
        else:
            self._later(call, self._rng.uniform(*self.timing.ring_seconds), answer)

    def _later(self, call: MultiPartyCall, delay: float, action: Callable[[], None]) -> None:
        handles = self._timers.setdefault(call.mpc_uuid, set())

        def fire() -> None:
            handles.discard(handle)
            if not call.ended:
                action()

        handle = asyncio.get_running_loop().call_later(delay, fire)
        handles.add(handle)

    def _report(self, call: MultiPartyCall, reports: list[Report]) -> None:
        if not reports:
            return
        phlo = self._phlo_of[call.mpc_uuid]
        at = self._clock()
        for report in reports:
            self._courier.send(phlo, call.mpc_uuid, callback_params(call, report, at=at), url=report.callback_url)
        if call.ended and call.mpc_uuid in self._live:
            self._retire(call)

    def _retire(self, call: MultiPartyCall) -> None:
        """An ended call is kept a while (the Voice API still reads it), with its PHLO."""
        del self._live[call.mpc_uuid]
        if len(self._ended) == self._ended.maxlen:
            del self._phlo_of[self._ended.popleft().mpc_uuid]
        self._ended.append(call)
        for handle in self._timers.pop(call.mpc_uuid, ()):
            handle.cancel()
        self._courier.finish(call.mpc_uuid)
