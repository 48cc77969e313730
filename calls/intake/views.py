"""`/callbacks/plivo/{phlo_id}/`: Plivo's callbacks in (docs/callbacks.md).

Order of refusals: unknown PHLO app (404) → unparseable (400) → bad signature (403) → a nonce
already used for another request (403, calls/intake/nonces.py). Nothing of a refused request
is stored; each refusal is one log line. Every authentic callback, whatever its shape, is stored
(those that change nothing with an outcome saying why), deduplicated and applied in one
transaction, answered 200, and its change published: Plivo retries what is not answered 200,
and an authentic callback must never be lost that way.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.db import connection
from django.http import HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from calls.intake.apply import callback_store_and_apply
from calls.intake.known_apps import known_app
from calls.intake.nonces import SignedRequest, nonce_accepted
from calls.intake.reactions import after_callback
from calls.intake.result import IntakeResult
from calls.models import PhloApp
from fastpath.group_commit import GroupCommitThread
from live.publish import publish
from metrics.registry import CALLBACK_SECONDS, CALLBACKS
from phlo.events import NotACallback, event_from_params, flat_params
from phlo.json_body import json_params
from phlo.signatures import signature_valid

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def _reply(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def parse_params(request) -> dict:
    """The callback's parameters as sent (and signed): the query string (GET), or the form
    (urlencoded or multipart) or JSON body (POST). `flat_params` checks their shape after the signature is checked."""
    if request.method == "GET":
        return _pairs(request.META.get("QUERY_STRING", ""))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise NotACallback("The Content-Length header is not a number.") from None
    if declared > MAX_BODY_BYTES:
        raise NotACallback("The callback body is too large.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise NotACallback("The callback body is too large.") from None
    if len(body) > MAX_BODY_BYTES:
        raise NotACallback("The callback body is too large.")
    content_type = request.content_type or ""
    if content_type == "multipart/form-data":
        try:
            return _single_values(request.POST.lists())
        except Exception:  # Django's multipart parser raises several types for broken bodies
            raise NotACallback("The form body cannot be parsed.") from None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotACallback("The body is not UTF-8.") from None
    if content_type == "application/json":
        return json_params(text)
    if content_type in ("application/x-www-form-urlencoded", ""):
        return _pairs(text)
    raise NotACallback(f"Unsupported content type {content_type!r}; send form fields or JSON.")


def _pairs(raw: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw), max_num_fields=500)
    except ValueError:
        raise NotACallback("The parameters cannot be parsed.") from None
    return _single_values((key, [value]) for key, value in pairs)


def _single_values(lists) -> dict[str, str]:
    """Plivo sends each parameter once; a parameter given twice with different values is refused."""
    params: dict[str, str] = {}
    for key, values in lists:
        for value in values:
            if key in params and params[key] != value:
                raise NotACallback(f"Parameter {key} is given twice with different values.")
            params[key] = value
    return params


def public_url(request) -> str:
    """The URL Plivo called: behind a proxy, PUBLIC_BASE_URL's scheme and host with our path."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + request.get_full_path()
    return request.build_absolute_uri()


def _signed(request, app: PhloApp, params: dict) -> bool:
    return signature_valid(
        auth_token=app.auth_token, url=public_url(request), method=request.method, params=params,
        signature=request.META.get("HTTP_X_PLIVO_SIGNATURE_V3", ""),
        nonce=request.META.get("HTTP_X_PLIVO_SIGNATURE_V3_NONCE", ""),
    )


@dataclass(frozen=True)
class Received:
    """What became of one request: the answer, and the intake's result when it was a callback (the
    committed changes to publish, what the desk may react to), or why it was refused."""

    response: JsonResponse
    app: PhloApp | None = None
    result: IntakeResult | None = None
    refused: str = ""  # a short label, for the metrics
    reason: str = ""  # the refusal in words, for the log

    @property
    def messages(self) -> list[dict]:
        return self.result.messages if self.result else []


