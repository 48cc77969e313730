"""After the call, over the API (docs/history.md): the dispositions, a call's wrap-up and the CSV
export. Thin: the rules are in calls/history/wrapup.py, calls/core/reads.py and calls/history/export.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from agents.viewers import viewer_for
from calls.api.schema import CallSerializer
from calls.api.search_params import HistoryFilters, read_query
from calls.api.views import CallsAPIView
from calls.history.export import csv_pieces
from calls.history.search import history_in_chunks
from calls.history.wrapup import MAX_NOTES_LENGTH, WrapUpRefused, offered_dispositions, save_wrap_up
from conventions.errors import ErrorSerializer


class DispositionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class DispositionListView(CallsAPIView):
    """The wrap-up codes an agent picks from: the active ones, in the operators' order."""

    @extend_schema(responses={200: DispositionSerializer(many=True), 401: ErrorSerializer})
    def get(self, request):
        return Response([{"id": pk, "name": name} for pk, name in offered_dispositions().values_list("pk", "name")])


class WrapUpView(CallsAPIView):
    """A call's disposition and notes, saved by its agents or a supervisor."""

    @extend_schema_serializer(component_name="WrapUp")
    class InputSerializer(serializers.Serializer):
        disposition = serializers.CharField(required=False, max_length=64, help_text="An active disposition's name.")
        notes = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTES_LENGTH)
        done = serializers.BooleanField(
            required=False, default=False,
            help_text="The requester's wrap-up of this call is over: back to the status they chose, now.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={
            200: CallSerializer, 400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def patch(self, request, call_id: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            call = save_wrap_up(viewer_for(request.user), call_id, **data.validated_data)
        except WrapUpRefused as refused:
            raise serializers.ValidationError({refused.field: [str(refused)]}) from None
        return Response(call)


class JSONForErrors(BaseContentNegotiation):
    """The export writes its CSV itself; what else it answers (an error) is JSON, whatever the
    request's Accept header asks for (a download may ask for `text/csv` only)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


async def _piece_by_piece(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Under ASGI a response is sent from the event loop, and Django would read a sync iterator
    whole first: here each piece (one read of the database) is made in the sync thread in turn."""
    end = object()
    while (piece := await sync_to_async(next)(pieces, end)) is not end:
        yield piece


class CallExportView(CallsAPIView):
    """The history as CSV, with the list's filters: every matching call, streamed. Supervisors."""

    content_negotiation_class = JSONForErrors

    @extend_schema(
        parameters=[HistoryFilters],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per call, newest first."),
            400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer,
        },
    )
    def get(self, request):
        viewer = viewer_for(request.user)
        if not viewer.is_supervisor:
            raise PermissionDenied("Only supervisors export the history.")
        search = read_query(HistoryFilters, request.query_params).search()
        pieces = csv_pieces(history_in_chunks(viewer, search))
        response = StreamingHttpResponse(
            _piece_by_piece(pieces) if isinstance(request._request, ASGIRequest) else pieces,
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="calls-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response
