"""The Voice API's multiparty calls as Plivo serves them (https://www.plivo.com/docs/voice/api/multiparty-call/),
everything the official SDK sends (plivo/resources/multipartycall.py), under
`/v1/Account/{auth_id}/MultiPartyCall/`:

- `GET …/` lists the account's calls; `GET|POST|DELETE …/{uuid_…|name_…}/` reads one, activates
  one still initialized (204), ends one (204);
- `…/Participant/` lists those on the line (GET), adds one (POST 201: from/to, `<`-separated
  agents ringing together, `hold`, `coach_mode`, `mute`; or `call_uuid`, a call moved in from
  another multiparty call; `name_…` of no live call starts a new one);
- `…/Participant/{member_id|id,id|all}/` reads one (GET), updates `mute`/`hold`/`coach_mode`
  (POST 202), kicks out (DELETE 204);
- `…/Record/` and `…/Participant/{member_id}/Record/` start (200), `…/Pause/`, `…/Resume/` (204),
  DELETE stops (204): recording events go to `recording_callback_url` when given;
- `…/Member/{member_id|id,id|all}/Play/` plays a URL to them (202), DELETE stops it (204);
- `GET /v1/Account/{auth_id}/Recording/{recording_id}/`: a recording's resource (RecordingResourceURL).

Plivo's objects are written in Plivo's words and times (`YYYY-MM-DD HH:mm:ss+|-hh:mm`).
"""

from __future__ import annotations

from phlo.vocabulary import Role
from simulator.audio import CONTENT_TYPES
from simulator.directory import Phlo, PhloDirectory
from simulator.http import (
    NO_CONTENT,
    UNAUTHORIZED,
    Refusal,
    Reply,
    Request,
    Route,
    address,
    choice,
    flag,
    new_api_id,
    route,
)
from simulator.model import AGENT, ON_HOLD, MultiPartyCall, Participant, Recording, plivo_time
from simulator.switchboard import NotFound, Switchboard

ROLES = tuple(Role)  # agent, customer, supervisor, ai-agent
RECORDING_FORMATS = tuple(CONTENT_TYPES)
RECORD_TRACK_TYPES = ("participant", "all", "both")
STATUSES = ("initialized", "active", "ended")
MAX_DESTINATIONS = 20  # parallel dialling
MAX_LIMIT = 20
UPDATED = {"mute": "mute/unmute member(s)", "hold": "hold/unhold member(s)", "coach_mode": "coach_mode enable/disable"}
ACCOUNT = "v1/Account/{auth_id}"
MPC = f"{ACCOUNT}/MultiPartyCall/{{mpc_id}}"


