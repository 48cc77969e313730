"""`GET /api/reports/intervals/` (docs/reports.md): the queue's figures per interval, and the agents',
as JSON or CSV. Supervisors. Thin: the report is calls/history/reports.py's."""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.models import Agent
from agents.permissions import IsSupervisor
from calls.api.after_call import JSONForErrors
from calls.api.search_params import MomentField, read_query
from calls.history.export import csv_line
from calls.history.reports import INTERVALS, ROW_COLUMNS, ReportAsk, ReportRefused, report
from calls.models import Queue
from conventions.errors import ErrorSerializer


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ReportQuery(serializers.Serializer):
    since = MomentField(help_text="The span's start (ISO 8601 date, or date and time); rounded down to its interval.")
    until = MomentField(
        day_end=True,
        help_text="The span's end, exclusive; a date alone includes that whole day; rounded up to its interval.",
    )
    interval = serializers.ChoiceField(choices=list(INTERVALS), help_text="15m, 30m, 1h or 1d (local days).")
    queue = serializers.CharField(required=False, max_length=64, help_text="A queue's name: its calls only.")
    agent = serializers.IntegerField(
        required=False, min_value=1, max_value=2**63 - 1, help_text="An agent's id: the calls they were on."
    )
    tz = serializers.CharField(
        required=False, max_length=64,
        help_text="An IANA time zone (Europe/Paris) for the intervals and for dates and times given without an "
                  "offset; default: the server's (TIME_ZONE).",
    )
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")

    def to_internal_value(self, data):
        # Dates and times without an offset are the report's own time zone's.
        name = data.get("tz") or settings.TIME_ZONE
        with timezone.override(zoneinfo.ZoneInfo(name) if name in _zones() else timezone.get_current_timezone()):
            return super().to_internal_value(data)

    def validate_tz(self, value: str) -> str:
        if value not in _zones():
            raise serializers.ValidationError(f"{value!r} is not a time zone: use an IANA name like Europe/Paris.")
        return value

    def validate_queue(self, value: str) -> Queue:
        queue = Queue.objects.filter(name=value).first()
        if queue is None:
            raise serializers.ValidationError(f"There is no queue {value!r}.")
        return queue

    def validate_agent(self, value: int) -> Agent:
        agent = Agent.objects.filter(pk=value).first()
        if agent is None:
            raise serializers.ValidationError(f"There is no agent {value}.")
        return agent

    def validate(self, data: dict) -> dict:
        if data["since"] >= data["until"]:
            raise serializers.ValidationError({"until": ["The end of the range must come after its start."]})
        return data

    def ask(self) -> ReportAsk:
        data = self.validated_data
        return ReportAsk(
            since=data["since"], until=data["until"], interval=data["interval"],
            tz=zoneinfo.ZoneInfo(data.get("tz") or settings.TIME_ZONE), queue=data.get("queue"),
            agent=data.get("agent"),
        )


class IntervalRowSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="The interval's start, ISO 8601 with the time zone's offset then.")
    offered = serializers.IntegerField(help_text="Calls whose customer started waiting in the interval.")
    answered = serializers.IntegerField(help_text="Of them, answered by an agent.")
    abandoned = serializers.IntegerField(help_text="Of them, left by the customer before an agent answered.")
    service_level_percent = serializers.FloatField(
        allow_null=True, help_text="Answered within the queue's service level, of the answered and abandoned."
    )
    average_wait_seconds = serializers.FloatField(allow_null=True, help_text="From starting to wait to the answer.")
    average_handle_seconds = serializers.FloatField(allow_null=True, help_text="From the answer to the end.")


class TotalsSerializer(IntervalRowSerializer):
    start = None


class AgentWorkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    handled = serializers.IntegerField(help_text="Calls they were on that ended in the span.")
    talk_seconds = serializers.IntegerField(help_text="On the line on those calls, less the customer's hold.")
    hold_seconds = serializers.IntegerField(help_text="Their customers on hold on those calls.")
    wrap_up_seconds = serializers.IntegerField(help_text="In wrap-up, in the span.")
    occupancy_percent = serializers.FloatField(
        allow_null=True, help_text="Ringing, on calls or in wrap-up, of the time they were available or so."
    )


class ReportSerializer(serializers.Serializer):
    interval = serializers.ChoiceField(choices=list(INTERVALS))
    tz = serializers.CharField()
    since = serializers.CharField(help_text="The first interval's start.")
    until = serializers.CharField(help_text="The last interval's end.")
    queue = serializers.CharField(allow_null=True)
    agent = serializers.IntegerField(allow_null=True)
    rows = IntervalRowSerializer(many=True)
    totals = TotalsSerializer()
    agents = AgentWorkSerializer(many=True)


def _csv(body: dict) -> HttpResponse:
    """The rows, as the history's export writes CSV (calls/history/export.py: no cell a formula)."""
    lines = [csv_line(ROW_COLUMNS), *(csv_line(row[name] for name in ROW_COLUMNS) for row in body["rows"])]
    response = HttpResponse("\ufeff" + "".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="report-{body["interval"]}-{body["since"][:10]}-{body["until"][:10]}.csv"'
    )
    return response


class IntervalReportView(APIView):
    """The queue's figures per interval of a span in a time zone, and each agent's work in it."""

    permission_classes = [IsAuthenticated, IsSupervisor]
    content_negotiation_class = JSONForErrors  # `format` is ours (json or csv), not DRF's renderer switch

    @extend_schema(
        parameters=[ReportQuery],
        responses={
            200: ReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="`format=csv`: one line per interval."),
            400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
        },
    )
    def get(self, request):
        query = read_query(ReportQuery, request.query_params)
        try:
            body = report(query.ask())
        except ReportRefused as refused:
            raise serializers.ValidationError({"interval": [str(refused)]}) from None
        if query.validated_data["format"] == "csv":
            return _csv(body)
        return Response(body)
