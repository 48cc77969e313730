"""Plivo's words, in one place: the PHLO multiparty-call actions and the participant roles.

The desk's own vocabulary (call and member states, its API's action names) is in
calls/core/vocabulary.py and maps onto these.
"""

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
    """A participant's role (`ParticipantRole` in callbacks, capitalised there: `Agent`)."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SUPERVISOR = "supervisor"

    @property
    def callback_name(self) -> str:
        return self.value.capitalize()


# The roles PHLO's `call`, `warm_transfer` and `cold_transfer` dial a member in as.
DIALLED_ROLES = (Role.AGENT, Role.CUSTOMER)
