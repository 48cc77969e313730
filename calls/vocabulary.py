"""The desk's words for calls, in one place: the models' choices, the state machine's states, the
API's action names (and the PHLO actions they become), and what the pages show (`for_pages`)."""

from django.db import models

from phlo.vocabulary import MemberAction as PhloMemberAction
from phlo.vocabulary import NodeAction, Role


class CallStatus(models.TextChoices):
    RINGING = "ringing", "Ringing"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


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


LIVE_CALL_STATUSES = (CallStatus.RINGING, CallStatus.ACTIVE)
# A call only moves forward.
CALL_ORDER = {CallStatus.RINGING: 0, CallStatus.ACTIVE: 1, CallStatus.ENDED: 2}
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


def for_pages() -> dict:
    """The labels the browser shows, handed to the pages once (static/pages/js/format.js)."""
    return {
        "call_statuses": dict(CallStatus.choices),
        "member_states": dict(MemberState.choices),
        "roles": dict(MemberRole.choices),
    }
