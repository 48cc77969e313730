"""The PHLO API, async: one method per PHLO request (https://www.plivo.com/docs/phlo/api/).

Paths and bodies as the official SDK builds them (plivo/resources/phlos.py, nodes.py), trailing
slashes and raw member addresses included (tests/test_plivo_sdk_conformance.py compares the
bytes). Transport, errors and logging are `phlo.http`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from phlo.http import Api, Reply, address_segment, segment, send
from phlo.vocabulary import DIALLED_ROLES, MemberAction, NodeAction


@dataclass(frozen=True)
class PhloApi(Api):
    """One PHLO with a multiparty-call node, as the desk reaches it."""

    NAME = "PHLO"
    phlo_id: str
    node_id: str = ""

    async def run(self, payload: dict) -> Reply:
        """Run the PHLO; for a multiparty-call PHLO the payload carries `from` and `to`. `api_id` is the run ID."""
        path = f"/account/{segment(self.credentials.auth_id)}/phlo/{segment(self.phlo_id)}/"
        return await send(self.upstream, "POST", path, payload, action="run")

    async def get_phlo(self) -> Reply:
        return await send(self.upstream, "GET", f"/phlo/{segment(self.phlo_id)}/", action="get_phlo")

    async def get_node(self) -> Reply:
        return await send(self.upstream, "GET", self._node_path, action="get_node")

    async def get_run(self, run_id: str) -> Reply:
        path = f"/phlo/{segment(self.phlo_id)}/runs/{segment(run_id)}/"
        return await send(self.upstream, "GET", path, action="get_run")

    async def node_action(
        self, action: NodeAction | str, *, trigger_source: str, to: str, role: str = "agent"
    ) -> Reply:
        """`call` (add a member), `warm_transfer` or `cold_transfer`, on behalf of the agent at `trigger_source`."""
        action = NodeAction(action)
        if role not in DIALLED_ROLES:
            raise ValueError(f"unknown role {role!r}")
        payload = {"action": action.value, "trigger_source": trigger_source, "to": to, "role": role}
        return await send(self.upstream, "POST", self._node_path, payload, action=action.value)

    async def member_action(self, action: MemberAction | str, *, member_address: str) -> Reply:
        """hold, unhold, hangup, resume_call, abort_transfer or voicemail_drop one member, by address
        (in the path raw, as the SDK sends it: `members/+14155550100/`, `members/sip:bob@example.com/`)."""
        action = MemberAction(action)
        path = f"{self._node_path}members/{address_segment(member_address)}/"
        return await send(self.upstream, "POST", path, {"action": action.value}, action=action.value)

    @property
    def _node_path(self) -> str:
        return f"/phlo/{segment(self.phlo_id)}/multi_party_call/{segment(self.node_id)}/"
