"""The history's query parameters (docs/history.md): `GET /api/calls/?status=ended` and the CSV
export read them here into a `HistorySearch` (calls/history/search.py), with a 400 and field errors for
anything that does not fit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from calls.core.vocabulary import HistoryOutcome
from calls.history.search import (
    HISTORY_PAGE,
    HISTORY_PAGE_MAX,
    MAX_SEARCH_LENGTH,
    Cursor,
    HistorySearch,
    SearchRefused,
    search_terms,
)
from calls.models import Disposition
from conventions.times import iso

# A `+` left unencoded in a query string arrives as a space: "…T10:00:00 01:00" meant "+01:00".
UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field):
    """An ISO 8601 date and time, or a date alone: its start, or with `day_end` the start of the
    next day (so `until=2026-11-30` takes in all of the 30th). Without an offset: the server's
    time zone (UTC unless configured)."""

    default_error_messages = {"invalid": "Enter an ISO 8601 date (2026-11-30) or date and time (2026-11-30T09:00Z)."}

    def __init__(self, *, day_end: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.day_end = day_end

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str) or len(data) > 40:
            self.fail("invalid")
        text = UNENCODED_PLUS.sub(r"\1+\2", data.strip())
        try:
            day = parse_date(text) if len(text) == 10 else None
            moment = datetime.combine(day + timedelta(days=1) if self.day_end else day, time()) if day else (
                parse_datetime(text)
            )
            if moment is None:
                self.fail("invalid")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            moment.astimezone(UTC)  # the database compares in UTC: it must exist there too
        except (ValueError, OverflowError):
            self.fail("invalid")
        return moment

    def to_representation(self, value):
        return iso(value)


class HistoryFilters(serializers.Serializer):
    """Which calls: the same for the list and the export."""

    q = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_SEARCH_LENGTH * 2,
        help_text="A number by 4 or more of its first or last digits (`0111`, `555 0111`, `+1 (202) 555-0111`), "
                  "a SIP URI, or part of an agent's name.",
    )
    agent = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="An agent's id.")
    since = MomentField(required=False, help_text="Ended at or after (ISO 8601 date, or date and time).")
    until = MomentField(
        required=False, day_end=True, help_text="Ended before (ISO 8601); a date alone includes that whole day."
    )
    outcome = serializers.ChoiceField(choices=HistoryOutcome.choices, required=False)
    disposition = serializers.CharField(required=False, max_length=64, help_text="A disposition's name.")

    def validate_q(self, value: str) -> dict:
        try:
            return search_terms(value)
        except SearchRefused as refused:
            raise serializers.ValidationError(str(refused)) from None

    def validate_disposition(self, value: str) -> int:
        found = Disposition.objects.filter(name=value).values_list("pk", flat=True).first()
        if found is None:
            raise serializers.ValidationError(f"There is no disposition {value!r}.")
        return found

    def validate(self, data: dict) -> dict:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise serializers.ValidationError({"until": ["The end of the range must come after its start."]})
        return data

    def search(self) -> HistorySearch:
        data = self.validated_data
        return HistorySearch(
            **data.get("q", {}), agent_id=data.get("agent"), since=data.get("since"), until=data.get("until"),
            outcome=data.get("outcome", ""), disposition_id=data.get("disposition"),
        )


class HistoryQuery(HistoryFilters):
    """Which calls, and which page of them."""

    cursor = serializers.CharField(
        required=False, max_length=512, help_text='Where the page starts: from the `Link: <…>; rel="next"` header.'
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=HISTORY_PAGE_MAX, default=HISTORY_PAGE, help_text="Calls per page."
    )

    def validate_cursor(self, value: str) -> Cursor:
        try:
            return Cursor.decode(value)
        except SearchRefused as refused:
            raise serializers.ValidationError(str(refused)) from None


HISTORY_PARAMS = frozenset(HistoryQuery().fields)


def read_query(serializer_class: type[HistoryFilters], params) -> HistoryFilters:
    """The query parameters, checked: a 400 with field errors when they do not fit."""
    # A plain dict, not the QueryDict: DRF reads an empty form value as "not given", and `?limit=`
    # is a mistake to answer (400), as the OpenAPI schema says, not a default to fall back to.
    query = serializer_class(data=params.dict())
    query.is_valid(raise_exception=True)
    return query


def next_page_link(request, cursor: Cursor | None) -> dict[str, str]:
    """The `Link` header of the next page (RFC 8288): the same request, from `cursor`."""
    if cursor is None:
        return {}
    params = request.query_params.copy()
    params["cursor"] = cursor.encode()
    return {"Link": f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="next"'}
