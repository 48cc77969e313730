"""The agent's own record and the agent directory (README "The HTTP API")."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.login_guard import LoginRefused, throttled_authenticate
from agents.models import SELECTABLE_STATUSES, SYSTEM_STATUSES, Agent
from agents.rate_limits import Limit, take
from agents.schema import AgentSerializer, MeSerializer
from agents.selectors import agent_directory
from agents.serialize import me_to_dict
from agents.status import (
    NotOffered,
    NotWrappingUp,
    StatusNotSelectable,
    StatusRefused,
    agent_decline,
    agent_set_status,
    wrap_up_extend,
)
from conventions.errors import ErrorSerializer


class TokenView(APIView):
    """Exchange a username and password for an API token."""

    authentication_classes = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: ErrorSerializer,
            429: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = throttled_authenticate(request, **data.validated_data)
        except LoginRefused as refused:
            return refusal_response(refused)
        if user is None or not user.is_active:
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with these credentials."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


def refusal_response(refused: LoginRefused) -> Response:
    return Response(
        {"detail": str(refused)}, status=refused.http_status, headers={"Retry-After": str(refused.retry_after)}
    )


def status_change_limit() -> Limit:
    """Each status change is published to every dashboard: one person cannot flood them."""
    return Limit("status-changes", settings.STATUS_CHANGES_PER_MINUTE, 60)


def _too_many_changes(agent: Agent) -> Response | None:
    if take(status_change_limit(), str(agent.pk)):
        return None
    return Response(
        {"detail": "Too many status changes; wait a minute, then try again."},
        status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": "60"},
    )


def _own_agent(request) -> Agent:
    agent = Agent.objects.select_related("user").filter(user=request.user).first()
    if agent is None:
        raise NotFound("This user has no agent record; an operator can add one in the admin.")
    return agent


class MeView(APIView):
    """The caller's own agent record; agents set their own status here."""

    class InputSerializer(serializers.Serializer):
        # Optional, as in any PATCH: `{}` changes nothing and answers the record as it is.
        status = serializers.ChoiceField(choices=[s.value for s in SELECTABLE_STATUSES], required=False)

    @extend_schema(responses={200: MeSerializer, 401: ErrorSerializer, 404: ErrorSerializer})
    def get(self, request):
        return Response(me_to_dict(_own_agent(request)))

    @extend_schema(
        request=InputSerializer,
        responses={
            200: MeSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
            429: ErrorSerializer,
        },
    )
    def patch(self, request):
        agent = _own_agent(request)
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            chosen = request.data.get("status") if isinstance(request.data, dict) else None
            if chosen in SYSTEM_STATUSES:
                return Response(
                    {"detail": str(StatusNotSelectable(chosen)), "status": [f"'{chosen}' cannot be set by hand."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            data.is_valid(raise_exception=True)
        if "status" not in data.validated_data:
            return Response(me_to_dict(agent))
        if too_many := _too_many_changes(agent):
            return too_many
        try:
            agent = agent_set_status(agent=agent, status=data.validated_data["status"])
        except StatusRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(me_to_dict(agent))


class WrapUpExtendView(APIView):
    """More time for the caller's wrap-up: WRAP_UP_SECONDS added to `wrap_up_until`."""

    @extend_schema(
        request=None,
        responses={200: MeSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer,
                   429: ErrorSerializer},
    )
    def post(self, request):
        agent = _own_agent(request)
        if too_many := _too_many_changes(agent):
            return too_many
        try:
            agent = wrap_up_extend(agent=agent)
        except NotWrappingUp as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(me_to_dict(agent))


class DeclineView(APIView):
    """The caller declines the call ringing them: it goes to the next agent; they keep their status."""

    @extend_schema(
        request=None,
        responses={200: MeSerializer, 401: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def post(self, request):
        try:
            agent = agent_decline(agent=_own_agent(request))
        except NotOffered as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(me_to_dict(agent))


class AgentDirectoryView(APIView):
    """Every active agent, available ones first: the transfer targets."""

    @extend_schema(responses={200: AgentSerializer(many=True), 401: ErrorSerializer})
    def get(self, request):
        return Response(agent_directory())
