"""Calls and the actions on them (README "The HTTP API"): thin views over calls/actions/flow.py
and calls/core/reads.py.

Async views (adrf): an action waits up to PHLO_TIMEOUT on PHLO, and a sync view would hold a
worker thread all that time. Database work runs in the actions' small sync steps.
"""

from asgiref.sync import sync_to_async
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from agents.validators import validate_address
from agents.viewers import viewer_for
from calls.actions.flow import ActionDone
from calls.actions.phlo import call_action_run, call_start, complete_transfer_run, member_action_run
from calls.actions.voice import monitor_run, monitor_stop_run, mute_run, recording_run
from calls.api.schema import ActionResultSerializer, CallSerializer, UpstreamErrorSerializer
from calls.api.search_params import HISTORY_PARAMS, HistoryQuery, next_page_link, read_query
from calls.core.errors import CallError
from calls.core.reads import LIVE_STATUS_FILTERS, call_for, live_calls_for
from calls.core.vocabulary import CallStatus, MemberRole, MemberState, MonitorMode
from calls.history.search import HistoryPage, history_page
from conventions.errors import ErrorSerializer
from fastpath.api_view import KeptConnectionAPIView
from phlo.addresses import ADDRESS_HELP, ADDRESS_PATTERN, MAX_ADDRESS_LENGTH

# The errors an action can end in; 502/504 carry PHLO's side. (A member action has no body, so no 400.)
MEMBER_ACTION_ERRORS = {
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
    502: UpstreamErrorSerializer,
    504: UpstreamErrorSerializer,
}
CALL_ACTION_ERRORS = {400: ErrorSerializer, **MEMBER_ACTION_ERRORS}


@extend_schema_field(
    {"type": "string", "minLength": 1, "maxLength": MAX_ADDRESS_LENGTH, "pattern": ADDRESS_PATTERN,
     "description": f"{ADDRESS_HELP}."}
)
class AddressField(serializers.CharField):
    """A member address as PHLO takes it. Only a JSON string counts, taken exactly as sent."""

    def __init__(self, **kwargs):
        super().__init__(
            max_length=MAX_ADDRESS_LENGTH, trim_whitespace=False, validators=[validate_address],
            help_text=f"{ADDRESS_HELP}.", **kwargs,
        )

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class CallsAPIView(KeptConnectionAPIView):
    """The calls API's views: a refusal (`CallError`) answers with its own status and body."""

    def handle_exception(self, exc):
        if isinstance(exc, CallError):
            return Response(exc.body(), status=exc.http_status)
        return super().handle_exception(exc)


def _action_response(done: ActionDone) -> Response:
    return Response({"action": done.action, "api_id": done.api_id, "call": done.call})


STATUS_FILTERS = (*LIVE_STATUS_FILTERS, CallStatus.ENDED)


def _calls_for_user(user, status: str) -> list[dict]:
    return live_calls_for(viewer_for(user), status=status)


def _history_for_user(user, params) -> HistoryPage:
    query = read_query(HistoryQuery, params)
    return history_page(
        viewer_for(user), query.search(), after=query.validated_data.get("cursor"), limit=query.validated_data["limit"]
    )


def _call_for_user(user, call_id: int) -> dict:
    return call_for(viewer_for(user), call_id)


class CallListView(CallsAPIView):
    """The calls the caller may see; starting a call."""

    @extend_schema_serializer(component_name="CallStart")
    class InputSerializer(serializers.Serializer):
        to = AddressField()

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=STATUS_FILTERS,
                description="`live` (default: ringing and active calls), `ringing`, `active`, "
                            "or `ended` (history, newest first, a page at a time: the next page is in the "
                            '`Link: <…>; rel="next"` header). The other parameters are for `ended` only.',
            ),
            HistoryQuery,
        ],
        responses={200: CallSerializer(many=True), 400: ErrorSerializer, 401: ErrorSerializer},
    )
    async def get(self, request):
        wanted = request.query_params.get("status", "live")
        if wanted not in STATUS_FILTERS:
            raise serializers.ValidationError({"status": [f"Choose one of: {', '.join(STATUS_FILTERS)}."]})
        if wanted == CallStatus.ENDED:
            page = await sync_to_async(_history_for_user)(request.user, request.query_params)
            return Response(page.calls, headers=next_page_link(request, page.next))
        if misplaced := sorted(HISTORY_PARAMS & set(request.query_params)):
            raise serializers.ValidationError(
                {name: ["Searches and pages are for the history: add status=ended."] for name in misplaced}
            )
        return Response(await sync_to_async(_calls_for_user)(request.user, wanted))

    @extend_schema(
        request=InputSerializer,
        responses={
            201: CallSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            502: UpstreamErrorSerializer,
            503: ErrorSerializer,
            504: UpstreamErrorSerializer,
        },
        description="Runs the default PHLO from the caller's own address to `to`.",
    )
    async def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        call = await call_start(user=request.user, **data.validated_data)
        return Response(call, status=status.HTTP_201_CREATED)