def _fresh(request, app: PhloApp, params: dict) -> bool:
    """The signature's nonce is new, or was seen with this very request (a retry)."""
    signed = SignedRequest(request.method, public_url(request), params)
    return nonce_accepted(app, request.META.get("HTTP_X_PLIVO_SIGNATURE_V3_NONCE", ""), signed)


def _refused(status: int, label: str, reason: str, app: PhloApp | None = None) -> Received:
    response = _reply(status, reason)
    # The desk's own line says it all (_account): Django's "Bad Request"/"Forbidden" line for the same
    # response (django.utils.log.log_response) skips a response marked as logged.
    response._has_been_logged = True
    return Received(response, app, refused=label, reason=reason)


def _receive(request, phlo_id: str) -> Received:
    """Everything between the request and the broadcast, in one trip to a thread."""
    app = known_app(phlo_id)
    if app is None:
        return _refused(404, "unknown app", "Unknown PHLO app.")
    try:
        raw_params = parse_params(request)
    except NotACallback as exc:
        return _refused(400, "not a callback", str(exc), app)
    if settings.PLIVO_VERIFY_SIGNATURES:
        if not _signed(request, app, raw_params):
            app = known_app(phlo_id, fresh=True)  # its token may have been rotated a moment ago
            if app is None or not _signed(request, app, raw_params):
                return _refused(403, "bad signature", "Signature does not match.", app)
        if not _fresh(request, app, raw_params):
            return _refused(403, "nonce reused", "This signature's nonce was already used for another request.", app)
    try:
        params = flat_params(raw_params)
    except NotACallback as exc:
        return _refused(400, "not a callback", str(exc), app)
    result = callback_store_and_apply(app=app, params=params, event=event_from_params(params))
    return Received(_reply(200, "ok", outcome=result.outcome), app, result)


# One thread applies every callback of this process, a batch of them per transaction
# (fastpath/group_commit.py).
_intake = GroupCommitThread("callback-intake")


async def _receive_in_intake_thread(request, phlo_id: str) -> Received:
    if isinstance(request, WSGIRequest):
        # Served through WSGI (Django's test client): the view runs under a sync caller's thread,
        # whose transaction (a test's) the intake must stay inside to see what it holds.
        return await sync_to_async(_receive_from_sync_caller)(request, phlo_id)
    # Served through ASGI: straight to the intake thread, no hop through a thread of Django's.
    return await asyncio.wrap_future(_intake.submit(lambda: _receive(request, phlo_id)))


def _receive_from_sync_caller(request, phlo_id: str) -> Received:
    if connection.in_atomic_block:
        return _receive(request, phlo_id)
    return _intake.submit(lambda: _receive(request, phlo_id)).result()


@csrf_exempt
async def plivo_callback(request, phlo_id: str):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    started = time.perf_counter()
    received = await _receive_in_intake_thread(request, phlo_id)
    await publish(received.messages)
    if received.result is not None:
        after_callback(received.app, received.result)
    _account(received, time.perf_counter() - started)
    return received.response


def _account(received: Received, seconds: float) -> None:
    """One log line and the metrics of each request (never a secret: no parameter is logged)."""
    app = received.app.phlo_id if received.app else "unknown"
    result = received.result
    family, event = (result.family, result.event_name) if result else ("-", "-")
    outcome = result.outcome if result else received.refused
    status = received.response.status_code
    CALLBACKS.labels(app=app, family=family, outcome=outcome).inc()
    CALLBACK_SECONDS.observe(seconds)
    logger.log(
        logging.INFO if status == 200 else logging.WARNING,
        "callback app=%s family=%s event=%s outcome=%s status=%s in %.1f ms%s", app, family, event, outcome, status,
        seconds * 1000, f": {received.reason}" if received.reason else "",
        extra={"app": app, "family": family, "event": event, "outcome": outcome, "status": status,
               "duration_ms": round(seconds * 1000, 1)},
    )
