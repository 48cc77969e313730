"""Plivo's words, in one place: the PHLO multiparty-call actions and the participant roles.

The desk's own vocabulary (call and member states, its API's action names) is in
calls/vocabulary.py and maps onto these.
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
