"""Plivo's Voice API for one multiparty call, async: add, update and remove a participant, and
record the call (https://www.plivo.com/docs/voice/api/multiparty-call/).

The call is addressed by its MPC UUID (`uuid_{mpc_uuid}`), a participant by its MemberID, as
Plivo's callbacks name them. Paths as the official SDK builds them
(plivo/resources/multipartycall.py), trailing slashes included; JSON bodies, which the Voice API
takes as it takes form fields, carrying what the SDK sends for the same action except the
parameters whose value is Plivo's default (tests/test_plivo_sdk_conformance.py holds it so).
Transport, errors and logging are `phlo.http`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from phlo.http import Api, Reply, segment, send
from phlo.vocabulary import Role

RECORDING_FORMAT = "mp3"  # Plivo's default; the smaller file


@dataclass(frozen=True)
class VoiceApi(Api):
    """One multiparty call as the desk reaches it through the Voice API."""

    NAME = "Plivo Voice API"
    mpc_uuid: str
    # Where Plivo sends the recording events; empty: where the multiparty call sends its others.
    recording_callback_url: str = ""

    async def add_participant(self, *, role: Role | str, from_: str, to: str, coach_mode: bool, mute: bool) -> Reply:
        """Dial `to` into the call from `from_`. `coach_mode`: heard by the agents only (a
        supervisor's); `mute`: heard by nobody."""
        payload = {"role": Role(role).value, "from": from_, "to": to, "coach_mode": coach_mode, "mute": mute}
        return await send(self.upstream, "POST", self._path("Participant"), payload, action="add_participant")

    async def update_participant(
        self, member_id: str, *, mute: bool | None = None, hold: bool | None = None, coach_mode: bool | None = None
    ) -> Reply:
        """Change what is given of `mute`, `hold` and `coach_mode` (at least one, as Plivo requires)."""
        # In the SDK's order (update_participant's arguments), so the body is byte for byte its own.
        payload = {name: value for name, value in (("coach_mode", coach_mode), ("mute", mute), ("hold", hold))
                   if value is not None}
        if not payload:
            raise ValueError("update at least one of mute, hold or coach_mode")
        path = self._path("Participant", member_id)
        return await send(self.upstream, "POST", path, payload, action="update_participant")

    async def remove_participant(self, member_id: str) -> Reply:
        """Hang up one participant (Plivo's `kick`)."""
        path = self._path("Participant", member_id)
        return await send(self.upstream, "DELETE", path, action="remove_participant")

    async def start_recording(self) -> Reply:
        """Record the whole call; the answer carries `recording_id` and `recording_url`."""
        payload = {"file_format": RECORDING_FORMAT}
        if self.recording_callback_url:
            payload.update(recording_callback_url=self.recording_callback_url, recording_callback_method="POST")
        return await send(self.upstream, "POST", self._path("Record"), payload, action="start_recording")

    async def pause_recording(self) -> Reply:
        return await send(self.upstream, "POST", self._path("Record", "Pause"), {}, action="pause_recording")

    async def resume_recording(self) -> Reply:
        return await send(self.upstream, "POST", self._path("Record", "Resume"), {}, action="resume_recording")

    async def stop_recording(self) -> Reply:
        return await send(self.upstream, "DELETE", self._path("Record"), action="stop_recording")

    def _path(self, *rest: str) -> str:
        parts = ["Account", self.credentials.auth_id, "MultiPartyCall", f"uuid_{self.mpc_uuid}", *rest]
        return "/" + "/".join(segment(part) for part in parts) + "/"
