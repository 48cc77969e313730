"""Plivo's words, in one place: the PHLO multiparty-call actions, the participant roles, and what
Plivo says when a participant leaves or a multiparty call ends.

The desk's own vocabulary (call and member states, its API's action names) is in
calls/core/vocabulary.py and maps onto these.
"""

from __future__ import annotations

from enum import StrEnum


class NodeAction(StrEnum):
    """`POST /phlo/{phlo_id}/multi_party_call/{node_id}/` `{"action": …}`."""

    CALL = "call"
    WARM_TRANSFER = "warm_transfer"
    COLD_TRANSFER = "cold_transfer"


class MemberAction(StrEnum):
    """`POST …/multi_party_call/{node_id}/members/{member_address}/` `{"action": …}`."""

    HOLD = "hold"
    UNHOLD = "unhold"
    HANGUP = "hangup"
    RESUME_CALL = "resume_call"
    ABORT_TRANSFER = "abort_transfer"
    VOICEMAIL_DROP = "voicemail_drop"
    # The official SDK's Member also sends these (plivo/resources/nodes.py); the desk mutes through
    # the Voice API instead (phlo/voice_api.py).
    MUTE = "mute"
    UNMUTE = "unmute"


class Role(StrEnum):
    """A participant's role as the Voice API takes it (`role`, any case); callbacks write it
    capitalised (`ParticipantRole=Agent`, `AI-Agent`)."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SUPERVISOR = "supervisor"
    AI_AGENT = "ai-agent"  # an AI agent on a WebSocket stream (https://www.plivo.com/docs/voice/xml/multiparty-call)

    @property
    def callback_name(self) -> str:
        return "AI-Agent" if self is Role.AI_AGENT else self.value.capitalize()

    @property
    def on_the_desk(self) -> Role:
        """The role the desk gives such a participant: an AI agent serves the customer as an agent does."""
        return Role.AGENT if self is Role.AI_AGENT else self


# The roles PHLO's `call`, `warm_transfer` and `cold_transfer` dial a member in as.
DIALLED_ROLES = (Role.AGENT, Role.CUSTOMER)


class ExitCause(StrEnum):
    """`ParticipantExitCause` of `ParticipantExit`, and a participant's `exit_cause`
    (https://www.plivo.com/docs/voice/api/multiparty-call/participants/the-participant-object/)."""

    HANGUP = "Participant Call Hangup"
    KICKED_OUT = "Kicked Out of Multiparty Call"
    CALL_ENDED = "Multiparty Call Ended"
    TRANSFERRED = "Participant Call Transferred"


class TerminationCause(StrEnum):
    """`MPCTerminationCause` of `MPCEnd` and a multiparty call's `termination_cause`; `code` is its
    `MPCTerminationCauseCode` (https://www.plivo.com/docs/voice/api/multiparty-call/retrieve-all-multiparty-calls/)."""

    NO_ACTIVE_PARTICIPANTS = "No Active Participants"
    STAY_ALONE_NOT_PERMITTED = "Stay Alone Not Permitted"
    MAX_DURATION_REACHED = "Max Duration Reached"
    HANGUP_API_TRIGGERED = "Hangup API Triggered"

    @property
    def code(self) -> int:
        return {"No Active Participants": 1000, "Stay Alone Not Permitted": 1010, "Max Duration Reached": 2000,
                "Hangup API Triggered": 3000}[self.value]
