"""Serializers that document the JSON shapes of calls/core/serialize.py in the OpenAPI schema.

The API returns the plain dicts built there (one shape for API, snapshot and broadcast);
tests/test_api_fuzzing.py checks real responses against these declarations.
"""

from rest_framework import serializers

from calls.core.vocabulary import CallStatus, MemberRole, MemberState, MonitorMode, RecordingState
from conventions.errors import ErrorSerializer


class UpstreamErrorSerializer(ErrorSerializer):
    upstream_status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    api_id = serializers.CharField(allow_blank=True, required=False)


class MemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    address = serializers.CharField()
    role = serializers.ChoiceField(choices=MemberRole.choices)
    state = serializers.ChoiceField(choices=MemberState.choices)
    agent = serializers.IntegerField(allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    left_at = serializers.DateTimeField(allow_null=True)
    transfer_role = serializers.ChoiceField(choices=["initiator", "target"], allow_null=True)
    muted = serializers.BooleanField(help_text="Heard by nobody (Plivo's mute).")
    monitor_mode = serializers.ChoiceField(
        choices=MonitorMode.choices, allow_null=True,
        help_text="A supervisor's: listen (muted, coached), whisper (coached: heard by the agents only), barge.",
    )


class RecordingSerializer(serializers.Serializer):
    url = serializers.CharField(allow_blank=True, help_text="Where Plivo keeps the file.")
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds, once Plivo says.")
    format = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(choices=RecordingState.choices)


class WrapUpSerializer(serializers.Serializer):
    agent = serializers.IntegerField(
        allow_null=True, help_text="The agent who wrote it (null: an operator without a desk of their own)."
    )
    name = serializers.CharField(allow_blank=True)
    disposition = serializers.CharField(allow_null=True)
    notes = serializers.CharField(allow_blank=True)
    saved_at = serializers.DateTimeField(allow_null=True)


class CallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phlo_id = serializers.CharField()
    status = serializers.ChoiceField(choices=CallStatus.choices)
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    members = MemberSerializer(many=True)
    recording = serializers.ChoiceField(
        choices=[RecordingState.RECORDING, RecordingState.PAUSED], allow_null=True,
        help_text="Whether the call is being recorded now.",
    )
    recordings = RecordingSerializer(many=True)
    disposition = serializers.CharField(allow_null=True, help_text="The disposition saved last, by anyone.")
    notes = serializers.CharField(allow_blank=True, help_text="Every person's non-empty notes, joined.")
    wrap_ups = WrapUpSerializer(many=True, help_text="Each person's own disposition and notes.")


class ActionResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    api_id = serializers.CharField(allow_blank=True)
    call = CallSerializer()
