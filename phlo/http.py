"""The transport both Plivo APIs share: one pooled `httpx.AsyncClient` per event loop, a deadline
per request, typed errors, and one log line per request without its credentials.

The official `plivo` SDK is synchronous (requests), so it is not used to send; its resources are
where the paths of `phlo_api` and `voice_api` come from, trailing slashes included.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote

import httpx

logger = logging.getLogger("phlo")


@dataclass(frozen=True)
class Credentials:
    """A Basic-auth pair (a PHLO app's auth ID and token); the token stays out of reprs, and so out
    of logs and tracebacks."""

    auth_id: str
    auth_token: str = field(repr=False)


@dataclass(frozen=True)
class Upstream:
    """Where one API is and how long it may take; `name` is how people are told about it."""

    name: str
    base_url: str
    timeout: float
    credentials: Credentials = field(repr=False)


@dataclass(frozen=True)
class Api:
    """What every client of one of Plivo's APIs holds (phlo_api, voice_api): where the API is, how
    long a request may take, who asks. A subclass names the API (`NAME`) and adds what it addresses."""

    NAME: ClassVar[str]
    base_url: str
    timeout: float
    credentials: Credentials

    @property
    def upstream(self) -> Upstream:
        return Upstream(self.NAME, self.base_url, self.timeout, self.credentials)


@dataclass(frozen=True)
class Reply:
    status: int
    data: dict
    duration_ms: float

    @property
    def api_id(self) -> str:
        return str(self.data.get("api_id") or "")


@dataclass(frozen=True)
class Exchange:
    """One request as the observers see it (for metrics): never the credentials or the body."""

    upstream: str
    method: str
    action: str
    status: int | str  # the HTTP status, or "timeout" / "unreachable"
    duration_ms: float


# Called after every request; the desk's metrics register here (plain callables, so this module
# needs to know nothing of them).
observers: list[Callable[[Exchange], None]] = []


class PlivoError(Exception):
    """Plivo did not do what we asked. `status` is its HTTP status, None when it never answered."""

    def __init__(
        self, message: str, *, upstream: str = "PHLO", status: int | None = None, error: str = "", api_id: str = "",
        duration_ms: float = 0.0,
    ) -> None:
        super().__init__(message)
        self.upstream = upstream
        self.status = status
        self.error = error
        self.api_id = api_id
        self.duration_ms = duration_ms


class PlivoUnreachable(PlivoError):
    """No connection (refused, reset, DNS): Plivo never saw the request, or never answered it."""


class PlivoTimeout(PlivoError):
    """No answer within the timeout; Plivo may still have acted on the request."""


class PlivoResponseError(PlivoError):
    """Plivo answered with a status that is not a success."""


class PlivoClientError(PlivoResponseError):
    """4xx: Plivo refused the request itself."""


class PlivoBadRequest(PlivoClientError):
    """400: a parameter is missing or invalid (PHLO also uses it for actions that do not fit the call)."""


class PlivoUnauthorized(PlivoClientError):
    """401: the auth ID or token is wrong."""


class PlivoNotFound(PlivoClientError):
    """404: unknown PHLO, node, member, run or multiparty call."""


class PlivoMethodNotAllowed(PlivoClientError):
    """405: the path exists but not for this method."""


class PlivoServerError(PlivoResponseError):
    """5xx: Plivo failed."""


_ERRORS_BY_STATUS: dict[int, type[PlivoClientError]] = {
    400: PlivoBadRequest,
    401: PlivoUnauthorized,
    404: PlivoNotFound,
    405: PlivoMethodNotAllowed,
}


def _error_class(status: int) -> type[PlivoResponseError]:
    if status in _ERRORS_BY_STATUS:
        return _ERRORS_BY_STATUS[status]
    if 400 <= status < 500:
        return PlivoClientError
    if status >= 500:
        return PlivoServerError
    return PlivoResponseError  # 1xx/3xx: we never follow redirects with credentials attached


def segment(value: str) -> str:
    """One path segment, percent-encoded whole: an ID can never reach another segment or the query."""
    return quote(str(value), safe="")


# What RFC 3986 lets a path segment carry as it is (pchar, besides letters, digits and "-._~").
_PATH_SEGMENT_SAFE = "!$&'()*+,;=:@"


def address_segment(address: str) -> str:
    """A member address as a path segment, as Plivo's SDKs send it: `+14155550100` and
    `sip:bob@example.com` go raw (the form known to work with PHLO). What would leave the segment
    ('/', '?', '#', '%', spaces), which the SDKs would send broken, is percent-encoded."""
    return quote(str(address), safe=_PATH_SEGMENT_SAFE)


_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Loading the CA bundle costs tens of milliseconds; every client shares one context."""
    return httpx.create_ssl_context()


def shared_client() -> httpx.AsyncClient:
    """The running loop's pooled client. A client cannot outlive or cross its loop, so each loop
    gets its own; those of loops already closed (tests) are dropped when a new one is made."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        for stale in [other for other in list(_clients) if other.is_closed()]:
            _clients.pop(stale, None)
        client = _clients[loop] = httpx.AsyncClient(
            headers={"Accept": "application/json", "User-Agent": "plivo-agent-desk"},
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
            verify=_tls_context(),
        )
    return client


async def send(
    upstream: Upstream, method: str, path: str, payload: dict | None = None, *, action: str = ""
) -> Reply:
    """One request to `upstream`; a JSON body when `payload` is given. Raises a `PlivoError`."""
    timeout = float(upstream.timeout)
    url = f"{upstream.base_url.rstrip('/')}{path}"
    credentials = upstream.credentials
    started = time.perf_counter()
    try:
        # httpx times each phase (connect, write, read) on its own; the outer deadline bounds the
        # whole exchange, so a server that trickles its answer cannot hold an agent past the timeout.
        async with asyncio.timeout(timeout):
            response = await shared_client().request(
                method, url, content=None if payload is None else json_body(payload),
                headers=None if payload is None else JSON_HEADERS,
                auth=(credentials.auth_id, credentials.auth_token), timeout=timeout,
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        duration_ms = _done(upstream, method, path, action, "timeout", started, logging.WARNING)
        raise PlivoTimeout(
            f"{upstream.name} did not answer within {timeout:g} s", upstream=upstream.name, duration_ms=duration_ms
        ) from exc
    except httpx.TransportError as exc:
        duration_ms = _done(upstream, method, path, action, "unreachable", started, logging.WARNING)
        reason = str(exc) or type(exc).__name__
        raise PlivoUnreachable(
            f"Could not connect to {upstream.name}: {reason}", upstream=upstream.name, duration_ms=duration_ms
        ) from exc
    data = _json_object(response)
    if response.is_success:
        duration_ms = _done(upstream, method, path, action, response.status_code, started, logging.INFO)
        return Reply(status=response.status_code, data=data, duration_ms=duration_ms)
    duration_ms = _done(upstream, method, path, action, response.status_code, started, logging.WARNING)
    error = str(data.get("error") or data.get("message") or response.text[:300] or response.reason_phrase)
    raise _error_class(response.status_code)(
        f"{upstream.name} answered {response.status_code}: {error}", upstream=upstream.name,
        status=response.status_code, error=error, api_id=str(data.get("api_id") or ""), duration_ms=duration_ms,
    )


JSON_HEADERS = {"Content-Type": "application/json"}


def json_body(payload: dict) -> bytes:
    """The body byte for byte as the official SDK sends it (requests' `json=`: `json.dumps` with
    its default separators, ASCII only), so Plivo sees one shape whichever client asked."""
    return json.dumps(payload, allow_nan=False).encode("utf-8")


def _json_object(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _done(
    upstream: Upstream, method: str, path: str, action: str, status: int | str, started: float, level: int
) -> float:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    # The path and status only: the credentials travel in a header that is never logged.
    logger.log(
        level, "%s %s %s -> %s in %.0f ms", upstream.name, method, path, status, duration_ms,
        extra={"upstream": upstream.name, "action": action, "status": status, "duration_ms": duration_ms},
    )
    exchange = Exchange(upstream.name, method, action, status, duration_ms)
    for observe in observers:
        try:
            observe(exchange)
        except Exception:  # an observer's bug never fails the request it watches
            logger.exception("request observer failed")
    return duration_ms
