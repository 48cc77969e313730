"""`GET /api/stats/`: the queue's figures for supervisors (calls/queue/figures.py, docs/routing.md)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.permissions import IsSupervisor
from calls.queue.figures import queue_stats
from conventions.errors import ErrorSerializer


class AgentFiguresSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handled_today = serializers.IntegerField()
    missed_today = serializers.IntegerField()


class StatsSerializer(serializers.Serializer):
    waiting = serializers.IntegerField(help_text="Calls waiting for an agent now.")
    longest_wait_seconds = serializers.FloatField(help_text="How long the oldest waiting call has waited.")
    answered_today = serializers.IntegerField()
    abandoned_today = serializers.IntegerField()
    service_level_percent = serializers.FloatField(
        allow_null=True, help_text="Share of today's answered-or-abandoned calls answered within SERVICE_LEVEL_SECONDS."
    )
    average_wait_seconds = serializers.FloatField(allow_null=True, help_text="From joining to an agent answering.")
    average_handle_seconds = serializers.FloatField(allow_null=True, help_text="From an agent answering to the end.")
    agents = AgentFiguresSerializer(many=True, help_text="Agents with calls handled or offers missed today.")


class StatsView(APIView):
    """Calls waiting now, the longest wait, and today's figures (the center's TIME_ZONE)."""

    permission_classes = [IsAuthenticated, IsSupervisor]

    @extend_schema(responses={200: StatsSerializer, 401: ErrorSerializer, 403: ErrorSerializer})
    def get(self, request):
        return Response(queue_stats())
