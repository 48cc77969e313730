"""The simulator's HTTP face: the PHLO API under /v1/ as Plivo serves it, and /_sim/ controls.

PHLO API (https://www.plivo.com/docs/phlo/api/): Basic auth with a PHLO app's auth ID and token, JSON
bodies, paths ending in '/' (accepted without it too). Reads answer 200; a run answers 201
{"api_id", "phlo_id", "message"}; actions answer 201 {"api_id", "error": ""}; failures answer
Plivo's error shape {"api_id", "error"} with 400, 401, 404, 405 or 500.

Controls, without auth (the simulator listens on loopback): `GET|POST|DELETE /_sim/faults`
(read, change, reset the fault knobs), `GET /_sim/calls` (the simulated calls and their
members), `POST /_sim/inbound` (a customer calls now and waits), `GET|POST|DELETE /_sim/phones` (how a
dialled address answers: normally, late, never, or rejecting). See docs/simulator.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from phlo.addresses import is_valid_address
from phlo.vocabulary import DIALLED_ROLES, MemberAction, NodeAction
from simulator.directory import Phlo, PhloDirectory
from simulator.faults import Faults
from simulator.model import NotAllowed
from simulator.switchboard import NotFound, Switchboard
from simulator.traffic import Traffic

UNAUTHORIZED = "Could not verify your access level for that URL. You have to login with proper credentials."
MAX_BODY_BYTES = 64 * 1024
CALL_ACTIONS = tuple(NodeAction)
MEMBER_ACTIONS = tuple(MemberAction)
ROLES = DIALLED_ROLES
NODE_NAME = "Multi-Party Call_1"


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


class SimulatorApp:
    def __init__(
        self, *, directory: PhloDirectory, switchboard: Switchboard, traffic: Traffic, faults: Faults,
        rng: random.Random,
    ):
        self.directory, self.switchboard, self.traffic, self.faults = directory, switchboard, traffic, faults
        self._rng = rng
        self.closing = asyncio.Event()  # set on shutdown: releases requests held by the `stuck` fault
        self.routes = [
            route("v1/account/{auth_id}/phlo/{phlo_id}", POST=self.run_phlo),
            route("v1/phlo/{phlo_id}", GET=self.get_phlo),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}", GET=self.get_node, POST=self.call_action),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}/members/{member_address}", POST=self.member_action),
            route("v1/phlo/{phlo_id}/runs/{run_id}", GET=self.get_run),
            route("_sim/faults", phlo_api=False, GET=self.get_faults, POST=self.set_faults, DELETE=self.reset_faults),
            route("_sim/calls", phlo_api=False, GET=self.get_calls),
            route("_sim/inbound", phlo_api=False, POST=self.place_inbound_call),
            route("_sim/phones", phlo_api=False, GET=self.get_phones, POST=self.set_phone, DELETE=self.reset_phones),
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
            except NotFound as exc:
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
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            auth_id, colon, auth_token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            colon = ""
        if scheme.lower() != "basic" or not colon or not await self.directory.authenticate(auth_id, auth_token):
            raise Refusal(401, UNAUTHORIZED)
        return auth_id

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
    body = json.dumps(reply.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *reply.headers]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