class CallDetailView(CallsAPIView):
    @extend_schema(responses={200: CallSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer})
    async def get(self, request, call_id: int):
        return Response(await sync_to_async(_call_for_user)(request.user, call_id))


class CallActionView(CallsAPIView):
    """add-member (PHLO `call`), warm-transfer, cold-transfer; the trigger source is always the caller's address."""

    @extend_schema_serializer(component_name="CallAction")
    class InputSerializer(serializers.Serializer):
        to = AddressField()
        role = serializers.ChoiceField(choices=[MemberRole.AGENT, MemberRole.CUSTOMER], default=MemberRole.AGENT)

    @extend_schema(request=InputSerializer, responses={200: ActionResultSerializer, **CALL_ACTION_ERRORS})
    async def post(self, request, call_id: int, action: str):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        done = await call_action_run(user=request.user, call_id=call_id, action=action, **data.validated_data)
        return _action_response(done)


class MemberActionView(CallsAPIView):
    """hold, unhold, hangup, resume-call, abort-transfer, voicemail-drop. No body is needed; the desk
    sends the member's state as the person saw it, and gets 409 if it no longer holds."""

    @extend_schema_serializer(component_name="MemberActionAsSeen")
    class InputSerializer(serializers.Serializer):
        expected_state = serializers.ChoiceField(
            choices=MemberState.values, required=False,
            help_text="The member's state when the person clicked; 409 if it has changed since.",
        )

    @extend_schema(
        request=InputSerializer, responses={200: ActionResultSerializer, 400: ErrorSerializer, **MEMBER_ACTION_ERRORS}
    )
    async def post(self, request, call_id: int, member_id: int, action: str):
        expected_state = None
        if _has_body(request):
            data = self.InputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            expected_state = data.validated_data.get("expected_state")
        done = await member_action_run(
            user=request.user, call_id=call_id, member_id=member_id, action=action, expected_state=expected_state
        )
        return _action_response(done)


def _has_body(request) -> bool:
    """The contract's member actions take no body, so only a JSON one that is actually sent is read
    (and must parse); whatever else a client sends along is ignored, as before."""
    sent = request.META.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in request.META
    return sent and request.content_type.split(";")[0].strip() == "application/json"


class CompleteTransferView(CallsAPIView):
    """The initiator hands the call over: PHLO `resume_call`, then their own leg is hung up."""

    @extend_schema(
        request=None, responses={200: ActionResultSerializer, **MEMBER_ACTION_ERRORS},
        description="For the agent who started the warm transfer, or a supervisor. "
                    "`members/{member_id}/resume-call/` instead keeps all three on the call.",
    )
    async def post(self, request, call_id: int):
        return _action_response(await complete_transfer_run(user=request.user, call_id=call_id))


# --- through Plivo's Voice API (docs/voice-api.md) ----------------------------------------------


class MonitorView(CallsAPIView):
    """A supervisor listens, whispers or barges; again on a call they are in, their mode changes."""

    @extend_schema_serializer(component_name="Monitor")
    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(
            choices=MonitorMode.choices,
            help_text="listen: heard by nobody; whisper: heard by the agents only; barge: heard by everyone.",
        )

    @extend_schema(
        request=InputSerializer, responses={200: ActionResultSerializer, **CALL_ACTION_ERRORS},
        description="Supervisors only. Dials the supervisor's own address into the call as role `supervisor`.",
    )
    async def post(self, request, call_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return _action_response(await monitor_run(user=request.user, call_id=call_id, **data.validated_data))


class MonitorStopView(CallsAPIView):
    @extend_schema(request=None, responses={200: ActionResultSerializer, **MEMBER_ACTION_ERRORS},
                   description="Supervisors only: their own leg leaves the call.")
    async def post(self, request, call_id: int):
        return _action_response(await monitor_stop_run(user=request.user, call_id=call_id))


class MuteView(CallsAPIView):
    """mute, unmute: an agent their own leg, a supervisor any member; no body."""

    @extend_schema(request=None, responses={200: ActionResultSerializer, **MEMBER_ACTION_ERRORS})
    async def post(self, request, call_id: int, member_id: int, action: str):
        return _action_response(await mute_run(user=request.user, call_id=call_id, member_id=member_id,
                                               action=action))


class RecordingView(CallsAPIView):
    """start, pause, resume, stop recording the call; its agents and supervisors; no body."""

    @extend_schema(request=None, responses={200: ActionResultSerializer, **MEMBER_ACTION_ERRORS})
    async def post(self, request, call_id: int, action: str):
        return _action_response(await recording_run(user=request.user, call_id=call_id, action=action))
