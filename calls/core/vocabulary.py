"""The desk's words for calls, in one place: the models' choices, the state machine's states, the
API's action names (and the PHLO actions they become), and what the pages show (`for_pages`)."""

from django.db import models

from phlo.vocabulary import MemberAction as PhloMemberAction
from phlo.vocabulary import NodeAction, Role


class CallStatus(models.TextChoices):
    RINGING = "ringing", "Ringing"
    WAITING = "waiting", "Waiting for an agent"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", "Inbound"  # a customer called in
    OUTBOUND = "outbound", "Outbound"  # an agent placed it (POST /api/calls/): never queued


class CallOutcome(models.TextChoices):
    """Decided once: answered (an agent joined), abandoned (the customer left waiting), outbound."""

    ANSWERED = "answered", "Answered"
    ABANDONED = "abandoned", "Abandoned"
    OUTBOUND = "outbound", "Outbound"


class HistoryOutcome(models.TextChoices):
    """What the history can be narrowed to (docs/history.md): the call's outcome, or that an
    offered agent missed it, or that it was transferred (either may also be answered)."""

    ANSWERED = "answered", "Answered"
    ABANDONED = "abandoned", "Abandoned"
    MISSED = "missed", "Missed by an agent"
    TRANSFERRED = "transferred", "Transferred"
    OUTBOUND = "outbound", "Outbound"


class RecordingState(models.TextChoices):
    RECORDING = "recording", "Recording"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class MonitorMode(models.TextChoices):
    """How a supervisor is on a call: listen (muted, heard by nobody), whisper (coach: heard by the
    agents only), barge (heard by everyone)."""

    LISTEN = "listen", "Listening"
    WHISPER = "whisper", "Whispering"
    BARGE = "barge", "Barged in"

    @property
    def coach_mode(self) -> bool:
        return self != MonitorMode.BARGE

    @property
    def muted(self) -> bool:
        return self == MonitorMode.LISTEN

    @classmethod
    def of(cls, *, coach_mode: bool, muted: bool) -> "MonitorMode":
        if not coach_mode:
            return cls.BARGE
        return cls.LISTEN if muted else cls.WHISPER


class JoinedVia(models.TextChoices):
    """How a member came to be on the call (the desk shows "Transferred from Alice")."""

    UNKNOWN = "", "—"
    INBOUND = "inbound", "Called in"
    OUTBOUND = "outbound", "Dialled by the PHLO run"
    ROUTED = "routed", "Offered by the router"
    ADDED = "added", "Added"
    WARM_TRANSFER = "warm_transfer", "Warm transfer"
    COLD_TRANSFER = "cold_transfer", "Cold transfer"
    MONITOR = "monitor", "Supervisor monitoring"


class MemberState(models.TextChoices):
    DIALING = "dialing", "Dialing"
    RINGING = "ringing", "Ringing"
    CONNECTED = "connected", "Connected"
    ON_HOLD = "on_hold", "On hold"
    IN_TRANSFER = "in_transfer", "In transfer"
    LEFT = "left", "Left"


class MemberRole(models.TextChoices):
    AGENT = Role.AGENT.value, "Agent"
    CUSTOMER = Role.CUSTOMER.value, "Customer"
    SUPERVISOR = Role.SUPERVISOR.value, "Supervisor"


class TransferRole(models.TextChoices):
    NONE = "", "—"
    INITIATOR = "initiator", "Transfer initiator"
    TARGET = "target", "Transfer target"


LIVE_CALL_STATUSES = (CallStatus.RINGING, CallStatus.WAITING, CallStatus.ACTIVE)
OFFER_ACTION = "offer"  # the Action rows of the queue's offers (no actor: the desk itself)
# A call only moves forward (waiting is beside ringing: a customer alone in the call, before an agent).
CALL_ORDER = {CallStatus.RINGING: 0, CallStatus.WAITING: 0, CallStatus.ACTIVE: 1, CallStatus.ENDED: 2}
LIVE_MEMBER_STATES = (
    MemberState.DIALING, MemberState.RINGING, MemberState.CONNECTED, MemberState.ON_HOLD, MemberState.IN_TRANSFER,
)
# On the line: answered and not gone (the agent is busy).
ON_THE_LINE = (MemberState.CONNECTED, MemberState.ON_HOLD, MemberState.IN_TRANSFER)


class CallAction(models.TextChoices):
    """`POST /api/calls/{id}/{action}/`: a member is dialled into the call."""

    ADD_MEMBER = "add-member", "Add member"
    WARM_TRANSFER = "warm-transfer", "Warm transfer"
    COLD_TRANSFER = "cold-transfer", "Cold transfer"

    @property
    def phlo(self) -> NodeAction:
        return {"add-member": NodeAction.CALL}.get(self.value) or NodeAction(self.value.replace("-", "_"))


class MemberAction(models.TextChoices):
    """`POST /api/calls/{id}/members/{member_id}/{action}/`."""

    HOLD = "hold", "Hold"
    UNHOLD = "unhold", "Unhold"
    HANGUP = "hangup", "Hang up"
    RESUME_CALL = "resume-call", "Resume call"
    ABORT_TRANSFER = "abort-transfer", "Abort transfer"
    VOICEMAIL_DROP = "voicemail-drop", "Voicemail drop"

    @property
    def phlo(self) -> PhloMemberAction:
        return PhloMemberAction(self.value.replace("-", "_"))


class TransferAction(models.TextChoices):
    """`POST /api/calls/{id}/complete-transfer/`: the initiator hands the call over and leaves
    (PHLO `resume_call`, then `hangup` of their own leg). `members/{id}/resume-call/` alone keeps
    all three on the call."""

    COMPLETE = "complete-transfer", "Complete transfer"


class VoiceAction(models.TextChoices):
    """Actions through Plivo's Voice API (phlo/voice_api.py), by the name an Action records."""

    MONITOR = "monitor", "Monitor"  # POST /api/calls/{id}/monitor/ {"mode"}
    STOP_MONITOR = "monitor-stop", "Stop monitoring"  # POST /api/calls/{id}/monitor/stop/
    MUTE = "mute", "Mute"  # POST /api/calls/{id}/members/{member_id}/mute/
    UNMUTE = "unmute", "Unmute"
    START_RECORDING = "recording-start", "Start recording"  # POST /api/calls/{id}/recording/start/
    PAUSE_RECORDING = "recording-pause", "Pause recording"
    RESUME_RECORDING = "recording-resume", "Resume recording"
    STOP_RECORDING = "recording-stop", "Stop recording"

    @property
    def recording_step(self) -> str:
        """The last segment of a recording action's path (`start`, `pause`, …); empty for the others."""
        return self.value.removeprefix("recording-") if self.value.startswith("recording-") else ""


MUTE_ACTIONS = (VoiceAction.MUTE, VoiceAction.UNMUTE)
RECORDING_ACTIONS = (
    VoiceAction.START_RECORDING, VoiceAction.PAUSE_RECORDING, VoiceAction.RESUME_RECORDING, VoiceAction.STOP_RECORDING,
)


def for_pages() -> dict:
    """The labels the browser shows, handed to the pages once (static/pages/js/format.js)."""
    return {
        "call_statuses": dict(CallStatus.choices),
        "member_states": dict(MemberState.choices),
        "roles": dict(MemberRole.choices),
        "monitor_modes": dict(MonitorMode.choices),
        "recording_states": dict(RecordingState.choices),
        "outcomes": dict(CallOutcome.choices),
        "history_outcomes": dict(HistoryOutcome.choices),
    }
