"""The simulator's HTTP face: the PHLO API and the Voice API's multiparty calls under /v1/ as
Plivo serves them, and /_sim/ controls.

PHLO API (https://www.plivo.com/docs/phlo/api/): Basic auth with a PHLO app's auth ID and token, JSON
bodies, paths ending in '/' (accepted without it too), member addresses raw or percent-encoded.
Reads answer 200; a run answers 201 {"api_id", "phlo_id", "message"}; actions answer 201
{"api_id", "error": ""}; failures answer Plivo's error shape {"api_id", "error"} with 400, 401,
404, 405 or 500.

Voice API (https://www.plivo.com/docs/voice/api/multiparty-call/), under
`/v1/Account/{auth_id}/MultiPartyCall/`: the same auth, faults and errors; JSON, form or query
parameters; everything the official SDK sends (simulator/voice.py).

Controls, without auth (the simulator listens on loopback): `GET|POST|DELETE /_sim/faults`
(read, change, reset the fault knobs), `GET /_sim/calls` (the simulated calls and their
members), `POST /_sim/inbound` (a customer calls now and waits), `GET|POST|DELETE /_sim/phones` (how a
dialled address answers: normally, late, never, or rejecting), `GET|DELETE /_sim/requests` (the API
requests received, newest last), `GET /_sim/recordings/{id}.{format}` (a recording, silent).
See docs/simulator.md.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque

from phlo.vocabulary import DIALLED_ROLES, MemberAction, NodeAction
from simulator.audio import CONTENT_TYPES, silence
from simulator.directory import Phlo, PhloDirectory
from simulator.faults import Faults
from simulator.http import (
    UNAUTHORIZED,
    Refusal,
    Reply,
    Request,
    address,
    basic_credentials,
    choice,
    failure,
    new_api_id,
    read_request,
    route,
    seconds,
    send_reply,
)
from simulator.model import NoSuchMember, NotAllowed
from simulator.switchboard import NotFound, Switchboard
from simulator.traffic import Traffic
from simulator.voice import VoiceApi

__all__ = ["UNAUTHORIZED", "SimulatorApp"]

CALL_ACTIONS = tuple(NodeAction)
MEMBER_ACTIONS = tuple(MemberAction)  # with mute and unmute, which the official SDK's Member sends
ROLES = DIALLED_ROLES
NODE_NAME = "Multi-Party Call_1"
REQUESTS_KEPT = 500


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
        self.requests: deque[dict] = deque(maxlen=REQUESTS_KEPT)  # the API requests received, for /_sim/requests
        self.routes = [
            route("v1/account/{auth_id}/phlo/{phlo_id}", POST=self.run_phlo),
            route("v1/phlo/{phlo_id}", GET=self.get_phlo),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}", GET=self.get_node, POST=self.call_action),
            route("v1/phlo/{phlo_id}/multi_party_call/{node_id}/members/{member_address}", POST=self.member_action),
            route("v1/phlo/{phlo_id}/runs/{run_id}", GET=self.get_run),
            *VoiceApi(switchboard=switchboard, directory=directory).routes(),
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
            request = await read_request(scope, receive)
            reply = await self._answer(request)
        except Refusal as refusal:
            reply = failure(refusal.status, refusal.error, refusal.headers)
        if reply is not None:
            await send_reply(send, reply)

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
        credentials = basic_credentials(request)
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
        run = self.switchboard.run_phlo(phlo, agent=address(body, "from"), customer=address(body, "to"))
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
        action = choice(body, "action", CALL_ACTIONS)
        trigger_source, to = address(body, "trigger_source"), address(body, "to")
        role = choice({**body, "role": body.get("role") or "agent"}, "role", ROLES)  # PHLO's default: agent
        self.switchboard.call_action(phlo, action, trigger_source=trigger_source, to=to, role=role)
        return accepted()

    async def member_action(
        self, request: Request, *, account: str, phlo_id: str, node_id: str, member_address: str
    ) -> Reply:
        phlo = await self._phlo(account, phlo_id, node_id)
        action = choice(request.json_object(required=True), "action", MEMBER_ACTIONS)
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
        """`{"phlo_id", "from", "to", "talk_seconds", "patience_seconds"}`, all optional: a customer calls
        now (`to`: the number they dialled, the PHLO's by default) and waits in a new multiparty call
        until an agent is dialled in, or gives up."""
        body = request.json_object(required=False)
        phlo_id = body.get("phlo_id")
        phlo = await (self.directory.find(str(phlo_id)) if phlo_id else self.directory.default())
        if phlo is None:
            raise Refusal(404, "no such PHLO app" if phlo_id else "no PHLO app is configured")
        call = self.traffic.call_in(
            phlo, customer=address(body, "from") if "from" in body else None,
            dialled=address(body, "to") if "to" in body else "", talk_seconds=seconds(body, "talk_seconds"),
            patience_seconds=seconds(body, "patience_seconds"),
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



def _journal_entry(request: Request) -> dict:
    """What /_sim/requests shows of an API request: never the token."""
    credentials = basic_credentials(request)
    auth_id = credentials[0] if credentials else ""
    try:
        body = request.params()
    except Refusal:
        body = request.body.decode("utf-8", "replace")[:2000]
    return {"method": request.method, "path": "/" + "/".join(request.segments) + "/", "auth_id": auth_id,
            "content_type": request.headers.get("content-type", ""), "body": body}
