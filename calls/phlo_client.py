"""The PHLO API, async: one function per PHLO request, typed errors, every request logged.

A thin client on a shared, pooled `httpx.AsyncClient` (one per running event loop: Daphne has
one, tests have many). The base URL and timeout are read from settings at each request, so
a test or an operator can point it elsewhere without a restart. The official `plivo` SDK is
synchronous (requests); its resources (plivo/resources/phlos.py, nodes.py) are where the paths
below come from, trailing slashes included.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)

NODE_ACTIONS = ("call", "warm_transfer", "cold_transfer")
MEMBER_ACTIONS = ("hold", "unhold", "hangup", "resume_call", "abort_transfer", "voicemail_drop")
ROLES = ("agent", "customer")


@dataclass(frozen=True)
class PhloCredentials:
    """A PHLO app's Basic-auth pair; the token stays out of reprs, and so out of logs and tracebacks."""

    auth_id: str
    auth_token: str = field(repr=False)


@dataclass(frozen=True)
class PhloReply:
    status: int
    data: dict
    duration_ms: float

    @property
    def api_id(self) -> str:
        return str(self.data.get("api_id") or "")


class PhloError(Exception):
    """PHLO did not do what we asked. `status` is PHLO's HTTP status, None when it never answered."""

    def __init__(
        self, message: str, *, status: int | None = None, error: str = "", api_id: str = "", duration_ms: float = 0.0
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.api_id = api_id
        self.duration_ms = duration_ms


class PhloUnreachable(PhloError):
    """No connection (refused, reset, DNS): PHLO never saw the request, or never answered it."""


class PhloTimeout(PhloError):
    """No answer within PHLO_TIMEOUT; PHLO may still have acted on the request."""


class PhloResponseError(PhloError):
    """PHLO answered with a status that is not a success."""


class PhloClientError(PhloResponseError):
    """4xx: PHLO refused the request itself."""


class PhloBadRequest(PhloClientError):
    """400: a parameter is missing or invalid (PHLO also uses it for actions that do not fit the call)."""


class PhloUnauthorized(PhloClientError):
    """401: the PHLO app's auth ID or token is wrong."""


class PhloNotFound(PhloClientError):
    """404: unknown PHLO, node, member or run."""


class PhloMethodNotAllowed(PhloClientError):
    """405: the path exists but not for this method."""


class PhloServerError(PhloResponseError):
    """5xx: PHLO failed."""


_ERRORS_BY_STATUS: dict[int, type[PhloClientError]] = {
    400: PhloBadRequest,
    401: PhloUnauthorized,
    404: PhloNotFound,
    405: PhloMethodNotAllowed,
}


def _error_class(status: int) -> type[PhloResponseError]:
    if status in _ERRORS_BY_STATUS:
        return _ERRORS_BY_STATUS[status]
    if 400 <= status < 500:
        return PhloClientError
    if status >= 500:
        return PhloServerError
    return PhloResponseError  # 1xx/3xx: we never follow redirects with credentials attached


# --- the requests -------------------------------------------------------------------------------


def _segment(value: str) -> str:
    """One path segment, percent-encoded whole: a SIP URI's ':' and '@', a '+' or a '/' stay inside it."""
    return quote(str(value), safe="")


async def run_phlo(credentials: PhloCredentials, *, phlo_id: str, payload: dict) -> PhloReply:
    """Run a PHLO; for a multiparty-call PHLO the payload carries `from` and `to`. `api_id` is the run ID."""
    path = f"/account/{_segment(credentials.auth_id)}/phlo/{_segment(phlo_id)}/"
    return await _request(credentials, "POST", path, payload)


async def get_phlo(credentials: PhloCredentials, *, phlo_id: str) -> PhloReply:
    return await _request(credentials, "GET", f"/phlo/{_segment(phlo_id)}/")


async def get_multi_party_call(credentials: PhloCredentials, *, phlo_id: str, node_id: str) -> PhloReply:
    return await _request(credentials, "GET", _node_path(phlo_id, node_id))


async def multi_party_call_action(
    credentials: PhloCredentials, *, phlo_id: str, node_id: str, action: str, trigger_source: str, to: str,
    role: str = "agent",
) -> PhloReply:
    """`call` (add a member), `warm_transfer` or `cold_transfer`, on behalf of the agent at `trigger_source`."""
    if action not in NODE_ACTIONS:
        raise ValueError(f"unknown multiparty-call action {action!r}")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    payload = {"action": action, "trigger_source": trigger_source, "to": to, "role": role}
    return await _request(credentials, "POST", _node_path(phlo_id, node_id), payload)


async def member_action(
    credentials: PhloCredentials, *, phlo_id: str, node_id: str, member_address: str, action: str
) -> PhloReply:
    """hold, unhold, hangup, resume_call, abort_transfer or voicemail_drop one member, by address."""
    if action not in MEMBER_ACTIONS:
        raise ValueError(f"unknown member action {action!r}")
    path = f"{_node_path(phlo_id, node_id)}members/{_segment(member_address)}/"
    return await _request(credentials, "POST", path, {"action": action})


async def get_phlo_run(credentials: PhloCredentials, *, phlo_id: str, run_id: str) -> PhloReply:
    return await _request(credentials, "GET", f"/phlo/{_segment(phlo_id)}/runs/{_segment(run_id)}/")


def _node_path(phlo_id: str, node_id: str) -> str:
    return f"/phlo/{_segment(phlo_id)}/multi_party_call/{_segment(node_id)}/"


# --- transport ----------------------------------------------------------------------------------

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


async def _request(credentials: PhloCredentials, method: str, path: str, payload: dict | None = None) -> PhloReply:
    timeout = float(settings.PHLO_TIMEOUT)
    url = f"{settings.PHLO_BASE_URL.rstrip('/')}{path}"
    started = time.perf_counter()
    try:
        # httpx times each phase (connect, write, read) on its own; the outer deadline bounds the
        # whole exchange, so a server that trickles its answer cannot hold an agent past the timeout.
        async with asyncio.timeout(timeout):
            response = await shared_client().request(
                method, url, json=payload, auth=(credentials.auth_id, credentials.auth_token),
                timeout=timeout,
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        duration_ms = _since(started)
        _log(logging.WARNING, method, path, "timeout", duration_ms)
        raise PhloTimeout(f"PHLO did not answer within {timeout:g} s", duration_ms=duration_ms) from exc
    except httpx.TransportError as exc:
        duration_ms = _since(started)
        _log(logging.WARNING, method, path, "unreachable", duration_ms)
        reason = str(exc) or type(exc).__name__
        raise PhloUnreachable(f"Could not connect to PHLO: {reason}", duration_ms=duration_ms) from exc
    duration_ms = _since(started)
    data = _json_object(response)
    if response.is_success:
        _log(logging.INFO, method, path, response.status_code, duration_ms)
        return PhloReply(status=response.status_code, data=data, duration_ms=duration_ms)
    _log(logging.WARNING, method, path, response.status_code, duration_ms)
    error = str(data.get("error") or data.get("message") or response.text[:300] or response.reason_phrase)
    raise _error_class(response.status_code)(
        f"PHLO answered {response.status_code}: {error}",
        status=response.status_code, error=error, api_id=str(data.get("api_id") or ""), duration_ms=duration_ms,
    )


def _json_object(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _log(level: int, method: str, path: str, status: int | str, duration_ms: float) -> None:
    # The path and status only: the credentials travel in a header that is never logged.
    logger.log(level, "PHLO %s %s -> %s in %.0f ms", method, path, status, duration_ms)
