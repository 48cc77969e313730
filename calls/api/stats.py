"""`GET /api/stats/` and `GET /api/queues/`: the queues' figures for supervisors (calls/queue/figures.py,
docs/routing.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsSupervisor
from calls.core.queues import queue_named
from calls.queue.figures import queue_stats, queues_figures
from conventions.errors import ErrorSerializer


class AgentFiguresSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handled_today = serializers.IntegerField()
    missed_today = serializers.IntegerField()


class DayFiguresSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(help_text="Calls waiting for an agent now.")
    longest_wait_seconds = serializers.FloatField(help_text="How long the oldest waiting call has waited.")
    answered_today = serializers.IntegerField()
    abandoned_today = serializers.IntegerField()
    service_level_percent = serializers.FloatField(
        allow_null=True,
        help_text="Share of today's answered-or-abandoned calls answered within their queue's service level "
                  "(SERVICE_LEVEL_SECONDS for a call with no queue).",
    )
    average_wait_seconds = serializers.FloatField(allow_null=True, help_text="From joining to an agent answering.")
    average_handle_seconds = serializers.FloatField(allow_null=True, help_text="From an agent answering to the end.")


class QueueFiguresSerializer(DayFiguresSerializer):
    name = serializers.CharField()
    agents_available = serializers.IntegerField(
        help_text="Available agents who take this queue's calls (its skill, or no skill at all)."
    )


class StatsSerializer(DayFiguresSerializer):
    agents = AgentFiguresSerializer(many=True, help_text="Agents with calls handled or offers missed today.")
    queues = QueueFiguresSerializer(many=True, required=False, help_text="Each queue's figures (without ?queue=).")


class StatsView(APIView):
    """Calls waiting now, the longest wait, and today's figures (the center's TIME_ZONE); `?queue=NAME`:
    of that queue alone."""

    permission_classes = [IsAuthenticated, IsSupervisor]

    @extend_schema(
        parameters=[OpenApiParameter("queue", str, description="A queue's name: its figures alone.")],
        responses={200: StatsSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def get(self, request):
        name = request.query_params.get("queue")
        if name is None:
            return Response(queue_stats())
        queue = queue_named(name)
        if queue is None:
            raise NotFound(f"There is no queue {name[:64]!r}.")
        return Response(queue_stats(queue_id=queue.id))


class QueueListView(APIView):
    """Each queue's figures, highest priority first."""

    permission_classes = [IsAuthenticated, IsSupervisor]

    @extend_schema(responses={200: QueueFiguresSerializer(many=True), 401: ErrorSerializer, 403: ErrorSerializer})
    def get(self, request):
        return Response(queues_figures())
