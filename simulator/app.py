"""The simulator's HTTP face: the PHLO API and the Voice API's multiparty calls under /v1/ as
Plivo serves them, and /_sim/ controls.

PHLO API (https://www.plivo.com/docs/phlo/api/): Basic auth with a PHLO app's auth ID and token, JSON
bodies, paths ending in '/' (accepted without it too). Reads answer 200; a run answers 201
{"api_id", "phlo_id", "message"}; actions answer 201 {"api_id", "error": ""}; failures answer
Plivo's error shape {"api_id", "error"} with 400, 401, 404, 405 or 500.

Voice API (https://www.plivo.com/docs/voice/api/multiparty-call/), under
`/v1/Account/{auth_id}/MultiPartyCall/uuid_{mpc_uuid}/`: the same auth, faults and errors; JSON or
form bodies. `Participant/` (add, 201), `Participant/{member_id}/` (update 202, DELETE 204),
`Record/` (start 200 with `recording_id` and `recording_url`, DELETE 204), `Record/Pause/`,
`Record/Resume/` (204).

Controls, without auth (the simulator listens on loopback): `GET|POST|DELETE /_sim/faults`
(read, change, reset the fault knobs), `GET /_sim/calls` (the simulated calls and their
members), `POST /_sim/inbound` (a customer calls now and waits), `GET|POST|DELETE /_sim/phones` (how a
dialled address answers: normally, late, never, or rejecting), `GET|DELETE /_sim/requests` (the API
requests received, newest last), `GET /_sim/recordings/{id}.{format}` (a recording, silent).
See docs/simulator.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from phlo.addresses import is_valid_address
from phlo.vocabulary import DIALLED_ROLES, MemberAction, NodeAction, Role
from simulator.audio import CONTENT_TYPES, silence
from simulator.directory import Phlo, PhloDirectory
from simulator.faults import Faults
from simulator.model import MultiPartyCall, NoSuchMember, NotAllowed
from simulator.switchboard import NotFound, Switchboard
from simulator.traffic import Traffic

UNAUTHORIZED = "Could not verify your access level for that URL. You have to login with proper credentials."
MAX_BODY_BYTES = 64 * 1024
CALL_ACTIONS = tuple(NodeAction)
MEMBER_ACTIONS = tuple(MemberAction)
ROLES = DIALLED_ROLES
VOICE_ROLES = tuple(Role)  # the Voice API also adds supervisors
RECORDING_FORMATS = tuple(CONTENT_TYPES)
NODE_NAME = "Multi-Party Call_1"
REQUESTS_KEPT = 500
UPDATED = {"mute": "mute/unmute member(s)", "hold": "hold/unhold member(s)", "coach_mode": "coach_mode enable/disable"}
MPC = "v1/Account/{auth_id}/MultiPartyCall/{mpc_id}"


class Refusal(Exception):
    def __init__(self, status: int, error: str, headers: tuple[tuple[bytes, bytes], ...] = ()):
        super().__init__(error)
        self.status, self.error, self.headers = status, error, headers


@dataclass
class Request:
    method: str
    segments: tuple[str, ...]  # the path's segments, each percent-decoded on its own
    headers: dict[str, str]
    body: bytes
    receive: Callable[[], Awaitable[dict]]

    def params(self) -> dict:
        """A Voice API body: a JSON object or form fields (none at all is no fields)."""
        if not self.body.strip():
            return {}
        if self.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            try:
                return dict(parse_qsl(self.body.decode(), keep_blank_values=True, strict_parsing=True))
            except (UnicodeDecodeError, ValueError):
                raise Refusal(400, "the form body cannot be parsed") from None
        return self.json_object(required=True)

    def json_object(self, *, required: bool) -> dict:
        if not self.body.strip() and not required:
            return {}
        if required and not self.headers.get("content-type", "").startswith("application/json"):
            raise Refusal(400, "Content-Type must be application/json")
        try:
            parsed = json.loads(self.body)
        except ValueError:
            raise Refusal(400, "the request body is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise Refusal(400, "the request body must be a JSON object")
        return parsed


@dataclass
class Reply:
    status: int
    body: dict
    headers: tuple[tuple[bytes, bytes], ...] = ()
    content: bytes | None = None  # sent as it is (a recording) instead of `body` as JSON


Handler = Callable[..., Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    pattern: tuple[str, ...]  # literal segments and "{name}" placeholders
    handlers: dict[str, Handler]
    phlo_api: bool = True  # needs Basic auth, and is subject to the API faults

    def match(self, segments: tuple[str, ...]) -> dict[str, str] | None:
        if len(segments) != len(self.pattern):
            return None
        params = {}
        for expected, actual in zip(self.pattern, segments, strict=True):
            if expected.startswith("{"):
                if not actual:
                    return None
                params[expected[1:-1]] = actual
            elif expected != actual:
                return None
        return params


def route(path: str, *, phlo_api: bool = True, **handlers: Handler) -> Route:
    return Route(tuple(path.split("/")), handlers, phlo_api)


def new_api_id() -> str:
    return str(uuid.uuid4())


def failure(status: int, error: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> Reply:
    return Reply(status, {"api_id": new_api_id(), "error": error}, headers)


def accepted() -> Reply:
    return Reply(201, {"api_id": new_api_id(), "error": ""})


NO_CONTENT = Reply(204, {})


class SimulatorApp:
    def __init__(
        self, *, directory: PhloDirectory, switchboard: Switchboard, traffic: Traffic, faults: Faults,
        rng: random.Random,
    ):
        self.directory, self.switchboard, self.traffic, self.faults = directory, switchboard, traffic, faults
        self._rng = rng
        self.closing = asyncio.Event()  # set on shutdown: releases requests held by the `stuck` fault
        self.requests: deque[dict] = deque(maxlen=REQUESTS_KEPT)  # the API requests received, for /_sim/requests
        self.routes = [
            route("v1/account/{auth_id}/phlo/{phlo_id}", POST=self.run_phlo),
            route("v1/phlo/{phlo_id}", GET=self.get_phlo),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}", GET=self.get_node, POST=self.call_action),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}/members/{member_address}", POST=self.member_action),
            route("v1/phlo/{phlo_id}/runs/{run_id}", GET=self.get_run),
            route(f"{MPC}/Participant", POST=self.add_participant),
            route(f"{MPC}/Participant/{{member_id}}", POST=self.update_participant, DELETE=self.remove_participant),
            route(f"{MPC}/Record", POST=self.start_recording, DELETE=self.stop_recording),
            route(f"{MPC}/Record/Pause", POST=self.pause_recording),
            route(f"{MPC}/Record/Resume", POST=self.resume_recording),
            route("_sim/faults", phlo_api=False, GET=self.get_faults, POST=self.set_faults, DELETE=self.reset_faults),
            route("_sim/calls", phlo_api=False, GET=self.get_calls),
            route("_sim/inbound", phlo_api=False, POST=self.place_inbound_call),
            route("_sim/phones", phlo_api=False, GET=self.get_phones, POST=self.set_phone, DELETE=self.reset_phones),
            route("_sim/requests", phlo_api=False, GET=self.get_requests, DELETE=self.forget_requests),
            route("_sim/recordings/{file_name}", phlo_api=False, GET=self.get_recording),
        ]

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        try:
            request = await _read_request(scope, receive)
            reply = await self._answer(request)
        except Refusal as refusal:
            reply = failure(refusal.status, refusal.error, refusal.headers)
        if reply is not None:
            await _send(send, reply)

    async def _answer(self, request: Request) -> Reply | None:
        if request.segments[:1] == ("v1",):
            self.requests.append(_journal_entry(request))
            if self.faults.stuck:
                return await self._never_answer(request)
            if self.faults.latency:
                await asyncio.sleep(self.faults.latency)
            if self.faults.token_rotated:
                raise Refusal(401, UNAUTHORIZED)
            if self.faults.error_rate and self._rng.random() < self.faults.error_rate:
                raise Refusal(500, "Internal server error, please try again later")
        for candidate in self.routes:
            params = candidate.match(request.segments)
            if params is None:
                continue
            handler = candidate.handlers.get(request.method)
            if handler is None:
                raise Refusal(405, "Method Not Allowed", ((b"allow", ", ".join(candidate.handlers).encode()),))
            if candidate.phlo_api:
                params["account"] = await self._authenticate(request)
            try:
                return await handler(request, **params)
            except (NotFound, NoSuchMember) as exc:
                raise Refusal(404, str(exc)) from None
            except NotAllowed as exc:
                raise Refusal(400, str(exc)) from None
        raise Refusal(404, "not found")

    async def _never_answer(self, request: Request) -> Reply | None:
        """Hold the request until the client gives up (no answer at all) or the simulator stops."""
        disconnected = asyncio.ensure_future(request.receive())
        closing = asyncio.ensure_future(self.closing.wait())
        done, pending = await asyncio.wait({disconnected, closing}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return None if disconnected in done else failure(503, "the simulator is shutting down")

    async def _authenticate(self, request: Request) -> str:
        """The auth ID of valid Basic credentials; anything else is Plivo's 401."""
        credentials = _basic_credentials(request)
        if credentials is None or not await self.directory.authenticate(*credentials):
            raise Refusal(401, UNAUTHORIZED)
        return credentials[0]

    async def _phlo(self, account: str, phlo_id: str, node_id: str | None = None) -> Phlo:
        phlo = await self.directory.find(phlo_id)
        if phlo is None or not phlo.owned_by(account):
            raise Refusal(404, f"PHLO {phlo_id} not found")
        if node_id is not None and node_id != phlo.node_id:
            raise Refusal(404, f"multi_party_call node {node_id} not found in PHLO {phlo_id}")
        return phlo

    # --- PHLO API -------------------------------------------------------------------------------

    async def run_phlo(self, request: Request, *, account: str, auth_id: str, phlo_id: str) -> Reply:
        if auth_id != account:
            raise Refusal(401, UNAUTHORIZED)
        phlo = await self._phlo(account, phlo_id)
        body = request.json_object(required=True)
        run = self.switchboard.run_phlo(phlo, agent=_address(body, "from"), customer=_address(body, "to"))
        message = f"b'{NODE_NAME}' - b'{phlo.node_id}' with phlo_run_uuid: {run.run_id} executed"
        return Reply(201, {"api_id": run.run_id, "phlo_id": phlo.phlo_id, "message": message})

    async def get_phlo(self, request: Request, *, account: str, phlo_id: str) -> Reply:
        phlo = await self._phlo(account, phlo_id)
        return Reply(200, {"api_id": new_api_id(), "phlo_id": phlo.phlo_id, "name": phlo.name,
                           "created_on": phlo.created_on})

    async def get_node(self, request: Request, *, account: str, phlo_id: str, node_id: str) -> Reply:
        phlo = await self._phlo(account, phlo_id, node_id)
        return Reply(200, {"api_id": new_api_id(), "node_id": phlo.node_id, "phlo_id": phlo.phlo_id,
                           "name": NODE_NAME, "node_type": "multi_party_call", "created_on": phlo.created_on})

    async def call_action(self, request: Request, *, account: str, phlo_id: str, node_id: str) -> Reply:
        phlo = await self._phlo(account, phlo_id, node_id)
        body = request.json_object(required=True)
        action = _choice(body, "action", CALL_ACTIONS)
        trigger_source, to = _address(body, "trigger_source"), _address(body, "to")
        role = _choice({**body, "role": body.get("role") or "agent"}, "role", ROLES)  # PHLO's default: agent
        self.switchboard.call_action(phlo, action, trigger_source=trigger_source, to=to, role=role)
        return accepted()

    async def member_action(
        self, request: Request, *, account: str, phlo_id: str, node_id: str, member_address: str
    ) -> Reply:
        phlo = await self._phlo(account, phlo_id, node_id)
        action = _choice(request.json_object(required=True), "action", MEMBER_ACTIONS)
        self.switchboard.member_action(phlo, action, member_address=member_address)
        return accepted()

    async def get_run(self, request: Request, *, account: str, phlo_id: str, run_id: str) -> Reply:
        run = self.switchboard.find_run(await self._phlo(account, phlo_id), run_id)
        return Reply(200, {"api_id": new_api_id(), "phlo_id": run.phlo_id, "run_id": run.run_id,
                           "call_uuids": run.call_uuids, "message_uuids": [], "recording_ids": []})

    # --- Voice API: one multiparty call ---------------------------------------------------------

    async def _voice_call(self, account: str, auth_id: str, mpc_id: str) -> MultiPartyCall:
        if auth_id != account:
            raise Refusal(401, UNAUTHORIZED)
        if not mpc_id.startswith("uuid_"):  # Plivo also takes name_{friendly name}; the desk never sends it
            raise Refusal(404, f"multiparty call {mpc_id} not found")
        return self.switchboard.find_call(lambda phlo: phlo.owned_by(account), mpc_id.removeprefix("uuid_"))

    async def add_participant(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        call = await self._voice_call(account, auth_id, mpc_id)
        body = request.params()
        role = _choice(body, "role", VOICE_ROLES)
        from_, to = _address(body, "from"), _address(body, "to")
        coach_mode, mute = _flag(body, "coach_mode", default=True), _flag(body, "mute", default=False)
        if _flag(body, "hold", default=False):
            raise Refusal(400, "the simulator does not add participants on hold")
        participant = self.switchboard.add_participant(
            call, role=role, from_=from_, to=to, coach_mode=coach_mode, mute=mute
        )
        return Reply(201, {
            "api_id": new_api_id(), "calls": [{"to": to, "from": from_, "call_uuid": participant.call_uuid}],
            "message": "add participant action initiated", "request_uuid": new_api_id(),
        })

    async def update_participant(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str
    ) -> Reply:
        call = await self._voice_call(account, auth_id, mpc_id)
        body = request.params()
        flags = {name: _flag(body, name) for name in ("mute", "hold", "coach_mode")}
        if all(value is None for value in flags.values()):
            raise Refusal(400, "update at least one of coach_mode, mute or hold")
        self.switchboard.update_participant(call, member_id, **flags)
        return Reply(202, {"api_id": new_api_id(), **{
            name: f"MPC: {call.name} {UPDATED[name]} succeeded" for name, value in flags.items() if value is not None
        }})

    async def remove_participant(
        self, request: Request, *, account: str, auth_id: str, mpc_id: str, member_id: str
    ) -> Reply:
        self.switchboard.remove_participant(await self._voice_call(account, auth_id, mpc_id), member_id)
        return NO_CONTENT

    async def start_recording(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        call = await self._voice_call(account, auth_id, mpc_id)
        body = {"file_format": "mp3", **request.params()}
        file_format = _choice(body, "file_format", RECORDING_FORMATS)
        recording = self.switchboard.start_recording(call, file_format=file_format)
        return Reply(200, {"api_id": new_api_id(), "message": f"MPC: {call.name} record started",
                           "recording_id": recording.recording_id, "recording_url": recording.url})

    async def pause_recording(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        self.switchboard.recording_step(await self._voice_call(account, auth_id, mpc_id), "pause")
        return NO_CONTENT

    async def resume_recording(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        self.switchboard.recording_step(await self._voice_call(account, auth_id, mpc_id), "resume")
        return NO_CONTENT

    async def stop_recording(self, request: Request, *, account: str, auth_id: str, mpc_id: str) -> Reply:
        self.switchboard.recording_step(await self._voice_call(account, auth_id, mpc_id), "stop")
        return NO_CONTENT

    # --- controls -------------------------------------------------------------------------------

    async def get_faults(self, request: Request) -> Reply:
        return Reply(200, self.faults.as_dict())

    async def set_faults(self, request: Request) -> Reply:
        try:
            self.faults.update(request.json_object(required=False))
        except ValueError as exc:
            raise Refusal(400, str(exc)) from None
        return Reply(200, self.faults.as_dict())

    async def reset_faults(self, request: Request) -> Reply:
        self.faults.reset()
        return Reply(200, self.faults.as_dict())

    async def get_calls(self, request: Request) -> Reply:
        return Reply(200, self.switchboard.calls_as_dicts())

    async def get_requests(self, request: Request) -> Reply:
        return Reply(200, {"requests": list(self.requests)})

    async def forget_requests(self, request: Request) -> Reply:
        self.requests.clear()
        return Reply(200, {"requests": []})

    async def get_recording(self, request: Request, *, file_name: str) -> Reply:
        """The recording as a (silent) audio file of its length so far."""
        recording_id, _, file_format = file_name.rpartition(".")
        recording = self.switchboard.recordings.get(recording_id)
        if recording is None or recording.file_format != file_format:
            raise Refusal(404, f"recording {file_name} not found")
        audio = silence(file_format, recording.seconds(self.switchboard.now()))
        return Reply(200, {}, ((b"content-type", CONTENT_TYPES[file_format].encode()),), content=audio)

    async def place_inbound_call(self, request: Request) -> Reply:
        """`{"phlo_id", "from", "talk_seconds", "patience_seconds"}`, all optional: a customer calls
        now and waits in a new multiparty call until an agent is dialled in, or gives up."""
        body = request.json_object(required=False)
        phlo_id = body.get("phlo_id")
        phlo = await (self.directory.find(str(phlo_id)) if phlo_id else self.directory.default())
        if phlo is None:
            raise Refusal(404, "no such PHLO app" if phlo_id else "no PHLO app is configured")
        call = self.traffic.call_in(
            phlo, customer=_address(body, "from") if "from" in body else None,
            talk_seconds=_seconds(body, "talk_seconds"), patience_seconds=_seconds(body, "patience_seconds"),
        )
        return Reply(201, {"mpc_uuid": call.mpc_uuid, "customer": call.participants[0].address})

    async def get_phones(self, request: Request) -> Reply:
        return Reply(200, self.switchboard.phones.as_dict())

    async def set_phone(self, request: Request) -> Reply:
        """`{"address", "answer": "normal"|"late"|"never"|"reject", "after": seconds}`."""
        try:
            phone = self.switchboard.phones.update(request.json_object(required=True))
        except ValueError as exc:
            raise Refusal(400, str(exc)) from None
        return Reply(200, phone.as_dict())

    async def reset_phones(self, request: Request) -> Reply:
        self.switchboard.phones.reset()
        return Reply(200, self.switchboard.phones.as_dict())


def _address(body: dict, name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise Refusal(400, f"'{name}' is a required field")
    if not is_valid_address(value):
        raise Refusal(400, f"'{name}' must be a phone number or a SIP endpoint, not {value!r}")
    return value


def _seconds(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
        raise Refusal(400, f"{name} must be a number of seconds")
    return value


def _flag(body: dict, name: str, default: bool | None = None) -> bool | None:
    """A boolean parameter: JSON true/false, or "true"/"false" as a form sends it."""
    value = body.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Refusal(400, f"invalid {name} {value!r}; allowed: true, false")


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """(auth ID, auth token) of a well-formed Basic Authorization header."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        auth_id, colon, auth_token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (auth_id, auth_token) if colon else None


def _journal_entry(request: Request) -> dict:
    """What /_sim/requests shows of an API request: never the token."""
    credentials = _basic_credentials(request)
    auth_id = credentials[0] if credentials else ""
    try:
        body = request.params()
    except Refusal:
        body = request.body.decode("utf-8", "replace")[:2000]
    return {"method": request.method, "path": "/" + "/".join(request.segments) + "/", "auth_id": auth_id,
            "content_type": request.headers.get("content-type", ""), "body": body}


def _choice(body: dict, name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise Refusal(400, f"'{name}' is a required field")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise Refusal(400, f"invalid {name} {value!r}; allowed: {', '.join(allowed)}")
    return value.lower()


async def _read_request(scope, receive) -> Request:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refusal(400, "the request body is too large")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    raw_path = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
    segments = [unquote(part) for part in raw_path.decode("latin-1").strip("/").split("/")]
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    return Request(scope["method"], tuple(segments), headers, b"".join(chunks), receive)


async def _send(send, reply: Reply) -> None:
    if reply.content is not None:
        body, headers = reply.content, [(b"content-length", str(len(reply.content)).encode()), *reply.headers]
    elif reply.status == 204:
        body, headers = b"", list(reply.headers)
    else:
        body = json.dumps(reply.body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