class VoiceApi:
    def __init__(self, *, switchboard: Switchboard, directory: PhloDirectory):
        self.switchboard, self.directory = switchboard, directory

    def routes(self) -> list[Route]:
        return [
            route(f"{ACCOUNT}/MultiPartyCall", GET=self.list_calls),
            route(MPC, GET=self.get_call, POST=self.start_call, DELETE=self.stop_call),
            route(f"{MPC}/Participant", GET=self.list_participants, POST=self.add_participant),
            route(f"{MPC}/Participant/{{member_id}}", GET=self.get_participant, POST=self.update_participant,
                  DELETE=self.kick_participant),
            route(f"{MPC}/Participant/{{member_id}}/Record", POST=self.start_recording, DELETE=self.stop_recording),
            route(f"{MPC}/Participant/{{member_id}}/Record/Pause", POST=self.pause_recording),
            route(f"{MPC}/Participant/{{member_id}}/Record/Resume", POST=self.resume_recording),
            route(f"{MPC}/Record", POST=self.start_recording, DELETE=self.stop_recording),
            route(f"{MPC}/Record/Pause", POST=self.pause_recording),
            route(f"{MPC}/Record/Resume", POST=self.resume_recording),
            route(f"{MPC}/Member/{{member_id}}/Play", POST=self.play_audio, DELETE=self.stop_audio),
            route(f"{ACCOUNT}/Recording/{{recording_id}}", GET=self.get_recording),
        ]

    # --- the multiparty calls -----------------------------------------------------------------

    async def list_calls(self, request: Request, *, account: str, auth_id: str) -> Reply:
        _same_account(account, auth_id)
        query = request.params()
        limit, offset = _int(query, "limit", 20, 1, MAX_LIMIT), _int(query, "offset", 0, 0, None)
        status = choice(query, "status", STATUSES) if query.get("status") else ""
        code = query.get("termination_cause_code")
        calls = [
            call for call in self.switchboard.calls_of(_owned_by(account))
            if (not query.get("friendly_name") or call.name == query["friendly_name"])
            and (not status or call.status.lower() == status)
            and (not code or (call.termination_cause is not None and str(call.termination_cause.code) == code))
        ]
        page = calls[offset:offset + limit]
        base = f"/v1/Account/{auth_id}/MultiPartyCall/?limit={limit}&offset="
        meta = {"count": len(calls), "limit": limit, "offset": offset,
                "next": f"{base}{offset + limit}" if offset + limit < len(calls) else None,
                "previous": f"{base}{max(0, offset - limit)}" if offset else None}
        return Reply(200, {"api_id": new_api_id(), "meta": meta, "objects": [_call_object(c, auth_id) for c in page]})

    async def get_call(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        call = self._call(account, auth_id, mpc_id, ended_too=True)
        return Reply(200, {"api_id": new_api_id(), **_call_object(call, auth_id)})

    async def start_call(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        """Activate a call created initialized (https://www.plivo.com/docs/voice/api/multiparty-call/activate-a-multiparty-call/):
        404 unless it is in that state."""
        call = self._call(account, auth_id, mpc_id)
        body = request.params()
        if isinstance(body.get("status"), list) and len(body["status"]) == 1:
            body["status"] = body["status"][0]  # the SDK sends {"status": ["active"]} (a tuple in its code)
        choice(body, "status", ("active",))
        if call.started:
            raise Refusal(404, f"multiparty call {mpc_id} not found in the initialized state")
        self.switchboard.activate(call)
        return NO_CONTENT

    async def stop_call(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        self.switchboard.end(self._call(account, auth_id, mpc_id))
        return NO_CONTENT

    # --- participants -------------------------------------------------------------------------

    async def list_participants(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        call = self._call(account, auth_id, mpc_id, ended_too=True)
        call_uuid = request.params().get("call_uuid")
        on_the_line = [p for p in call.participants if p.on_the_line and call_uuid in (None, "", p.call_uuid)]
        meta = {"count": len(on_the_line), "limit": MAX_LIMIT, "next": None, "offset": 0, "previous": None}
        objects = [_participant_object(call, p, auth_id) for p in on_the_line]
        return Reply(200, {"api_id": new_api_id(), "meta": meta, "objects": objects})

    async def add_participant(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        body = request.params()
        role = choice(body, "role", ROLES)
        call_uuid = body.get("call_uuid")
        if call_uuid and (body.get("from") or body.get("to")):
            raise Refusal(400, "cannot specify call_uuid when (from, to) is provided")
        if call_uuid:
            call = self._call(account, auth_id, mpc_id)
            moved = self.switchboard.take_over(call, str(call_uuid), role=role)
            legs = [{"to": moved.call_to, "from": moved.call_from, "call_uuid": moved.call_uuid}]
        else:
            from_, to = address(body, "from"), _destinations(body, role)
            coach_mode, mute = flag(body, "coach_mode", default=True), flag(body, "mute", default=False)
            hold = flag(body, "hold", default=False)
            call = await self._call_or_new(account, auth_id, mpc_id)
            _, legs = self.switchboard.add_participant(
                call, role=role, from_=from_, to=to, coach_mode=coach_mode, mute=mute, hold=hold
            )
        return Reply(201, {"api_id": new_api_id(), "calls": legs, "message": "add participant action initiated",
                           "request_uuid": new_api_id()})

    async def get_participant(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str
    ) -> Reply:
        call = self._call(account, auth_id, mpc_id, ended_too=True)
        participant = call.find_member(member_id)
        if participant.joined_at is None:
            raise Refusal(404, f"participant {member_id} not found in this multiparty call")
        return Reply(200, {"api_id": new_api_id(), **_participant_object(call, participant, auth_id)})

    async def update_participant(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str
    ) -> Reply:
        call = self._call(account, auth_id, mpc_id)
        body = request.params()
        flags = {name: flag(body, name) for name in ("coach_mode", "mute", "hold")}
        if all(value is None for value in flags.values()):
            raise Refusal(400, "update at least one of coach_mode, mute or hold")
        self.switchboard.update_participants(call, _member_ids(member_id), **flags)
        return Reply(202, {"api_id": new_api_id(), **{
            name: f"MPC: {call.name} {UPDATED[name]} succeeded" for name, value in flags.items() if value is not None
        }})

    async def kick_participant(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str
    ) -> Reply:
        self.switchboard.remove_participants(self._call(account, auth_id, mpc_id), _member_ids(member_id))
        return NO_CONTENT

    async def play_audio(self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str) -> Reply:
        call = self._call(account, auth_id, mpc_id)
        body = request.params()
        url = body.get("url") or body.get("urls")  # the SDK sends `url`, the page documents `urls`
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Refusal(400, "'url' must be the URL of an mp3 or wav file")
        played = call.play(_member_ids(member_id), url)
        return Reply(202, {"api_id": new_api_id(), "message": "play queued into MPC",
                           "mpcMemberId": [p.member_id for p in played], "mpcName": call.name})

    async def stop_audio(self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str) -> Reply:
        self._call(account, auth_id, mpc_id).stop_playing(_member_ids(member_id))
        return NO_CONTENT

    # --- recordings ---------------------------------------------------------------------------

    async def start_recording(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str | None = None
    ) -> Reply:
        call = self._call(account, auth_id, mpc_id)
        body = {"file_format": "mp3", **request.params()}
        file_format = choice(body, "file_format", RECORDING_FORMATS)
        if member_id is not None and body.get("record_track_type"):
            choice(body, "record_track_type", RECORD_TRACK_TYPES)
        callback_url = body.get("recording_callback_url") or ""
        if callback_url and not (isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))):
            raise Refusal(400, "recording_callback_url must be an http(s) URL")
        recording = self.switchboard.start_recording(
            call, file_format=file_format, member_id=member_id, callback_url=callback_url
        )
        return Reply(200, {"api_id": new_api_id(), "message": f"MPC: {call.name} record started",
                           "recording_id": recording.recording_id, "recording_url": recording.url})

    async def pause_recording(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str | None = None
    ) -> Reply:
        self.switchboard.recording_step(self._call(account, auth_id, mpc_id), "pause", member_id)
        return NO_CONTENT

    async def resume_recording(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str | None = None
    ) -> Reply:
        self.switchboard.recording_step(self._call(account, auth_id, mpc_id), "resume", member_id)
        return NO_CONTENT

    async def stop_recording(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str | None = None
    ) -> Reply:
        self.switchboard.recording_step(self._call(account, auth_id, mpc_id), "stop", member_id)
        return NO_CONTENT

    async def get_recording(self, request: Request, *, account: str, auth_id: str, recording_id: str) -> Reply:
        _same_account(account, auth_id)
        recording = self.switchboard.recordings.get(recording_id)
        owner, call_uuid = self.switchboard.recording_owners.get(recording_id, ("", ""))
        if recording is None or owner != account:
            raise Refusal(404, f"recording {recording_id} not found")
        return Reply(200, {"api_id": new_api_id(), **_recording_object(recording, call_uuid, auth_id,
                                                                       self.switchboard.now())})

    # --- inside -------------------------------------------------------------------------------

    def _call(self, account: str, auth_id: str, mpc_id: str, *, ended_too: bool = False) -> MultiPartyCall:
        _same_account(account, auth_id)
        return self.switchboard.find_call(_owned_by(account), mpc_id, ended_too=ended_too)

    async def _call_or_new(self, account: str, auth_id: str, mpc_id: str) -> MultiPartyCall:
        """The live call named; a `name_…` of no live call is a new call of that name (as on Plivo),
        whose callbacks go where the account's (default) PHLO app's go."""
        try:
            return self._call(account, auth_id, mpc_id)
        except NotFound:
            kind, _, name = mpc_id.partition("_")
            phlo = await self._phlo_of(account)
            if kind != "name" or not name or phlo is None:
                raise
            return self.switchboard.open_call(phlo, name)

    async def _phlo_of(self, account: str) -> Phlo | None:
        phlos = [phlo for phlo in self.directory.known() if phlo.owned_by(account)]
        return next((phlo for phlo in phlos if phlo.is_default), phlos[0] if phlos else None)


def _same_account(account: str, auth_id: str) -> None:
    """The auth ID in the path must be the caller's (a call of another account is not found)."""
    if auth_id != account:
        raise Refusal(401, UNAUTHORIZED)


def _owned_by(account: str):
    return lambda phlo: phlo.owned_by(account)


def _member_ids(text: str) -> list[str] | None:
    """`all` (None), one MemberID or a comma-separated list of them."""
    if text.strip().lower() == "all":
        return None
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise Refusal(400, f"invalid member_id {text!r}")
    return ids


def _destinations(body: dict, role: str) -> list[str]:
    """`to`: one address, or up to 20 `<`-separated agent addresses that ring together."""
    to = body.get("to")
    if to is None or to == "":
        raise Refusal(400, "'to' is a required field")
    destinations = to.split("<") if isinstance(to, str) else [to]
    if len(destinations) > 1 and role != AGENT:
        raise Refusal(400, f"Multiple to values given for role {role}")
    if len(destinations) > MAX_DESTINATIONS:
        raise Refusal(400, f"No of to values provided should be lesser than {MAX_DESTINATIONS}")
    return [address({"to": destination}, "to") for destination in destinations]


def _int(query: dict, name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise Refusal(400, f"{name} must be a whole number") from None
    if value < low or (high is not None and value > high):
        raise Refusal(400, f"{name} must be between {low} and {high}" if high else f"{name} must be at least {low}")
    return value


def _call_object(call: MultiPartyCall, auth_id: str) -> dict:
    """The MultiPartyCall object (https://www.plivo.com/docs/voice/api/multiparty-call/the-multiparty-call-object/)."""
    uri = f"/v1/Account/{auth_id}/MultiPartyCall/uuid_{call.mpc_uuid}/"
    cause = call.termination_cause
    return {
        "billed_amount": None, "billed_duration": None,
        "creation_time": plivo_time(call.created_at, call.tz),
        "duration": round((call.ended_at - call.created_at).total_seconds()) if call.ended_at else None,
        "end_time": plivo_time(call.ended_at, call.tz) if call.ended_at else None,
        "friendly_name": call.name,
        "mpc_uuid": call.mpc_uuid,
        "participants": f"{uri}Participant/",
        "recording": call.recording.state if call.recording else "not-recording",
        "resource_uri": uri,
        "start_time": plivo_time(call.started_at, call.tz) if call.started_at else None,
        "status": call.status,
        "stay_alone": False,
        "sub_account": None,
        "termination_cause": cause.value if cause else None,
        "termination_cause_code": cause.code if cause else None,
    }


def _participant_object(call: MultiPartyCall, participant: Participant, auth_id: str) -> dict:
    """The Participant object (https://www.plivo.com/docs/voice/api/multiparty-call/participants/the-participant-object/):
    mute, hold and coach mode are null once they left."""
    left = not participant.live
    joined, exited = participant.joined_at, participant.left_at
    uri = f"/v1/Account/{auth_id}/MultiPartyCall/uuid_{call.mpc_uuid}/Participant/{participant.member_id}/"
    return {
        "billed_amount": None, "billed_duration": None,
        "call_uuid": participant.call_uuid,
        "coach_mode": None if left else participant.coach_mode,
        "duration": round((exited - joined).total_seconds()) if joined and exited else None,
        "end_mpc_on_exit": False,
        "exit_cause": participant.exit_cause or None,
        "exit_time": plivo_time(exited, call.tz) if exited else None,
        "hold": None if left else participant.state == ON_HOLD,
        "join_time": plivo_time(joined, call.tz) if joined else None,
        "member_address": participant.address,
        "member_id": participant.member_id,
        "mpc_uuid": call.mpc_uuid,
        "mute": None if left else participant.muted,
        "resource_uri": uri,
        "role": participant.role,
        "start_mpc_on_enter": True,
    }


def _recording_object(recording: Recording, call_uuid: str, auth_id: str, now) -> dict:
    """The Recording object (https://www.plivo.com/docs/voice/api/recording/the-recording-object/)."""
    seconds = recording.seconds(now)
    return {
        "add_time": plivo_time(recording.started_at), "call_uuid": call_uuid, "conference_name": None,
        "recording_duration_ms": f"{seconds * 1000:.5f}", "recording_format": recording.file_format,
        "recording_id": recording.recording_id, "recording_type": "conference", "recording_url": recording.url,
        "resource_uri": f"/v1/Account/{auth_id}/Recording/{recording.recording_id}/",
    }
