"""The simulator's HTTP plumbing, shared by its APIs (app: PHLO and the controls; voice: the Voice
API's multiparty calls): requests read from ASGI, Plivo's answers and refusals, routes, and the
checks of the parameters Plivo's APIs take."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from phlo.addresses import is_valid_address

UNAUTHORIZED = "Could not verify your access level for that URL. You have to login with proper credentials."
MAX_BODY_BYTES = 64 * 1024


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
    query: str = ""

    def params(self) -> dict:
        """A Voice API request's parameters: the query string of a GET, else a JSON object or form
        fields (no body at all is no fields)."""
        if self.method == "GET":
            return dict(parse_qsl(self.query, keep_blank_values=True))
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


NO_CONTENT = Reply(204, {})


# --- the parameters Plivo's APIs take --------------------------------------------------------


def address(body: dict, name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise Refusal(400, f"'{name}' is a required field")
    if not is_valid_address(value):
        raise Refusal(400, f"'{name}' must be a phone number or a SIP endpoint, not {value!r}")
    return value


def flag(body: dict, name: str, default: bool | None = None) -> bool | None:
    """A boolean parameter: JSON true/false, or "true"/"false" as a form sends it."""
    value = body.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise Refusal(400, f"invalid {name} {value!r}; allowed: true, false")


def choice(body: dict, name: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed`, in any case."""
    value = body.get(name)
    if value is None or value == "":
        raise Refusal(400, f"'{name}' is a required field")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise Refusal(400, f"invalid {name} {value!r}; allowed: {', '.join(allowed)}")
    return value.lower()


def seconds(body: dict, name: str) -> float | None:
    value = body.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
        raise Refusal(400, f"{name} must be a number of seconds")
    return value


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(auth ID, auth token) of a well-formed Basic Authorization header."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        auth_id, colon, auth_token = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (auth_id, auth_token) if colon else None


# --- ASGI ------------------------------------------------------------------------------------


async def read_request(scope, receive) -> Request:
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
    # The path as it came on the wire: each segment decoded on its own, so an escaped '/' stays inside it.
    raw_path = (scope.get("raw_path") or scope["path"].encode()).split(b"?", 1)[0]
    segments = [unquote(part) for part in raw_path.decode("latin-1").strip("/").split("/")]
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    query = scope.get("query_string", b"").decode("latin-1")
    return Request(scope["method"], tuple(segments), headers, b"".join(chunks), receive, query)


async def send_reply(send, reply: Reply) -> None:
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
